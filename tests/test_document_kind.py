"""The general report kind (`kind: document`): the sales-pipeline example built by the real command
line and read back from all three files; validation; aggregates; variants; `exporter new`.

The expected figures are computed here from the example's CSV with the standard library, not
taken from the exporter, so a wrong aggregate fails.
"""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import docx
import openpyxl
import pytest
from lxml import etree
from test_conformance import package_problems

from exporter.source.themes import load_theme

from conftest import ROOT, colour_share, exporter, flat, libreoffice, need, pdftotext

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
REPORT = "sales-pipeline"
CSV = EXAMPLE / "reports" / f"{REPORT}.deals.csv"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


def deals(region: str | None = None) -> list[dict]:
    with CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r for r in rows if region is None or r["Region"] == region]


def eur(amount: float) -> str:
    return f"EUR {amount:,.0f}"


def by_stage(rows: list[dict]) -> dict[str, float]:
    """Sum of Amount per Stage, stages in the order of their first row (the chart's order)."""
    sums: dict[str, float] = defaultdict(float)
    for row in rows:
        sums[row["Stage"]] += float(row["Amount"])
    return dict(sums)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example")
    result = exporter("build", "--data-dir", str(EXAMPLE), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert f"{REPORT}: built" in result.stdout and f"{REPORT}.dach: built" in result.stdout
    return out


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def chart_values(xml: bytes) -> list[tuple[list[str], list[float | None]]]:
    """(categories, values) of every series of a DrawingML chart part, from its caches."""
    tree = etree.fromstring(xml)
    out = []
    for ser in tree.iter(f"{C}ser"):
        cats = [v.text for v in ser.findall(f"{C}cat//{C}pt/{C}v")]
        pts = {int(pt.get("idx")): float(pt.find(f"{C}v").text) for pt in ser.findall(f"{C}val//{C}pt")}
        count = int(ser.find(f"{C}val//{C}ptCount").get("val"))
        out.append((cats, [pts.get(i) for i in range(count)]))
    return out


# --- the example in three formats -------------------------------------------------------------------


def test_the_figures_are_the_tables_aggregates_in_all_three_formats(built, tmp_path):
    rows = deals()
    amounts = [float(r["Amount"]) for r in rows]
    expected = {
        "Open pipeline": eur(math.fsum(amounts)),
        "Deals": str(len(rows)),
        "Average deal": eur(math.fsum(amounts) / len(amounts)),
        "Largest deal": eur(max(amounts)),
    }
    folder = built / REPORT
    word = docx.Document(folder / f"{REPORT}.docx")
    cards = word.tables[0]
    shown = {cell.paragraphs[1].text: cell.paragraphs[0].text for cell in cards.rows[0].cells}
    assert shown == expected

    pdf = flat(pdftotext((folder / f"{REPORT}.pdf").read_bytes(), tmp_path))
    # The cards stand side by side: a line of values, then a line of labels.
    assert f"{' '.join(expected.values())} {' '.join(expected)}" in pdf

    book = openpyxl.load_workbook(folder / f"{REPORT}.xlsx")
    summary = book["Summary"]
    figures = {row[0].value: row[1] for row in summary.iter_rows() if row[0].value in expected}
    assert figures["Open pipeline"].value == pytest.approx(math.fsum(amounts))
    assert figures["Open pipeline"].number_format == '"EUR "#,##0;"EUR "-#,##0'
    assert figures["Deals"].value == len(rows) and figures["Deals"].data_type == "n"
    assert figures["Largest deal"].value == max(amounts)


def test_the_chart_shows_the_same_values_in_all_three_formats(built, tmp_path):
    stages = by_stage(deals())
    folder = built / REPORT
    # DOCX: a native chart part whose caches hold the sums per stage.
    docx_parts = parts(folder / f"{REPORT}.docx")
    charts = sorted(name for name in docx_parts if name.startswith("word/charts/chart") and name.endswith(".xml"))
    assert len(charts) == 4  # bar, stacked, pie, line
    ((cats, values),) = chart_values(docx_parts["word/charts/chart1.xml"])
    assert dict(zip(cats, values)) == pytest.approx(stages)
    assert list(cats) == list(stages)  # in the order of each stage's first row
    assert package_problems((folder / f"{REPORT}.docx").read_bytes()) == []
    # XLSX: a sheet with the data and a native chart bound to it, also with caches.
    book = openpyxl.load_workbook(folder / f"{REPORT}.xlsx")
    sheet = book["Amount by stage"]
    data = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert data == pytest.approx(stages)
    (chart,) = sheet._charts
    assert chart.series[0].val.numRef.f == "'Amount by stage'!$B$2:$B$5"
    xlsx_parts = parts(folder / f"{REPORT}.xlsx")
    ((_, cached),) = chart_values(xlsx_parts["xl/charts/chart1.xml"])
    assert cached == pytest.approx(list(stages.values()))
    assert package_problems((folder / f"{REPORT}.xlsx").read_bytes()) == []
    # PDF: the value labels of the bars (the grouped table of the same section says each amount once more).
    pdf = flat(pdftotext((folder / f"{REPORT}.pdf").read_bytes(), tmp_path))
    for stage, amount in stages.items():
        assert stage in pdf and pdf.count(eur(amount)) == 2, (stage, amount)


def test_the_table_block_sorts_limits_and_formats(built, tmp_path):
    rows = sorted(deals(), key=lambda r: -float(r["Amount"]))[:10]
    folder = built / REPORT
    word = docx.Document(folder / f"{REPORT}.docx")
    table = next(t for t in word.tables if t.rows[0].cells[0].text == "Account")
    shown = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert shown == [[r["Account"], r["Owner"], r["Stage"], eur(float(r["Amount"])), r["Close date"]] for r in rows]
    pdf = flat(pdftotext((folder / f"{REPORT}.pdf").read_bytes(), tmp_path))
    assert f"{rows[0]['Account']} {rows[0]['Owner']} {rows[0]['Stage']} {eur(float(rows[0]['Amount']))}" in pdf
    assert "10 of 24 rows, sorted by Amount (largest first)" in pdf


def test_the_grouped_table_counts_and_sums_per_stage(built):
    rows = deals()
    counts = Counter(r["Stage"] for r in rows)
    sums = by_stage(rows)
    word = docx.Document(built / REPORT / f"{REPORT}.docx")
    table = next(t for t in word.tables if t.rows[0].cells[0].text == "Stage")
    shown = [[c.text for c in row.cells] for row in table.rows[1:]]
    expected = sorted(([s, str(counts[s]), eur(sums[s])] for s in sums), key=lambda r: -sums[r[0]])
    assert shown == expected


def test_the_workbook_holds_every_deal_typed_with_a_filter(built):
    book = openpyxl.load_workbook(built / REPORT / f"{REPORT}.xlsx")
    assert book.sheetnames[:2] == ["Cover", "Summary"]  # the theme's Excel template comes first
    sheet = book["Open deals"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + len(deals())
    assert rows[0] == ("Account", "Owner", "Region", "Stage", "Amount", "Probability", "Close date")
    assert isinstance(rows[1][4], float) and rows[1][6].year >= 2026
    assert sheet.auto_filter.ref == f"A1:G{len(rows)}" and sheet.freeze_panes == "A2"
    assert sheet["E2"].number_format == '"EUR "#,##0;"EUR "-#,##0'
    assert sheet["F2"].number_format == "0%"
    # Nothing of the market report's layout leaks into this kind.
    assert not {"Forecast", "Assumptions", "Segments", "FAQ", "Companies", "Regions"} & set(book.sheetnames)


def test_the_variant_filters_rows_and_omits_its_section(built, tmp_path):
    rows = deals("DACH")
    folder = built / f"{REPORT}.dach"
    pdf = flat(pdftotext((folder / f"{REPORT}.dach.pdf").read_bytes(), tmp_path))
    assert "DACH-Ausgabe" in pdf
    german = f"{math.fsum(float(r['Amount']) for r in rows):,.0f}".replace(",", ".") + " €"  # a German edition
    assert f"{german} {len(rows)} " in pdf.replace("\xa0", " ")
    assert "Quarterly targets" not in pdf  # omitted: trend
    book = openpyxl.load_workbook(folder / f"{REPORT}.dach.xlsx")
    assert len(list(book["Open deals"].iter_rows())) == 1 + len(rows)


@pytest.mark.slow
def test_libreoffice_draws_the_native_word_charts(built, tmp_path):
    source = tmp_path / "example.docx"
    shutil.copy(built / REPORT / f"{REPORT}.docx", source)
    pdf = libreoffice(source, "pdf", tmp_path / "out", tmp_path / "profile")
    text = flat(pdftotext(pdf.read_bytes(), tmp_path))
    stages = by_stage(deals())
    # The value labels LibreOffice draws from the chart's cached values (the grouped table says each once more).
    for stage, amount in stages.items():
        assert stage in text and text.count(eur(amount)) == 2, (stage, amount)
    assert "Target" in text and "Booked" in text  # the line chart's legend
    # Drawn, not only labelled: the stacked bars and the pie show the second series' colour, which no text has
    # (the example's theme's palette); the cover does not.
    second = load_theme(EXAMPLE / "themes", "acme").series_colour(1)
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run([need("pdfinfo"), str(pdf)], capture_output=True,
                                                             text=True).stdout)[1])
    shares = [colour_share(pdf, n, second, tmp_path) for n in range(1, pages + 1)]
    assert max(shares) > 0.01 and shares[0] < 0.002, shares


# --- every workbook: a number in every formula cell --------------------------------------------------


def test_calamine_reads_a_number_in_every_formula_cell(built):
    from python_calamine import CalamineWorkbook

    market = tmp_market = built.parent / "market"
    result = exporter("build", "--data-dir", str(ROOT / "data"), "--output-dir", str(tmp_market))
    assert result.returncode == 0, result.stderr
    books = [*market.glob("*/*.xlsx"), *built.glob("*/*.xlsx")]
    formulas = 0
    for path in books:
        with zipfile.ZipFile(path) as archive:
            sheets = sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
            marked = [n for n in sheets if b"<f>" in archive.read(n)]
        calamine = CalamineWorkbook.from_path(str(path))
        opened = openpyxl.load_workbook(path)
        for n, name in enumerate(opened.sheetnames):
            values = calamine.get_sheet_by_name(name).to_python()
            for row in opened[name].iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        formulas += 1
                        got = values[cell.row - 1][cell.column - 1]
                        assert isinstance(got, float), (path.name, name, cell.coordinate, got)
            assert (f"xl/worksheets/sheet{n + 1}.xml" in marked) == any(
                c.data_type == "f" for r in opened[name].iter_rows() for c in r)
    assert formulas == 9  # the market report's Assumptions series


# --- validation ------------------------------------------------------------------------------------


def bad_report(tmp_path: Path, replace: dict[str, str]) -> Path:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    path = data / "reports" / f"{REPORT}.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return data


def line_of(data: Path, needle: str) -> int:
    lines = (data / "reports" / f"{REPORT}.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


@pytest.mark.parametrize(("old", "new", "path", "message"), [
    ("x: Stage, y: {sum: Amount}, title: Amount by stage", "x: Phase, y: {sum: Amount}, title: Amount by stage",
     "sections[1].blocks[0].chart.x",
     "table 'deals' has no column 'Phase' (columns: 'Account', 'Owner', 'Region', 'Stage', 'Amount', "
     "'Probability', 'Close date')"),
    ("{label: Open pipeline, value: {sum: deals.Amount}}", "{label: Open pipeline, value: {sum: deals.Account}}",
     "sections[0].blocks[1].figures[0].value.sum", "column 'Account' of table 'deals' holds texts, not numbers"),
    ("{label: Deals, value: {count: deals}}", "{label: Deals, value: {count: leads}}",
     "sections[0].blocks[1].figures[1].value.count", "there is no table 'leads' (tables: 'deals')"),
    ("table: {table: deals, columns: [Account, Owner, Stage, Amount, Close date], sort: [-Amount], limit: 10}",
     "table: {table: deals, columns: [Account, Owner, Stage, Amount, Close date], sort: [-Value], limit: 10}",
     "sections[2].blocks[0].table.sort[0]", "table 'deals' has no column 'Value'"),
    ("omit: [trend]", "omit: [trends]", "variants[0].omit[0]", "there is no section with id 'trends'"),
    ("      - bullets:\n", "      - bullets: [x]\n        text: y\n      - bullets:\n",
     "sections[0].blocks[2]", "a block is exactly one of text, note, bullets, figures, chart, table, faq; "
     "found bullets, text"),
    ("{name: Booked, values: [870, 990, 1040, null]}", "{name: Booked, values: [870, 990, 1040]}",
     "sections[3].blocks[0].chart", "series 'Booked' has 3 values for 4 categories"),
    ("\nkind: document", "\nkind: slides", "kind", "unknown kind 'slides' (known: market, document)"),
    ("x: Owner, y: {sum: Amount}, by: Stage,", "x: Owner, y: [{sum: Amount}, {count: deals}], by: Stage,",
     "sections[1].sections[0].blocks[0].chart", "by splits one aggregate into series: give y as one aggregate"),
])
def test_a_mistake_is_a_located_error_and_that_report_alone_is_not_published(tmp_path, old, new, path, message):
    data = bad_report(tmp_path, {old: new})
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    report = data / "reports" / f"{REPORT}.yaml"
    # The line of the field (a chart's series are checked together, at the chart's "- chart:" line).
    line = line_of(data, "type: line") - 1 if "Booked" in new else line_of(data, new.strip().splitlines()[0][:30])
    matching = [text for text in result.stderr.splitlines() if f": {path}: " in text]
    assert matching, result.stderr
    assert any(message in text for text in matching), result.stderr
    assert matching[0].removeprefix("Error: ").startswith(f"{report}:{line}: "), matching[0]
    assert "Traceback" not in result.stderr
    # build refuses that report alone (exit 1) with the same located lines: no set of it or of its
    # variant is published; the example's other reports (if any) are built.
    out = tmp_path / "out"
    built = exporter("build", "--data-dir", str(data), "--output-dir", str(out))
    assert built.returncode == 1, built.stderr
    assert built.stderr.splitlines() == result.stderr.splitlines()
    lines = built.stdout.splitlines()
    assert f"{REPORT}: invalid" in lines and not [line for line in lines if line.startswith(f"{REPORT}.")]
    others = sorted(p.stem for p in (data / "reports").glob("*.yaml") if p.stem != REPORT)
    for other in others:
        assert any(line.startswith(f"{other}: built: ") for line in lines), built.stdout
    assert not (out / REPORT).exists() and not (out / f"{REPORT}.dach").exists()
    assert (out / "index.html").exists() == bool(others)  # no index page when nothing was built
    run = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)[0]
    outcomes = {r["report_id"]: r["outcome"] for r in run["reports"]}
    assert outcomes[REPORT] == "invalid" and all(outcomes[other] == "built" for other in others)


def test_an_empty_table_gives_zero_sums_and_no_mean(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    table = data / "reports" / f"{REPORT}.deals.csv"
    table.write_text(table.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    text = (out / REPORT / f"{REPORT}.txt").read_text(encoding="utf-8")
    assert "[Open pipeline: EUR 0]" in text and "[Deals: 0]" in text and "[Average deal: –]" in text
    assert "Amount by stage: the table has no rows to chart." in text
    assert "The table has no rows." in text


# --- starting a report ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["document", "market"])
def test_new_writes_a_starter_that_validates_and_builds(tmp_path, kind):
    result = exporter("new", "first-report", "--kind", kind, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    yaml_file = tmp_path / "data" / "reports" / "first-report.yaml"
    assert f"wrote {yaml_file.relative_to(tmp_path)}" in result.stdout
    assert (tmp_path / "data" / "reports" / "first-report.deals.csv").exists() == (kind == "document")
    assert exporter("validate", cwd=tmp_path).returncode == 0
    built = exporter("build", "-f", "docx", "-f", "xlsx", "-f", "pdf", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "output" / "first-report" / "first-report.pdf").is_file()
    again = exporter("new", "first-report", cwd=tmp_path)
    assert again.returncode == 2
    assert "already exist" in again.stderr and "Traceback" not in again.stderr
    bad = exporter("new", "First Report", cwd=tmp_path)
    assert bad.returncode == 2 and "is not a report id" in bad.stderr


# --- data is never code ------------------------------------------------------------------------------

HOSTILE_NAMES = ('=HYPERLINK("http://example.invalid","x")', "<b>bold</b> & <img src=/etc/passwd>", "AT&T")
HOSTILE_REPORT = """\
kind: document
title: "<i>Hostile</i> & =1+1"
author: "=cmd|' /C calc'!A0"
as_of: 2026-11-27
tables:
  - id: t
    title: "Names <b>"
    columns: [{name: Name, type: text}, {name: Value, type: number}]
sections:
  - title: "<h1>Section</h1>"
    blocks:
      - figures: [{label: "<b>label</b>", value: "=2+2"}, {label: Sum, value: {sum: t.Value}}]
      - chart: {type: bar, table: t, x: Name, y: {sum: Value}, title: "=SUM(A1) <chart>"}
      - table: {table: t}
"""


def test_texts_from_data_stay_literal_in_every_format(tmp_path):
    reports = tmp_path / "data" / "reports"
    reports.mkdir(parents=True)
    (reports / "hostile.yaml").write_text(HOSTILE_REPORT, encoding="utf-8")
    with (reports / "hostile.t.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "Value"])
        writer.writerows([name, n + 1] for n, name in enumerate(HOSTILE_NAMES))
    out = tmp_path / "out"
    result = exporter("build", "--data-dir", str(tmp_path / "data"), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    folder = out / "hostile"
    word = docx.Document(folder / "hostile.docx")
    texts = "\n".join(p.text for p in word.paragraphs) + "\n".join(
        c.text for t in word.tables for r in t.rows for c in r.cells)
    for text in (*HOSTILE_NAMES, "<i>Hostile</i> & =1+1", "=2+2", "<b>label</b>", "=SUM(A1) <chart>"):
        assert text in texts, text
    ((cats, _),) = chart_values(parts(folder / "hostile.docx")["word/charts/chart1.xml"])
    assert cats == list(HOSTILE_NAMES)
    book = openpyxl.load_workbook(folder / "hostile.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type != "s"]  # no formula anywhere
    shown = {c.value for c in cells}
    assert set(HOSTILE_NAMES) <= shown and "=2+2" in shown and "=cmd|' /C calc'!A0" in shown
    pdf = flat(pdftotext((folder / "hostile.pdf").read_bytes(), tmp_path))
    for text in ("<i>Hostile</i> & =1+1", "<b>bold</b> & <img src=/etc/passwd>", "AT&T", "=2+2"):
        assert text in pdf, text
    assert "AT&T;" not in pdf


# --- numbers, aggregates and formats, case by case ---------------------------------------------------


def test_numbers_round_half_away_from_zero_as_spreadsheets_do():
    from exporter.core.numbers import NumberFormat

    assert NumberFormat(decimals=0).text(2.5) == "3" and NumberFormat(decimals=0).text(-2.5) == "-3"
    assert NumberFormat(decimals=2).text(0.125) == "0.13"
    assert NumberFormat(decimals=0).text(1234.5) == "1,235"
    assert NumberFormat().text(0.1 + 0.2) == "0.3"  # automatic decimals: what the value needs, up to two
    assert NumberFormat(percent=True, decimals=0).text(12.5) == "1250%"  # percents have no separators
    assert NumberFormat(decimals=0, currency="EUR").text(-0.4) == "EUR 0"


def test_sums_are_exact_however_many_values():
    from exporter.core.aggregate import aggregate

    rows = [(1e16,)] + [(1.0,)] * 5000 + [(-1e16,)]
    assert aggregate(rows, "sum", 0) == math.fsum(r[0] for r in rows) == 5000.0
    assert aggregate([(1,), (2,), (None,)], "mean", 0) == 1.5
    assert aggregate([(1,), (2,)], "sum", 0) == 3 and isinstance(aggregate([(1,), (2,)], "sum", 0), int)


CASE_REPORT = """\
kind: document
title: Cases
author: Tests
as_of: 2026-11-27
tables:
  - id: t
    title: Rows
    columns:
      - {name: Name, type: text}
      - {name: Units, type: integer}
      - {name: Share, type: number, percent: true}
      - {name: Day, type: date}
sections:
  - title: Figures
    blocks:
      - figures:
          - {label: Mean units, value: {mean: t.Units}}
          - {label: Latest day, value: {max: t.Day}}
          - {label: Units, value: {sum: t.Units}, unit: units}
      - chart: {type: bar, table: t, x: Name, y: {sum: Units}, title: Units by name}
      - table: {table: t, limit: 1}
      - note: A note about this section only.
      - table: {table: t, by: Name, values: [{mean: Units}, {sum: Share}]}
"""
CASE_ROWS = [["a", "2", "0.125", "2026-01-05"], ["b", "3", "0.5", "2026-02-01"], ["", "4", "", ""]]


def build_case(tmp_path: Path, *formats: str) -> Path:
    reports = tmp_path / "data" / "reports"
    reports.mkdir(parents=True)
    (reports / "cases.yaml").write_text(CASE_REPORT, encoding="utf-8")
    with (reports / "cases.t.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["Name", "Units", "Share", "Day"], *CASE_ROWS])
    out = tmp_path / "out"
    args = [a for f in formats for a in ("-f", f)]
    result = exporter("build", *args, "--data-dir", str(tmp_path / "data"), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    return out / "cases"


def test_cases_read_as_a_reader_expects(tmp_path):
    folder = build_case(tmp_path, "txt", "xlsx")
    text = (folder / "cases.txt").read_text(encoding="utf-8")
    assert "[Mean units: 3]" in text  # (2 + 3 + 4) / 3, shown with the decimals it needs
    assert "[Latest day: 2026-02-01]" in text
    assert "[Units: 9 units]" in text
    assert "(blank)" in text  # the row without a name is a category of its own: the chart adds up to 9
    assert "Name | Units | Share | Day" in text and "a    |     2 | 12.5% | 2026-01-05" in text
    # Grouped: each column keeps its own format (the percent stays a percent); the blank name is a group.
    assert "  Name    | Mean of Units | Sum of Share\n  a       |             2 |        12.5%\n" in text
    assert "  (blank) |             4 |         0.0%\n" in text
    book = openpyxl.load_workbook(folder / "cases.xlsx")
    summary = {row[0].value: row for row in book["Summary"].iter_rows() if row[0].value}
    assert summary["Mean units"][1].value == 3 and summary["Mean units"][1].data_type == "n"
    day = summary["Latest day"][1]
    assert day.is_date and day.value.date().isoformat() == "2026-02-01"  # a date, not a text
    assert summary["Units"][1].number_format == "#,##0" and summary["Units"][2].value == "units"
    chart_sheet = book["Units by name"]
    assert chart_sheet.max_row == 4  # header and three names: no note from the section under the data
    assert book["Rows"]["C2"].number_format == "0.0%"


def test_a_block_with_nothing_after_its_colon_is_a_located_error(tmp_path):
    data = tmp_path / "data" / "reports"
    data.mkdir(parents=True)
    (data / "empty.yaml").write_text(CASE_REPORT.replace("      - note: A note about this section only.\n",
                                                         "      - chart:\n"), encoding="utf-8")
    (data / "empty.t.csv").write_text("Name,Units,Share,Day\n", encoding="utf-8")
    result = exporter("validate", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "empty.yaml:22: sections[0].blocks[3]: chart is empty: write its content after the colon" in result.stderr
