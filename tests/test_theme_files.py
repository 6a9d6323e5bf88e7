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
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn
from lxml import etree
from test_conformance import package_problems

from conftest import DATA_DIR, ROOT, colour_share, exporter, flat, libreoffice, need, pdftotext

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
REPORT = "sales-pipeline"
ACCENT = "7A1F3D"
HEADER = "Acme Corp · Sales Operations"
FOOTER = "Acme Corp · Confidential · for internal use and named clients"
MARKET = "us-intrathecal-pump-market"


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


def test_the_word_file_is_built_on_the_corporate_template(themed):
    word = docx.Document(themed / f"{REPORT}.docx")
    section = word.sections[0]
    # The template's page setup, header (with its logo) and footer.
    assert (section.page_width.inches, section.page_height.inches) == pytest.approx((8.5, 11), abs=0.01)
    assert section.left_margin.inches == pytest.approx(0.9, abs=0.01)
    assert section.header.paragraphs[0].text.strip() == HEADER
    assert section.footer.paragraphs[0].text == f"{FOOTER} · Page 1 of 1"  # its own PAGE and NUMPAGES fields
    assert section.header._element.xpath(".//w:drawing")  # the logo in the header
    # The template's styles, as it defines them: Georgia, wine-red headings.
    heading = word.styles["Heading 1"]
    assert str(heading.font.color.rgb) == ACCENT and heading.font.name == "Georgia" and heading.font.size.pt == 18
    assert word.styles["Normal"].font.name == "Georgia"
    # Our body, without the template's leftover paragraph.
    texts = [p.text for p in word.paragraphs]
    assert "Template body text: replaced by the report." not in texts
    assert "Weekly sales pipeline — EMEA" in texts and "Pipeline by stage" in texts
    assert "Heading 1" in [p.style.name for p in word.paragraphs if p.text == "Pipeline by stage"]  # and its TOC entry
    with zipfile.ZipFile(themed / f"{REPORT}.docx") as archive:
        media = [archive.read(n) for n in archive.namelist() if n.startswith("word/media/")]
        assert package_problems((themed / f"{REPORT}.docx").read_bytes()) == []
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
    # build refuses the reports naming that theme, alone (exit 1), with the same located lines; a report
    # that does not use the theme is built.
    shutil.copy(DATA_DIR / "reports" / f"{MARKET}.yaml", data / "reports")
    out = tmp_path / "out"
    built = exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out))
    assert built.returncode == 1, built.stderr
    assert message in built.stderr and f"{report}:5: theme: theme 'acme' cannot be used" in built.stderr
    assert all(line.startswith("Error: ") for line in built.stderr.splitlines()), built.stderr
    assert "Traceback" not in built.stderr
    naming = [p.stem for p in (data / "reports").glob("*.yaml")
              if re.search(r"^theme: acme\b", p.read_text(encoding="utf-8"), re.MULTILINE)]
    assert REPORT in naming
    for report_id in naming:  # every report naming the theme is refused, and none of its sets is published
        assert f"{report_id}: invalid" in built.stdout.splitlines()
        assert not [p for p in out.iterdir() if p.name == report_id or p.name.startswith(f"{report_id}.")]
    assert f"{MARKET}: built: {out / MARKET / f'{MARKET}.txt'}" in built.stdout.splitlines()
    assert not (out / REPORT).exists() and not (out / f"{REPORT}.dach").exists()
    assert (out / MARKET / f"{MARKET}.txt").is_file()


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


def template_theme(tmp_path: Path, template: bytes, name: str = "corp.docx") -> Path:
    """A copy of the example whose theme uses the Word template *template*; return its data folder."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    (data / "themes" / name).write_bytes(template)
    theme = data / "themes" / "acme.yaml"
    theme.write_text(theme.read_text(encoding="utf-8").replace("word_template: acme.dotx", f"word_template: {name}"),
                     encoding="utf-8")
    return data


def plain_template(**changes) -> bytes:
    """A template as python-docx makes it, with a distinctive Heading 1 and a header."""
    word = docx.Document()
    word.styles["Heading 1"].font.name = "Courier New"
    word.sections[0].header.paragraphs[0].text = "CORP TEMPLATE HEADER"
    word.add_paragraph("leftover template text")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def without_style(package: bytes, style_id: str) -> bytes:
    """*package* with style *style_id* removed from styles.xml (left latent, as Word saves templates)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "word/styles.xml":
                data, count = re.subn(rb'<w:style w:type="paragraph" w:styleId="' + style_id.encode() +
                                      rb'">.*?</w:style>', b"", data, flags=re.DOTALL)
                assert count == 1
            target.writestr(entry, data)
    return out.getvalue()


def test_a_style_the_template_lacks_is_added_in_the_default_look(tmp_path):
    data = template_theme(tmp_path, without_style(plain_template(), "Heading2"))
    out = tmp_path / "out"
    result = exporter("build", "-f", "docx", "--data-dir", str(data), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    word = docx.Document(out / REPORT / f"{REPORT}.docx")
    assert word.sections[0].header.paragraphs[0].text == "CORP TEMPLATE HEADER"
    assert word.styles["Heading 1"].font.name == "Courier New"  # the template's own, untouched
    heading2 = word.styles["Heading 2"]  # added: a built-in style, in the default look
    assert heading2.element.get(qn("w:customStyle")) is None
    assert [p.style.name for p in word.paragraphs if p.text == "By owner and stage"] == ["toc 2", "Heading 2"]
    assert "leftover template text" not in [p.text for p in word.paragraphs]


def test_a_template_that_is_not_a_word_file_is_a_located_error(tmp_path):
    data = template_theme(tmp_path, b"not a zip", "corp.docx")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert "acme.yaml:18: word_template: 'corp.docx' is not a Word file (.docx or .dotx)" in result.stderr


@pytest.mark.slow
def test_a_template_saved_by_libreoffice_is_honoured(tmp_path):
    source = tmp_path / "corp.docx"
    source.write_bytes(plain_template())
    dotx = libreoffice(source, "dotx", tmp_path / "lo", tmp_path / "profile")
    with zipfile.ZipFile(dotx) as archive:
        assert b"template.main+xml" in archive.read("[Content_Types].xml")  # a real .dotx
    data = template_theme(tmp_path, dotx.read_bytes(), "corp.dotx")
    out = tmp_path / "out"
    result = exporter("build", "-f", "docx", "--data-dir", str(data), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    word = docx.Document(out / REPORT / f"{REPORT}.docx")
    assert word.sections[0].header.paragraphs[0].text == "CORP TEMPLATE HEADER"
    assert [p.style.name for p in word.paragraphs if p.text == "Pipeline by stage"] == ["toc 1", "Heading 1"]
    # The template's Heading 1 as LibreOffice wrote it ("Heading 1", a name python-docx does not look up
    # as such), untouched: its colour, not the theme's accent.
    heading = etree.tostring(word.styles["Heading 1"].element)
    assert b'w:color w:val="365F91"' in heading and ACCENT.encode() not in heading
    assert len([s for s in word.styles if s.name == "Heading 1"]) == 1  # not a second one of ours


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


def test_what_the_templates_authors_left_does_not_reach_the_client(tmp_path):
    word = docx.Document()
    para = word.add_paragraph("draft text")
    word.add_comment(para.runs, text="price floor 38k", author="J. Secret", initials="JS")
    word.core_properties.content_status = "Internal draft"
    word.core_properties.identifier = r"\\fileserver\legal\matter-123"
    out_template = io.BytesIO()
    word.save(out_template)
    data = template_theme(tmp_path, out_template.getvalue())
    out = tmp_path / "out"
    result = exporter("build", "-f", "docx", "--data-dir", str(data), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out / REPORT / f"{REPORT}.docx") as archive:
        everything = b"".join(archive.read(n) for n in archive.namelist())
        assert not [n for n in archive.namelist() if "comments" in n]
    for secret in (b"J. Secret", b"price floor", b"Internal draft", b"matter-123", b"draft text"):
        assert secret not in everything, secret


def test_a_template_without_page_setup_is_a_located_error(tmp_path):
    word = docx.Document()
    body = word.element.body
    body.remove(body.find(qn("w:sectPr")))
    package = io.BytesIO()
    word.save(package)
    data = template_theme(tmp_path, package.getvalue())
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert "acme.yaml:18: word_template: 'corp.docx' has no page setup" in result.stderr


def test_a_template_with_a_footer_only_gets_our_header(tmp_path):
    word = docx.Document()
    word.sections[0].footer.paragraphs[0].text = "CORP FOOTER ONLY"
    package = io.BytesIO()
    word.save(package)
    data = template_theme(tmp_path, package.getvalue())
    out = tmp_path / "out"
    assert exporter("build", "-f", "docx", "--data-dir", str(data), "--output-dir", str(out), REPORT).returncode == 0
    section = docx.Document(out / REPORT / f"{REPORT}.docx").sections[0]
    assert section.footer.paragraphs[0].text == "CORP FOOTER ONLY"  # the template's, without our page numbers
    assert section.header.paragraphs[0].text == HEADER  # the theme's header text, where the template has none


def test_validate_checks_every_theme_and_the_one_a_build_would_use(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    (data / "themes").mkdir()
    (data / "themes" / "unused.yaml").write_text("page_size: Legal\n", encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert f"{data / 'themes' / 'unused.yaml'}:1: page_size: Input should be 'A4' or 'Letter'" in result.stderr
    bad_name = exporter("validate", "--data-dir", str(data), "--theme", "Unused")
    assert bad_name.returncode == 2 and "--theme 'Unused' is not a theme name" in bad_name.stderr


@pytest.mark.parametrize(("head", "message"), [
    (b"wOF2", "is a web font (WOFF); give the TrueType file (.ttf)"),
    (b"OTTO", "has PostScript (CFF) outlines; the PDF needs a TrueType font (glyf outlines), e.g. a .ttf"),
])
def test_a_font_the_pdf_cannot_embed_is_named_for_what_it_is(tmp_path, head, message):
    data = break_theme(tmp_path, "pdf: fonts/DejaVuSerif.ttf", "pdf: fonts/Other.ttf")
    (data / "themes" / "fonts" / "Other.ttf").write_bytes(head + bytes(60))
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert f"acme.yaml:8: fonts.pdf: 'fonts/Other.ttf' {message}" in result.stderr, result.stderr
