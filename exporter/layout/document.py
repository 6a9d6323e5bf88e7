"""The general report kind's layout: declared sections of blocks, with figures, charts and tables
computed from the report's data tables.

Aggregates read a table's rows once per block, streamed from its file (a variant's filter
applied), so memory stays flat however long the table; a sorted table keeps only the rows it
shows. Categories of a chart come in the order their first row has in the table, unless the chart
asks for the largest few (`limit`).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..core.aggregate import aggregate, grouped
from ..core.document import (
    QA,
    Block,
    Bullets,
    Chart,
    Column,
    Document,
    Figure,
    Figures,
    Meta,
    Paragraph,
    Section,
    Series,
    Table,
)
from ..core.document_report import (
    Aggregate,
    BlockSpec,
    ChartSpec,
    DocumentReport,
    DocumentVariant,
    FigureSpec,
    SubSectionSpec,
    TableBlockSpec,
    grouped_header,
)
from ..core.numbers import PLAIN, NumberFormat, Value
from .datasets import columns_of, dataset_of, is_numeric, shown_rows

if TYPE_CHECKING:
    from ..source.datatable import DataTable

COUNT_FORMAT = NumberFormat(decimals=0)


def build_document(report: DocumentReport, *, tables: tuple[DataTable, ...] = (),
                   variant: DocumentVariant | None = None, created: dt.datetime | None = None) -> Document:
    """Lay out *report* for *variant* (its sections omitted, its rows filtered in *tables*)."""
    by_id = {t.spec.id: t for t in tables}
    omit = set(variant.omit) if variant else set()
    numbers = iter(range(1, 1_000_000))  # questions are numbered through the whole document
    sections: list[Section] = []
    for i, spec in enumerate(report.sections):
        if spec.id in omit:
            continue
        sections.append(_section(spec, 1, f"section-{i}", by_id, numbers))
        for j, sub in enumerate(spec.sections):
            if sub.id not in omit:
                sections.append(_section(sub, 2, f"section-{i}-{j}", by_id, numbers))
    if created is None:
        created = dt.datetime.combine(report.as_of, dt.time(0, 0), tzinfo=dt.UTC)
    facts: list[tuple[str, Value]] = []
    if report.subtitle:
        facts.append(("Subtitle", report.subtitle))
    if variant:
        facts.append(("Edition", variant.name))
    facts += [("Author", report.author), ("As of", report.as_of)]
    return Document(
        title=report.title,
        subtitle=report.subtitle or "",
        edition=variant.name if variant else None,
        as_of=report.as_of,
        publisher=report.author,
        meta=Meta(
            title=edition_title(report, variant),
            subject=report.subtitle or report.title,
            author=report.author,
            keywords=(),
            created=created,
        ),
        sections=tuple(sections),
        headline=_headline(report, sections),
        facts=tuple(facts),
        datasets=tuple(dataset_of(t) for t in tables),
    )


def edition_title(report: DocumentReport, variant: DocumentVariant | None) -> str:
    return f"{report.title} ({variant.name})" if variant else report.title


def _headline(report: DocumentReport, sections: Sequence[Section]) -> str:
    """The key figures in one line (else the first paragraph, else the subtitle or title)."""
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Figures):
                return " · ".join(f"{f.label}: {f.text}" for f in block.figures)
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Paragraph):
                return block.text if len(block.text) <= 300 else block.text[:299] + "…"
    return report.subtitle or report.title


def _section(spec: SubSectionSpec, level: int, key: str, tables: dict[str, DataTable], numbers) -> Section:
    blocks: list[Block] = []
    for block in spec.blocks:
        blocks += _blocks(block, tables, numbers)
    return Section(spec.title, level, tuple(blocks), spec.id or key)


def _blocks(spec: BlockSpec, tables: dict[str, DataTable], numbers) -> list[Block]:
    kind = spec.kind
    if kind == "text":
        texts = spec.text if isinstance(spec.text, list) else [spec.text]
        return [Paragraph(text) for text in texts if text]
    if kind == "note":
        return [Paragraph(spec.note or "", "note")]
    if kind == "bullets":
        return [Bullets(tuple(spec.bullets or ()))]
    if kind == "faq":
        return [QA(next(numbers), entry.question, entry.answer) for entry in spec.faq or ()]
    if kind == "figures":
        return [Figures(tuple(_figure(f, tables) for f in spec.figures or ()))]
    if kind == "chart":
        assert spec.chart is not None
        chart = _chart(spec.chart, tables)
        if not chart.categories:  # a table without rows (or none for this edition): nothing to draw
            return [Paragraph(f"{chart.title}: the table has no rows to chart.", "note")]
        return [chart]
    if kind == "table":
        assert spec.table is not None
        return _table(spec.table, tables[spec.table.table])
    raise AssertionError(kind)


# --- figures -------------------------------------------------------------------------------------


def _figure(spec: FigureSpec, tables: dict[str, DataTable]) -> Figure:
    declared = spec.number_format(spec.unit)
    value = spec.value
    if isinstance(value, Aggregate):
        table_id, _, name = value.target.partition(".")
        table = tables[table_id]
        index, column = _column(table, name) if name else (None, None)
        result = aggregate(table.iter_rows(), value.function, index)
        fmt = declared or _result_format(value.function, column)
    else:
        result = value
        fmt = declared or PLAIN
    text = fmt.text(result)
    return Figure(spec.label, result, text, fmt, unit=spec.unit or "", note=spec.note or "")


def _column(table: DataTable, name: str) -> tuple[int, Column]:
    columns = columns_of(table.spec)
    index = next(i for i, c in enumerate(columns) if c.name == name)
    return index, columns[index]


def _result_format(function: str, column: Column | None) -> NumberFormat:
    """An aggregate is shown as its column is (a count as a whole number)."""
    if function == "count" or column is None:
        return COUNT_FORMAT
    return column.format


# --- charts --------------------------------------------------------------------------------------


def _chart(spec: ChartSpec, tables: dict[str, DataTable]) -> Chart:
    if spec.table is None:
        categories = tuple(spec.categories or ())
        series = tuple(Series(s.name, tuple(s.values)) for s in spec.series or ())
        fmt = spec.number_format(spec.unit) or PLAIN
        x_label, y_label = spec.x_label or "", spec.y_label or ""
    else:
        categories, series, fmt, x_label, y_label = _chart_from_table(spec, tables[spec.table])
    return Chart(
        title=spec.title,
        kind=spec.type,
        categories=categories,
        series=series,
        x_label=x_label,
        y_label=y_label,
        format=fmt,
        value_labels=spec.labels,
    )


def _chart_from_table(spec: ChartSpec, table: DataTable):
    x_index, x_column = _column(table, spec.x or "")
    measures: list[tuple[str, int | None]] = []
    y_columns: list[Column | None] = []
    for agg in spec.aggregates:
        index, column = _measure(table, agg)
        measures.append((agg.function, index))
        y_columns.append(column)
    split = _column(table, spec.by)[0] if spec.by else None
    groups = grouped(table.iter_rows(), x_index, measures, split)
    keys = list(dict.fromkeys(key for key, _ in groups))
    if spec.by is None:
        names = [agg.label(c.name if c else None) for agg, c in zip(spec.aggregates, y_columns)]
        values = [[groups[(k, None)][n] for k in keys] for n in range(len(measures))]
    else:
        splits = list(dict.fromkeys(s for _, s in groups))
        split_column = _column(table, spec.by)[1]
        names = [split_column.format.text(s) for s in splits]
        values = [[(groups.get((k, s)) or [None])[0] for k in keys] for s in splits]
    totals = [sum(_number(v[i]) or 0 for v in values) for i in range(len(keys))]
    order = list(range(len(keys)))
    if spec.limit is not None and len(keys) > spec.limit:
        order = sorted(heapq.nlargest(spec.limit, order, key=lambda i: totals[i]))
    if spec.sort in ("x", "-x"):
        order.sort(key=lambda i: _SortKey((keys[i],), ((0, spec.sort == "-x"),)))
    elif spec.sort in ("y", "-y"):
        order.sort(key=lambda i: totals[i], reverse=spec.sort == "-y")
    keys = [keys[i] for i in order]
    values = [[v[i] for i in order] for v in values]
    categories = tuple(k if isinstance(k, int) and x_column.type == "integer" else x_column.format.text(k)
                       for k in keys)
    if x_column.type == "integer" and x_column.format.thousands:  # counts, not years: shown as text
        categories = tuple(x_column.format.text(k) for k in keys)
    series = tuple(Series(name, tuple(_number(v) for v in vals)) for name, vals in zip(names, values))
    fmt = spec.number_format(spec.unit) or _result_format(spec.aggregates[0].function, y_columns[0])
    y_label = spec.y_label or (names[0] if len(names) == 1 and spec.by is None else
                               spec.aggregates[0].label(y_columns[0].name if y_columns[0] else None))
    return categories, series, fmt, spec.x_label or x_column.name, y_label


def _measure(table: DataTable, agg: Aggregate) -> tuple[int | None, Column | None]:
    if agg.function == "count" and agg.target == table.spec.id:
        return None, None
    return _column(table, agg.target)


def _number(value: Value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.date):  # min or max of a date column: charted as its ordinal day
        return float(value.toordinal())
    return None


# --- tables --------------------------------------------------------------------------------------


def _table(spec: TableBlockSpec, table: DataTable) -> list[Block]:
    caption = spec.title or table.spec.title
    if spec.by is not None:
        return _grouped_table(spec, table, caption)
    columns = columns_of(table.spec)
    names = [c.name for c in columns]
    chosen = [names.index(name) for name in spec.columns] if spec.columns else list(range(len(columns)))
    limit = min(spec.limit or table.spec.document_rows, table.spec.document_rows)
    rows: Iterable[tuple[Value, ...]]
    if spec.sort:
        keys = [(names.index(name.lstrip("-")), name.startswith("-")) for name in spec.sort]
        rows = heapq.nsmallest(limit, table.iter_rows(), key=functools.partial(_SortKey, keys=keys))
    elif limit >= len(table.preview) and len(table.preview) == table.rows:
        rows = table.preview
    else:
        rows = _first(table.iter_rows(), limit)
    shown = [tuple(row[i] for i in chosen) for row in rows]
    picked = [columns[i] for i in chosen]
    blocks: list[Block] = [Table(caption, tuple(c.name for c in picked), shown_rows(shown, picked),
                                 tuple(is_numeric(c) for c in picked))]
    if not shown:
        blocks = [Paragraph(caption, "lead"), Paragraph("The table has no rows.", "note")]
    elif len(shown) < table.rows:
        order = f", sorted by {', '.join(_sort_words(s) for s in spec.sort)}" if spec.sort else ""
        blocks.append(Paragraph(f"{len(shown):,} of {table.rows:,} rows{order}; the Excel workbook of this "
                                "report holds the complete table.", "note"))
    return blocks


def _first(rows: Iterable[tuple[Value, ...]], limit: int) -> list[tuple[Value, ...]]:
    out: list[tuple[Value, ...]] = []
    for row in rows:
        if len(out) >= limit:
            break
        out.append(row)
    return out


def _sort_words(name: str) -> str:
    return f"{name[1:]} (largest first)" if name.startswith("-") else name


class _SortKey:
    """Orders rows by several columns, each ascending or descending; empty cells always last."""

    __slots__ = ("row", "keys")

    def __init__(self, row: Sequence[Value], keys: Sequence[tuple[int, bool]]):
        self.row, self.keys = row, keys

    def __lt__(self, other: _SortKey) -> bool:
        for index, descending in self.keys:
            a, b = self.row[index], other.row[index]
            if a == b:
                continue
            if a is None or b is None:
                return b is None
            if isinstance(a, str) and isinstance(b, str):
                a, b = a.casefold(), b.casefold()
                if a == b:
                    continue
            return (a > b) if descending else (a < b)  # type: ignore[operator]
        return False


def _grouped_table(spec: TableBlockSpec, table: DataTable, caption: str) -> list[Block]:
    by_index, by_column = _column(table, spec.by or "")
    measures, formats = [], []
    for agg in spec.values:
        index, column = _measure(table, agg)
        measures.append((agg.function, index))
        formats.append(_result_format(agg.function, column))
    groups = grouped(table.iter_rows(), by_index, measures)
    header = grouped_header(spec, table.spec)
    rows: list[tuple[Value, ...]] = [(key, *values) for (key, _), values in groups.items()]
    if spec.sort:
        keys = [(header.index(name.lstrip("-")), name.startswith("-")) for name in spec.sort]
        rows.sort(key=functools.partial(_SortKey, keys=keys))
    if spec.limit is not None:
        rows = rows[: spec.limit]
    columns = [by_column, *(Column(name, "number", fmt) for name, fmt in zip(header[1:], formats))]
    if not rows:
        return [Paragraph(caption, "lead"), Paragraph("The table has no rows.", "note")]
    return [Table(caption, header, shown_rows(rows, columns),
                  tuple(is_numeric(c) for c in columns))]
