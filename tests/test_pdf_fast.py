"""The PDF renderer's shortcuts around platypus give what platypus itself gives."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st
from reportlab.platypus import Paragraph

from exporter.render.pdf import _styles
from exporter.render.pdfparagraph import Paragraph as _Paragraph

STYLES = _styles()
# Text a report holds: letters of the embedded faces, digits, punctuation, spaces and line breaks;
# "&" and "<" (escaped to entities, or markup) take platypus's own parser.
TEXT = st.text(alphabet=st.sampled_from(list("aZé€Ω–…0 1\n\r\t.,;:()'\"%/-\\")), max_size=300)


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


def test_chart_shapes_are_not_type_checked_here_either():
    from reportlab.graphics import shapes, widgetbase

    assert "__setattr__" not in vars(shapes.Shape) and "__setattr__" not in vars(widgetbase.Widget)  # conftest


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


# --- reportlab_speed: the file's bytes are reportlab's own ---------------------------------------

# Letters of DejaVu Sans beyond a first subset's 256 (Latin, Greek, Cyrillic), a no-break space, and
# characters the font lacks.
MANY = [chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x391, 0x3CA), *range(0x410, 0x450)]]
ALPHABET = st.sampled_from([*MANY, "\xa0", "\u4e2d", "\U0001f600"])


class _Doc:
    """A stand-in for a PDF document: a font keeps its subsets per document object."""


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.text(alphabet=ALPHABET, max_size=60), max_size=25))
def test_splitting_a_string_into_subsets_gives_what_reportlab_gives(texts):
    from reportlab.pdfbase.pdfmetrics import getFont

    from exporter.render import reportlab_speed
    from exporter.render.pdf import register_fonts

    font = getFont(register_fonts())
    ours, theirs = _Doc(), _Doc()
    for text in [*texts, *texts]:  # again: now every character has its place
        assert font.splitString(text, ours) == reportlab_speed._reportlab_split(font, text, theirs)
    assert getattr(font.state.get(ours), "subsets", None) == getattr(font.state.get(theirs), "subsets", None)


def test_the_pdf_is_written_byte_for_byte_as_reportlab_writes_it(shipped_job, monkeypatch):
    """reportlab_speed's shortcuts (names, numbers, known characters, chart properties) change nothing in the file:
    the same render with reportlab's own functions back (both with the compression level and the other shortcuts
    of pdfparagraph, pdflater and shapepaint, tested against platypus and renderPDF on their own)."""
    import dataclasses

    from reportlab.graphics import widgetbase
    from reportlab.pdfbase import pdfdoc, ttfonts

    from exporter.core.document import Paragraph as TextParagraph, Section
    from exporter.render import reportlab_speed
    from exporter.render.pdf import render

    many = TextParagraph("".join(MANY) + " a\xa0b " + "".join(reversed(MANY)))
    from test_charts import ODD, SAMPLES

    document = dataclasses.replace(shipped_job.document, sections=(
        *shipped_job.document.sections, Section("Ωμέγα and Я", 1, (many,), "many"),
        Section("Every kind of chart", 1, (*SAMPLES.values(), *ODD), "charts")))
    job = dataclasses.replace(shipped_job, document=document)
    ours = render(job)
    monkeypatch.setattr(pdfdoc, "format", reportlab_speed._reportlab_format)
    monkeypatch.setattr(pdfdoc, "PDFName", pdfdoc.PDFName.__wrapped__)
    monkeypatch.setattr(ttfonts.TTFont, "splitString", reportlab_speed._reportlab_split)
    monkeypatch.setattr(widgetbase.TypedPropertyCollection, "wKlassFactory", reportlab_speed._reportlab_wrapper_class)
    monkeypatch.setattr(widgetbase, "_ItemWrapper", {})  # the item classes made so far are the shortcut's
    assert render(job) == ours


class _Measured:
    """A canvas's memo of word widths, as pdflater.LaterCanvas keeps one per document."""

    def __init__(self):
        self.word_widths: dict = {}


WORDS = st.text(alphabet=st.sampled_from(list("aZéΩ€0.,-")), min_size=1, max_size=40)  # some longer than a line


@settings(max_examples=300, deadline=None)
@given(words=st.lists(WORDS, max_size=60), spaces=st.sampled_from([" ", "  ", " \xa0", "\n", "\t "]),
       widths=st.lists(st.floats(1, 500), min_size=1, max_size=3), style=st.sampled_from(sorted(STYLES)))
def test_plain_lines_are_broken_as_platypus_breaks_them(words, spaces, widths, style):
    text = spaces.join(words)
    ours, again, theirs = _Paragraph(text, STYLES[style]), _Paragraph(text, STYLES[style]), Paragraph(text, STYLES[style])
    ours.canv = again.canv = _Measured()  # one "document": the second paragraph finds every width measured
    mine, platypus = ours.breakLines(widths), theirs.breakLines(widths)
    remembered = {key: dict(widths_) for key, widths_ in ours.canv.word_widths.items()}
    assert (again.breakLines(widths).lines == platypus.lines and ours.canv.word_widths == remembered
            and (remembered or not text.split()))
    assert (mine.kind, mine.lines, mine.ascent, mine.descent, mine.fontSize) == \
           (platypus.kind, platypus.lines, platypus.ascent, platypus.descent, platypus.fontSize)
    assert ours._width_max == theirs._width_max
    assert ours._splitLongWordCount == theirs._splitLongWordCount


@pytest.mark.parametrize("slack", [-0.5, 0.5, 1.5])
def test_a_line_just_too_long_fits_as_far_as_its_spaces_may_shrink(slack):
    """platypus lets a line's spaces shrink by the style's spaceShrinkage: the shortcut must break at the same word."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    style = STYLES["body"]
    text = "aaa bbb ccc ddd"
    shrink = style.spaceShrinkage * stringWidth(" ", style.fontName, style.fontSize)
    width = stringWidth(text, style.fontName, style.fontSize) - shrink * (3 + slack)  # 3 words before the last
    ours, theirs = _Paragraph(text, style), Paragraph(text, style)
    assert ours.breakLines([width]).lines == theirs.breakLines([width]).lines
    assert len(theirs.breakLines([width]).lines) == (1 if slack < 0 else 2)


WHITESPACE = list("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2005\u200a\u200b\u2028\u2029\u202f\u205f\u3000")


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from([*WHITESPACE, "a", "é", "Ω", "1", "-"]), max_size=40))
def test_text_is_cleaned_as_platypus_cleans_it(text):
    from reportlab.platypus.paragraph import cleanBlockQuotedText

    from exporter.render.pdfparagraph import clean

    assert clean(text) == cleanBlockQuotedText(text)


@settings(max_examples=200, deadline=None)
@given(title=st.lists(st.text(alphabet=st.sampled_from(list("aZéΩ1(%.\xa0")), min_size=1, max_size=12),
                      min_size=1, max_size=12).map(" ".join),
       width=st.floats(60, 450), level=st.sampled_from(["toc0", "toc1"]))
def test_a_plain_contents_entry_ends_where_the_parsed_one_does(title, width, level):
    """A plain entry is drawn as one fragment: it must tell the same end (where the dots start) as the parsed
    entry's callback, on the same lines."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    from exporter.render.pdflater import CALLBACK, entry_paragraph, parsed_entry

    ends = []
    canvas = Canvas(io.BytesIO())
    canvas.setNamedCB(CALLBACK, lambda c, _kind, _label: ends.append((c._curr_tx_info["cur_x"],
                                                                       c._curr_tx_info["cur_y"])))
    ours = entry_paragraph(title, "section-1", 1, STYLES[level], lambda c, x, y: ends.append((x, y)))
    theirs = parsed_entry(title, "section-1", 1, STYLES[level])
    assert type(ours).__name__ == "_PlainEntry"
    assert ours.wrap(width, 1000) == theirs.wrap(width, 1000)
    ours.drawOn(canvas, 0, 0)
    theirs.drawOn(canvas, 0, 0)
    assert len(ends) == 2 and ends[0] == pytest.approx(ends[1], abs=1e-9)


def test_a_contents_title_with_markup_or_loose_whitespace_is_parsed():
    from exporter.render.pdflater import entry_paragraph

    for title in ("Tom &amp; Jerry", "Bold <b>part</b>", " leading", "trailing ", "two  spaces", ""):
        entry = entry_paragraph(title, "section-1", 1, STYLES["toc0"], lambda *_: None)
        assert type(entry).__name__ == "Paragraph", title


def _canvas():
    import io

    from reportlab.pdfgen.canvas import Canvas

    return Canvas(io.BytesIO())


@settings(max_examples=300, deadline=None)
@given(text=TEXT, style=st.sampled_from(sorted(STYLES)), alignment=st.sampled_from([0, 1, 2, 4]),
       indents=st.tuples(st.sampled_from([0, 12.5, -6]), st.sampled_from([0, 8, 20.25])),
       last_line=st.sampled_from([0, 1, 3]), leading=st.sampled_from(["", "max", "min"]),
       alpha=st.sampled_from([None, 1, 0.5]), width=st.floats(40, 400), at=st.tuples(st.floats(0, 500), st.floats(0, 800)))
def test_plain_lines_are_drawn_with_the_operators_platypus_draws(text, style, alignment, indents, last_line, leading,
                                                                  alpha, width, at):
    """The same operators in the same order (colours, text objects, subsets, word spacing, line moves), from
    `draw` and `drawOn`, for every alignment; with the subsets of the font assigned alike."""
    from reportlab.lib.colors import Color
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import getFont

    base = STYLES[style]
    color = base.textColor if alpha is None else Color(0.2, 0.4, 0.6, alpha=alpha)
    look = ParagraphStyle("drawn", base, alignment=alignment, firstLineIndent=indents[0], leftIndent=indents[1],
                          justifyLastLine=last_line, autoLeading=leading, textColor=color)
    code = []
    for kind in (_Paragraph, Paragraph):
        canvas = _canvas()
        for draw in ("drawOn", "draw"):
            paragraph = kind(text, look)
            paragraph.wrap(width, 1000)
            if kind is _Paragraph and alpha != 0.5 and text.split():  # else platypus draws it
                assert paragraph._plain_code(_canvas()) is not None
            if draw == "drawOn":
                paragraph.drawOn(canvas, *at)
            else:
                paragraph.canv = canvas
                paragraph.draw()
        subsets = getattr(getFont(look.fontName).state.get(canvas._doc), "subsets", None)
        code.append((canvas._code, subsets, canvas._doc._pdfVersion, canvas._extgstate._d))
    assert code[0] == code[1]
    assert any("Tj" in line for line in code[0][0]) or not text.split()


def test_a_paragraph_platypus_must_draw_itself_is_drawn_by_platypus():
    """A link, a background or a bullet: platypus's own drawing (the operators are still its own)."""
    from reportlab.lib.styles import ParagraphStyle

    for text, look in (('see <a href="https://example.com">this</a>', STYLES["body"]),
                       ("on a tint", ParagraphStyle("tint", STYLES["body"], backColor="#eeeeee")),
                       ("a point", STYLES["body"])):
        code = []
        for kind in (_Paragraph, Paragraph):
            canvas = _canvas()
            paragraph = kind(text, look, bulletText="•") if text == "a point" else kind(text, look)
            paragraph.wrap(300, 1000)
            if kind is _Paragraph:
                assert paragraph._plain_code(_canvas()) is None
            paragraph.drawOn(canvas, 10, 10)
            code.append(canvas._code)
        assert code[0] == code[1]


def test_the_pdf_is_the_same_with_reportlab_drawing_every_paragraph_and_string(shipped_job, monkeypatch):
    """Paragraphs by platypus's drawPara, chart strings by `Canvas.drawString`: the same file, every chart kind
    included."""
    import dataclasses

    from reportlab import platypus
    from test_charts import ODD, SAMPLES

    from exporter.core.document import Section
    from exporter.render import pdfparagraph, shapepaint
    from exporter.render.pdf import render

    document = dataclasses.replace(shipped_job.document, sections=(
        *shipped_job.document.sections, Section("Every kind of chart", 1, (*SAMPLES.values(), *ODD), "charts")))
    job = dataclasses.replace(shipped_job, document=document)
    ours = render(job)
    monkeypatch.setattr(pdfparagraph.Paragraph, "draw", platypus.Paragraph.draw)
    monkeypatch.setattr(pdfparagraph.Paragraph, "drawOn", platypus.Paragraph.drawOn)
    monkeypatch.setattr(shapepaint, "string_operators", lambda *args: None)
    assert render(job) == ours


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.tuples(TEXT.map(lambda t: t.replace("\n", " ")), st.sampled_from([6, 8.5, 11]),
                                st.floats(-50, 600), st.floats(-50, 800)), max_size=6))
def test_a_string_is_written_as_draw_string_writes_it(texts):
    """The operators, and the subsets the font gives the characters, are drawString's."""
    from reportlab.pdfbase.pdfmetrics import getFont

    from exporter.render.pdf import register_fonts
    from exporter.render.pdftext import string_operators

    name = register_fonts()
    ours, theirs = _canvas(), _canvas()
    for text, size, x, y in texts:
        for canvas in (ours, theirs):
            canvas.setFont(name, size)
        ours._code.append(string_operators(ours, x, y, text))
        theirs.drawString(x, y, text)
    assert ours._code == theirs._code
    font = getFont(name)
    assert getattr(font.state.get(ours._doc), "subsets", None) == getattr(font.state.get(theirs._doc), "subsets", None)
