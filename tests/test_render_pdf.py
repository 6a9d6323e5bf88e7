"""The PDF deliverable, read back with poppler and qpdf as a reader's viewer would see it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph as PdfParagraph

from exporter.core.derive import Basis
from exporter.core.document import Chart, Paragraph, Section, Table
from exporter.render import RenderJob
from exporter.render.pdf import ACCENT, FONT, chart_drawing, markup, register_fonts, render
from exporter.render.theme import DEFAULT_THEME

from conftest import HOSTILE, flat, need, pdf_body, pdftotext


def run(tool: str, *args: str) -> str:
    return subprocess.run([need(tool), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("pdf")


@pytest.fixture(scope="module")
def pdf(shipped_job) -> bytes:
    return render(shipped_job)


@pytest.fixture(scope="module")
def pdf_path(pdf, tmp):
    path = tmp / "shipped.pdf"
    path.write_bytes(pdf)
    return str(path)


@pytest.fixture(scope="module")
def pages(pdf, tmp) -> list[str]:
    """The text of each page; pdftotext ends every page with a form feed."""
    return pdftotext(pdf, tmp).split("\f")[:-1]


@pytest.fixture(scope="module")
def text(pages) -> str:
    return pdf_body(pages)


@pytest.fixture(scope="module")
def info(pdf_path) -> dict[str, str]:
    lines = run("pdfinfo", "-isodates", pdf_path).splitlines()
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


@pytest.fixture(scope="module")
def hostile_text(hostile_job, tmp) -> str:
    return flat(pdftotext(render(hostile_job), tmp))


# --- what the reader sees -----------------------------------------------------------------------


def test_cover_shows_title_date_and_publisher_without_header_or_footer(pages, shipped_job):
    doc = shipped_job.document
    cover = flat(pages[0])
    for expected in (doc.title, doc.subtitle, f"As of {doc.as_of.isoformat()}", doc.publisher):
        assert expected in cover
    assert "Page" not in cover


def test_contents_page_lists_every_section(pages, shipped_job):
    contents = flat(pages[1])
    assert contents.startswith(shipped_job.document.title)  # the running header
    assert "Contents" in contents
    for section in shipped_job.document.sections:
        assert section.title in contents


def test_body_holds_every_section_and_paragraph(text, shipped_job):
    for section in shipped_job.document.sections:
        assert section.title in text
        for block in section.blocks:
            if isinstance(block, Paragraph):
                assert flat(block.text) in text


def test_all_faq_questions_and_answers(text, shipped_report):
    assert len(shipped_report.faqs.entries) == 10
    for number, entry in enumerate(shipped_report.faqs.entries, 1):
        assert f"{number}. {entry.question}" in text
        assert flat(entry.answer) in text


def test_all_companies(text, shipped_report):
    names = [c.name for c in shipped_report.companies.entries]
    assert len(names) == 6
    for name in names:
        assert f"• {name}" in text


def test_headline_figures(text):
    for figure in ("USD 3.5 billion", "USD 5.8 billion", "6.5%", "6.52%"):
        assert figure in text


def test_forecast_table_labels_each_year_with_its_basis(text, shipped_job, shipped_forecast):
    for point in shipped_forecast.points:
        assert f"{point.year} {point.value:,.2f} {point.basis.label}" in text


def test_every_body_page_has_header_and_page_x_of_n_footer(pages, info, shipped_job):
    total = int(info["Pages"])
    assert len(pages) == total > 3
    for number, page in enumerate(pages[1:], 2):
        assert flat(page).startswith(shipped_job.document.title)
        assert f"Page {number} of {total}" in flat(page)


def test_chart_page_has_legend_value_labels_and_axis_labels(pages, shipped_job):
    chart = next(b for s in shipped_job.document.sections for b in s.blocks if isinstance(b, Chart))
    page = next(flat(p) for p in pages if chart.title in flat(p))
    assert Basis.reported.label in page and Basis.derived.label in page
    assert chart.x_label in page
    for value in chart.series[0].values:
        assert f"{value:.2f}" in page


# --- the chart is drawn from the forecast ---------------------------------------------------------


def test_chart_bars_are_the_forecast_values_and_colour_the_basis(shipped_job, shipped_forecast):
    chart = next(b for s in shipped_job.document.sections for b in s.blocks if isinstance(b, Chart))
    register_fonts()
    drawing = chart_drawing(chart, DEFAULT_THEME, width=450, font=FONT)
    points = shipped_forecast.points
    assert [list(series) for series in drawing.chart.data] == [[p.value for p in points]]
    assert drawing.chart.categoryAxis.categoryNames == [str(p.year) for p in points]
    fills = [drawing.chart.bars[(0, i)].fillColor for i in range(len(points))]
    for point, fill in zip(points, fills):
        assert (fill == ACCENT) == (point.basis is Basis.reported)
    assert [name for _, name in drawing.legend.colorNamePairs] == ["Reported", "Derived (estimate)"]


# --- file properties -------------------------------------------------------------------------------


def test_only_embedded_dejavu_truetype_fonts(pdf_path):
    rows = run("pdffonts", pdf_path).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        assert "DejaVuSans" in row and "TrueType" in row, row
        assert row.split()[-5] == "yes", f"not embedded: {row}"  # columns: ... emb sub uni object gen


def test_metadata(info, shipped_job):
    meta = shipped_job.document.meta
    assert info["Title"] == meta.title
    assert info["Author"] == meta.author
    assert info["Subject"] == meta.subject
    assert info["Keywords"] == ", ".join(meta.keywords)
    assert info.get("Creator", "") == ""  # client files do not advertise the tool
    assert info["CreationDate"] == info["ModDate"] == meta.created.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_qpdf_check_passes(pdf_path):
    subprocess.run([need("qpdf"), "--check", pdf_path], check=True, capture_output=True)


def test_outline_nests_sections_and_points_at_their_pages(pdf_path, pages, shipped_job):
    outlines = json.loads(run("qpdf", "--json", "--json-key=outlines", pdf_path))["outlines"]
    seen = []

    def walk(entries, depth):
        for entry in entries:
            seen.append((entry["title"], depth))
            assert entry["title"] in flat(pages[entry["destpageposfrom1"] - 1])
            walk(entry["kids"], depth + 1)

    walk(outlines, 1)
    assert seen == [(s.title, s.level) for s in shipped_job.document.sections]


def test_viewer_opens_outline_and_contents_links_are_internal(pdf_path, tmp, shipped_job):
    qdf = tmp / "qdf.pdf"
    subprocess.run([need("qpdf"), "--qdf", "--object-streams=disable", pdf_path, str(qdf)], check=True)
    raw = qdf.read_bytes()
    assert b"/PageMode /UseOutlines" in raw
    assert raw.count(b"/Subtype /Link") >= len(shipped_job.document.sections)
    assert b"/URI" not in raw


def test_two_renders_a_second_apart_are_byte_identical(pdf, shipped_job):
    time.sleep(1)
    assert render(shipped_job) == pdf


# --- data is never markup ----------------------------------------------------------------------------


def test_hostile_texts_appear_literally(hostile_text):
    for literal in (HOSTILE["amp"], HOSTILE["markup"], HOSTILE["formula"], "bellchar"):
        assert literal in hostile_text
    assert f"{HOSTILE['amp']} {HOSTILE['markup']} {HOSTILE['formula']}" in hostile_text
    assert "AT&T;" not in hostile_text


def test_markup_yields_plain_regular_text_without_links():
    register_fonts()
    style = ParagraphStyle("plain", fontName=FONT)
    for literal in (HOSTILE["markup"], '<a href="file:///etc/passwd">x</a>', '<img src="/etc/passwd"/>', "a<b"):
        frags = PdfParagraph(markup(literal), style).frags
        assert "".join(f.text for f in frags) == literal
        assert all(f.fontName == FONT and not getattr(f, "link", None) for f in frags)


def test_rows_taller_than_a_page_split_instead_of_failing(shipped_job, tmp, shipped_report, shipped_forecast):
    long_text = " ".join(f"word{i}" for i in range(2500))
    table = Table("Long rows", ("Name", "Text", "Value"), (("a", long_text, "1.00"), ("b", "short", "2.00")),
                  (False, False, True))
    document = dataclasses.replace(
        shipped_job.document, sections=(Section("Long", 1, (table, Paragraph(long_text)), "long"),)
    )
    job = RenderJob(document)
    text = flat(pdftotext(render(job), tmp))
    assert "word0 " in text and "word2499" in text and "short 2.00" in text
