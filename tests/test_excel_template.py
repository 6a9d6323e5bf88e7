"""A corporate Excel template (`excel_template` in a theme): the workbook starts from it.

The example's theme `acme` names `acme.xltx` (made by examples/sales-pipeline/make_excel_template.py):
a cover sheet with the logo, named styles, a defined name, a link and a print header. The workbook
built by the real command line is read back with openpyxl and LibreOffice. Templates holding what
openpyxl would drop are refused when the theme is checked.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from test_conformance import package_problems

from conftest import DATA_DIR, ROOT, exporter, flat, libreoffice, need

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
REPORT = "sales-pipeline"
MARKET = "us-intrathecal-pump-market"
COVER_TITLE = "Acme Corp · Sales Operations"
SHEET_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
TEMPLATE_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("xltx")
    result = exporter("build", "-f", "xlsx", "--data-dir", str(EXAMPLE), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    return out / REPORT / f"{REPORT}.xlsx"


def test_the_template_ships_as_a_template():
    with zipfile.ZipFile(EXAMPLE / "themes" / "acme.xltx") as package:
        assert TEMPLATE_TYPE in package.read("[Content_Types].xml")


def test_the_workbook_starts_with_the_templates_cover_then_the_reports_sheets(workbook):
    package = workbook.read_bytes()
    assert package_problems(package) == []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        types = archive.read("[Content_Types].xml")
        assert SHEET_TYPE in types and TEMPLATE_TYPE not in types  # a workbook, not a template
        media = [archive.read(n) for n in archive.namelist() if n.startswith("xl/media/")]
    assert (EXAMPLE / "themes" / "acme-logo.png").read_bytes() in media
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames == ["Cover", "Summary", "Amount by stage", "Amount by owner and stage",
                               "Share of pipeline by region", "Bookings against target (EUR th", "Open deals"]
    assert book.active.title == "Cover"
    cover = book["Cover"]
    # Its cells, styles, merged cells, link, picture and print header, as the template has them.
    assert cover["B5"].value == COVER_TITLE and cover["B5"].style == "Acme Title"
    assert (cover["B5"].font.name, cover["B5"].font.sz, cover["B5"].font.color.rgb) == ("Georgia", 22, "007A1F3D")
    assert "B5:C5" in {str(r) for r in cover.merged_cells.ranges}
    assert cover["C9"].hyperlink.target == "https://acme.example/"
    assert len(cover._images) == 1
    assert cover.oddHeader.right.text == "Acme Corp · Confidential"
    assert cover.column_dimensions["C"].width == 44
    assert cover.sheet_properties.tabColor.rgb == "007A1F3D"
    # The workbook's named styles and defined names.
    assert {"Acme Title", "Acme Figure"} <= set(book.named_styles)
    assert book.defined_names["AcmeContact"].attr_text == "Cover!$C$8"
    # The report's sheets are whole, in the theme's look.
    assert book["Summary"]["A1"].value == "Weekly sales pipeline — EMEA"
    assert book["Open deals"].max_row == 25 and book["Open deals"]["A1"].font.name == "Georgia"
    assert book.properties.title == "Weekly sales pipeline — EMEA"
    assert book.properties.creator != "Acme Corp (synthetic)"  # the template's author is not the report's


@pytest.mark.slow
def test_libreoffice_reads_the_cover_and_the_report(workbook, tmp_path):
    pdf = libreoffice(workbook, "pdf", tmp_path / "pdf", tmp_path / "profile")
    pages = subprocess.run([need("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True,
                           text=True).stdout.split("\f")
    assert COVER_TITLE in flat(pages[0]) and "Named clients of Acme Corp" in flat(pages[0])
    assert "Weekly sales pipeline — EMEA" in flat(pages[1])
    info = subprocess.run([need("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "612 x 792 pts (letter)" in info


def with_template(tmp_path: Path, template: bytes, *, data_dir: Path = EXAMPLE) -> Path:
    """A copy of *data_dir* whose theme `acme` (the example's) starts workbooks from *template*."""
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    if not (data / "themes").exists():
        shutil.copytree(EXAMPLE / "themes", data / "themes")
    (data / "themes" / "corp.xlsx").write_bytes(template)
    theme = data / "themes" / "acme.yaml"
    text = theme.read_text(encoding="utf-8")
    assert "excel_template: acme.xltx" in text
    theme.write_text(text.replace("excel_template: acme.xltx", "excel_template: corp.xlsx"), encoding="utf-8")
    return data


def template(*, sheet: str = "Front", change=None) -> bytes:
    book = openpyxl.Workbook()
    book.active.title = sheet
    book.active["A1"] = "CORP FRONT PAGE"
    if change:
        change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_part(package: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            target.writestr(entry, source.read(entry))
        target.writestr(name, data)
    return out.getvalue()


def test_what_the_templates_authors_left_does_not_reach_the_client(tmp_path):
    def private(book):
        book.active["A1"].comment = Comment("check the numbers with Bob", "Alice Internal")
        book.custom_doc_props.append(StringProperty(name="Matter", value="M-2026-0042 confidential"))

    data = with_template(tmp_path, template(change=private))
    out = tmp_path / "out"
    result = exporter("build", "-f", "xlsx", "--data-dir", str(data), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    package = (out / REPORT / f"{REPORT}.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert b"CORP FRONT PAGE" in everything
    for private_text in (b"Alice Internal", b"check the numbers", b"M-2026-0042"):
        assert private_text not in everything


SHAPE_DRAWING = (b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">'
                 b'<xdr:twoCellAnchor><xdr:sp><xdr:nvSpPr/></xdr:sp></xdr:twoCellAnchor></xdr:wsDr>')


@pytest.mark.parametrize(("package", "message"), [
    (b"not a zip", "is not an Excel workbook (.xlsx or .xltx)"),
    (with_part(template(), "xl/vbaProject.bin", b"\0"), "holds macros (.xlsm/.xltm)"),
    (with_part(template(), "xl/drawings/drawing9.xml", SHAPE_DRAWING), "holds shapes or text boxes, which the"),
    (with_part(template(), "xl/pivotTables/pivotTable1.xml", b"<x/>"), "holds pivot tables, which the workbook"),
    (template(sheet="Summary"), "has a sheet named 'Summary', which is the report's own"),
])
def test_a_template_the_workbook_could_not_keep_is_a_located_error(tmp_path, package, message):
    data = with_template(tmp_path, package)
    out = tmp_path / "out"
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert f"acme.yaml:19: excel_template: 'corp.xlsx' {message}" in result.stderr
    assert "Traceback" not in result.stderr
    # build refuses the reports naming the theme (exit 1): every report of the example names it, so
    # nothing is published.
    build = exporter("build", "--data-dir", str(data), "--output-dir", str(out))
    ids = sorted(p.stem for p in (data / "reports").glob("*.yaml"))
    assert REPORT in ids
    assert all(re.search(r"^theme: acme\b", (data / "reports" / f"{i}.yaml").read_text(), re.MULTILINE) for i in ids)
    assert build.returncode == 1
    assert [line for line in build.stdout.splitlines() if not line.startswith("summary: ")] == \
        [f"{i}: invalid" for i in ids]
    assert f"acme.yaml:19: excel_template: 'corp.xlsx' {message}" in build.stderr
    assert "Traceback" not in build.stderr
    assert not (out / REPORT).exists() and not (out / "index.html").exists()


def test_a_template_sheet_named_as_one_of_the_reports_fails_that_report_only(tmp_path):
    data = with_template(tmp_path, template(sheet="Forecast"), data_dir=DATA_DIR)
    out = tmp_path / "out"
    result = exporter("build", "-f", "xlsx", "--theme", "acme", "--data-dir", str(data), "--output-dir", str(out))
    assert result.returncode == 1
    assert "has a sheet named 'Forecast', which the report writes itself: rename it in the template" in result.stdout \
        + result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / MARKET / f"{MARKET}.xlsx").exists()
