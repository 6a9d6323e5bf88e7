"""The format-neutral document: what every deliverable says, in order, as plain blocks.

A layout (`exporter.layout`) turns a report into sections of these blocks. Renderers lay the
blocks out; none of them decides what the report says, so the DOCX, PDF and text outputs agree.
All texts here are plain text (never markup); renderers escape them for their format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .derive import Forecast


@dataclass(frozen=True)
class Paragraph:
    text: str
    role: str = "body"  # body | lead | note


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]  # per column: right-align it


@dataclass(frozen=True)
class Chart:
    """A column chart of the forecast; reported and derived points are told apart."""

    title: str
    x_label: str
    y_label: str
    forecast: Forecast


@dataclass(frozen=True)
class QA:
    number: int
    question: str
    answer: str


Block = Paragraph | Bullets | Table | Chart | QA


@dataclass(frozen=True)
class Section:
    title: str
    level: int  # 1 for a chapter, 2 for a sub-section
    blocks: tuple[Block, ...]
    key: str  # stable identifier: "overview", "forecast", "faqs", ...


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
