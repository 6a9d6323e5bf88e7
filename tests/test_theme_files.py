"""Theme files (`DATA/themes/<name>.yaml`): the customer's look reaches all three files, a theme is
checked like report data, a changed theme rebuilds, and no client file names the tool.

The example's theme `acme` (Letter, a wine-red palette, DejaVu Serif embedded, a logo, header and
footer texts) is built by the real command line and read back.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import DATA_DIR, ROOT, colour_share, flat, libreoffice, need, pdftotext

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
REPORT = "sales-pipeline"
ACCENT = "7A1F3D"
HEADER = "Acme Corp · Sales Operations"
FOOTER = "Acme Corp · Confidential · for internal use and named clients"
MARKET = "us-intrathecal-pump-market"


def exporter(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporter", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def themed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("themed")
    result = exporter("build", "--data-dir", str(EXAMPLE), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    return out / REPORT


def test_the_pdf_is_letter_in_the_themes_font_with_its_header_footer_and_source_line(themed, tmp_path):
    pdf = themed / f"{REPORT}.pdf"
    info = subprocess.run([need("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts (letter)" in info
    fonts = subprocess.run([need("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:]}
    assert names == {"DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic"}  # embedded, nothing else
    assert all(" yes yes " in line for line in fonts.splitlines()[2:])
    text = flat(pdftotext(pdf.read_bytes(), tmp_path))
    assert text.count(HEADER) >= 5 and text.count(FOOTER) >= 5  # on every page after the cover
    assert "Source: Sales Operations, Acme CRM export" in text
    # The accent is the theme's: the bars of the first chart are wine red.
    assert colour_share(pdf, 3, ACCENT, tmp_path) > 0.01


def test_the_word_file_has_the_themes_page_font_colours_header_footer_and_logo(themed):
    word = docx.Document(themed / f"{REPORT}.docx")
    section = word.sections[0]
    assert (section.page_width.inches, section.page_height.inches) == pytest.approx((8.5, 11), abs=0.01)
    assert section.header.paragraphs[0].text == HEADER
    assert section.footer.paragraphs[0].text.startswith(FOOTER + "\tPage ")
    with zipfile.ZipFile(themed / f"{REPORT}.docx") as archive:
        styles = archive.read("word/styles.xml").decode()
    assert 'w:ascii="Georgia"' in styles and 'w:ascii="Arial"' not in styles
    assert str(word.styles["Heading 1"].font.color.rgb) == ACCENT
    with zipfile.ZipFile(themed / f"{REPORT}.docx") as archive:
        media = [archive.read(n) for n in archive.namelist() if n.startswith("word/media/")]
    assert (EXAMPLE / "themes" / "acme-logo.png").read_bytes() in media


def test_the_workbook_has_the_themes_paper_font_colours_and_logo(themed):
    book = openpyxl.load_workbook(themed / f"{REPORT}.xlsx")
    for sheet in book.worksheets:
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_LETTER), sheet.title
    header = book["Open deals"]["A1"]
    assert header.fill.fgColor.rgb.endswith(ACCENT) and header.font.name == "Georgia"
    assert len(book["Summary"]._images) == 1


def test_build_theme_overrides_the_reports_own(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    shutil.copytree(EXAMPLE / "themes", data / "themes")
    out = tmp_path / "out"
    result = exporter("build", "-f", "pdf", "--theme", "acme", "--data-dir", str(data), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    pdf = out / MARKET / f"{MARKET}.pdf"
    info = subprocess.run([need("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts (letter)" in info
    # The same data with another --theme is another build, not "unchanged".
    again = exporter("build", "-f", "pdf", "--data-dir", str(data), "--output-dir", str(out))
    assert f"{MARKET}: built" in again.stdout
    unknown = exporter("build", "--theme", "nope", "--data-dir", str(data), "--output-dir", str(out))
    assert unknown.returncode == 2 and "no theme 'nope'" in unknown.stderr and "(themes: acme)" in unknown.stderr


def test_a_changed_theme_rebuilds_its_reports(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    out = tmp_path / "out"
    args = ("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out), REPORT)
    assert exporter(*args).returncode == 0
    assert f"{REPORT}: unchanged" in exporter(*args).stdout
    theme = data / "themes" / "acme.yaml"
    theme.write_text(theme.read_text(encoding="utf-8").replace("page_size: Letter", "page_size: A4"), encoding="utf-8")
    assert f"{REPORT}: built" in exporter(*args).stdout


def break_theme(tmp_path: Path, old: str, new: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    theme = data / "themes" / "acme.yaml"
    text = theme.read_text(encoding="utf-8")
    assert old in text, old
    theme.write_text(text.replace(old, new), encoding="utf-8")
    return data


@pytest.mark.parametrize(("old", "new", "message"), [
    ("accent: 7A1F3D", "accent: 7A1F3", "acme.yaml:5: colours.accent: String should match pattern"),
    ("pdf: fonts/DejaVuSerif.ttf", "pdf: fonts/Missing.ttf", "acme.yaml:8: fonts.pdf: 'fonts/Missing.ttf': no such file"),
    ("pdf: fonts/DejaVuSerif.ttf", "pdf: ../reports/sales-pipeline.yaml",
     "acme.yaml:8: fonts.pdf: '../reports/sales-pipeline.yaml' leads outside the themes folder"),
    ("pdf: fonts/DejaVuSerif.ttf", "pdf: acme-logo.png", "acme.yaml:8: fonts.pdf: 'acme-logo.png' is not a font file"),
    ("logo: acme-logo.png", "logo: fonts/LICENSE_DEJAVU.txt",
     "acme.yaml:14: logo: 'fonts/LICENSE_DEJAVU.txt' is not a PNG or JPEG image"),
    ("page_size: Letter", "page_size: Legal", "acme.yaml:4: page_size: Input should be 'A4' or 'Letter'"),
    ("header: Acme", "heading: Acme", "acme.yaml:15: heading: unknown field"),
])
def test_a_broken_theme_is_a_located_error_naming_the_report_too(tmp_path, old, new, message):
    data = break_theme(tmp_path, old, new)
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr, result.stderr
    report = data / "reports" / f"{REPORT}.yaml"
    assert f"{report}:5: theme: theme 'acme' cannot be used" in result.stderr
    assert "Traceback" not in result.stderr
    out = tmp_path / "out"
    assert exporter("build", "--data-dir", str(data), "--output-dir", str(out)).returncode == 2
    assert not (out / REPORT).exists()


def test_a_report_naming_a_missing_theme_is_refused_at_its_line(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    shutil.rmtree(data / "themes")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert f"{data / 'reports' / f'{REPORT}.yaml'}:5: theme: theme 'acme' cannot be used" in result.stderr
    assert "no theme 'acme'" in result.stderr and "(themes: none)" in result.stderr


def test_text_the_theme_font_lacks_is_refused_against_that_font(tmp_path):
    data = break_theme(tmp_path, "page_size: Letter", "page_size: Letter")
    report = data / "reports" / f"{REPORT}.yaml"
    # Greek is in DejaVu Sans (the default font) but not in the theme's font, subset to Latin.
    report.write_text(report.read_text(encoding="utf-8").replace("title: Weekly sales pipeline — EMEA",
                                                                 "title: Weekly sales pipeline — Ελλάδα"),
                      encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert "title: characters the PDF font cannot draw: 'Ε' (U+0395), 'ά' (U+03AC)" in result.stderr


# --- client files do not name the tool ----------------------------------------------------------------


def test_no_client_file_names_the_tool(tmp_path):
    out = tmp_path / "out"
    assert exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
    folder = out / MARKET
    for ext in ("docx", "xlsx"):
        with zipfile.ZipFile(folder / f"{MARKET}.{ext}") as archive:
            for name in archive.namelist():
                data = archive.read(name)
                assert b"exporter" not in data.lower(), (ext, name)
                if name.endswith(".xlsx"):  # an embedded workbook (a Word chart's data)
                    with zipfile.ZipFile(io.BytesIO(data)) as inner:
                        assert not any(b"exporter" in inner.read(n).lower() for n in inner.namelist())
    pdf = (folder / f"{MARKET}.pdf").read_bytes()
    assert b"exporter" not in pdf.lower()
    assert "exporter" not in pdftotext(pdf, tmp_path).lower()
    info = subprocess.run([need("pdfinfo"), str(folder / f"{MARKET}.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"^Creator:\s*$", info, re.MULTILINE) or "Creator" not in info


@pytest.mark.slow
def test_libreoffice_reads_the_themed_word_file(themed, tmp_path):
    source = tmp_path / "themed.docx"
    shutil.copy(themed / f"{REPORT}.docx", source)
    pdf = libreoffice(source, "pdf", tmp_path / "out", tmp_path / "profile")
    info = subprocess.run([need("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts (letter)" in info
    text = flat(pdftotext(pdf.read_bytes(), tmp_path))
    assert HEADER in text and FOOTER in text
    assert colour_share(pdf, 3, ACCENT, tmp_path) > 0.01  # the chart drawn in the theme's accent
