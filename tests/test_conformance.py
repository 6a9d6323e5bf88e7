"""The shipped deliverables, as built by the CLI, read back by real consumer software.

Renderer tests check what our own code wrote; these check what LibreOffice, poppler, qpdf and a
strict package reader make of the files a customer receives. The report is built once per
module through the CLI, so the files tested are the files published, not a renderer's return value.
"""

from __future__ import annotations

import io
import json
import math
import posixpath
import re
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest

from exporter.core.derive import forecast
from exporter.layout.market import build_document
from exporter.render.theme import DEFAULT_THEME

from conftest import DATA_DIR, ROOT, colour_share, flat, libreoffice, need, pdf_body, pdftotext

REPORT_ID = "us-intrathecal-pump-market"
LANGUAGE = "en-US"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([need(tool), *args], capture_output=True, text=True, timeout=120)


# --- the build ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    docx: Path
    xlsx: Path
    pdf: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    out = tmp_path_factory.mktemp("conformance-build")
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "build", "--data-dir", str(DATA_DIR), "--output-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    folder = out / REPORT_ID
    files = Built(*(folder / f"{REPORT_ID}.{ext}" for ext in ("docx", "xlsx", "pdf")))
    for path in (files.docx, files.xlsx, files.pdf):
        assert path.is_file() and path.stat().st_size > 0, f"the build did not write {path.name}"
    return files


@pytest.fixture(scope="module")
def document(shipped_job, shipped_report):
    return build_document(shipped_report, forecast(shipped_report.figures))


# --- LibreOffice ---------------------------------------------------------------------------------

# Asked for explicitly: LibreOffice 7.4 exports bookmarks by default, but that default is a
# profile setting. The JSON filter-options syntax works from 7.4 ("false" drops the outline).
BOOKMARKS_FILTER = 'pdf:writer_pdf_Export:{"ExportBookmarks":{"type":"boolean","value":"true"}}'


@pytest.fixture(scope="module")
def soffice(tmp_path_factory):
    """Return a converter running LibreOffice headless with a profile of its own.

    A fresh profile keeps a user's settings (and a running LibreOffice holding the default
    profile's lock) out of the result; it is shared within the module because creating one is
    most of a conversion's time.
    """
    profile = tmp_path_factory.mktemp("lo-profile")

    def convert(source: Path, target: str, outdir: Path) -> Path:
        return libreoffice(source, target, outdir, profile)

    return convert


@pytest.fixture(scope="module")
def lo_docx_pdf(soffice, built, tmp_path_factory) -> Path:
    return soffice(built.docx, BOOKMARKS_FILTER, tmp_path_factory.mktemp("lo-docx-pdf"))


@pytest.fixture(scope="module")
def lo_xlsx_pdf(soffice, built, tmp_path_factory) -> Path:
    # A folder of its own: both conversions are named <id>.pdf.
    return soffice(built.xlsx, "pdf", tmp_path_factory.mktemp("lo-xlsx-pdf"))


@pytest.fixture(scope="module")
def lo_xlsx(soffice, built, tmp_path_factory) -> Path:
    """The workbook saved again by LibreOffice after it calculated every formula itself.

    The copy it opens has the cached values of our formula cells taken out, so every number in
    the result is LibreOffice's own (it would otherwise show the cached ones, as previews do).
    """
    folder = tmp_path_factory.mktemp("lo-xlsx-in")
    uncached = folder / built.xlsx.name
    with zipfile.ZipFile(built.xlsx) as source, zipfile.ZipFile(uncached, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", data)
            target.writestr(entry, data)
    assert not any(openpyxl.load_workbook(uncached, data_only=True)[sheet][coord].value is not None
                   for sheet, coord in formula_cells(uncached))
    return soffice(uncached, "xlsx", tmp_path_factory.mktemp("lo-xlsx"))


def assert_qpdf_check(path: Path) -> None:
    # Exit status 3 means warnings only, which still mean a reader has to repair the file.
    result = run("qpdf", "--check", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout, result.stdout


def page_texts(path: Path) -> list[str]:
    # Content-stream order, not layout: a sheet's wrapped cells would interleave side by side.
    out = subprocess.run([need("pdftotext"), "-raw", str(path), "-"], check=True, capture_output=True)
    return out.stdout.decode("utf-8").split("\f")[:-1]


@pytest.mark.slow
def test_libreoffice_converts_the_docx_to_a_valid_pdf_with_every_section(lo_docx_pdf, document):
    assert_qpdf_check(lo_docx_pdf)
    text = flat(" ".join(page_texts(lo_docx_pdf)))
    assert document.title in text
    for section in document.sections:
        assert section.title in text


@pytest.mark.slow
def test_libreoffice_draws_the_native_word_chart_from_its_cached_values(lo_docx_pdf, shipped_forecast, tmp_path):
    pages = page_texts(lo_docx_pdf)
    caption = "Figure 1: United States Intrathecal Pump market size, 2022–2030"
    at = next(n for n, page in enumerate(pages) if caption in flat(page))
    page = flat(pages[at])
    # Only the chart itself says this line, and draws the years and the values at the bars.
    assert "Dark: Reported · Light: Derived (estimate)" in page
    years = " ".join(str(p.year) for p in shipped_forecast.points)
    assert years in page
    for point in shipped_forecast.points:
        assert f"{point.value:.2f}" in page
    # Drawn, not only labelled: the derived years' light bars cover part of the page (no text has that colour).
    assert colour_share(lo_docx_pdf, at + 1, DEFAULT_THEME.secondary, tmp_path) > 0.01
    assert colour_share(lo_docx_pdf, 1, DEFAULT_THEME.secondary, tmp_path) < 0.002  # the cover: no chart


@pytest.mark.slow
def test_docx_headings_become_the_outline_of_libreoffices_pdf(lo_docx_pdf, document):
    outlines = json.loads(run("qpdf", "--json", "--json-key=outlines", str(lo_docx_pdf)).stdout)["outlines"]
    pages = page_texts(lo_docx_pdf)
    seen = []

    def walk(entries, depth):
        for entry in entries:
            seen.append((entry["title"], depth))
            # An outline entry is only useful if it lands where its heading is.
            assert entry["title"] in flat(pages[entry["destpageposfrom1"] - 1]), entry["title"]
            walk(entry["kids"], depth + 1)

    walk(outlines, 1)
    # Heading levels as Word styles: a level-2 section nests under the chapter before it.
    assert seen == [(s.title, s.level) for s in document.sections]


@pytest.mark.slow
def test_libreoffice_converts_the_xlsx_to_a_valid_pdf_showing_every_sheet(lo_xlsx_pdf, shipped_job, shipped_report, shipped_forecast):
    assert_qpdf_check(lo_xlsx_pdf)
    text = flat(" ".join(page_texts(lo_xlsx_pdf)))
    report = shipped_report
    for expected in (report.title, *(c.name for c in report.companies.entries),
                     *(q.question for q in report.faqs.entries)):
        assert expected in text
    # The scenario series is printed from LibreOffice's own calculation: no cached values exist.
    for point in shipped_forecast.points:
        assert f"{point.value:,.2f} Scenario (computed from inputs)" in text


def formula_cells(path: Path) -> dict[tuple[str, str], str]:
    workbook = openpyxl.load_workbook(path)
    return {
        (ws.title, cell.coordinate): cell.value
        for ws in workbook.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    }


@pytest.mark.slow
def test_every_formula_evaluates_to_a_number_after_libreoffice_recalculates(built, lo_xlsx):
    formulas = formula_cells(built.xlsx)
    assert formulas, "the workbook has no formulas to check"
    # Every formula cell carries the value we computed for readers that never calculate ...
    cached = openpyxl.load_workbook(built.xlsx, data_only=True)
    converted = openpyxl.load_workbook(lo_xlsx, data_only=True)
    still_formulas = formula_cells(lo_xlsx)
    for (sheet, coord), formula in formulas.items():
        value = converted[sheet][coord].value
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (sheet, coord, formula, value)
        assert math.isfinite(value), (sheet, coord, formula, value)
        # ... and it equals what a spreadsheet computes from the formula.
        assert cached[sheet][coord].value == pytest.approx(value, rel=1e-12), (sheet, coord, formula)
        # A value in place of the formula would mean the round trip froze the scenario.
        assert (sheet, coord) in still_formulas, (sheet, coord)


@pytest.mark.slow
def test_assumptions_series_recomputed_by_libreoffice_equals_the_python_forecast(built, lo_xlsx, shipped_report):
    expected = {p.year: p.value for p in forecast(shipped_report.figures).points}
    formulas = formula_cells(built.xlsx)
    sheet = openpyxl.load_workbook(lo_xlsx, data_only=True)["Assumptions"]
    computed = {}
    for row in sheet.iter_rows(min_col=1, max_col=2):
        year, value = row[0].value, row[1]
        if ("Assumptions", value.coordinate) in formulas:
            computed[int(year)] = value.value
    assert computed.keys() == expected.keys()
    for year, value in expected.items():
        assert math.isclose(computed[year], value, rel_tol=1e-9), (year, computed[year], value)


# --- the PDF as poppler and qpdf read it ----------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_pages(built, tmp_path_factory) -> list[str]:
    return pdftotext(built.pdf.read_bytes(), tmp_path_factory.mktemp("pdftotext")).split("\f")[:-1]


@pytest.fixture(scope="module")
def pdf_text(pdf_pages) -> str:
    return pdf_body(pdf_pages)


def test_pdf_text_shows_every_fact(pdf_text, shipped_report):
    assert shipped_report.title in pdf_text
    questions = [entry.question for entry in shipped_report.faqs.entries]
    companies = [entry.name for entry in shipped_report.companies.entries]
    assert len(questions) == 10 and len(companies) == 6
    for text in (*questions, *companies):
        assert text in pdf_text
    for figure in ("USD 3.5 billion", "USD 5.8 billion", "6.5%"):
        assert figure in pdf_text


def pdffonts_rows(path: Path) -> list[dict[str, str]]:
    """Parse pdffonts by the column spans its dashed rule gives; font names may contain spaces."""
    lines = run("pdffonts", str(path)).stdout.splitlines()
    header, rule, rows = lines[0], lines[1], lines[2:]
    spans, start = [], 0
    for dashes in rule.split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{name: row[a:b].strip() for name, (a, b) in zip(names, spans)} for row in rows]


def test_pdf_embeds_every_font(built):
    rows = pdffonts_rows(built.pdf)
    assert rows, "pdffonts lists no fonts"
    for row in rows:
        assert row["emb"] == "yes", f"not embedded: {row}"


def test_pdf_passes_qpdf_check(built):
    assert_qpdf_check(built.pdf)


def test_pdf_info_has_title_author_and_subject(built, document):
    lines = run("pdfinfo", str(built.pdf)).stdout.splitlines()
    info = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}
    assert info["Title"] == document.meta.title
    assert info["Author"] == document.meta.author
    assert info["Subject"] == document.meta.subject


def pdf_string(value: str) -> str:
    """Decode a string from qpdf's JSON v2, which prefixes u: for text and b: for hex bytes."""
    kind, _, payload = value.partition(":")
    if kind == "u":
        return payload
    raw = bytes.fromhex(payload)
    return raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("latin-1")


def test_pdf_catalog_names_the_document_language(built):
    # pdfinfo prints no language, so the catalog's /Lang is read directly.
    objects = json.loads(run("qpdf", "--json", "--json-key=qpdf", str(built.pdf)).stdout)["qpdf"][1]
    root = objects["trailer"]["value"]["/Root"]
    catalog = objects[f"obj:{root}"]["value"]
    assert catalog["/Type"] == "/Catalog"
    assert pdf_string(catalog["/Lang"]) == LANGUAGE


def test_published_pdf_is_the_reproducible_render(built, shipped_job):
    from exporter.render.pdf import render

    # Equal to a fresh in-process render: the CLI adds nothing that varies by run or clock.
    assert built.pdf.read_bytes() == render(shipped_job) == render(shipped_job)


def test_docx_normal_style_names_the_document_language(built):
    with zipfile.ZipFile(built.docx) as package:
        styles = ET.fromstring(package.read("word/styles.xml"))
    normal = styles.find(f"{{{W}}}style[@{{{W}}}styleId='Normal']")
    assert normal is not None, "no Normal style"
    lang = normal.find(f"{{{W}}}rPr/{{{W}}}lang")
    assert lang is not None, "the Normal style names no language"
    assert lang.get(f"{{{W}}}val") == LANGUAGE


def test_xlsx_core_properties_name_the_document_language(built):
    assert openpyxl.load_workbook(built.xlsx).properties.language == LANGUAGE


# --- a strict package reader ------------------------------------------------------------------------


def package_problems(package: bytes) -> list[str]:
    """Return what a strict OPC reader (Office in its stricter moods) would refuse in *package*."""
    problems: list[str] = []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = [info.filename for info in archive.infolist()]
        contents = {name: archive.read(name) for name in set(names)}
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"duplicate zip entry {name}")
    for name in names:
        if name.endswith("/"):
            problems.append(f"folder entry {name} is not a part")
    parts = {name for name in contents if not name.endswith("/")}
    # Part names compare case-insensitively (OPC).
    by_lower = {name.lower(): name for name in parts}

    parsed: dict[str, ET.Element] = {}
    for name in sorted(parts):
        if name.endswith((".xml", ".rels")):
            try:
                parsed[name] = ET.fromstring(contents[name])
            except ET.ParseError as error:
                problems.append(f"{name} is not well-formed XML: {error}")

    types = parsed.get("[Content_Types].xml")
    if types is None:
        return problems + ["no readable [Content_Types].xml"]
    defaults = {d.get("Extension", "").lower() for d in types.findall(f"{{{CT}}}Default")}
    overrides = {o.get("PartName", "").lower() for o in types.findall(f"{{{CT}}}Override")}
    for override in sorted(overrides):
        if override.lstrip("/") not in by_lower:
            problems.append(f"content type override for missing part {override}")
    for name in sorted(parts - {"[Content_Types].xml"}):
        # The extension is what follows the last dot of the last segment, so "_rels/.rels" has one.
        last = name.rsplit("/", 1)[-1]
        extension = last.rpartition(".")[2].lower() if "." in last else ""
        if f"/{name.lower()}" not in overrides and extension not in defaults:
            problems.append(f"{name} has no content type")

    for name in sorted(n for n in parsed if n.endswith(".rels")):
        folder, filename = posixpath.split(name)
        if posixpath.basename(folder) != "_rels":
            problems.append(f"{name} is a relationships part outside a _rels folder")
            continue
        source = posixpath.join(posixpath.dirname(folder), filename[: -len(".rels")])
        if source and source.lower() not in by_lower:
            problems.append(f"{name} belongs to missing part {source}")
        base = posixpath.dirname(source)
        for rel in parsed[name].findall(f"{{{PR}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = unquote(rel.get("Target", "").split("#", 1)[0])
            resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
            resolved = posixpath.normpath(resolved)
            if resolved.lower() not in by_lower:
                problems.append(f"{name}: {rel.get('Id')} points at missing part {resolved}")
    return problems


@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_package_satisfies_a_strict_reader(built, kind):
    package = getattr(built, kind).read_bytes()
    assert package_problems(package) == []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        # Guards against a vacuous pass: the checker must have had relationships to follow.
        assert sum(name.endswith(".rels") for name in archive.namelist()) >= 2


def test_strict_reader_reports_each_kind_of_breakage(built):
    """The checker must catch what it claims to, or a green result above would mean nothing."""
    with zipfile.ZipFile(built.xlsx) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    types = entries["[Content_Types].xml"].decode("utf-8")
    entries["[Content_Types].xml"] = types.replace(
        "</Types>", '<Override PartName="/xl/ghost.xml" ContentType="application/xml"/></Types>'
    ).encode("utf-8")
    entries["xl/worksheets/sheet1.xml"] = b"<worksheet><unclosed></worksheet>"
    entries["xl/stray.bin"] = b"\x00"
    rels = entries["xl/_rels/workbook.xml.rels"].decode("utf-8")
    entries["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdGone" Type="x" Target="worksheets/missing.xml"/>'
        '<Relationship Id="rIdWeb" Type="x" Target="https://example.com/" TargetMode="External"/>'
        "</Relationships>",
    ).encode("utf-8")
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as broken:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we write on purpose
        for name, data in entries.items():
            broken.writestr(name, data)
        broken.writestr("docProps/app.xml", entries["docProps/app.xml"])
    problems = package_problems(out.getvalue())
    malformed = [p for p in problems if p.startswith("xl/worksheets/sheet1.xml is not well-formed XML")]
    assert len(malformed) == 1, problems
    # The external link is legal and must not be reported.
    assert sorted(set(problems) - set(malformed)) == sorted([
        "duplicate zip entry docProps/app.xml",
        "content type override for missing part /xl/ghost.xml",
        "xl/stray.bin has no content type",
        "xl/_rels/workbook.xml.rels: rIdGone points at missing part xl/worksheets/missing.xml",
    ])
