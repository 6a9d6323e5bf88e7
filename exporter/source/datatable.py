"""Data tables: CSV files attached to a report, checked and then streamed one row at a time.

A report's YAML declares a table (`TableSpec`); its rows are in ``<report-id>.<table-id>.csv``
beside the YAML, so the file name comes from validated ids, never from a string in the data.
The CSV is UTF-8 (a byte-order mark is allowed), comma-separated with RFC 4180 quoting, and its
header row names the declared columns in order. An empty field is an empty cell.

Nothing here holds a whole table: `scan` checks a file in one pass (keeping at most the rows a
document shows), and `DataTable.iter_rows` streams it again for the workbook, checking that the
file is still the one that was scanned.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BuildError, DataError, Problem
from ..core.model import MAX_TABLE_ROWS, MAX_TEXT, TableSpec
from ..core.numbers import Value
from ..core.text import clean_text
from .glyphs import Fonts, describe, undrawable

TABLE_SUFFIX = ".csv"
MAX_PROBLEMS = 20  # per file: enough to see the pattern of a broken export
MAX_FILE_BYTES = 1 << 30

# ASCII digits only: `\d` would take full-width and other scripts' digits, which the PDF shows as boxes.
_INTEGER = re.compile(r"[+-]?[0-9]{1,15}")  # Excel keeps 15 significant digits
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def table_path(report_path: Path, table_id: str) -> Path:
    """Return the CSV file of table *table_id* of the report whose YAML is *report_path*."""
    return report_path.with_name(f"{report_path.stem}.{table_id}{TABLE_SUFFIX}")


def table_files(report_path: Path) -> list[Path]:
    """Return every CSV file that may belong to the report at *report_path* (for change detection)."""
    return sorted(report_path.parent.glob(f"{report_path.stem}.*{TABLE_SUFFIX}"))


def _typed(kind: str, raw: str) -> Value:
    """Convert one checked field; raise ValueError with a reader's message when it does not fit."""
    if raw == "":
        return None
    if kind == "text":
        text = clean_text(raw)
        if len(text) > MAX_TEXT:
            raise ValueError(f"is {len(text)} characters long; the limit is {MAX_TEXT}")
        return text
    value = raw.strip()
    if kind == "integer":
        if not _INTEGER.fullmatch(value):
            raise ValueError(f"{_show(raw)} is not a whole number (up to 15 digits)")
        return int(value)
    if kind == "number":
        if not _NUMBER.fullmatch(value):
            raise ValueError(f"{_show(raw)} is not a number (digits, optional '.', optional exponent)")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{_show(raw)} is too large")
        return number
    if kind == "date":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{_show(raw)} is not a date (YYYY-MM-DD)") from None
    raise AssertionError(kind)


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


class _Hashing(io.RawIOBase):
    """A read-only stream that hashes what passes through it."""

    def __init__(self, raw: io.FileIO):
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
            self.size += n
        return n


@dataclass(frozen=True)
class Scan:
    """What one pass over a table file found."""

    sha256: str
    total_rows: int
    matched_rows: int
    preview: tuple[tuple[Value, ...], ...]  # the first matched rows, typed


def _where(spec: TableSpec, filter: Mapping[str, str]) -> tuple[tuple[int, str], ...]:
    names = [c.name for c in spec.columns]
    return tuple((names.index(name), value) for name, value in filter.items() if name in names)


def _row(fields: list[str], columns: int) -> list[str] | None:
    """A CSV record as a row: None for a blank line, except in a one-column table, where it is an empty field."""
    if fields:
        return fields
    return [""] if columns == 1 else None


def _matches(row: list[str], where: tuple[tuple[int, str], ...]) -> bool:
    # Compared as the YAML's values are: cleaned and NFC-normalised, so "Zürich" matches however it is encoded.
    return all(clean_text(row[i]).strip() == value for i, value in where)


def scan(path: Path, spec: TableSpec, *, filter: Mapping[str, str] | None = None, keep: int = 0,
         fonts: Fonts = None) -> Scan:
    """Check every row of the table file at *path*; raise `DataError` listing its problems.

    Counts the rows (and those matching *filter*) and keeps the first *keep* matching rows.
    """
    where = _where(spec, filter or {})
    problems: list[Problem] = []
    total = matched = 0
    preview: list[tuple[Value, ...]] = []
    kinds = [c.type for c in spec.columns]
    names = [c.name for c in spec.columns]

    def problem(line: int | None, field: str, message: str) -> None:
        problems.append(Problem(path, line, field, message))
        if len(problems) >= MAX_PROBLEMS:
            raise _TooMany

    try:
        with _open(path) as (reader, hashing):
            try:
                header = next(reader, None)
                if header is None:
                    problem(1, "", "the file is empty: the first line must name the columns")
                elif [clean_text(h).strip() for h in header] != names:
                    problem(1, "", f"the header row must name the columns {', '.join(names)} in this order; "
                                   f"it names {', '.join(map(repr, header))}")
                blank: list[int] = []  # blank lines not (yet) followed by a row: fine at the end of a file
                for row in ([] if problems else reader):
                    line = reader.line_num
                    row = _row(row, len(kinds))
                    if row is None:
                        blank.append(line)
                        continue
                    if blank:
                        problem(blank[0], "", "blank line: every row must have all its fields")
                        blank.clear()
                    total += 1
                    if total > MAX_TABLE_ROWS:
                        problem(line, "", f"the table has more than {MAX_TABLE_ROWS:,} rows")
                        break
                    if len(row) != len(kinds):
                        problem(line, "", f"the row has {len(row)} fields; the header has {len(kinds)}")
                        continue
                    values: list[Value] = []
                    for name, kind, raw in zip(names, kinds, row):
                        try:
                            value = _typed(kind, raw)
                        except ValueError as exc:
                            problem(line, name, str(exc))
                            continue
                        values.append(value)
                        if kind == "text" and isinstance(value, str) and (missing := undrawable(value, fonts)):
                            problem(line, name, describe(missing))
                    if _matches(row, where):
                        matched += 1
                        if len(preview) < keep and len(values) == len(kinds):
                            preview.append(tuple(values))
            except csv.Error as exc:
                problem(reader.line_num or None, "", f"cannot read the CSV: {exc}")
            except UnicodeDecodeError:
                problem(_first_undecodable_line(path), "", "the file is not UTF-8 text")
            sha = hashing.digest.hexdigest()
    except _TooMany:
        problems.append(Problem(path, None, "", f"stopped after {MAX_PROBLEMS} problems"))
    except OSError as exc:
        problems.append(Problem(path, None, "", f"cannot read the file: {exc.strerror or exc}"))
    if problems:
        raise DataError(problems)
    return Scan(sha, total, matched, tuple(preview))


def _first_undecodable_line(path: Path) -> int | None:
    """The line of the first bytes that are not UTF-8 (the decoder works in blocks, so it cannot say)."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


class _TooMany(Exception):
    pass


class _open:
    """Open a table file as a CSV reader over a hashing stream."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        if self.path.stat().st_size > MAX_FILE_BYTES:
            raise OSError(f"larger than {MAX_FILE_BYTES >> 20} MiB")
        self._file = self.path.open("rb", buffering=0)
        hashing = _Hashing(self._file)
        text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 16), encoding="utf-8-sig", newline="")
        self._text = text
        return csv.reader(text, strict=True), hashing

    def __exit__(self, *exc) -> None:
        self._text.close()
        self._file.close()


@dataclass(frozen=True)
class DataTable:
    """A checked table of a report (or of one variant's rows of it), ready to stream."""

    spec: TableSpec
    path: Path
    sha256: str
    rows: int  # rows this table has after the variant's filter
    total_rows: int
    preview: tuple[tuple[Value, ...], ...]  # the first rows, typed, for documents that show only those
    filter: tuple[tuple[str, str], ...] = ()

    def iter_rows(self) -> Iterator[tuple[Value, ...]]:
        """Yield the (filtered) rows as typed values; raise `BuildError` if the file changed since its scan."""
        kinds = [c.type for c in self.spec.columns]
        where = _where(self.spec, dict(self.filter))
        try:
            with _open(self.path) as (reader, hashing):
                next(reader, None)
                for row in reader:
                    row = _row(row, len(kinds))
                    if row is not None and _matches(row, where):
                        yield tuple(_typed(kind, raw) for kind, raw in zip(kinds, row))
                sha = hashing.digest.hexdigest()
        except (OSError, ValueError, csv.Error, IndexError) as exc:
            raise BuildError(f"{self.path}: cannot read the table again: {exc}") from exc
        if sha != self.sha256:
            raise BuildError(f"{self.path}: the file changed while the report was being built; build again")


def open_tables(report_path: Path, specs: list[TableSpec], filter: Mapping[str, str] | None = None,
                fonts: Fonts = None, snapshots: Mapping[str, Path] | None = None,
                preview: bool = True) -> tuple[DataTable, ...]:
    """Scan every table of a report (for one variant's *filter*); raise `DataError` listing all problems.

    With *preview* each keeps its first `document_rows` rows, typed; a check that only validates
    keeps none (10,000 rows are a few MiB).

    Texts are checked against the PDF's *fonts* (the theme's; None: the default). A query table
    (`source`) is read from its snapshot in *snapshots* (by table id), written by `source.queries`;
    its problems name the report's table and the query's row, not the snapshot file.
    """
    tables: list[DataTable] = []
    problems: list[Problem] = []
    for index, spec in enumerate(specs):
        if spec.source is not None:
            snapshot = (snapshots or {}).get(spec.id)
            if snapshot is None:
                raise BuildError(f"{report_path}: table {spec.id!r}: its query has not been run")
            try:
                found = scan(snapshot, spec, filter=filter, keep=spec.document_rows if preview else 0, fonts=fonts)
            except DataError as exc:
                problems.extend(_as_query_problem(report_path, index, p) for p in exc.problems)
                continue
            kept = tuple((n, v) for n, v in (filter or {}).items() if n in {c.name for c in spec.columns})
            tables.append(DataTable(spec, snapshot.absolute(), found.sha256, found.matched_rows, found.total_rows,
                                    found.preview, kept))
            continue
        path = table_path(report_path, spec.id)
        if not path.is_file():
            problems.append(Problem(path, None, "", f"missing: table {spec.id!r} needs this CSV file beside "
                                                    f"{report_path.name}"))
            continue
        if path.resolve().parent != report_path.resolve().parent:
            problems.append(Problem(path, None, "", "the file is a link leading outside the reports folder"))
            continue
        try:
            found = scan(path, spec, filter=filter, keep=spec.document_rows if preview else 0, fonts=fonts)
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        kept = tuple((name, value) for name, value in (filter or {}).items() if name in {c.name for c in spec.columns})
        # Absolute: a worker on another machine (Dask) opens the table by the path it is sent.
        tables.append(DataTable(spec, path.absolute(), found.sha256, found.matched_rows, found.total_rows, found.preview, kept))
    if problems:
        raise DataError(problems)
    return tuple(tables)


def _as_query_problem(report_path: Path, index: int, problem: Problem) -> Problem:
    """A problem the scan found in a query's snapshot, told of the query: its row (line 1 is the header)."""
    row = f"row {problem.line - 1} of the query: " if problem.line and problem.line > 1 else ""
    field = f"tables[{index}].columns.{problem.path}" if problem.path else f"tables[{index}].source"
    return Problem(report_path, None, field, f"{row}{problem.message}")
