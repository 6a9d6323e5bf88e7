"""The PDF renderer's shortcuts around platypus give what platypus itself gives."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings, strategies as st
from reportlab.platypus import Paragraph

from exporter.render.pdf import _Paragraph, _styles

STYLES = _styles()
# Text a report holds: letters of the embedded faces, digits, punctuation, spaces and line breaks;
# "&" and "<" (escaped to entities, or markup) take platypus's own parser.
TEXT = st.text(alphabet=st.sampled_from(list("aZé€Ω–…0 1\n\t.,;:()'\"%/-")), max_size=300)


def fragments(paragraph) -> list[dict]:
    return [dict(f.__dict__) for f in paragraph.frags]


@settings(max_examples=300, deadline=None)
@given(text=TEXT, style=st.sampled_from(sorted(STYLES)))
def test_plain_text_makes_the_fragments_the_parser_makes(text, style):
    ours, theirs = _Paragraph(text, STYLES[style]), Paragraph(text, STYLES[style])
    assert ours.text == theirs.text
    assert fragments(ours) == fragments(theirs)


@settings(max_examples=100, deadline=None)
@given(text=TEXT.filter(str.strip), widths=st.lists(st.floats(20, 500), min_size=1, max_size=4))
def test_wrapping_again_gives_the_lines_a_fresh_wrap_gives(text, widths):
    ours = _Paragraph(text, STYLES["body"])
    for width in [*widths, *widths]:
        fresh = Paragraph(text, STYLES["body"])
        assert ours.wrap(width, 1000) == fresh.wrap(width, 1000)
        assert [line.words if hasattr(line, "words") else line for line in ours.blPara.lines] == \
               [line.words if hasattr(line, "words") else line for line in fresh.blPara.lines]


def test_markup_and_entities_still_go_through_the_parser():
    text = "Tom &amp; Jerry <b>bold</b>"
    assert fragments(_Paragraph(text, STYLES["body"])) == fragments(Paragraph(text, STYLES["body"]))
    assert [f.text for f in _Paragraph(text, STYLES["body"]).frags] == ["Tom ", "&", " Jerry ", "bold"]


def test_a_width_too_narrow_to_set_a_line_is_not_remembered():
    paragraph = _Paragraph("Word", STYLES["body"])
    assert paragraph.wrap(200, 100)[1] > 0
    assert paragraph.wrap(0, 100) == (0, 0x7FFFFFFF)
    assert paragraph.wrap(0, 100) == (0, 0x7FFFFFFF)  # not the lines of width 200 from memory
    assert paragraph._wrapped[0] == 200
    assert paragraph.wrap(200, 100) == Paragraph("Word", STYLES["body"]).wrap(200, 100)


def test_chart_shapes_are_not_type_checked():
    # The check is built into the shape classes when reportlab.graphics is first imported: the setting must come
    # first, in a process that renders PDFs as a worker does.
    code = ("import exporter.render.pdf, reportlab.graphics.shapes as shapes, reportlab.graphics.widgetbase as widgets;"
            "print('__setattr__' in vars(shapes.Shape), '__setattr__' in vars(widgets.Widget))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


MARKUP = st.builds(lambda a, b, c: f"{a}<b>{b}</b> &amp; <i>{c}</i>", TEXT, TEXT, TEXT)


@settings(max_examples=60, deadline=None)
@given(text=MARKUP, widths=st.lists(st.floats(20, 500), min_size=1, max_size=3))
def test_a_paragraph_with_markup_wraps_again_as_a_fresh_one(text, widths):
    ours = _Paragraph(text, STYLES["body"])
    for width in [*widths, *widths]:
        fresh = Paragraph(text, STYLES["body"])
        assert ours.wrap(width, 1000) == fresh.wrap(width, 1000)
