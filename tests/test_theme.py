"""One theme for every renderer: the same accent, the same page size, a logo where one is set."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import zipfile

import pytest
from openpyxl import load_workbook
from PIL import Image

from exporter.render import docx as docx_renderer, pdf as pdf_renderer, xlsx as xlsx_renderer
from exporter.render.theme import DEFAULT_THEME, Theme

from conftest import need, pdftotext

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ACCENT = DEFAULT_THEME.accent.upper()


def run(tool: str, *args: str) -> str:
    return subprocess.run([need(tool), *args], check=True, capture_output=True, text=True).stdout


def docx_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def pdf_page_size(data: bytes, tmp_path, name: str = "page.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return next(line for line in run("pdfinfo", str(path)).splitlines() if line.startswith("Page size"))


def pdf_images(data: bytes, tmp_path, name: str) -> list[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return run("pdfimages", "-list", str(path)).splitlines()[2:]


def page_size_twips(document_xml: bytes) -> tuple[int, int]:
    match = re.search(rb'<w:pgSz w:w="(\d+)" w:h="(\d+)"', document_xml)
    assert match, "no w:pgSz in sectPr"
    return int(match[1]), int(match[2])


@pytest.fixture(scope="module")
def shipped_docx(shipped_job) -> bytes:
    return docx_renderer.render(shipped_job)


@pytest.fixture(scope="module")
def shipped_pdf(shipped_job) -> bytes:
    return pdf_renderer.render(shipped_job)


@pytest.fixture(scope="module")
def letter() -> Theme:
    return dataclasses.replace(DEFAULT_THEME, page_size="Letter")


@pytest.fixture
def logo_theme(tmp_path) -> Theme:
    path = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (0x1F, 0x4E, 0x79)).save(path)
    return dataclasses.replace(DEFAULT_THEME, logo=path)


# --- one palette -----------------------------------------------------------------------------


def test_theme_defaults():
    assert DEFAULT_THEME.page_size == "A4" and DEFAULT_THEME.logo is None
    assert DEFAULT_THEME.office_font == "Arial" and DEFAULT_THEME.pdf_font == "DejaVuSans"
    with pytest.raises(ValueError):
        Theme(page_size="A5")
    with pytest.raises(ValueError):
        Theme(accent="#1F4E79")


def test_docx_headings_use_the_accent(shipped_docx):
    styles = docx_parts(shipped_docx)["word/styles.xml"].decode()
    for style_id in ("Heading1", "Heading2", "Title"):
        style = re.search(rf'<w:style [^>]*w:styleId="{style_id}".*?</w:style>', styles, re.S)[0]
        assert f'<w:color w:val="{ACCENT}"/>' in style, style_id


def test_xlsx_header_fill_is_the_accent(shipped_job):
    wb = load_workbook(io.BytesIO(xlsx_renderer.render(shipped_job)))
    for ws in (wb["Forecast"], wb["Segments"]):
        assert ws["A1"].fill.fgColor.rgb.endswith(ACCENT)


def test_pdf_uses_the_accent(shipped_job, shipped_pdf, tmp_path):
    from reportlab.lib import colors

    accent = colors.HexColor(f"#{DEFAULT_THEME.accent}")
    chart = next(b for s in shipped_job.document.sections for b in s.blocks if type(b).__name__ == "Chart")
    assert forecast_fill(pdf_drawing(chart)) == accent
    assert pdf_renderer.ACCENT == accent
    # The content streams fill with the accent as RGB fractions (reportlab writes "r g b rg").
    # reportlab writes fractions with six decimals and no leading zero: ".121569 .305882 .47451 rg".
    r, g, b = (f"{x:.6f}".rstrip("0").removeprefix("0") for x in Theme.rgb(DEFAULT_THEME.accent))
    (tmp_path / "in.pdf").write_bytes(shipped_pdf)
    subprocess.run(
        [need("qpdf"), "--qdf", "--object-streams=disable", str(tmp_path / "in.pdf"), str(tmp_path / "out.pdf")],
        check=True, capture_output=True,
    )
    qdf = (tmp_path / "out.pdf").read_bytes()
    assert f"{r} {g} {b} rg".encode() in qdf


def pdf_drawing(chart, theme=DEFAULT_THEME):
    pdf_renderer.register_fonts()
    return pdf_renderer.chart_drawing(chart, theme, width=450, font=pdf_renderer.FONT)


def forecast_fill(drawing):
    return drawing.chart.bars[(0, 0)].fillColor


def test_a_theme_changes_every_renderer(shipped_job):
    theme = dataclasses.replace(DEFAULT_THEME, accent="AA3311")
    styles = docx_parts(docx_renderer.render_with(shipped_job, theme))["word/styles.xml"].decode()
    assert '<w:color w:val="AA3311"/>' in styles and f'<w:color w:val="{ACCENT}"/>' not in styles
    wb = load_workbook(io.BytesIO(xlsx_renderer.render_with(shipped_job, theme)))
    assert wb["Forecast"]["A1"].fill.fgColor.rgb.endswith("AA3311")
    chart = next(b for s in shipped_job.document.sections for b in s.blocks if type(b).__name__ == "Chart")
    assert forecast_fill(pdf_drawing(chart, theme)).hexval() == "0xaa3311"


# --- one page size ---------------------------------------------------------------------------


def test_docx_and_pdf_are_a4_by_default(shipped_docx, shipped_pdf, tmp_path):
    assert page_size_twips(docx_parts(shipped_docx)["word/document.xml"]) == (11906, 16838)
    assert "595.276 x 841.89 pts (A4)" in pdf_page_size(shipped_pdf, tmp_path)


def test_a_letter_theme_gives_letter_everywhere(shipped_job, letter, tmp_path):
    document = docx_parts(docx_renderer.render_with(shipped_job, letter))["word/document.xml"]
    assert page_size_twips(document) == (12240, 15840)
    assert "612 x 792 pts (letter)" in pdf_page_size(pdf_renderer.render_with(shipped_job, letter), tmp_path)
    wb = load_workbook(io.BytesIO(xlsx_renderer.render_with(shipped_job, letter)))
    assert {ws.page_setup.paperSize for ws in wb.worksheets} == {1}  # 1 = Letter, 9 = A4


def test_themed_output_is_reproducible(shipped_job, letter):
    for module in (docx_renderer, xlsx_renderer, pdf_renderer):
        assert module.render_with(shipped_job, letter) == module.render_with(shipped_job, letter), module


# --- contents and captions -------------------------------------------------------------------


def test_docx_toc_field_result_lists_every_section(shipped_docx, shipped_job):
    body = docx_parts(shipped_docx)["word/document.xml"].decode()
    paragraphs = re.findall(r"<w:p>.*?</w:p>", body, re.S)
    toc = [p for p in paragraphs if re.search(r'<w:pStyle w:val="TOC\d"/>', p)]
    sections = shipped_job.document.sections
    assert ["".join(re.findall(r"<w:t>([^<]*)</w:t>", p)) for p in toc] == [s.title for s in sections]
    # Subsections are indented: they take the "TOC 2" style.
    levels = [re.search(r'<w:pStyle w:val="TOC(\d)"/>', p)[1] for p in toc]
    assert levels == [str(min(max(s.level, 1), 3)) for s in sections] and "2" in levels
    # One field spans the entries: it begins before the first title and ends after the last.
    first, last = toc[0], toc[-1]
    assert first.index('w:fldCharType="begin"') < first.index(' TOC \\o "1-3" \\h \\z \\u ')
    assert first.index('w:fldCharType="separate"') < first.index(f"<w:t>{sections[0].title}</w:t>")
    assert last.index(f"<w:t>{sections[-1].title}</w:t>") < last.index('w:fldCharType="end"')
    assert body.count('w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> TOC ') == 1


def test_docx_toc_styles_are_words_built_in_ones(shipped_docx):
    styles = docx_parts(shipped_docx)["word/styles.xml"].decode()
    for level in (1, 2):
        style = re.search(rf'<w:style [^>]*w:styleId="TOC{level}".*?</w:style>', styles, re.S)[0]
        assert f'<w:name w:val="toc {level}"/>' in style and "customStyle" not in style


def test_converted_docx_contents_page_lists_the_sections(shipped_docx, shipped_job, tmp_path):
    src = tmp_path / "report.docx"
    src.write_bytes(shipped_docx)
    subprocess.run(
        [need("soffice"), "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(src)],
        check=True, capture_output=True, timeout=180,
    )
    page2 = pdftotext((tmp_path / "report.pdf").read_bytes(), tmp_path).split("\f")[1]
    flat = " ".join(page2.split())
    assert "Right-click" not in flat
    for section in shipped_job.document.sections:
        assert section.title in flat


def test_pdf_captions_are_numbered(shipped_pdf, shipped_job, tmp_path):
    text = " ".join(pdftotext(shipped_pdf, tmp_path).split())
    assert "Table 1: Key figures" in text
    assert "Table 2: Market size by year (USD billion)" in text
    chart = next(b for s in shipped_job.document.sections for b in s.blocks if type(b).__name__ == "Chart")
    assert f"Figure 1: {chart.title}" in text


def test_chart_source_line_in_docx_and_pdf(shipped_docx, shipped_pdf, shipped_job, tmp_path):
    line = f"Source: {shipped_job.document.publisher}; derived values are computed estimates"
    assert line.encode() in docx_parts(shipped_docx)["word/document.xml"]
    assert line in " ".join(pdftotext(shipped_pdf, tmp_path).split())


# --- logo ------------------------------------------------------------------------------------


def test_no_logo_by_default(shipped_docx):
    media = [name for name in docx_parts(shipped_docx) if name.startswith("word/media/")]
    assert media == []  # the chart is a native chart part, not a picture


def test_logo_appears_in_docx_pdf_and_xlsx(shipped_job, shipped_pdf, logo_theme, tmp_path):
    parts = docx_parts(docx_renderer.render_with(shipped_job, logo_theme))
    media = [name for name in parts if name.startswith("word/media/")]
    assert len(media) == 1
    assert logo_theme.logo.read_bytes() in [parts[name] for name in media]

    plain = pdf_images(shipped_pdf, tmp_path, "plain.pdf")
    with_logo = pdf_images(pdf_renderer.render_with(shipped_job, logo_theme), tmp_path, "logo.pdf")
    assert len(with_logo) == len(plain) + 1
    assert any(row.split()[:1] == ["1"] for row in with_logo)  # on the cover page

    wb = load_workbook(io.BytesIO(xlsx_renderer.render_with(shipped_job, logo_theme)))
    images = wb["Summary"]._images
    assert len(images) == 1 and images[0].anchor._from.row == 0
