"""The XLSX renderer, read back with openpyxl (as written and as a non-calculating reader sees it)
and, in the slow tests, recalculated by LibreOffice."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from exporter.core.derive import Basis
from exporter.core.document import Chart
from exporter.render import get_renderer
from exporter.render.xlsx import render

from conftest import HOSTILE, libreoffice

SHEETS = [
    "Summary",
    "Forecast",
    "Assumptions",
    "Segments",
    "Trends & Opportunities",
    "FAQ",
    "Companies",
    "Regions",
]


@pytest.fixture(scope="module")
def xlsx(shipped_job) -> bytes:
    return render(shipped_job)


@pytest.fixture(scope="module")
def wb(xlsx):
    return load_workbook(io.BytesIO(xlsx))


@pytest.fixture(scope="module")
def values(xlsx):
    """The workbook as pandas and other readers that do not calculate see it."""
    return load_workbook(io.BytesIO(xlsx), data_only=True)


@pytest.fixture(scope="module")
def hostile_xlsx(hostile_job) -> bytes:
    return render(hostile_job)


def rows(ws, first: int = 2) -> list[tuple]:
    """Return the values of the non-empty rows from *first* on."""
    table = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=first)]
    return [row for row in table if any(value is not None for value in row)]


def find_row(ws, text: str, col: int = 1) -> int:
    """Return the row whose cell in *col* holds *text* (or starts with it)."""
    for row in range(1, ws.max_row + 1):
        value = ws.cell(row=row, column=col).value
        if isinstance(value, str) and value.startswith(text):
            return row
    raise AssertionError(f"{text!r} not found in column {col} of {ws.title}")


def utc_naive(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(tzinfo=None)


# --- the workbook as a whole -----------------------------------------------------------------


def test_registry_finds_the_renderer():
    assert get_renderer("xlsx") is render


def test_sheets_in_order(wb, values):
    assert wb.sheetnames == SHEETS
    assert values.sheetnames == SHEETS


def test_every_sheet_has_a_bold_frozen_header(wb):
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.b, ws.title
        assert ws["A1"].value, ws.title


def test_document_properties(wb, shipped_job):
    meta = shipped_job.document.meta
    props = wb.properties
    assert props.title == meta.title
    assert props.subject == meta.subject
    assert props.creator == meta.author
    assert props.lastModifiedBy == meta.author
    assert props.keywords == ", ".join(meta.keywords)
    assert props.created == props.modified == props.lastPrinted == utc_naive(meta.created)


def test_output_is_reproducible(xlsx, shipped_job):
    assert render(shipped_job) == xlsx
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        infos = zf.infolist()
    assert infos[0].filename == "[Content_Types].xml"
    assert {info.date_time for info in infos} == {(2026, 11, 23, 0, 0, 0)}


def test_no_formulas_outside_the_assumptions_series(wb, xlsx, shipped_job, shipped_forecast):
    for ws in wb.worksheets:
        formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
        expected = len(shipped_forecast.points) if ws.title == "Assumptions" else 0
        assert len(formulas) == expected, (ws.title, formulas)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        total = sum(zf.read(n).decode().count("<f>") for n in sheets)
    assert total == len(shipped_forecast.points)


# --- Summary ---------------------------------------------------------------------------------


def test_summary_facts(wb, shipped_job, shipped_report):
    ws, report = wb["Summary"], shipped_report
    assert ws["A1"].value == report.title
    labels = range(2, find_row(ws, "Figure"))
    facts = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in labels}
    assert facts["Geography"].value == report.geography
    assert facts["As of"].value == dt.datetime(2026, 11, 23)
    assert facts["Publisher"].value == report.publisher.name
    assert facts["Source"].value == report.source.title
    url = facts["Source URL"]
    assert url.value == str(report.source.url)
    assert url.data_type == "s" and url.hyperlink is None


@pytest.mark.parametrize("book", ["wb", "values"])
def test_summary_key_figures_are_numbers_with_units(request, book, shipped_job, shipped_forecast):
    ws = request.getfixturevalue(book)["Summary"]
    header = find_row(ws, "Figure")
    assert [c.value for c in ws[header][:5]] == ["Figure", "Value", "Unit", "Period/Year", "Basis"]
    body = range(header + 1, header + 5)
    table = {ws.cell(row=n, column=1).value: tuple(c.value for c in ws[n][1:5]) for n in body}
    assert table["Market size 2022"] == (3.5, "USD billion", 2022, "Reported")
    assert table["Market size 2030 (projection)"] == (5.8, "USD billion", 2030, "Reported")
    assert table["CAGR 2024–2030"] == (0.065, "percent per year", "2024–2030", "Reported")
    implied = table["CAGR implied by sizes 2022–2030"]
    assert implied[0] == pytest.approx(shipped_forecast.implied_cagr)
    assert implied[1:] == ("percent per year", "2022–2030", "Derived (estimate)")
    formats = {ws.cell(row=n, column=1).value: ws.cell(row=n, column=2).number_format for n in body}
    assert formats["CAGR 2024–2030"] == "0.0%"
    assert formats["CAGR implied by sizes 2022–2030"] == "0.00%"
    assert formats["Market size 2022"] == "#,##0.00"
    for n in body:
        assert ws.cell(row=n, column=2).data_type == "n"


# --- Forecast --------------------------------------------------------------------------------


@pytest.mark.parametrize("book", ["wb", "values"])
def test_forecast_rows_are_the_series_as_numbers(request, book, shipped_job, shipped_forecast):
    ws = request.getfixturevalue(book)["Forecast"]
    fc = shipped_forecast
    assert [c.value for c in ws[1][:3]] == ["Year", "Market size (USD billion)", "Basis"]
    table = [tuple(c.value for c in ws[n][:3]) for n in range(2, 2 + len(fc.points))]
    # openpyxl writes 15 significant digits, as Excel does
    assert table == [(p.year, pytest.approx(p.value, rel=1e-14), p.basis.label) for p in fc.points]
    assert [row[2] for row in table].count(Basis.reported.label) == 2
    for n in range(2, 2 + len(fc.points)):
        assert ws.cell(row=n, column=2).data_type == "n"
        assert ws.cell(row=n, column=2).number_format == "#,##0.00"


def test_forecast_note_is_the_derivation_note(wb, shipped_job, shipped_forecast):
    ws = wb["Forecast"]
    note = next(
        b.text
        for s in shipped_job.document.sections
        if s.key == "forecast"
        for b in s.blocks
        if getattr(b, "role", None) == "note"
    )
    assert ws.cell(row=len(shipped_forecast.points) + 3, column=1).value == note
    assert "derived estimates" in note


def test_forecast_chart_is_bound_to_the_cells(wb, xlsx, shipped_job, shipped_forecast):
    ws = wb["Forecast"]
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert chart.tagname == "barChart" and chart.type == "col"
    assert chart.anchor._from.col >= 3  # right of the Year | Market size | Basis table
    last = 1 + len(shipped_forecast.points)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        xml = zf.read("xl/charts/chart1.xml").decode()
    assert f"<f>'Forecast'!$B$2:$B${last}</f>" in xml
    assert f"<f>'Forecast'!$A$2:$A${last}</f>" in xml
    block = next(b for s in shipped_job.document.sections for b in s.blocks if isinstance(b, Chart))
    assert f"<a:t>{block.title}</a:t>" in xml
    assert f"<a:t>{block.x_label}</a:t>" in xml and f"<a:t>{block.y_label}</a:t>" in xml
    assert "Reported" in xml and "Derived (estimate)" in xml  # the legend line under the title


# --- Assumptions -----------------------------------------------------------------------------


def test_assumptions_inputs(wb, shipped_job, shipped_forecast):
    ws, fc = wb["Assumptions"], shipped_forecast
    base_year = ws.cell(row=find_row(ws, "Base year"), column=2)
    base_value = ws.cell(row=find_row(ws, "Base value"), column=2)
    rate = ws.cell(row=find_row(ws, "Growth rate used (implied by reported sizes; derived)"), column=2)
    stated = ws.cell(row=find_row(ws, "Stated CAGR"), column=2)
    assert (base_year.value, base_value.value, rate.value, stated.value) == (
        2022,
        3.5,
        fc.implied_cagr,
        0.065,
    )
    for cell in (base_year, base_value, rate):
        assert cell.fill.fgColor.rgb.endswith("FFF2CC"), cell.coordinate
        assert cell.font.color.rgb.endswith("0000FF"), cell.coordinate
    assert not stated.fill.fgColor.rgb.endswith("FFF2CC")
    explanation = ws.cell(row=find_row(ws, "Yellow cells are inputs"), column=1).value
    assert "recomputes" in explanation and "Forecast sheet keeps the published values" in explanation


def test_assumptions_series_is_live_formulas_on_the_inputs(wb, values, shipped_job, shipped_forecast):
    ws, fc = wb["Assumptions"], shipped_forecast
    refs = {
        name: "$B$" + str(find_row(ws, label))
        for name, label in (("year", "Base year"), ("value", "Base value"), ("rate", "Growth rate used"))
    }
    first = find_row(ws, "Year") + 1
    inputs = {name: ws[ref.replace("$", "")].value for name, ref in refs.items()}
    for n, point in enumerate(fc.points):
        row = first + n
        assert ws.cell(row=row, column=1).value == point.year
        cell = ws.cell(row=row, column=2)
        assert cell.data_type == "f"
        assert cell.value == f"={refs['value']}*(1+{refs['rate']})^(A{row}-{refs['year']})"
        # Evaluate the formula as a spreadsheet would: it must reproduce the published series.
        computed = inputs["value"] * (1 + inputs["rate"]) ** (point.year - inputs["year"])
        assert computed == pytest.approx(point.value, rel=1e-9)
        # The cached result is written beside the formula: non-calculating readers see the number.
        assert values["Assumptions"].cell(row=row, column=2).value == pytest.approx(point.value, rel=1e-12)


# --- text sheets -----------------------------------------------------------------------------


def test_segments(wb, shipped_job, shipped_report):
    ws = wb["Segments"]
    assert [c.value for c in ws[1]] == ["Segmentation", "Segment", "Title", "Text", "Conditions", "Drugs"]
    expected = [
        (
            seg.dimension,
            s.name,
            s.title,
            "\n\n".join(s.paragraphs),
            "\n".join(s.conditions),
            "\n".join(s.drugs),
        )
        for seg in shipped_report.segmentations
        for s in seg.segments
    ]
    assert rows(ws) == expected
    assert ws["D2"].alignment.wrap_text


def test_trends_and_opportunities(wb, shipped_job, shipped_report):
    report = shipped_report
    expected = [(report.trends.title, n, p) for n, p in enumerate(report.trends.paragraphs, 1)]
    expected += [(report.opportunities.title, n, p) for n, p in enumerate(report.opportunities.paragraphs, 1)]
    ws = wb["Trends & Opportunities"]
    assert [c.value for c in ws[1]] == ["Section", "#", "Text"]
    assert rows(ws) == expected


def test_faq_has_all_ten_questions(wb, shipped_job, shipped_report):
    ws = wb["FAQ"]
    faqs = shipped_report.faqs.entries
    assert len(faqs) == 10
    assert [c.value for c in ws[1]] == ["#", "Question", "Answer"]
    assert rows(ws) == [(n, f.question, f.answer) for n, f in enumerate(faqs, 1)]


def test_companies_one_per_row(wb):
    ws = wb["Companies"]
    assert [c.value for c in ws[1]] == ["#", "Company"]
    names = [
        "Flowonix",
        "Codman & Shurtleff",
        "Medtronic Inc",
        "Arrow International",
        "Medallion Therapeutics Inc",
        "Tricumed GmbH",
    ]
    assert rows(ws) == list(enumerate(names, 1))


def test_regions(wb):
    ws = wb["Regions"]
    assert [c.value for c in ws[1]] == ["Region", "Countries"]
    assert rows(ws) == [("North America", "United States, Canada, Mexico and others")]


# --- hostile text ----------------------------------------------------------------------------


@pytest.mark.parametrize("data_only", [False, True])
def test_hostile_text_stays_literal(hostile_xlsx, data_only):
    wb = load_workbook(io.BytesIO(hostile_xlsx), data_only=data_only)
    companies = {c.value: c for row in wb["Companies"].iter_rows(min_row=2) for c in row[1:]}
    for text in (HOSTILE["amp"], HOSTILE["formula"]):
        assert companies[text].data_type == "s", text
    region = wb["Regions"]["A2"]
    assert (region.value, region.data_type) == ('=HYPERLINK("x")', "s")
    faq = wb["FAQ"]
    assert (faq["B2"].value, faq["C2"].value) == ("<b>not bold</b>", "bellchar")
    trends = [row[2] for row in rows(wb["Trends & Opportunities"])]
    assert 'AT&T <b>not bold</b> =HYPERLINK("x")' in trends
    for ws in wb.worksheets:
        if ws.title != "Assumptions":
            assert all(c.data_type != "f" for row in ws.iter_rows() for c in row), ws.title


def test_hostile_text_is_escaped_in_the_package(hostile_xlsx):
    with zipfile.ZipFile(io.BytesIO(hostile_xlsx)) as zf:
        xml = "".join(zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "AT&amp;T" in xml and "&lt;b&gt;not bold&lt;/b&gt;" in xml
    assert '<t>=HYPERLINK("x")</t>' in xml
    assert "<f>HYPERLINK" not in xml
    assert "\x07" not in xml


# --- real consumer software ------------------------------------------------------------------


def soffice_csv(xlsx: bytes, sheet: int, tmp_path: Path) -> list[list[str]]:
    """Convert sheet number *sheet* (1-based) to CSV with LibreOffice, which recalculates formulas."""
    src = tmp_path / "book.xlsx"
    src.write_bytes(xlsx)
    out = tmp_path / "out"
    # Full precision ("as shown" off), no formulas, only the given sheet.
    options = f"44,34,76,1,,0,false,true,false,false,false,{sheet}"
    produced = libreoffice(src, f"csv:Text - txt - csv (StarCalc):{options}", out, tmp_path / "lo-profile")
    return list(csv.reader(produced.read_text(encoding="utf-8").splitlines()))


@pytest.mark.slow
def test_libreoffice_calculates_the_assumptions_series(xlsx, shipped_job, tmp_path, shipped_forecast):
    table = soffice_csv(xlsx, SHEETS.index("Assumptions") + 1, tmp_path)
    assert table[0][:2] == ["Input", "Value"]
    header = next(n for n, row in enumerate(table) if row and row[0] == "Year")
    series = [row for row in table[header + 1 :] if row and row[0]]
    points = shipped_forecast.points
    assert [int(row[0]) for row in series] == [p.year for p in points]
    for row, point in zip(series, points):
        assert float(row[1]) == pytest.approx(point.value, rel=1e-6), point.year


@pytest.mark.slow
def test_libreoffice_shows_hostile_company_literally(hostile_xlsx, tmp_path):
    table = soffice_csv(hostile_xlsx, SHEETS.index("Companies") + 1, tmp_path)
    names = [row[1] for row in table[1:] if len(row) > 1]
    assert names[-2:] == [HOSTILE["amp"], HOSTILE["formula"]]
