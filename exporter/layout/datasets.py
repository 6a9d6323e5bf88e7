"""Data tables as the document carries them: typed columns with formats, rows streamed on demand."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.document import Column, Dataset
from ..core.model import TableSpec
from ..core.numbers import MAX_DECIMALS, Value, needed_decimals

if TYPE_CHECKING:
    from ..source.datatable import DataTable


def columns_of(spec: TableSpec) -> tuple[Column, ...]:
    return tuple(Column(c.name, c.type, c.shown()) for c in spec.columns)


def dataset_of(table: DataTable) -> Dataset:
    """The whole table for the workbook: its rows are read from the file only when a sheet is written.

    The dataset keeps the table without its first rows: the layout has made the document's texts of
    them already, and renderers (workers, too: the job is pickled) would only carry them along.
    """
    streamed = dataclasses.replace(table, preview=())
    return Dataset(table.spec.id, table.spec.title, columns_of(table.spec), table.rows, streamed)


def shown_rows(rows: Sequence[Sequence[Value]], columns: Sequence[Column], *,
               limit: int = MAX_DECIMALS) -> tuple[tuple[str, ...], ...]:
    """Rows as the DOCX and PDF show them: each value formatted by its column (empty cells empty).

    A number column without declared decimals shows, in every row, as many as its rows need (up to
    *limit*), as the workbook's column does: 1.50 beside 2.25, not 1.5.
    """
    formats = []
    for n, column in enumerate(columns):
        fmt = column.format
        if column.type == "number" and fmt.decimals is None:
            scale = 100 if fmt.percent else 1  # a percent shows the fraction times 100
            decimals = max((needed_decimals(v * scale, limit) for row in rows if isinstance(v := row[n], float)),
                           default=0)
            fmt = dataclasses.replace(fmt, decimals=decimals)
        formats.append(fmt)
    return tuple(tuple("" if value is None else fmt.text(value) for value, fmt in zip(row, formats)) for row in rows)


def is_numeric(column: Column) -> bool:
    return column.type in ("integer", "number")
