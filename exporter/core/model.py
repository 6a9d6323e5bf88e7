"""The canonical market-report model: what a report *is*, independent of files and formats.

Readers build it from data files; renderers consume it. It performs no I/O and imports nothing
from the rest of the project. Instances are frozen; every text in it has been through `clean_text`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from .ids import ID_PATTERN, valid_id
from .numbers import NumberFormat, column_format
from .text import clean_text

# Limits on text, with room to spare: an Excel cell holds at most 32,767 characters.
MAX_TEXT = 32_000
MAX_LINE = 500  # titles, names and other one-line fields


def _id(value: str) -> str:
    if not valid_id(value):
        raise ValueError(f"{value!r} is not an id: up to 64 lower-case letters, digits and '-', "
                         "starting with a letter or digit")
    return value


Id = Annotated[StrictStr, AfterValidator(_id), Field(json_schema_extra={"pattern": ID_PATTERN})]


def _language(value: str) -> str:
    from babel import Locale, localedata

    name = value.replace("-", "_")
    if not localedata.exists(name):  # exactly a locale of CLDR's, not one Babel would guess
        raise ValueError(f"{value!r} is not a language tag Babel knows, such as en-US or de-DE")
    if Locale.parse(name).text_direction == "rtl":
        raise ValueError(f"{value!r} is written right to left, which the PDF does not support yet")
    return value


# A BCP 47 language tag: the document's language, and the locale of its numbers and dates.
Language = Annotated[StrictStr, Field(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2}|-[0-9]{3})?$"),
                     AfterValidator(_language)]


def _no_blank(value: str) -> str:
    value = clean_text(value).strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_TEXT:
        raise ValueError(f"is {len(value)} characters long; the limit is {MAX_TEXT} (an Excel cell holds 32,767)")
    return value


def _one_line(value: str) -> str:
    if len(value) > MAX_LINE:
        raise ValueError(f"is {len(value)} characters long; the limit for a title or name is {MAX_LINE}")
    return value


# Strict scalar types: YAML `yes`, `"3.5"` or `3.5` for a year are type errors, not guesses.
Text = Annotated[StrictStr, AfterValidator(_no_blank)]
Line = Annotated[StrictStr, AfterValidator(_no_blank), AfterValidator(_one_line)]
Paragraphs = Annotated[list[Text], Field(min_length=1)]
Year = Annotated[StrictInt, Field(ge=1900, le=2200)]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Date = Annotated[dt.date, Strict()]

# Deliberately plain: no display names, comments or quoted local parts, nothing a mail header could carry.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def plain_email(value: str) -> str:
    """Check a plain address (name@example.com); raise ValueError otherwise."""
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError(f"{value!r} is not a plain email address (name@example.com)")
    return value


Email = Annotated[StrictStr, AfterValidator(plain_email)]
# Who hears when a scheduled run fails, and when it works again (exporter.delivery.notices).
Owners = Annotated[list[Email], Field(max_length=50, description=(
    "Email addresses mailed once when a scheduled run of this fails, and once when it works again."))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(str, Enum):
    """The multiplier a money amount is stated in."""

    unit = "unit"
    thousand = "thousand"
    million = "million"
    billion = "billion"
    trillion = "trillion"

    @property
    def factor(self) -> float:
        return 1000.0 ** list(Scale).index(self)


def _not_tiny(value: float) -> float:
    if 0 < value < 1e-9:
        raise ValueError("is too small to compute growth from: state it in a smaller scale (at least 1e-09)")
    return value


class Money(_Strict):
    """An amount of money in a currency and a scale, e.g. USD 3.5 billion."""

    # Bounded so that every derived figure (growth rates, the year series) stays a finite number.
    amount: Annotated[Number, AfterValidator(_not_tiny), Field(gt=0, le=1e15, description="A positive, finite number in `scale` units.")]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD.")]
    scale: Scale

    def in_scale(self, scale: Scale) -> float:
        return self.amount * self.scale.factor / scale.factor


class MarketSize(_Strict):
    """The market size stated for one year."""

    year: Year
    size: Money


class Growth(_Strict):
    """A stated compound annual growth rate over a period."""

    percent: Annotated[Number, Field(gt=-100, le=10_000, description="The rate in percent: 6.5 means 6.5 %.")]
    start_year: Year
    end_year: Year

    @model_validator(mode="after")
    def _period(self):
        if self.end_year <= self.start_year:
            raise ValueError(f"end_year {self.end_year} must be after start_year {self.start_year}")
        return self


class Figures(_Strict):
    """The headline figures as the source states them."""

    base: MarketSize
    projection: MarketSize
    cagr: Growth

    @model_validator(mode="after")
    def _consistent(self):
        if self.projection.year <= self.base.year:
            raise ValueError(
                f"projection.year {self.projection.year} must be after base.year {self.base.year}"
            )
        if self.projection.size.currency != self.base.size.currency:
            raise ValueError(
                f"projection currency {self.projection.size.currency} differs from "
                f"base currency {self.base.size.currency}"
            )
        return self


class Link(_Strict):
    name: Line
    url: HttpUrl | None = None


class Source(_Strict):
    title: Line
    url: HttpUrl
    sample_url: HttpUrl | None = None


class Prose(_Strict):
    """A titled run of paragraphs."""

    title: Line | None = None
    paragraphs: Paragraphs


class Segment(_Strict):
    """One segment of a segmentation, e.g. the "Spasticity" application."""

    name: Line
    title: Line | None = None
    paragraphs: Paragraphs
    conditions: list[Line] = []
    drugs: list[Line] = []


class Segmentation(_Strict):
    """Segments along one dimension, e.g. by application."""

    dimension: Line
    title: Line | None = None
    intro: list[Text] = []
    segments: Annotated[list[Segment], Field(min_length=1)]


class Faq(_Strict):
    question: Line
    answer: Text


class Faqs(_Strict):
    title: Line | None = None
    entries: Annotated[list[Faq], Field(min_length=1)]


class Company(_Strict):
    name: Line


class Companies(_Strict):
    title: Line | None = None
    entries: Annotated[list[Company], Field(min_length=1)]


class Region(_Strict):
    name: Line
    countries: list[Line] = []
    more_countries: StrictBool = Field(
        default=False, description='True when the source says the list goes on ("etc.").'
    )


class Regions(_Strict):
    title: Line | None = None
    entries: Annotated[list[Region], Field(min_length=1)]


MAX_TABLE_ROWS = 1_000_000
DEFAULT_DOCUMENT_ROWS = 1_000
MAX_DOCUMENT_ROWS = 100_000


Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR.")]
Decimals = Annotated[StrictInt, Field(ge=0, le=6)]


class Shown(_Strict):
    """How figures are shown: decimals, a currency, percent; numbers always with thousands separators."""

    decimals: Annotated[Decimals | None, Field(description="Decimals shown; by default as many as needed (up to 2).")] = None
    currency: Annotated[Currency | None, Field(description="Shown before the number: EUR 1,250.")] = None
    percent: Annotated[StrictBool, Field(description="The values are fractions shown as percent: 0.25 is 25%.")] = False

    def number_format(self, unit: str | None = None) -> NumberFormat | None:
        """The format this declaration asks for; None when it declares nothing (the default applies)."""
        if self.decimals is None and self.currency is None and not self.percent and unit is None:
            return None
        return NumberFormat(decimals=self.decimals, currency=self.currency, percent=self.percent, unit=unit)


class TableColumn(Shown):
    name: Line
    type: Literal["text", "integer", "number", "date"] = "text"

    @model_validator(mode="after")
    def _format_of_numbers(self):
        if self.type not in ("integer", "number") and (self.decimals is not None or self.currency or self.percent):
            raise ValueError(f"decimals, currency and percent apply to integer and number columns, "
                             f"not to a {self.type} column")
        return self

    def shown(self) -> NumberFormat:
        declared = self.number_format()
        if declared is not None and self.type == "integer" and declared.decimals is None:
            declared = dataclasses.replace(declared, decimals=0)  # whole numbers: "EUR 1,250", not "EUR 1,250.00"
        return column_format(self.name, self.type, declared)


def _sql(value: str) -> str:
    if not value.strip():
        raise ValueError("give the query")
    if "\x00" in value:
        raise ValueError("the query holds a NUL character")
    return value


class QuerySource(_Strict):
    """Where a table's rows come from when not from a CSV file: a query of a database of DATA/databases.yaml."""

    database: Annotated[Id, Field(description="A database named in DATA/databases.yaml.")]
    sql: Annotated[StrictStr, AfterValidator(_sql), Field(max_length=MAX_TEXT, description=(
        "One SELECT, run read-only; values reach it only as bound parameters (:name)."))]


# A bound parameter's name: what SQLAlchemy's text() recognises after a colon.
PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
ParamName = Annotated[StrictStr, Field(pattern=PARAM_NAME)]
ParamValue = StrictStr | StrictInt | Number | dt.date | StrictBool | None


class TableSpec(_Strict):
    """A tabular dataset attached to a report: the CSV file ``<report-id>.<id>.csv`` beside the YAML, or
    the result of a query (`source`)."""

    id: Id
    title: Line
    columns: Annotated[list[TableColumn], Field(min_length=1, max_length=200)]
    document_rows: Annotated[StrictInt, Field(ge=0, le=MAX_DOCUMENT_ROWS, description=(
        "Rows shown in the DOCX and PDF; a note says how many more the XLSX holds."))] = DEFAULT_DOCUMENT_ROWS
    source: Annotated[QuerySource | None, Field(description=(
        "The rows come from this query instead of the CSV file."))] = None
    params: Annotated[dict[ParamName, ParamValue], Field(max_length=100, description=(
        "Values bound to the query's :name parameters (as_of and a variant's filters are bound too)."))] = {}

    @model_validator(mode="after")
    def _params_need_a_query(self):
        if self.params and self.source is None:
            raise ValueError("params are for a table with a source (a query)")
        return self

    @model_validator(mode="after")
    def _unique_columns(self):
        names = [c.name.casefold() for c in self.columns]
        for column in self.columns:
            if names.count(column.name.casefold()) > 1:
                raise ValueError(f"column name {column.name!r} is used twice")
        return self


# Parts of a report a variant may leave out.
OMITTABLE = ("segmentations", "trends", "opportunities", "faqs", "companies", "regions", "tables")


class Variant(_Strict):
    """An edition of the report for one audience, published as its own set ``<report-id>.<variant-id>``."""

    id: Id
    name: Annotated[Line, Field(description="The edition's name, shown under the title, e.g. 'West region edition'.")]
    lists: Annotated[list[Id], Field(description="Distribution lists that receive this edition.")] = []
    filter: Annotated[dict[Line, Line], Field(description=(
        "Data-table rows kept: column name -> value; tables without the column are kept whole."))] = {}
    omit: list[Literal[OMITTABLE]] = []  # type: ignore[valid-type]


class Report(_Strict):
    """One market report: the canonical data of one file in `data/reports/`."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Market report")

    kind: Annotated[Literal["market"], Field(description="A file without `kind` is a market report.")] = "market"
    theme: Annotated[Id | None, Field(description="The look: DATA/themes/<theme>.yaml.")] = None
    title: Line
    market: Line
    geography: Line
    as_of: Annotated[Date, Field(description="The date the data speaks for, YYYY-MM-DD (unquoted).")]
    publisher: Link
    source: Source
    figures: Figures
    overview: Prose
    segmentations: list[Segmentation] = []
    trends: Prose | None = None
    opportunities: Prose | None = None
    faqs: Faqs | None = None
    companies: Companies | None = None
    regions: Regions | None = None
    tables: list[TableSpec] = []
    variants: list[Variant] = []
    owners: Owners = []
