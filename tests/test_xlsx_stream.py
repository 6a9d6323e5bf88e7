"""Data tables in the workbook: one streamed sheet per table, read back with openpyxl (and, in the
slow test, LibreOffice); the report's own sheets are unchanged by them."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from exporter.core.document import Column, Dataset
from exporter.core.errors import BuildError
from exporter.core.model import TableSpec
from exporter.layout.datasets import dataset_of
from exporter.render import RenderJob, xlsx
from exporter.render.xlsx import _sheet_name, render
from exporter.source.datatable import open_tables

from conftest import libreoffice

# The market report's own sheets, before any data sheet.
SHEETS = ["Summary", "Forecast", "Assumptions", "Segments", "Trends & Opportunities", "FAQ", "Companies", "Regions"]
ROWS = 2_000
COLUMNS = (("Item", "text"), ("Note", "text"), ("Count", "integer"), ("Amount", "number"), ("Day", "date"))
# Texts a spreadsheet would read as something else; each must come back as the same text.
TRICKY = (
    "=1+1", "@SUM(A1)", "+41 22 555", "-x", "  padded  ", "a & b <c>", "Zürich, \"quoted\"", "#N/A", "TRUE",
)


def csv_rows(n: int = ROWS) -> list[list[str]]:
    """The CSV fields of *n* rows: tricky texts first, an empty number every 97th row."""
    out = []
    for i in range(n):
        note = TRICKY[i] if i < len(TRICKY) else f"note {i % 13}"
        amount = "" if i % 97 == 5 else f"{i * 1.25:.2f}"
        day = (dt.date(2024, 1, 1) + dt.timedelta(days=i % 400)).isoformat()
        out.append([f"Item {i:05d}", note, str(i * 1_001), amount, day])
    return out


def expected(row: list[str]) -> tuple:
    """A CSV row as openpyxl reads it back from the workbook (dates come back as datetimes)."""
    item, note, count, amount, day = row
    return (item, note, int(count), float(amount) if amount else None, dt.datetime.fromisoformat(day))


def make_table(folder: Path, title: str, body: list[list[str]], table_id: str = "data", columns=COLUMNS):
    """Write *body* as a table's CSV in *folder* and open it as the pipeline does."""
    spec = TableSpec(id=table_id, title=title, columns=[{"name": n, "type": t} for n, t in columns])
    report = folder / "report.yaml"
    with (folder / f"report.{table_id}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([name for name, _ in columns])
        writer.writerows(body)
    (table,) = open_tables(report, [spec])
    return table


@dataclasses.dataclass(frozen=True)
class StandIn:
    """A row source giving rows the CSV reader would not produce."""

    body: tuple = ()

    def iter_rows(self):
        yield from self.body


def stand_in(title: str, body, *, rows: int | None = None, columns=COLUMNS) -> Dataset:
    body = tuple(body)
    return Dataset("stand-in", title, tuple(Column(n, t) for n, t in columns), len(body) if rows is None else rows,
                   StandIn(body))


def with_tables(job: RenderJob, tables) -> RenderJob:
    """*job* with *tables* (checked tables or datasets) as its document's datasets."""
    datasets = tuple(t if isinstance(t, Dataset) else dataset_of(t) for t in tables)
    return RenderJob(dataclasses.replace(job.document, datasets=datasets), job.options)


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tables")


@pytest.fixture(scope="module")
def table(table_dir):
    return make_table(table_dir, "Shipments: 2024/25 [draft]", csv_rows())


@pytest.fixture(scope="module")
def book_bytes(shipped_job, table) -> bytes:
    return render(with_tables(shipped_job, (table,)))


@pytest.fixture(scope="module")
def book(book_bytes):
    return load_workbook(io.BytesIO(book_bytes))


SHEET = "Shipments 2024 25 draft"


# --- the data sheet --------------------------------------------------------------------------


def test_data_sheet_comes_after_the_report_sheets(book):
    assert book.sheetnames == [*SHEETS, SHEET]


def test_every_row_round_trips_with_its_type(book_bytes):
    streamed = load_workbook(io.BytesIO(book_bytes), read_only=True)
    ws = streamed[SHEET]
    assert (ws.max_row, ws.max_column) == (ROWS + 1, 5)  # from the sheet's <dimension>
    got = list(ws.iter_rows(values_only=True))
    assert got[0] == tuple(name for name, _ in COLUMNS)
    assert got[1:] == [expected(row) for row in csv_rows()]
    assert all(isinstance(row[1], str) for row in got)
    streamed.close()


def test_a_data_sheet_past_zipfiles_zip64_limit_is_written(shipped_job, table, book_bytes, monkeypatch):
    """A data sheet's size is not known while its rows stream into the package: its entry is made ZIP64
    from the start, or zipfile would refuse it past 2 GiB ("File size too large"). The limit is lowered
    here to 64 KiB, which the 2,000 rows pass; the workbook holds the same parts as with the real limit
    (its zip records differ: they are ZIP64 too)."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1 << 16)
    big = render(with_tables(shipped_job, (table,)))
    with zipfile.ZipFile(io.BytesIO(big)) as low, zipfile.ZipFile(io.BytesIO(book_bytes)) as real:
        assert max(entry.file_size for entry in low.infolist()) > 1 << 16
        assert {n: low.read(n) for n in low.namelist()} == {n: real.read(n) for n in real.namelist()}


def test_texts_that_look_like_formulas_stay_text(book, book_bytes):
    ws = book[SHEET]
    cells = {ws.cell(row=n, column=2).value: ws.cell(row=n, column=2) for n in range(2, 2 + len(TRICKY))}
    assert list(cells) == list(TRICKY)
    for text, cell in cells.items():
        assert cell.data_type == "s", text
        assert cell.quotePrefix == (text[0] in "=+-@"), text  # literal when edited in Excel too
    with zipfile.ZipFile(io.BytesIO(book_bytes)) as zf:
        sheet = zf.read(f"xl/worksheets/sheet{len(SHEETS) + 1}.xml").decode()
    assert "<f>" not in sheet
    assert "<t>=1+1</t>" in sheet and "<t>a &amp; b &lt;c&gt;</t>" in sheet
    assert '<t xml:space="preserve">  padded  </t>' in sheet


def test_header_is_bold_frozen_filtered_and_printed_on_every_page(book):
    ws = book[SHEET]
    assert [c.value for c in ws[1]] == [name for name, _ in COLUMNS]
    assert all(c.font.b for c in ws[1])
    forecast = book["Forecast"]["A1"]  # the same look as the report's own tables
    for cell in ws[1]:
        assert (cell.font.name, cell.font.color.rgb) == (forecast.font.name, forecast.font.color.rgb)
        assert cell.fill.fgColor.rgb == forecast.fill.fgColor.rgb
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:E{ROWS + 1}"
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage


def test_figures_and_dates_have_number_formats(book):
    ws = book[SHEET]
    row = 3
    assert [ws.cell(row=row, column=c).number_format for c in range(1, 6)] == [
        "General",
        "General",
        "#,##0",
        "#,##0.00",  # as many decimals as the first rows need
        "yyyy-mm-dd",
    ]
    assert ws.cell(row=row, column=5).is_date


def test_column_widths_fit_header_and_values(book):
    ws = book[SHEET]
    widths = {col: ws.column_dimensions[col].width for col in "ABCDE"}
    assert all(6 < width <= 60 for width in widths.values()), widths
    assert widths["C"] >= len("2,000,999")  # the widest count, with separators
    assert widths["E"] >= len("2024-01-01")


def test_widths_come_from_the_first_rows_only(shipped_job):
    short = [("x", "y", 1, 1.5, dt.date(2024, 1, 1))] * 1_200
    late = short[:1_100] + [("x" * 200, "y", 1, 1.5, dt.date(2024, 1, 1))] + short[1_101:]
    first = [("x" * 200, "y", 1, 1.5, dt.date(2024, 1, 1))] + short[1:]

    def width(body):
        job = with_tables(shipped_job, (stand_in("T", body),))
        return load_workbook(io.BytesIO(render(job)))["T"].column_dimensions["A"].width

    assert width(late) == width(short) < width(first) == 60


def test_sheet_names_follow_excel_rules():
    taken = {name.casefold() for name in (*SHEETS, "History")}
    names = [
        _sheet_name(title, taken, fallback="data")
        for title in (
            "Sales [2024]: Q1/Q2 *draft*?",
            "summary",
            "SUMMARY",
            "A very long title that goes well past thirty-one characters",
            "A very long title that goes well past the limit as well",
            "'quoted'",
            "history",
            "[]:*?/\\",
            "Emoji 😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
        )
    ]
    assert names == [
        "Sales 2024 Q1 Q2 draft",
        "summary (2)",
        "SUMMARY (3)",
        "A very long title that goes wel",
        "A very long title that goes (2)",
        "quoted",
        "history (2)",
        "data",
        "Emoji 😀😀😀😀😀😀😀😀😀😀😀😀",  # 31 UTF-16 units, as Excel counts
    ]
    assert len({n.casefold() for n in names}) == len(names)
    assert all(len(n.encode("utf-16-le")) <= 62 for n in names)


def test_tables_with_the_same_title_get_their_own_sheets(shipped_job, table_dir):
    tables = (
        make_table(table_dir, "Summary", csv_rows(3), "one"),
        make_table(table_dir, "summary", csv_rows(4), "two"),
    )
    wb = load_workbook(io.BytesIO(render(with_tables(shipped_job, tables))))
    assert wb.sheetnames == [*SHEETS, "Summary (2)", "summary (3)"]
    assert wb["Summary (2)"].max_row == 4 and wb["summary (3)"].max_row == 5


def test_an_empty_table_is_a_header_row(shipped_job, table_dir):
    job = with_tables(shipped_job, (make_table(table_dir, "Nothing yet", [], "empty"),))
    ws = load_workbook(io.BytesIO(render(job)))["Nothing yet"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [[name for name, _ in COLUMNS]]
    assert ws.auto_filter.ref == "A1:E1"


def test_values_the_csv_reader_does_not_produce(shipped_job):
    body = [
        ("bell\x07char\ufffe", None, 2**40, float("nan"), dt.date(1900, 1, 1)),
        ("", "x" * 40_000, -1, 1e-7, dt.date(1900, 3, 1)),
    ]
    wb = load_workbook(io.BytesIO(render(with_tables(shipped_job, (stand_in("Edge", body),)))))
    got = [tuple(c.value for c in row) for row in wb["Edge"].iter_rows(min_row=2)]
    assert got == [
        ("bellchar", None, 2**40, None, dt.datetime(1900, 1, 1)),
        (None, "x" * 32_767, -1, 1e-7, dt.datetime(1900, 3, 1)),
    ]


def test_a_table_that_changes_under_the_render_fails_and_leaves_no_temporary_files(shipped_job):
    before = list(ALL_TEMP_FILES)
    job = with_tables(shipped_job, (stand_in("Short", [("a", "b", 1, 1.0, None)], rows=2),))
    with pytest.raises(BuildError, match="1 rows read, 2 expected"):
        render(job)
    assert ALL_TEMP_FILES == before


# --- the workbook as a whole -----------------------------------------------------------------


def test_report_sheets_are_the_same_with_or_without_tables(shipped_job, book_bytes):
    def parts(data: bytes) -> dict[str, bytes]:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {name: zf.read(name) for name in zf.namelist()}

    plain, with_table = parts(render(shipped_job)), parts(book_bytes)
    for n in range(1, len(SHEETS) + 1):
        name = f"xl/worksheets/sheet{n}.xml"
        assert with_table[name] == plain[name], name
    for name in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml"):
        assert with_table[name] == plain[name], name


def test_output_with_tables_is_reproducible(book_bytes, shipped_job, table):
    assert render(with_tables(shipped_job, (table,))) == book_bytes


def test_write_streams_to_a_file(shipped_job, table, book_bytes, tmp_path):
    target = tmp_path / "book.xlsx"
    with target.open("wb") as out:
        xlsx.write(with_tables(shipped_job, (table,)), out)
    assert target.read_bytes() == book_bytes


def test_memory_does_not_grow_with_rows(shipped_job, tmp_path, monkeypatch):
    # The package is spooled in memory up to SPOOL_BYTES; past that (and the fixed buffers) the
    # peak must not move, however many rows.
    monkeypatch.setattr(xlsx, "SPOOL_BYTES", 1 << 16)

    def peak(n: int) -> int:
        body = ((f"Item {i}", "note", i, i * 0.5, dt.date(2024, 1, 1)) for i in range(n))
        job = with_tables(shipped_job, (stand_in("Big", body, rows=n),))
        with (tmp_path / f"{n}.xlsx").open("wb") as out:
            tracemalloc.start()
            try:
                xlsx.write(job, out)
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    small, large = peak(2_000), peak(40_000)
    assert large < small + (1 << 20), (small, large)


# --- real consumer software ------------------------------------------------------------------


@pytest.mark.slow
def test_libreoffice_reads_the_data_sheet(book_bytes, tmp_path):
    src = tmp_path / "book.xlsx"
    src.write_bytes(book_bytes)
    # Formatted as shown, the data sheet only.
    options = f"44,34,76,1,,0,false,true,true,false,false,{len(SHEETS) + 1}"
    out = libreoffice(src, f"csv:Text - txt - csv (StarCalc):{options}", tmp_path / "out", tmp_path / "lo")
    table = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert table[0] == [name for name, _ in COLUMNS]
    assert len(table) == ROWS + 1
    assert [row[1] for row in table[1 : 1 + len(TRICKY)]] == list(TRICKY)
    assert table[3][2:] == ["2,002", "2.50", "2024-01-03"]
