"""The general report kind's layout: declared sections of blocks, with figures, charts and tables
computed from the report's data tables.

Each table is read once, however many blocks ask of it: the blocks are planned first (each says
what it needs of which table: a total, groups, the first or the top rows), one pass over each
table's rows (a variant's filter applied) feeds them all, and the blocks are then made from the
answers. Memory stays flat however long the table; a sorted table keeps only the rows it shows.
Categories of a chart come in the order their first row has in the table, unless the chart asks
for another (`sort`) or for the largest few (`limit`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..core.aggregate import Grouping, Total
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
    sort_order,
)
from ..core.messages import DEFAULT_LANGUAGE, Words, locale_name
from ..core.model import TableColumn
from ..core.numbers import AUTO_DECIMALS, PLAIN, NumberFormat, Value, needed_decimals
from . import edition_title
from .datasets import columns_of, dataset_of, is_numeric, shown_rows

if TYPE_CHECKING:
    from ..source.datatable import DataTable

COUNT_FORMAT = NumberFormat(decimals=0)
MAX_CATEGORIES = 50  # a chart from a table shows at most this many categories unless it sets `limit`

Later = Callable[[], list[Block]]  # makes a block once the tables have been read


def build_document(report: DocumentReport, *, tables: tuple[DataTable, ...] = (),
                   variant: DocumentVariant | None = None, created: dt.datetime | None = None) -> Document:
    """Lay out *report* for *variant* (its sections omitted, its rows filtered in *tables*)."""
    language = (variant.language if variant else None) or report.language
    reads = _Reads({t.spec.id: t for t in tables}, language)
    omit = set(variant.omit) if variant else set()
    numbers = iter(range(1, 1_000_000))  # questions are numbered through the whole document
    planned: list[tuple[SubSectionSpec, int, str, list[Later]]] = []
    for i, spec in enumerate(report.sections):
        if spec.id in omit:
            continue
        planned.append((spec, 1, f"section-{i}", [_plan(block, reads, numbers) for block in spec.blocks]))
        for j, sub in enumerate(spec.sections):
            if sub.id not in omit:
                planned.append((sub, 2, f"section-{i}-{j}", [_plan(block, reads, numbers) for block in sub.blocks]))
    reads.run()
    sections = [Section(spec.title, level, tuple(b for later in blocks for b in later()), spec.id or key)
                for spec, level, key, blocks in planned]
    if created is None:
        created = dt.datetime.combine(report.as_of, dt.time(0, 0), tzinfo=dt.UTC)
    words = reads.words
    facts: list[tuple[str, Value]] = []
    if report.subtitle:
        facts.append((words("subtitle"), report.subtitle))
    if variant:
        facts.append((words("edition"), variant.name))
    facts += [(words("author"), report.author), (words("as_of_label"), report.as_of)]
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
        language=language or DEFAULT_LANGUAGE,
        locale=reads.locale,
    )


def _headline(report: DocumentReport, sections: Sequence[Section]) -> str:
    """The key figures in one line (else the first paragraph, else the subtitle or title)."""
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Figures):
                return " · ".join(f"{f.label}: {f.text}" for f in block.figures)
    for section in sections:
        for block in section.blocks:
            if isinstance(block, Paragraph) and block.role != "note":
                return block.text if len(block.text) <= 300 else block.text[:299] + "…"
    return report.subtitle or report.title


# --- reading the tables once -------------------------------------------------------------------


class _Reads:
    """What the blocks ask of each table, answered in one read of it; and the language they speak."""

    def __init__(self, tables: dict[str, DataTable], language: str | None = None):
        self.tables = tables
        self.asked: dict[str, list] = defaultdict(list)
        self.words = Words(language or DEFAULT_LANGUAGE)
        # Numbers and dates in the language's own way only when the report names one: without, as
        # they always were (ISO dates, ISO currency codes, en-US separators).
        self.locale = locale_name(language) if language else None

    def count(self, number: int) -> str:
        return NumberFormat(decimals=0, locale=self.locale).text(number)

    def columns(self, table: DataTable) -> tuple[Column, ...]:
        return tuple(dataclasses.replace(c, format=c.format.localized(self.locale)) for c in columns_of(table.spec))

    def ask(self, table_id: str, reader):
        """Have *reader* (with ``feed(row)``) fed every row of table *table_id*; return it."""
        self.asked[table_id].append(reader)
        return reader

    def run(self) -> None:
        for table_id, readers in self.asked.items():
            feeds = [reader.feed for reader in readers]
            for row in self.tables[table_id].iter_rows():
                for feed in feeds:
                    feed(row)


class _First:
    """The first *limit* rows."""

    def __init__(self, limit: int):
        self.limit = limit
        self.rows: list[tuple[Value, ...]] = []

    def feed(self, row) -> None:
        if len(self.rows) < self.limit:
            self.rows.append(row)


class _Top:
    """The first *limit* rows in the order of *keys* (column index, descending), ties in table order."""

    def __init__(self, limit: int, keys: Sequence[tuple[int, bool]]):
        self.limit, self.keys = limit, keys
        self.kept: list[_SortKey] = []

    def feed(self, row) -> None:
        self.kept.append(_SortKey(row, self.keys))
        if len(self.kept) >= 2 * self.limit + 64:
            self._trim()

    def _trim(self) -> None:
        self.kept.sort()  # stable: equal rows keep the table's order
        del self.kept[self.limit:]

    @property
    def rows(self) -> list:
        self._trim()
        return [key.row for key in self.kept]


def _column(table: DataTable, name: str, locale: str | None = None) -> tuple[int, Column, TableColumn]:
    index = next(i for i, c in enumerate(table.spec.columns) if c.name == name)
    column = columns_of(table.spec)[index]
    return index, dataclasses.replace(column, format=column.format.localized(locale)), table.spec.columns[index]


def _measure(table: DataTable, agg: Aggregate, locale: str | None) -> tuple[int | None, Column | None, TableColumn | None]:
    if agg.function == "count" and agg.target == table.spec.id:
        return None, None, None
    return _column(table, agg.target, locale)


def _result_format(function: str, column: Column | None, declared: TableColumn | None,
                   locale: str | None = None) -> NumberFormat:
    """An aggregate is shown as its column is: a count as a whole number, and the mean of whole
    numbers with the decimals it needs (unless the column declares some)."""
    if function == "count" or column is None:
        return COUNT_FORMAT.localized(locale)
    if function == "mean" and column.type == "integer" and (declared is None or declared.decimals is None):
        return dataclasses.replace(column.format, decimals=None, thousands=True)
    return column.format


# --- blocks ------------------------------------------------------------------------------------


def _plan(spec: BlockSpec, reads: _Reads, numbers) -> Later:
    kind = spec.kind
    if kind == "text":
        texts = spec.text if isinstance(spec.text, list) else [spec.text]
        return _now([Paragraph(text) for text in texts if text])
    if kind == "note":
        return _now([Paragraph(spec.note or "", "note")])
    if kind == "bullets":
        return _now([Bullets(tuple(spec.bullets or ()))])
    if kind == "faq":
        return _now([QA(next(numbers), entry.question, entry.answer) for entry in spec.faq or ()])
    if kind == "figures":
        figures = [_figure(f, reads) for f in spec.figures or ()]
        return lambda: [Figures(tuple(figure() for figure in figures))]
    if kind == "chart":
        assert spec.chart is not None
        return _chart(spec.chart, reads)
    if kind == "table":
        assert spec.table is not None
        return _table(spec.table, reads)
    raise AssertionError(kind)


def _now(blocks: list[Block]) -> Later:
    return lambda: blocks


def _figure(spec: FigureSpec, reads: _Reads) -> Callable[[], Figure]:
    declared = spec.number_format(spec.unit)
    value = spec.value
    if not isinstance(value, Aggregate):
        fmt = (declared or PLAIN).localized(reads.locale)
        return lambda: Figure(spec.label, value, fmt.text(value), fmt, unit=spec.unit or "", note=spec.note or "")
    table_id, _, name = value.target.partition(".")
    table = reads.tables[table_id]
    index, column, column_spec = _column(table, name, reads.locale) if name else (None, None, None)
    total = reads.ask(table_id, Total(value.function, index))
    fmt = (declared or _result_format(value.function, column, column_spec, reads.locale)).localized(reads.locale)

    def made() -> Figure:
        result = total.result()
        return Figure(spec.label, result, fmt.text(result), fmt, unit=spec.unit or "", note=spec.note or "")

    return made


# --- charts --------------------------------------------------------------------------------------


def _chart(spec: ChartSpec, reads: _Reads) -> Later:
    if spec.table is None:
        chart = Chart(
            title=spec.title,
            kind=spec.type,
            categories=tuple(spec.categories or ()),
            series=tuple(Series(s.name, tuple(s.values)) for s in spec.series or ()),
            x_label=spec.x_label or "",
            y_label=spec.y_label or "",
            format=(spec.number_format(spec.unit) or PLAIN).localized(reads.locale),
            value_labels=spec.labels,
        )
        return _now([chart])
    table = reads.tables[spec.table]
    words, locale = reads.words, reads.locale
    x_index, x_column, _ = _column(table, spec.x or "", locale)
    measures: list[tuple[str, int | None]] = []
    formats: list[NumberFormat] = []
    y_columns: list[Column | None] = []
    for agg in spec.aggregates:
        index, column, column_spec = _measure(table, agg, locale)
        measures.append((agg.function, index))
        formats.append(_result_format(agg.function, column, column_spec, locale))
        y_columns.append(column)
    split = _column(table, spec.by, locale) if spec.by else None
    grouping = reads.ask(spec.table, Grouping(x_index, measures, split[0] if split else None))
    # One format for the values: the chart's own, else the one all its aggregates share.
    fmt = (spec.number_format(spec.unit) or (formats[0] if len(set(formats)) == 1 else NumberFormat())).localized(locale)
    names = [_label(agg, c, words) for agg, c in zip(spec.aggregates, y_columns)]

    def made() -> list[Block]:
        groups = grouping.result()
        keys = list(dict.fromkeys(key for key, _ in groups))
        if split is None:
            series_names = names
            values = [[groups[(k, None)][n] for k in keys] for n in range(len(measures))]
        else:
            splits = list(dict.fromkeys(s for _, s in groups))
            series_names = list(_category_texts(splits, split[1], words))
            values = [[(groups.get((k, s)) or [None])[0] for k in keys] for s in splits]
        totals = [sum(v[i] or 0 for v in values) for i in range(len(keys))]
        notes = []
        order = list(range(len(keys)))
        if spec.type == "pie":
            left_out = [i for i in order if not (totals[i] > 0)]
            if left_out:
                shown = ", ".join(_category_texts([keys[i] for i in left_out], x_column, words))
                notes.append(words("pie_left_out", title=spec.title, categories=shown))
                order = [i for i in order if totals[i] > 0]
        limit = spec.limit or MAX_CATEGORIES
        if len(order) > limit:
            if spec.limit is None:
                notes.append(words("largest_categories", title=spec.title, limit=reads.count(limit),
                                   total=reads.count(len(order)), column=x_column.name))
            order = sorted(heapq.nlargest(limit, order, key=lambda i: totals[i]))
        if spec.sort in ("x", "-x"):
            order.sort(key=lambda i: _SortKey((keys[i],), ((0, spec.sort == "-x"),)))
        elif spec.sort in ("y", "-y"):
            order.sort(key=lambda i: totals[i], reverse=spec.sort == "-y")
        if not order:  # a table without rows (or none for this edition): nothing to draw
            return [Paragraph(words("nothing_to_chart", title=spec.title), "note")]
        kept = [keys[i] for i in order]
        years = x_column.type == "integer" and not x_column.format.thousands
        categories = tuple(kept) if years and None not in kept else _category_texts(kept, x_column, words)
        series = tuple(Series(name, tuple(vals[i] for i in order)) for name, vals in zip(series_names, values))
        y_label = spec.y_label or (names[0] if len(names) == 1 and spec.by is None else
                                   _label(spec.aggregates[0], y_columns[0], words))
        chart = Chart(title=spec.title, kind=spec.type, categories=categories, series=series,
                      x_label=spec.x_label or x_column.name, y_label=y_label, format=fmt,
                      value_labels=spec.labels, basis_labels=(words("reported"), words("derived")))
        return [chart, *(Paragraph(note, "note") for note in notes)]

    return made


def _label(agg: Aggregate, column: Column | None, words: Words) -> str:
    """A series or column name for an aggregate: "Sum of Amount", "Count"."""
    if column is None:
        return words("count")
    return words(f"{agg.function}_of", column=column.name)


def _category_texts(keys: Sequence[Value], column: Column, words: Words) -> tuple[str, ...]:
    """Category names as a reader sees them, all with the same decimals, so that none collide."""
    fmt = column.format
    if column.type == "number" and fmt.decimals is None:
        decimals = max((needed_decimals(k) for k in keys if isinstance(k, float)), default=0)
        fmt = dataclasses.replace(fmt, decimals=decimals)
    return tuple(words("blank") if key is None else fmt.text(key) for key in keys)


# --- tables --------------------------------------------------------------------------------------


def _table(spec: TableBlockSpec, reads: _Reads) -> Later:
    table = reads.tables[spec.table]
    caption = spec.title or table.spec.title
    if spec.by is not None:
        return _grouped_table(spec, table, caption, reads)
    columns = reads.columns(table)
    words = reads.words
    names = [c.name for c in columns]
    chosen = [names.index(name) for name in spec.columns] if spec.columns else list(range(len(columns)))
    limit = spec.limit if spec.limit is not None else table.spec.document_rows
    rows_of: Callable[[], Sequence[tuple[Value, ...]]]
    if spec.sort:
        keys = [(names.index(column), descending) for column, descending in map(sort_order, spec.sort)]
        top = reads.ask(spec.table, _Top(limit, keys))
        rows_of = lambda: top.rows  # noqa: E731
    elif limit <= len(table.preview) or len(table.preview) == table.rows:
        rows_of = lambda: table.preview[:limit]  # noqa: E731  (the rows the scan kept)
    else:
        first = reads.ask(spec.table, _First(limit))
        rows_of = lambda: first.rows  # noqa: E731
    picked = [columns[i] for i in chosen]

    def made() -> list[Block]:
        shown = [tuple(row[i] for i in chosen) for row in rows_of()]
        if table.rows == 0:
            return [Paragraph(caption, "lead"), Paragraph(words("no_rows"), "note")]
        if not shown:
            return [Paragraph(caption, "lead"), Paragraph(words("rows_in_workbook", total=reads.count(table.rows)), "note")]
        blocks: list[Block] = [Table(caption, tuple(c.name for c in picked), shown_rows(shown, picked),
                                     tuple(is_numeric(c) for c in picked))]
        if len(shown) < table.rows:
            order = words("sorted_by", columns=", ".join(_sort_words(s, words) for s in spec.sort)) if spec.sort else ""
            blocks.append(Paragraph(words("rows_shown", shown=reads.count(len(shown)), total=reads.count(table.rows),
                                          order=order), "note"))
        return blocks

    return made


def _sort_words(name: str, words: Words) -> str:
    column, descending = sort_order(name)
    return words("largest_first", column=column) if descending else column


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


def _grouped_table(spec: TableBlockSpec, table: DataTable, caption: str, reads: _Reads) -> Later:
    words, locale = reads.words, reads.locale
    by_index, by_column, _ = _column(table, spec.by or "", locale)
    measures, formats, shown_header = [], [], [by_column.name]
    for agg in spec.values:
        index, column, column_spec = _measure(table, agg, locale)
        measures.append((agg.function, index))
        formats.append(_result_format(agg.function, column, column_spec, locale))
        shown_header.append(_label(agg, column, words))
    grouping = reads.ask(spec.table, Grouping(by_index, measures))
    header = grouped_header(spec, table.spec)  # what `sort` names (the data's words, whatever the language)

    def made() -> list[Block]:
        rows: list[tuple[Value, ...]] = [(key, *values) for (key, _), values in grouping.result().items()]
        if not rows:
            return [Paragraph(caption, "lead"), Paragraph(words("no_rows"), "note")]
        if spec.sort:
            keys = [(header.index(column), descending) for column, descending in map(sort_order, spec.sort)]
            rows.sort(key=lambda row: _SortKey(row, keys))
        total = len(rows)
        if spec.limit is not None:
            rows = rows[: spec.limit]
        labels = _category_texts([row[0] for row in rows], by_column, words)
        columns = [Column(by_column.name, "text"),
                   *(Column(name, "number", fmt) for name, fmt in zip(shown_header[1:], formats))]
        shown = shown_rows([(label, *row[1:]) for label, row in zip(labels, rows)], columns, limit=AUTO_DECIMALS)
        blocks: list[Block] = [Table(caption, tuple(shown_header), shown, tuple(is_numeric(c) for c in columns))]
        if len(rows) < total:
            blocks.append(Paragraph(words("groups_shown", shown=reads.count(len(rows)), total=reads.count(total),
                                          column=by_column.name), "note"))
        return blocks

    return made
