"""Large data tables: a synthetic report with a long CSV table, and the bare-library floors.

`write_table_report` writes the shipped report with one data table (the `tables:` contract of
the report YAML: ``<report-id>.<table-id>.csv`` beside it) of ROWS rows and four typed columns
(text, integer, number, date; every 97th number empty), and `document_rows` rows shown in the
DOCX and PDF. The floors, each a fresh process reading the same CSV and converting its types:

- ``xlsxwriter``: xlsxwriter in ``constant_memory`` mode writing every row to one sheet
  (header, numbers, dates with a date format, empty cells left blank);
- ``docx``: python-docx writing the first N rows as one table (`add_row().cells`);
- ``pdf``: reportlab writing the first N rows as one `Table` of plain strings with fixed column
  widths and a repeated header row, built in one pass.

`write_query_report` writes the same report with the table read by a query instead (`source:
{database, sql}`, the database declared in DATA/databases.yaml); `write_sqlite` and
`fill_postgres` put the CSV's rows, typed, into a `shipments` table the query reads in CSV order.

    python3 -m bench.tables xlsxwriter|docx|pdf CSV OUT [N]
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sqlite3
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "reports" / "us-intrathecal-pump-market.yaml"
REPORT_ID = "table-report"
TABLE_ID = "shipments"
COLUMNS = (("State", "text"), ("Year", "integer"), ("Units", "number"), ("Shipped", "date"))
STATES = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
    "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky",
    "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
    "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico",
    "New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania",
    "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont",
    "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming",
)


DATABASE = "bench"
# The declared columns, case aside (a query's columns are matched to them case-insensitively), in CSV order.
QUERY = "SELECT state, year, units, shipped FROM shipments ORDER BY id"


def _write_report(data_dir: Path, document_rows: int, report_id: str, source: dict | None = None) -> Path:
    """Write the shipped report with the shipments table (read by *source* when given); return the reports folder."""
    reports = data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    table: dict = {"id": TABLE_ID, "title": "Pump shipments by state"}
    if source is not None:
        table["source"] = source
    table["columns"] = [{"name": name, "type": kind} for name, kind in COLUMNS]
    table["document_rows"] = document_rows
    data["tables"] = [table]
    (reports / f"{report_id}.yaml").write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return reports


def write_query_report(data_dir: Path, url: str, document_rows: int, report_id: str = REPORT_ID) -> None:
    """Write the report of `write_table_report` whose table comes from QUERY of the database at *url*
    (a SQLAlchemy URL, written to DATA_DIR/databases.yaml as given: ``${NAME}`` parts stay references)."""
    _write_report(data_dir, document_rows, report_id, {"database": DATABASE, "sql": QUERY})
    (data_dir / "databases.yaml").write_text(
        yaml.safe_dump({"databases": {DATABASE: {"url": url}}}, sort_keys=False), encoding="utf-8")


def write_sqlite(csv_path: Path, path: Path) -> Path:
    """Write the CSV's rows, typed, to the `shipments` table of a new SQLite file at *path* (dates as ISO text)."""
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute("CREATE TABLE shipments (id INTEGER PRIMARY KEY, state TEXT NOT NULL, "
                           "year INTEGER NOT NULL, units REAL, shipped TEXT NOT NULL)")
        rows = read_rows(csv_path)
        next(rows)
        connection.executemany("INSERT INTO shipments (state, year, units, shipped) VALUES (?, ?, ?, ?)",
                               ((s, y, u, d.isoformat()) for s, y, u, d in rows))
        connection.commit()
    finally:
        connection.close()
    return path


def fill_postgres(connection, csv_path: Path) -> None:
    """Create the `shipments` table through a psycopg *connection* and COPY the CSV's rows, typed, into it."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE shipments (id serial PRIMARY KEY, state text NOT NULL, "
                       "year integer NOT NULL, units double precision, shipped date NOT NULL)")
        rows = read_rows(csv_path)
        next(rows)
        with cursor.copy("COPY shipments (state, year, units, shipped) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("ANALYZE shipments")


def write_table_report(data_dir: Path, rows: int, document_rows: int, report_id: str = REPORT_ID) -> Path:
    """Write the shipped report with a ROWS-row data table into DATA_DIR/reports; return the CSV path."""
    reports = _write_report(data_dir, document_rows, report_id)
    path = reports / f"{report_id}.{TABLE_ID}.csv"
    rng = random.Random(rows)
    start = dt.date(2000, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([name for name, _ in COLUMNS])
        for n in range(rows):
            units = "" if n % 97 == 0 else f"{rng.uniform(0, 100000):.2f}"
            day = start + dt.timedelta(days=n % 9000)
            writer.writerow([STATES[n % len(STATES)], 2000 + n % 31, units, day.isoformat()])
    return path


def read_rows(path: Path, limit: int | None = None):
    """Yield the CSV's header, then its rows with typed values (None for an empty field)."""
    kinds = [kind for _, kind in COLUMNS]
    convert = {"text": str, "integer": int, "number": float, "date": dt.date.fromisoformat}
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        yield next(reader)
        for n, row in enumerate(reader):
            if limit is not None and n >= limit:
                return
            yield [convert[k](v) if v != "" else None for k, v in zip(kinds, row)]


def xlsxwriter_sheet(path: Path, out: Path, limit: int | None = None) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    sheet = book.add_worksheet("Pump shipments")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    rows = read_rows(path, limit)
    sheet.write_row(0, 0, next(rows))
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    book.close()


def _text(value) -> str:
    return "" if value is None else value.isoformat() if isinstance(value, dt.date) else str(value)


def docx_table(path: Path, out: Path, limit: int) -> None:
    import docx

    word = docx.Document()
    word.add_heading("Pump shipments by state", 1)
    rows = read_rows(path, limit)
    header = next(rows)
    table = word.add_table(rows=1, cols=len(header))
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = text
    for values in rows:
        for cell, value in zip(table.add_row().cells, values):
            cell.text = _text(value)
    word.save(str(out))


def pdf_table(path: Path, out: Path, limit: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

    rows = read_rows(path, limit)
    data = [next(rows), *([_text(v) for v in values] for values in rows)]
    width = A4[0] - 50 * mm
    table = Table(data, colWidths=[width * w for w in (0.4, 0.15, 0.25, 0.2)], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "grey"), ("FONTSIZE", (0, 0), (-1, -1), 9)]))
    SimpleDocTemplate(str(out), pagesize=A4).build([table])


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    kind, csv_path, out_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    if kind == "xlsxwriter":
        xlsxwriter_sheet(csv_path, out_path, limit)
    elif kind == "docx":
        docx_table(csv_path, out_path, limit)
    elif kind == "pdf":
        pdf_table(csv_path, out_path, limit)
    else:
        sys.exit(f"unknown kind {kind!r}")
