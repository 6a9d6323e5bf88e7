"""The lean Word writer: the body's XML made directly is what python-docx itself writes for the same calls.

`exporter.render.docx` builds paragraphs, runs and table rows with lxml (python-docx's proxies
resolved a style name per paragraph, most of a render), sets the styles up once per look, and zips
the package once. These tests hold each shortcut to what python-docx would have written.
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from pathlib import Path

import docx
import pytest
from docx.shared import Pt, RGBColor
from lxml import etree

from exporter.core.theme import Theme
from exporter.render import RenderOptions, docx as word_render
from exporter.render.docx import _add_run, _Body, _Look, _package_parts, _pPr, render

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TEXTS = ["plain", "tab\there", "two\nlines", "crlf\r\nand\rcr", " leading", "trailing ", "\t", "AT&T <b>x</b> \"q\"", ""]
STYLES = [None, "Normal", "List Bullet", "Heading 2", "Caption", "Title"]


def _xml(element) -> bytes:
    return etree.tostring(element)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("text", TEXTS)
def test_a_paragraph_is_what_add_paragraph_writes(text, style):
    expected = docx.Document().add_paragraph(text, style)._p
    body = _Body(docx.Document(), _Look(Theme(), "Publisher"))
    assert _xml(body.paragraph(text, style)) == _xml(expected)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    "fmt",
    [{}, {"bold": True}, {"bold": False, "italic": True}, {"color": RGBColor(0x1F, 0x4E, 0x79)},
     {"size": 8.5, "color": RGBColor(0, 0, 0), "bold": True, "italic": False}, {"size": 12}],
)
def test_a_run_is_what_add_run_and_its_font_write(text, fmt):
    expected = docx.Document().add_paragraph()
    run = expected.add_run(text)
    if "size" in fmt:
        run.font.size = Pt(fmt["size"])
    if "color" in fmt:
        run.font.color.rgb = fmt["color"]
    if "bold" in fmt:
        run.bold = fmt["bold"]
    if "italic" in fmt:
        run.italic = fmt["italic"]
    body = _Body(docx.Document(), _Look(Theme(), "Publisher"))
    p = body.paragraph()
    _add_run(p, text, **fmt)
    assert _xml(p) == _xml(expected._p)


def test_paragraph_properties_are_what_paragraph_format_writes():
    expected = docx.Document().add_paragraph(style="Caption")
    fmt = expected.paragraph_format
    fmt.alignment = 1  # centre
    fmt.keep_with_next = True
    fmt.space_before = Pt(6)
    fmt.line_spacing = 1.0
    body = _Body(docx.Document(), _Look(Theme(), "Publisher"))
    p = body.paragraph(style="Caption")
    _pPr(p, keep_with_next=True, before=Pt(6), line=1.0, align="center")
    assert _xml(p) == _xml(expected._p)


def test_a_style_the_document_lacks_fails_as_in_python_docx():
    body = _Body(docx.Document(), _Look(Theme(), "Publisher"))
    with pytest.raises(KeyError):
        body.paragraph("x", "No Such Style")


def test_control_characters_are_refused_as_python_docx_refuses_them():
    body = _Body(docx.Document(), _Look(Theme(), "Publisher"))
    with pytest.raises(ValueError, match="XML compatible"):
        body.paragraph("bell\x07")


def test_the_package_members_are_those_python_docx_saves():
    word = docx.Document()
    word.add_paragraph("Hello", "Title")
    saved = io.BytesIO()
    word.save(saved)
    with zipfile.ZipFile(saved) as package:
        expected = {name: package.read(name) for name in package.namelist()}
    assert _package_parts(word) == expected


def test_styles_set_up_once_per_look_give_the_same_bytes_as_a_first_render(shipped_job):
    word_render._STYLES.clear()
    first = render(shipped_job)  # sets the styles up
    assert len(word_render._STYLES) == 1
    other = dataclasses.replace(shipped_job, options=RenderOptions(Theme(accent="7A1F3D", base_size=11)))
    themed = render(other)
    assert render(shipped_job) == first  # from the copy kept for the look
    assert render(other) == themed
    assert themed != first
    # The document gets a copy: what one render does to its styles does not reach the next.
    word = docx.Document(io.BytesIO(first))
    assert word.styles["Normal"].font.size == Pt(Theme().base_size + 0.5)


def test_a_changed_template_is_set_up_afresh(shipped_job, tmp_path):
    template = tmp_path / "corp.docx"

    def write_template(size: float) -> None:
        word = docx.Document()
        word.styles["Heading 1"].font.size = Pt(size)
        word.save(template)

    write_template(20)
    job = dataclasses.replace(shipped_job, options=RenderOptions(Theme(word_template=template)))
    before = docx.Document(io.BytesIO(render(job)))
    assert before.styles["Heading 1"].font.size == Pt(20)
    write_template(30)
    stat = template.stat()
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later save
    after = docx.Document(io.BytesIO(render(job)))
    assert after.styles["Heading 1"].font.size == Pt(30)


def test_long_tables_keep_their_rows_and_texts(shipped_job):
    from exporter.core.document import Section, Table

    rows = tuple((f"row {i}", f" {i} " if i % 7 == 0 else str(i), "a\tb" if i == 30 else "x") for i in range(60))
    table = Table("Long", ("Name", "Value", "Note"), rows, (False, True, False))
    doc = dataclasses.replace(shipped_job.document, sections=(Section("Data", 1, (table,), "data"),))
    word = docx.Document(io.BytesIO(render(dataclasses.replace(shipped_job, document=doc))))
    (out,) = word.tables
    assert [tuple(c.text for c in r.cells) for r in out.rows] == [table.header, *rows]
    assert out.rows[0]._tr.trPr.find(f"{W}tblHeader") is not None
    assert all(r.cells[1].paragraphs[0].alignment == 2 for r in out.rows)  # numbers right-aligned


def test_the_example_report_on_its_template_renders_reproducibly():
    from exporter.runs.catalog import ReportSource, load

    path = Path(__file__).resolve().parent.parent / "examples/sales-pipeline/data/reports/sales-pipeline.yaml"
    job = load(ReportSource.at(path)).job
    assert render(job) == render(job)
