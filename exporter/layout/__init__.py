"""Layouts: a report's model (and its derived figures and data tables) as a format-neutral `Document`.

One layout per report kind: `market` (a file without `kind`) and `document` (sections of blocks
declared in data). May import: source (types only), core.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..core.document import Document
from ..core.document_report import DocumentReport, DocumentVariant
from ..core.model import Report, Variant

if TYPE_CHECKING:
    from ..source.datatable import DataTable


def lay_out(report: Report | DocumentReport, *, variant: Variant | DocumentVariant | None = None,
            tables: tuple[DataTable, ...] = (), created: dt.datetime | None = None) -> Document:
    """The document *report* makes for *variant*, with its data *tables* (that variant's rows)."""
    if isinstance(report, DocumentReport):
        from . import document

        assert variant is None or isinstance(variant, DocumentVariant)
        return document.build_document(report, tables=tables, variant=variant, created=created)
    from ..core.derive import forecast
    from . import market

    assert variant is None or not isinstance(variant, DocumentVariant)
    return market.build_document(report, forecast(report.figures), created=created, variant=variant, tables=tables)


def edition_title(report: Report | DocumentReport, variant: Variant | DocumentVariant | None) -> str:
    """The title of a report's edition: the report's own, with the variant's name when there is one."""
    return f"{report.title} ({variant.name})" if variant else report.title
