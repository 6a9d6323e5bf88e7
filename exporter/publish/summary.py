"""What a published set says in brief, kept in its manifest for the mail and the chat messages.

Delivery works from what is published, never from data: the manifest carries the document's key
figures (label, the text a reader sees, the value and its number format, so a change can be
written the same way), each table's row count, and the first chart's data and colours, which the
mail draws as a picture. Plain JSON values only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from ..core.document import Chart, Document, Figures
from ..core.numbers import NumberFormat
from ..core.theme import Theme

MAX_FIGURES = 8
MAX_CATEGORIES = 24


def summary_of(document: Document, theme: Theme) -> dict[str, Any]:
    """The key figures, tables and first chart of *document*, as JSON values."""
    figures = next((block.figures for _, block in document.blocks() if isinstance(block, Figures)), ())
    chart = next((block for _, block in document.blocks() if isinstance(block, Chart)), None)
    summary: dict[str, Any] = {
        "accent": theme.accent,
        "figures": [{"label": f.label, "text": f.text, "value": _number(f.value),
                     "format": _format(f.format), "derived": f.derived} for f in figures[:MAX_FIGURES]],
        "tables": [{"id": d.id, "title": d.title, "rows": d.rows} for d in document.datasets],
    }
    if chart is not None and chart.categories:
        summary["chart"] = {
            "title": chart.title,
            "kind": chart.kind,
            "categories": [str(c) for c in chart.categories[:MAX_CATEGORIES]],
            "series": [{"name": s.name, "values": [_number(v) for v in s.values[:MAX_CATEGORIES]]}
                       for s in chart.series],
            "colours": [theme.series_colour(n) for n in range(max(len(chart.series), len(chart.categories)))],
            "format": _format(chart.format),
        }
    return summary


def format_of(raw: object) -> NumberFormat:
    """The number format a summary recorded (the default for anything unreadable)."""
    if not isinstance(raw, dict):
        return NumberFormat()
    fields = {f.name for f in dataclasses.fields(NumberFormat)}
    try:
        return NumberFormat(**{k: v for k, v in raw.items() if k in fields})
    except (TypeError, ValueError):
        return NumberFormat()


def _format(fmt: NumberFormat) -> dict[str, Any]:
    return dataclasses.asdict(fmt)


def _number(value: object) -> float | int | None:
    """A figure as JSON: numbers stay numbers; texts and dates are shown by their text only."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(value, dt.date):
        return None
    return value
