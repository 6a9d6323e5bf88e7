"""Query tables: a table whose rows come from a SQL query, kept as a CSV snapshot for one build.

    tables:
      - id: deals
        source: {database: crm, sql: "SELECT account, stage, amount FROM deals WHERE region = :region"}
        params: {region: EMEA}
        columns: [...]

The query runs once per build of a set, streamed in batches (a server-side cursor where the
driver has one), and its rows are written, typed as the columns declare, to a CSV file in the
state folder. From there on a query table is a CSV table: the same checks, the same one-pass
layout, the same streaming into the workbook, and the snapshot's hash joins the report's inputs,
so an unchanged result leaves the report unchanged. Dask workers read the snapshot by its
absolute path, as they read CSV tables (the coordinator runs the query; the workers never connect
to a database).

Values reach the query only as bound parameters: the table's `params`, `as_of` (the report's date)
and, for a variant's edition, each filter value under its column's name in lower case with `_`
for other characters (`Region` → `:region`, `Close date` → `:close_date`; NULL in the report's own
set). The SQL text is the analyst's, run as written, read-only.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..core.errors import BuildError, DataError, Problem
from ..core.model import MAX_TABLE_ROWS, TableSpec
from .databases import Database, engine_for
from .datatable import table_path

BATCH_ROWS = 5_000
_SHOWN = 40  # characters of a refused value shown in a message
_INTEGER = re.compile(r"[+-]?[0-9]{1,15}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def filter_param(column: str) -> str:
    """The name a variant's filter on *column* has in a query: "Close date" -> "close_date"."""
    name = re.sub(r"[^0-9a-z]+", "_", column.casefold()).strip("_")
    return name if name and not name[0].isdigit() else f"f_{name}"


def bind_names(sql: str) -> list[str]:
    """The :name parameters of *sql*, as SQLAlchemy's text() reads them."""
    from sqlalchemy import text

    return list(text(sql)._bindparams)


class Located:
    """Where a query table's messages point: the report file, the table's source line and field path."""

    def __init__(self, report_path: Path, line: int | None, index: int, spec: TableSpec):
        self.report_path, self.line, self.index, self.spec = report_path, line, index, spec

    def problem(self, message: str, field: str = "source") -> Problem:
        return Problem(self.report_path, self.line, f"tables[{self.index}].{field}", message)

    def failure(self, message: str) -> BuildError:
        return BuildError(f"{self.report_path}: table {self.spec.id!r}: {message}")


def bindings(spec: TableSpec, as_of: dt.date, filters: Mapping[str, str | None]) -> dict:
    """Every value the table's query may use, by parameter name."""
    return {**{filter_param(c): v for c, v in filters.items()}, "as_of": as_of, **spec.params}


def param_problems(where: Located, spec: TableSpec, given: Mapping[str, object],
                   filter_columns: Sequence[str] = ()) -> list[Problem]:
    """A :name in the query that nothing gives, or that two things give, is a problem of the report, found
    before any query runs."""
    assert spec.source is not None
    names = [filter_param(c) for c in filter_columns]
    taken = {name: f"the filter on {c!r}" for c, name in zip(filter_columns, names)} | {"as_of": "the as-of date"}
    twice = [name for name in names if names.count(name) > 1]
    if twice:
        return [where.problem(f"two variant filter columns are both bound as :{twice[0]}; rename one", "source")]
    clash = [name for name in spec.params if name in taken]
    if clash:
        return [where.problem(f"params.{clash[0]} would hide {taken[clash[0]]}, which is bound as "
                              f":{clash[0]}; choose another name", "params")]
    missing = [name for name in bind_names(spec.source.sql) if name not in given]
    if not missing:
        return []
    offered = ", ".join(sorted(given)) or "none"
    return [where.problem(f"the query uses :{missing[0]}, which nothing gives (given: {offered})", "source.sql")]


def snapshot(where: Located, database: Database, given: Mapping[str, object], folder: Path,
             env: Mapping[str, str]) -> Path:
    """Run the table's query and write its rows, typed as declared, to a CSV file in *folder*; return it.

    Raise `DataError` for what the report can fix (the query's columns, values of the wrong type, too
    many rows, SQL the database refuses) and `BuildError` for what it cannot (the database cannot be
    reached, the query ran out of time).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    spec = where.spec
    assert spec.source is not None
    target = table_path(folder / where.report_path.name, spec.id)
    folder.mkdir(parents=True, exist_ok=True)
    names = [c.name for c in spec.columns]
    kinds = [c.type for c in spec.columns]
    used = {name: given[name] for name in bind_names(spec.source.sql)}
    engine = engine_for(database, env)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(names)
            try:
                connection = engine.connect()
            except DBAPIError as exc:
                raise where.failure(f"cannot reach {database.describe()}: {_reason(exc)}") from None
            with connection:
                try:
                    result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
                        text(spec.source.sql), used)
                    _check_columns(where, list(result.keys()), names)
                    count = 0
                    for count, row in enumerate(result, 1):
                        if count > MAX_TABLE_ROWS:
                            raise DataError([where.problem(f"the query returned more than {MAX_TABLE_ROWS:,} rows, "
                                                           "the limit of a table")])
                        writer.writerow([_field(where, count, name, kind, value)
                                         for name, kind, value in zip(names, kinds, row)])
                except DBAPIError as exc:
                    if exc.connection_invalidated or _timed_out(exc):
                        what = (f"the query ran longer than {database.timeout} s (timeout of {database.name!r} in "
                                "databases.yaml)" if _timed_out(exc) else f"lost {database.describe()}: {_reason(exc)}")
                        raise where.failure(what) from None
                    raise DataError([where.problem(f"{database.describe()} refused the query: {_reason(exc)}",
                                                   "source.sql")]) from None
                except SQLAlchemyError as exc:
                    raise DataError([where.problem(f"the query cannot run: {_reason(exc)}", "source.sql")]) from None
        os.replace(temporary, target)
    finally:
        engine.dispose()
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _check_columns(where: Located, got: list[str], declared: list[str]) -> None:
    """The result's columns must be the declared ones, in order; case is ignored (PostgreSQL folds
    unquoted names to lower case)."""
    if [g.casefold() for g in got] != [d.casefold() for d in declared]:
        raise DataError([where.problem(
            f"the query's columns are {', '.join(map(repr, got))}; the table declares "
            f"{', '.join(map(repr, declared))} (in this order; rename with AS)")])


def _field(where: Located, row: int, name: str, kind: str, value) -> str:
    """*value* from the database as the CSV field of a *kind* column; raise `DataError` when it is not one."""
    if value is None:
        return ""
    text = _as(kind, value)
    if text is None:
        shown = repr(value) if len(repr(value)) <= _SHOWN else repr(value)[:_SHOWN] + "…"
        raise DataError([where.problem(f"row {row} of the query: column {name!r}: {shown} "
                                       f"({type(value).__name__}) is not {_ARTICLE[kind]}", f"columns.{name}")])
    return text


_ARTICLE = {"text": "a text", "integer": "a whole number", "number": "a number", "date": "a date"}


def _as(kind: str, value) -> str | None:
    """*value* written as the column type reads it back, or None when it is not of that type."""
    if isinstance(value, bool) or isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if kind == "text":
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value if isinstance(value, str) else str(value) if isinstance(value, int | float | decimal.Decimal) else None
    if kind == "integer":
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float | decimal.Decimal) and math.isfinite(value) and value == int(value):
            return str(int(value))
        return value.strip() if isinstance(value, str) and _INTEGER.fullmatch(value.strip()) else None
    if kind == "number":
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float | decimal.Decimal) and math.isfinite(value):
            return repr(float(value))
        return value.strip() if isinstance(value, str) and _NUMBER.fullmatch(value.strip()) else None
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else None
        if isinstance(value, dt.date):
            return value.isoformat()
        return value if isinstance(value, str) and _DATE.fullmatch(value) else None
    return None


def _timed_out(exc) -> bool:
    text = str(exc.orig).casefold()
    return "statement timeout" in text or "canceling statement" in text or text.strip() == "interrupted"


def _reason(exc) -> str:
    """The database's own words, first line only (later lines repeat the SQL); never the URL."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in io.StringIO(str(orig)) if line.strip()]
    return lines[0] if lines else type(orig).__name__
