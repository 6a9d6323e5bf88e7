"""The Word deliverable, read back as Word readers see it: python-docx, the raw XML and LibreOffice."""

from __future__ import annotations

import io
import re
import zipfile

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Inches
from lxml import etree

from exporter.core.derive import Basis
from exporter.render.docx import render

from conftest import HOSTILE, libreoffice, pdftotext

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def shipped_docx(shipped_job) -> bytes:
    return render(shipped_job)


@pytest.fixture(scope="module")
def word(shipped_docx):
    return docx.Document(io.BytesIO(shipped_docx))


@pytest.fixture(scope="module")
def texts(word) -> list[str]:
    return [p.text for p in word.paragraphs]


@pytest.fixture(scope="module")
def parts(shipped_docx) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(shipped_docx)) as package:
        return {name: package.read(name) for name in package.namelist()}


def table_rows(table) -> list[tuple[str, ...]]:
    return [tuple(cell.text for cell in row.cells) for row in table.rows]


def field_codes(xml: bytes) -> list[str]:
    return [code.decode().strip() for code in re.findall(rb"<w:instrText[^>]*>([^<]*)</w:instrText>", xml)]


def test_title_page_then_a_page_break(word, shipped_job):
    doc = shipped_job.document
    title, subtitle, as_of, publisher, contents = word.paragraphs[:5]
    assert (title.style.name, title.text) == ("Title", "United States Intrathecal Pump Market")
    assert subtitle.style.name == "Subtitle" and "United States" in subtitle.text
    assert as_of.text == "As of 2026-11-23"
    assert publisher.text == doc.publisher == "Verified Market Reports"
    assert contents.text == "Contents" and contents.paragraph_format.page_break_before


def test_table_of_contents_is_a_field_word_updates_on_open(parts, texts, shipped_job):
    document = parts["word/document.xml"]
    assert 'TOC \\o "1-3" \\h \\z \\u' in field_codes(document)
    # The field's result is pre-filled with the section titles, so viewers that never update
    # fields still show a contents page.
    assert "Right-click to update the table of contents." not in texts
    for section in shipped_job.document.sections:
        assert section.title in texts
    assert b'<w:updateFields w:val="true"/>' in parts["word/settings.xml"]


def test_sections_are_word_headings_in_order(word, shipped_job):
    headings = [(p.style.name, p.text) for p in word.paragraphs if p.style.name.startswith("Heading")]
    expected = [(f"Heading {s.level}", s.title) for s in shipped_job.document.sections]
    assert headings == expected
    assert ("Heading 2", "Spasticity Subsegment") in headings
    assert ("Heading 1", "Frequently Asked Questions (FAQs)") in headings
    body_start = next(p for p in word.paragraphs if p.style.name == "Heading 1")
    assert body_start.paragraph_format.page_break_before


def test_headline_figures_are_stated(word, texts):
    lead = next(p for p in word.paragraphs if p.style.name == "Lead")
    assert "USD 3.5 billion in 2022" in lead.text and "USD 5.8 billion by 2030" in lead.text
    assert "CAGR of 6.5% from 2024 to 2030" in lead.text
    key_figures = table_rows(word.tables[0])
    assert key_figures[0] == ("Figure", "Value", "Basis")
    assert ("Market size 2022", "USD 3.5 billion", "Reported") in key_figures
    assert ("Market size 2030 (projection)", "USD 5.8 billion", "Reported") in key_figures
    assert ("CAGR 2024–2030", "6.5%", "Reported") in key_figures
    assert "Table 1: Key figures" in texts


def test_forecast_table_rows_are_the_series(word, shipped_job, texts, shipped_forecast):
    points = shipped_forecast.points
    table = word.tables[1]
    rows = table_rows(table)
    assert rows[0] == ("Year", "Market size (USD billion)", "Basis")
    assert rows[1:] == [(str(p.year), f"{p.value:,.2f}", p.basis.label) for p in points]
    assert rows[1] == ("2022", "3.50", "Reported") and rows[-1] == ("2030", "5.80", "Reported")
    assert {r[2] for r in rows[2:-1]} == {Basis.derived.label} == {"Derived (estimate)"}
    assert "Table 2: Market size by year (USD billion)" in texts


def test_tables_repeat_their_header_row_and_right_align_numbers(word):
    for table in word.tables[:2]:
        header = table.rows[0]._tr
        assert header.find(f"{W}trPr/{W}tblHeader") is not None
        value_cell = table.rows[1].cells[1].paragraphs[0]
        assert value_cell.alignment == WD_ALIGN_PARAGRAPH.RIGHT
        assert table.rows[1].cells[0].paragraphs[0].alignment != WD_ALIGN_PARAGRAPH.RIGHT


def test_chart_is_a_native_word_chart_with_the_series_cached(word, parts, shipped_forecast, texts):
    assert not [name for name in parts if name.startswith("word/media/")]  # no picture
    chart = etree.fromstring(parts["word/charts/chart1.xml"])
    assert chart.find(f".//{C}barChart/{C}barDir").get("val") == "col"
    cached = [float(v.text) for v in chart.findall(f".//{C}ser/{C}val//{C}numCache/{C}pt/{C}v")]
    assert cached == pytest.approx([p.value for p in shipped_forecast.points], rel=1e-12)
    years = [v.text for v in chart.findall(f".//{C}ser/{C}cat//{C}pt/{C}v")]
    assert years == [str(p.year) for p in shipped_forecast.points]
    # Derived years are drawn in the lighter colour, reported ones in the accent.
    points = {int(dp.find(f"{C}idx").get("val")): dp.find(f".//{A}srgbClr").get("val")
              for dp in chart.findall(f".//{C}ser/{C}dPt")}
    derived = {n for n, p in enumerate(shipped_forecast.points) if p.basis is Basis.derived}
    assert {n for n, colour in points.items() if colour == "9DB8D3"} == derived
    body = parts["word/document.xml"].decode()
    assert 'uri="http://schemas.openxmlformats.org/drawingml/2006/chart"' in body
    assert 'descr="United States Intrathecal Pump market size, 2022–2030"' in body  # alt text
    assert b"drawingml.chart+xml" in parts["[Content_Types].xml"]
    assert len(word.inline_shapes) == 1
    assert abs(word.inline_shapes[0].width - Inches(6)) < Inches(0.1)
    assert "Figure 1: United States Intrathecal Pump market size, 2022–2030" in texts


def test_all_faqs_questions_in_bold_then_answers(word, shipped_report):
    paragraphs = word.paragraphs
    entries = shipped_report.faqs.entries
    assert len(entries) == 10
    for n, faq in enumerate(entries, 1):
        at = next(i for i, p in enumerate(paragraphs) if p.text == f"Q{n}. {faq.question}")
        question = paragraphs[at]
        assert question.style.font.bold or all(r.bold for r in question.runs if r.text)
        assert paragraphs[at + 1].text == faq.answer


def test_every_company_is_its_own_bullet(word, shipped_report):
    bullets = [p.text for p in word.paragraphs if p.style.name == "List Bullet"]
    names = [c.name for c in shipped_report.companies.entries]
    assert len(names) == 6
    for name in names:
        assert name in bullets
    assert "Codman & Shurtleff" in bullets and "Medallion Therapeutics Inc" in bullets


def test_lead_and_note_paragraphs_are_styled_apart(word):
    styles = word.styles
    normal, lead, note = styles["Normal"].font, styles["Lead"].font, styles["Note"].font
    assert lead.size > normal.size > note.size
    assert note.italic and note.color.rgb is not None
    notes = [p.text for p in word.paragraphs if p.style.name == "Note"]
    assert any(text.startswith("2022 and 2030 are reported by the source") for text in notes)


def test_body_pages_have_title_header_and_page_x_of_y_footer(word, parts):
    section = word.sections[0]
    assert section.different_first_page_header_footer
    assert [p.text for p in section.first_page_header.paragraphs] == [""]
    assert section.header.paragraphs[0].text == "United States Intrathecal Pump Market"
    footer_xml = section.footer._element.xml.encode()
    assert field_codes(footer_xml) == ["PAGE", "NUMPAGES"]
    assert section.footer.paragraphs[0].text == "Page 1 of 1"  # cached results until Word lays out


def test_core_properties_name_the_publisher_and_the_data_date(word, parts, shipped_job):
    meta = shipped_job.document.meta
    props = word.core_properties
    assert props.title == "United States Intrathecal Pump Market"
    assert props.subject == meta.subject
    assert props.author == props.last_modified_by == "Verified Market Reports"
    assert props.keywords == "Intrathecal Pump, United States, market report"
    assert props.created == props.modified == props.last_printed == meta.created
    assert props.revision == 1 and props.comments == ""
    doc_props = {name: data for name, data in parts.items() if name.startswith("docProps/")}
    assert set(doc_props) == {"docProps/core.xml", "docProps/app.xml"}
    for name, data in doc_props.items():
        assert b"python-docx" not in data.lower(), name


def test_bytes_are_reproducible(shipped_docx, shipped_job):
    with zipfile.ZipFile(io.BytesIO(shipped_docx)) as package:
        infos = package.infolist()
    assert infos[0].filename == "[Content_Types].xml"
    assert {info.date_time for info in infos} == {(2026, 11, 23, 0, 0, 0)}
    assert render(shipped_job) == shipped_docx


def test_hostile_texts_are_shown_literally(hostile_job):
    data = render(hostile_job)
    word = docx.Document(io.BytesIO(data))
    texts = [p.text for p in word.paragraphs]
    assert HOSTILE["amp"] in texts and HOSTILE["formula"] in texts  # company bullets
    assert f"Q1. {HOSTILE['markup']}" in texts
    assert "bellchar" in texts and not any("\x07" in t for t in texts)
    assert f"{HOSTILE['amp']} {HOSTILE['markup']} {HOSTILE['formula']}" in texts
    assert any(t.startswith('=HYPERLINK("x") (United States') for t in texts)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        document = package.read("word/document.xml")
    assert b"AT&amp;T" in document and b"&lt;b&gt;not bold&lt;/b&gt;" in document
    assert b"<b>" not in document and b"HYPERLINK" not in b"".join(
        re.findall(rb"<w:instrText[^>]*>[^<]*", document)
    )


@pytest.mark.slow
def test_libreoffice_converts_it_to_pdf(shipped_docx, tmp_path):
    source = tmp_path / "report.docx"
    source.write_bytes(shipped_docx)
    pdf = libreoffice(source, "pdf", tmp_path / "out", tmp_path / "lo-profile").read_bytes()
    text = pdftotext(pdf, tmp_path)
    assert "United States Intrathecal Pump Market" in text
    assert "Table 2: Market size by year (USD billion)" in text
    assert re.search(r"Page 3 of \d+", text)
    assert "Derived (estimate)" in text
