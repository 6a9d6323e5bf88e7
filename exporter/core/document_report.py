"""The general report kind (`kind: document`): sections of blocks declared in data.

A report of this kind says what it shows, in order: texts, bullets, key figures, charts, tables
and questions, fed from its data tables. Figures and charts aggregate a table with one of a few
exact functions (sum, count, mean, min, max), grouped by one column; there is no expression
language and nothing in the data is run as code. Names of tables and columns are checked
against the declared tables (`exporter.source.validate`), so a typo is a located error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator, model_validator

from .document import CHART_KINDS
from .model import (
    MAX_DOCUMENT_ROWS,
    Date,
    Faq,
    Id,
    Language,
    Line,
    Number,
    Owners,
    Shown,
    TableSpec,
    Text,
    Variant as MarketVariant,
    _Strict,
)

FUNCTIONS = ("sum", "count", "mean", "min", "max")
NUMERIC_FUNCTIONS = ("sum", "mean")  # min and max also take dates; count takes anything


class Aggregate(_Strict):
    """One of sum, count, mean, min, max over a column (`deals.Amount`, or `Amount` in a chart).

    `count` over a table id counts its rows; over a column, its non-empty values.
    """

    sum: Line | None = None
    count: Line | None = None
    mean: Line | None = None
    min: Line | None = None
    max: Line | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [name for name in FUNCTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(FUNCTIONS)}" + (f"; found {', '.join(given)}"
                                                                          if given else ""))
        return self

    @property
    def function(self) -> str:
        return next(name for name in FUNCTIONS if getattr(self, name) is not None)

    @property
    def target(self) -> str:
        return getattr(self, self.function)

    def label(self, column: str | None) -> str:
        """A series name for this aggregate: "Sum of Amount", "Count"."""
        if column is None:
            return "Count"
        return f"{self.function.capitalize()} of {column}"


class FigureSpec(Shown):
    """A key figure: a label and a value, literal or aggregated from a table."""

    label: Line
    value: Annotated[Any, Field(description="A number, a text, or one of {sum|count|mean|min|max: table.column}.")]
    unit: Annotated[Line | None, Field(description="Shown after the number: 'million', 'deals'.")] = None
    note: Line | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value):
        if isinstance(value, dict):
            try:
                return Aggregate.model_validate(value)
            except ValidationError as exc:
                raise ValueError("; ".join(_messages(exc))) from None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a number, a text or an aggregate such as {sum: deals.Amount}")
        if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _format_of_numbers(self):
        if isinstance(self.value, str) and (self.decimals is not None or self.currency or self.percent):
            raise ValueError("decimals, currency and percent apply to numbers; this figure's value is a text")
        return self


def _messages(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        message = {"extra_forbidden": "unknown field"}.get(error["type"], error["msg"].removeprefix("Value error, "))
        out.append(f"{where}: {message}" if where else message)
    return out


class InlineSeries(_Strict):
    name: Line
    values: Annotated[list[Number | None], Field(min_length=1)]


class ChartSpec(Shown):
    """A chart of a table's column aggregated by category, or of values written inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal[CHART_KINDS] = "bar"  # type: ignore[valid-type]
    title: Line
    table: Id | None = None
    x: Annotated[Line | None, Field(description="The column whose values are the categories.")] = None
    y: Annotated[Aggregate | list[Aggregate] | None, Field(description=(
        "What each category shows, e.g. {sum: Amount}; a list for several series."))] = None
    by: Annotated[Line | None, Field(description="A column splitting the values into one series per value "
                                                 "(for stacked bars).")] = None
    categories: Annotated[list[Line | StrictInt] | None, Field(min_length=1, max_length=500)] = None
    series: Annotated[list[InlineSeries] | None, Field(min_length=1, max_length=20)] = None
    x_label: Line | None = None
    y_label: Line | None = None
    unit: Line | None = None
    labels: Annotated[StrictBool, Field(description="Print each value at its bar or point.")] = False
    sort: Annotated[Literal["x", "-x", "y", "-y"] | None, Field(description=(
        "Order of the categories: x by category, y by value ('-' for descending); "
        "by default the order of their first row."))] = None
    limit: Annotated[StrictInt | None, Field(ge=1, le=500, description=(
        "Show only the categories with the largest values, at most this many."))] = None

    @model_validator(mode="after")
    def _source(self):
        from_table = self.table is not None or self.x is not None or self.y is not None
        inline = self.categories is not None or self.series is not None
        if from_table and inline:
            raise ValueError("give either table, x and y, or categories and series, not both")
        if inline:
            table_only = [name for name in ("by", "sort", "limit") if getattr(self, name) is not None]
            if table_only:
                raise ValueError(f"{', '.join(table_only)} apply to charts from a table; inline values are "
                                 "shown as written")
            if self.categories is None or self.series is None:
                raise ValueError("inline values need both categories and series")
            for series in self.series:
                if len(series.values) != len(self.categories):
                    raise ValueError(f"series {series.name!r} has {len(series.values)} values for "
                                     f"{len(self.categories)} categories")
        elif self.table is None or self.x is None or self.y is None:
            missing = [name for name in ("table", "x", "y") if getattr(self, name) is None]
            raise ValueError(f"missing {', '.join(missing)}: a chart needs table, x and y "
                             "(or categories and series)")
        if self.by is not None and isinstance(self.y, list):
            raise ValueError("by splits one aggregate into series: give y as one aggregate")
        if self.type == "pie" and (self.by is not None or len(self.aggregates) > 1
                                   or (self.series is not None and len(self.series) > 1)):
            raise ValueError("a pie shows one series")
        if self.type == "pie" and self.series and any(v is not None and v < 0 for v in self.series[0].values):
            raise ValueError("a pie's values must not be negative")
        return self

    @property
    def aggregates(self) -> list[Aggregate]:
        if self.y is None:
            return []
        return self.y if isinstance(self.y, list) else [self.y]


class TableBlockSpec(_Strict):
    """Rows of a data table, or (with `by`) one row per value of a column with aggregates."""

    table: Id
    title: Line | None = None
    columns: Annotated[list[Line] | None, Field(min_length=1, description="Columns shown, in order; all by default.")] = None
    sort: Annotated[list[Line], Field(description="Columns to sort by; '-Amount' sorts descending.")] = []
    limit: Annotated[StrictInt | None, Field(ge=1, le=MAX_DOCUMENT_ROWS)] = None
    by: Annotated[Line | None, Field(description="Group the rows by this column.")] = None
    values: Annotated[list[Aggregate], Field(description="With by: the aggregates shown per group.")] = []

    @model_validator(mode="after")
    def _grouping(self):
        if self.values and self.by is None:
            raise ValueError("values need by: the column whose values the rows group by")
        if self.by is not None and self.columns is not None:
            raise ValueError("a grouped table shows its by column and values; leave columns out")
        return self


def sort_order(name: str) -> tuple[str, bool]:
    """A `sort` entry as (column, descending): "-Amount" is Amount, largest first."""
    return (name[1:], True) if name.startswith("-") else (name, False)


def grouped_header(spec: TableBlockSpec, table: TableSpec) -> tuple[str, ...]:
    """The header of a grouped table: the by column, then one label per aggregate."""
    return (spec.by or "", *(agg.label(None if agg.target == table.id else agg.target) for agg in spec.values))


class BlockSpec(_Strict):
    """One block of a section: exactly one of text, note, bullets, figures, chart, table, faq."""

    text: Annotated[Text | list[Text] | None, Field(description="A paragraph, or a list of paragraphs.")] = None
    note: Annotated[Text | None, Field(description="A small-print note.")] = None
    bullets: Annotated[list[Text] | None, Field(min_length=1)] = None
    figures: Annotated[list[FigureSpec] | None, Field(min_length=1, max_length=12)] = None
    chart: ChartSpec | None = None
    table: TableBlockSpec | None = None
    faq: Annotated[list[Faq] | None, Field(min_length=1)] = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data):
        if isinstance(data, dict):
            kinds = [key for key in data if key in BLOCK_KINDS]
            if len(kinds) != 1 and not [key for key in data if key not in BLOCK_KINDS]:
                found = f"; found {', '.join(kinds)}" if kinds else ""
                raise ValueError(f"a block is exactly one of {', '.join(BLOCK_KINDS)}{found}")
            if len(kinds) == 1 and data[kinds[0]] is None:
                raise ValueError(f"{kinds[0]} is empty: write its content after the colon")
        return data

    @property
    def kind(self) -> str:
        return next(name for name in BLOCK_KINDS if getattr(self, name) is not None)


BLOCK_KINDS = ("text", "note", "bullets", "figures", "chart", "table", "faq")


class SubSectionSpec(_Strict):
    id: Annotated[Id | None, Field(description="Names the section for a variant's omit.")] = None
    title: Line
    blocks: list[BlockSpec] = []


class SectionSpec(SubSectionSpec):
    sections: Annotated[list[SubSectionSpec], Field(description="Sub-sections (one level).")] = []


class DocumentVariant(MarketVariant):
    omit: Annotated[list[Id], Field(description="Ids of sections this edition leaves out.")] = []
    language: Annotated[Language | None, Field(description="This edition's language, over the report's.")] = None


class DocumentReport(_Strict):
    """A report declared as sections of blocks: pipeline reviews, KPI packs, price lists, account summaries."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Document report")

    kind: Literal["document"]
    theme: Annotated[Id | None, Field(description="The look: DATA/themes/<theme>.yaml.")] = None
    language: Annotated[Language | None, Field(description=(
        "The document's language, e.g. de-DE: its words, numbers and dates. Default en-US."))] = None
    title: Line
    subtitle: Line | None = None
    author: Annotated[Line, Field(description="Who publishes the report; shown on the cover.")]
    as_of: Annotated[Date, Field(description="The date the data speaks for, YYYY-MM-DD (unquoted).")]
    tables: list[TableSpec] = []
    sections: Annotated[list[SectionSpec], Field(min_length=1)]
    variants: list[DocumentVariant] = []
    owners: Owners = []

    def all_sections(self):
        """Every section and sub-section with its field path, in reading order."""
        for i, section in enumerate(self.sections):
            yield ("sections", i), section
            for j, sub in enumerate(section.sections):
                yield ("sections", i, "sections", j), sub
