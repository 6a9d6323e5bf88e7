"""Data tables: a CSV beside the report's YAML, checked row by row, shown in part in the DOCX and PDF."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
import subprocess
import unicodedata
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import DATA_DIR, exporter, flat, pdftotext

REPORT = "us-intrathecal-pump-market"
ROWS = 1_500
TABLE_YAML = """
tables:
  - id: shipments
    title: Pump shipments by state (test data)
    columns:
      - {name: State, type: text}
      - {name: Region, type: text}
      - {name: Year, type: integer}
      - {name: Units, type: number}
      - {name: Reported, type: date}
    document_rows: 100
"""
HEADER = ["State", "Region", "Year", "Units", "Reported"]


def rows(n: int = ROWS) -> list[list[str]]:
    """Test rows: row 1 holds a would-be formula, a comma and an accent; row 7 an empty number."""
    out = []
    for i in range(n):
        state = {0: "=1+1", 1: "Zürich, \"quoted\""}.get(i, f"State {i:04d}")
        units = "" if i == 6 else f"{i * 1.25:.2f}"
        day = (dt.date(2024, 1, 1) + dt.timedelta(days=i % 366)).isoformat()
        out.append([state, ("West", "East", "South")[i % 3], str(2020 + i % 10), units, day])
    return out


def write_csv(path: Path, body: list[list[str]], header: list[str] = HEADER) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body)


@pytest.fixture
def data(tmp_path) -> Path:
    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    text = (DATA_DIR / "reports" / f"{REPORT}.yaml").read_text(encoding="utf-8")
    (data / "reports" / f"{REPORT}.yaml").write_text(text + TABLE_YAML, encoding="utf-8")
    write_csv(data / "reports" / f"{REPORT}.shipments.csv", rows())
    return data


def build(data: Path, out: Path, *more: str) -> subprocess.CompletedProcess:
    return exporter("build", "--data-dir", str(data), "--output-dir", str(out), *more)


def snapshot(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and ".exporter" not in p.parts}


def test_docx_and_pdf_show_the_first_rows_and_say_where_the_rest_is(data, tmp_path):
    out = tmp_path / "out"
    result = build(data, out, "-f", "docx", "-f", "pdf")
    assert result.returncode == 0, result.stderr
    word = docx.Document(str(out / REPORT / f"{REPORT}.docx"))
    table = word.tables[-1]
    assert [c.text for c in table.rows[0].cells] == HEADER
    assert len(table.rows) == 1 + 100
    assert [c.text for c in table.rows[1].cells] == ["=1+1", "West", "2020", "0.00", "2024-01-01"]
    assert table.rows[2].cells[0].text == 'Zürich, "quoted"'
    assert table.rows[7].cells[3].text == ""
    assert table.rows[100].cells[0].text == "State 0099"
    paragraphs = [p.text for p in word.paragraphs]
    note = "Showing the first 100 of 1,500 rows; the Excel workbook of this report holds the complete table."
    assert note in paragraphs
    assert "Data tables" in paragraphs
    text = flat(pdftotext((out / REPORT / f"{REPORT}.pdf").read_bytes(), tmp_path))
    assert flat(note) in text
    assert "Pump shipments by state (test data)" in text
    assert "State 0099" in text and "State 0100" not in text
    assert "=1+1" in text and 'Zürich, "quoted"' in text


def test_a_changed_table_rebuilds_and_an_unchanged_one_does_not(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out, "-f", "pdf").returncode == 0
    again = build(data, out, "-f", "pdf")
    assert again.stdout.strip() == f"{REPORT}: unchanged"
    body = rows()
    body[0][0] = "Changed State"
    write_csv(data / "reports" / f"{REPORT}.shipments.csv", body)
    changed = build(data, out, "-f", "pdf")
    assert changed.stdout.startswith(f"{REPORT}: built"), changed.stdout
    assert "Changed State" in pdftotext((out / REPORT / f"{REPORT}.pdf").read_bytes(), tmp_path)


def broken(kind: str, body: list[list[str]]) -> tuple[list[str], list[list[str]], bytes | None]:
    header = list(HEADER)
    raw = None
    if kind == "header":
        header = ["State", "Region", "Units", "Year", "Reported"]
    elif kind == "integer":
        body[41][2] = "20x4"
    elif kind == "number":
        body[9][3] = "1,5"
    elif kind == "date":
        body[3][4] = "2024-02-30"
    elif kind == "fields":
        body[4].append("extra")
    elif kind == "glyph":
        body[2][0] = "東京"
    elif kind == "encoding":
        raw = ",".join(HEADER).encode() + b"\r\nCaf\xe9,West,2020,1,2024-01-01\r\n"
    return header, body, raw


@pytest.mark.parametrize("kind, line, where, message", [
    ("header", 1, "", "the header row must name the columns State, Region, Year, Units, Reported in this order"),
    ("integer", 43, "Year", "'20x4' is not a whole number"),
    ("number", 11, "Units", "'1,5' is not a number"),
    ("date", 5, "Reported", "'2024-02-30' is not a date (YYYY-MM-DD)"),
    ("fields", 6, "", "the row has 6 fields; the header has 5"),
    ("glyph", 4, "State", "U+6771"),
    ("encoding", 2, "", "the file is not UTF-8 text"),
])
def test_a_bad_table_is_refused_with_its_line_and_column_and_nothing_changes(data, tmp_path, kind, line, where,
                                                                            message):
    out = tmp_path / "out"
    assert build(data, out, "-f", "pdf").returncode == 0
    before = snapshot(out)
    path = data / "reports" / f"{REPORT}.shipments.csv"
    header, body, raw = broken(kind, rows())
    if raw is not None:
        path.write_bytes(raw)
    else:
        write_csv(path, body, header)
    result = build(data, out, "-f", "pdf")
    assert result.returncode == 1  # that report alone is refused: it is the only one here
    assert result.stdout == f"{REPORT}: invalid\n"
    assert "Traceback" not in result.stderr
    prefix = f"Error: {path}:{line}: {where or '(document)'}: "
    assert any(row.startswith(prefix) and message in row for row in result.stderr.splitlines()), result.stderr
    assert snapshot(out) == before
    assert exporter("validate", "--data-dir", str(data)).returncode == 2


def test_a_missing_table_file_is_named(data, tmp_path):
    path = data / "reports" / f"{REPORT}.shipments.csv"
    path.unlink()
    result = build(data, tmp_path / "out")
    assert result.returncode == 1 and result.stdout == f"{REPORT}: invalid\n"
    assert f"Error: {path}: (document): missing: table 'shipments' needs this CSV file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / REPORT).exists() and not (tmp_path / "out" / "index.html").exists()


def test_a_table_file_linking_out_of_the_reports_folder_is_refused(data, tmp_path):
    path = data / "reports" / f"{REPORT}.shipments.csv"
    outside = tmp_path / "elsewhere.csv"
    shutil.move(path, outside)
    path.symlink_to(outside)
    result = build(data, tmp_path / "out")
    assert result.returncode == 1 and result.stdout == f"{REPORT}: invalid\n"
    assert f"Error: {path}: (document): the file is a link leading outside the reports folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / REPORT).exists() and not (tmp_path / "out" / "index.html").exists()


def test_a_table_spec_is_validated_with_its_field_path(data, tmp_path):
    yaml = data / "reports" / f"{REPORT}.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("type: integer", "type: whole")
                    .replace("document_rows: 100", "document_rows: 100001"), encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert "tables[0].columns[2].type: Input should be 'text', 'integer', 'number' or 'date'" in result.stderr
    assert "tables[0].document_rows: Input should be less than or equal to 100000" in result.stderr


def test_the_workbook_holds_every_row_with_its_type(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out, "-f", "xlsx").returncode == 0
    book = openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True)
    sheet = book[book.sheetnames[-1]]
    assert sheet.title == "Pump shipments by state (test d"  # the title cut to Excel's 31 characters
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(HEADER)
    assert len(values) == 1 + ROWS
    assert values[1] == ("=1+1", "West", 2020, 0, dt.datetime(2024, 1, 1))
    assert values[2][0] == 'Zürich, "quoted"'
    assert values[7][3] is None
    expected = rows()[-1]
    assert values[-1] == (expected[0], expected[1], int(expected[2]), float(expected[3]),
                          dt.datetime.fromisoformat(expected[4]))


def test_csv_quirks_of_real_exports_are_read_as_meant(data, tmp_path):
    """Multi-line cells, decomposed accents, a blank last line; and digits that only look like digits."""
    body = rows(20)
    body[0][0] = "Line one\nline two\twith a tab"
    body[1][1] = unicodedata.normalize("NFD", "Zürich")
    path = data / "reports" / f"{REPORT}.shipments.csv"
    write_csv(path, body)
    path.write_bytes(path.read_bytes() + b"\r\n")
    yaml = data / "reports" / f"{REPORT}.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8") + "variants:\n  - id: zurich\n    name: Zürich edition\n"
                    "    filter: {Region: Zürich}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = build(data, out, "-f", "docx", "-f", "xlsx")
    assert result.returncode == 0, result.stderr
    table = docx.Document(str(out / REPORT / f"{REPORT}.docx")).tables[-1]
    assert table.rows[1].cells[0].text == "Line one\nline two\twith a tab"
    assert len(table.rows) == 1 + 20
    zurich = docx.Document(str(out / f"{REPORT}.zurich" / f"{REPORT}.zurich.docx")).tables[-1]
    assert [c.text for c in zurich.rows[1].cells][:2] == ["Zürich, \"quoted\"", "Zürich"]
    book = openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True)
    assert len(list(book[book.sheetnames[-1]].iter_rows(values_only=True))) == 1 + 20

    body[3][3] = "１２.５"  # full-width digits: the PDF font would draw boxes
    write_csv(path, body)
    before = snapshot(out)
    refused = build(data, out)
    assert refused.returncode == 1 and refused.stdout == f"{REPORT}: invalid\n"
    assert f"Error: {path}:6: Units: '１２.５' is not a number" in refused.stderr  # row 1 spans two lines
    assert "Traceback" not in refused.stderr
    assert snapshot(out) == before  # the sets built above (and the variant's) stay as they were


def test_a_blank_line_inside_a_table_is_refused_but_an_empty_one_column_row_is_a_row(data, tmp_path):
    path = data / "reports" / f"{REPORT}.shipments.csv"
    write_csv(path, rows(5))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:3] + ["\r\n"] + lines[3:]), encoding="utf-8")
    refused = build(data, tmp_path / "out")
    assert refused.returncode == 1 and refused.stdout == f"{REPORT}: invalid\n"
    assert f"Error: {path}:4: (document): blank line: every row must have all its fields" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "out" / REPORT).exists()

    yaml = data / "reports" / f"{REPORT}.yaml"
    text = yaml.read_text(encoding="utf-8")
    yaml.write_text(text[:text.index("tables:")] + "tables:\n  - id: shipments\n    title: Names\n"
                    "    columns: [{name: Name}]\n", encoding="utf-8")
    path.write_text("Name\nAda\n\nGrace\n", encoding="utf-8")
    out = tmp_path / "out"
    assert build(data, out, "-f", "xlsx").returncode == 0
    book = openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True)
    assert list(book[book.sheetnames[-1]].iter_rows(values_only=True)) == [("Name",), ("Ada",), (None,), ("Grace",)]
