"""The format-neutral document: what every deliverable says, in order, as plain blocks.

A layout (`exporter.layout`) turns a report into sections of these blocks. Renderers lay the
blocks out and read nothing else (no report model, no source files), so the DOCX, XLSX, PDF and
text outputs agree. All texts here are plain text (never markup); renderers escape them.

    Document ── sections ── Section ── blocks: Paragraph · Bullets · Figures · Table · Chart · QA
            │                                  · Scenario (workbook only)
            ├── facts (the Summary sheet's first rows)
            ├── sheets (more workbook sheets a layout asks for)
            └── datasets (data tables, streamed row by row into the workbook)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .messages import DEFAULT_LANGUAGE, Words
from .numbers import PLAIN, NumberFormat, Value, long_date


@dataclass(frozen=True)
class Paragraph:
    text: str
    role: str = "body"  # body | lead | note


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table as the DOCX and PDF show it: texts already formatted."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]  # per column: right-align it


@dataclass(frozen=True)
class Figure:
    """One key figure: a label, its value and the text a reader sees for it."""

    label: str
    value: Value  # None when there is none (the mean of an empty table)
    text: str
    format: NumberFormat = PLAIN
    unit: str = ""  # the workbook's Unit column: "USD million", "percent per year"
    period: str | int = ""  # the workbook's Period/Year column
    basis: str = ""  # "Reported", "Derived (estimate)"; empty when the layout does not tell
    derived: bool = False  # computed rather than stated: shown in italics
    note: str = ""  # a small line under the value on a card


@dataclass(frozen=True)
class Figures:
    """Key figures: cards in a row, or (``style="table"``) a captioned table of figure, value and basis."""

    figures: tuple[Figure, ...]
    caption: str = ""
    style: Literal["cards", "table"] = "cards"

    def as_table(self) -> Table:
        """The figures as a table of figure, value and (when any figure has one) basis."""
        with_basis = any(f.basis for f in self.figures)
        header = ("Figure", "Value", *(("Basis",) if with_basis else ()))
        rows = tuple((f.label, f.text, *((f.basis,) if with_basis else ())) for f in self.figures)
        return Table(self.caption or "Key figures", header, rows, (False, True, *((False,) if with_basis else ())))


ChartKind = Literal["bar", "hbar", "line", "pie", "stacked"]
CHART_KINDS: tuple[ChartKind, ...] = ("bar", "hbar", "line", "pie", "stacked")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # one per category; None where there is no value
    derived: tuple[bool, ...] = ()  # per point: an estimate, drawn in the lighter colour


@dataclass(frozen=True)
class Chart:
    """A chart of one or more series over categories, drawn natively by every format.

    The workbook writes the data behind it (categories, series and, when some points are derived,
    a Basis column) and binds a native chart to those cells.
    """

    title: str
    kind: ChartKind
    categories: tuple[str | int, ...]  # ints (years) stay numbers in the workbook
    series: tuple[Series, ...]
    x_label: str = ""
    y_label: str = ""
    format: NumberFormat = PLAIN  # value labels and the value axis
    value_labels: bool = False  # print each value at its bar or point
    basis_labels: tuple[str, str] = ("Reported", "Derived (estimate)")  # legend when points are derived
    sheet: str | None = None  # the workbook sheet's name when the layout fixes one ("Forecast")
    note: str = ""  # written under the chart's data on its workbook sheet

    @property
    def has_derived(self) -> bool:
        return any(any(s.derived) for s in self.series)


@dataclass(frozen=True)
class Scenario:
    """Editable inputs and a year series computed from them by live formulas: only the workbook shows it.

    value(year) = base_value * (1 + rate) ** (year - base_year); `values` holds what that gives,
    computed here so that readers which do not calculate still show the numbers.
    """

    sheet: str
    base_year: int
    base_value: float
    rate: float  # a fraction
    reference_rate: float  # shown beside the inputs, not used by the formulas
    reference_label: str
    unit: str
    years: tuple[int, ...]
    labels: tuple[str, str, str]  # the inputs' labels: base year, base value, rate
    value_format: NumberFormat
    rate_format: NumberFormat
    reference_format: NumberFormat
    basis: tuple[str, str]  # (reported, derived) labels
    series_basis: str  # the Basis column of the computed series
    explanation: str
    rate_unit: str = "percent per year"

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(self.base_value * (1 + self.rate) ** (year - self.base_year) for year in self.years)


@dataclass(frozen=True)
class QA:
    number: int
    question: str
    answer: str


Block = Paragraph | Bullets | Figures | Table | Chart | QA | Scenario
WORKBOOK_ONLY = (Scenario,)


@dataclass(frozen=True)
class Section:
    title: str
    level: int  # 1 for a chapter, 2 for a sub-section
    blocks: tuple[Block, ...]
    key: str  # stable identifier: "overview", "forecast", "faqs", ...


class RowSource(Protocol):
    """Rows that can be read (again) one at a time, as typed values: a data table's file or query."""

    def iter_rows(self) -> Iterator[tuple[Value, ...]]: ...


@dataclass(frozen=True)
class Column:
    name: str
    type: Literal["text", "integer", "number", "date"]
    format: NumberFormat = PLAIN


@dataclass(frozen=True)
class Dataset:
    """A data table the workbook holds in full, on a sheet of its own, streamed from its source."""

    id: str
    title: str
    columns: tuple[Column, ...]
    rows: int
    source: RowSource


@dataclass(frozen=True)
class Sheet:
    """A worksheet of records a layout asks the workbook for (the market report's Segments, FAQ, …)."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    widths: tuple[float, ...]  # in characters
    wrap: tuple[bool, ...]


@dataclass(frozen=True)
class Meta:
    """Document properties every format sets."""

    title: str
    subject: str
    author: str
    keywords: tuple[str, ...]
    created: dt.datetime  # from the data's as-of date, never the clock


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    as_of: dt.date
    publisher: str
    meta: Meta
    sections: tuple[Section, ...] = field(default_factory=tuple)
    edition: str | None = None  # a variant's name, shown on the cover under the subtitle
    headline: str = ""  # one sentence saying what the report finds (mail bodies, index page)
    facts: tuple[tuple[str, Value], ...] = ()  # the Summary sheet's rows above the figures
    workbook_texts: bool = True  # the Summary sheet lists the texts (False: the layout's sheets hold them)
    summary_note: str = ""  # the Summary sheet's last line
    sheets: tuple[Sheet, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    language: str = DEFAULT_LANGUAGE  # BCP 47: the files' language, and the catalogue of their fixed words
    locale: str | None = None  # numbers and dates in this locale's way ("de_DE"); None: ISO dates, en-US numbers

    @property
    def words(self) -> Words:
        return Words(self.language)

    @property
    def as_of_text(self) -> str:
        """The as-of date as the document writes it: "27. November 2026", or 2026-11-27 without a locale."""
        return long_date(self.as_of, self.locale) if self.locale else self.as_of.isoformat()

    def blocks(self) -> Iterator[tuple[Section, Block]]:
        """Every block with its section, in reading order."""
        for section in self.sections:
            for block in section.blocks:
                yield section, block
