"""Renderers, looked up by format name. Each turns a `RenderJob` into the bytes of one file.

May import: source (the data tables the workbook streams), core. Never the clock, the environment
or the output folder.

A renderer is ``render(job: RenderJob) -> bytes`` in its own module; modules are imported only
when their format is used, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..core.derive import Forecast
from ..core.document import Document
from ..core.formats import DEFAULT_FORMATS, FORMATS, get_format
from ..core.model import Report
from ..source.datatable import DataTable

__all__ = ["FORMATS", "DEFAULT_FORMATS", "RenderJob", "get_renderer", "render"]


@dataclass(frozen=True)
class RenderJob:
    """Everything a renderer may use. Renderers read nothing else: no files, no clock."""

    report_id: str
    report: Report
    forecast: Forecast
    document: Document
    tables: tuple[DataTable, ...] = ()  # the report's data tables, streamed by the workbook


Renderer = Callable[[RenderJob], bytes]


def get_renderer(name: str) -> Renderer:
    """Return the renderer for format *name*; raise `UsageError` for an unknown one."""
    return importlib.import_module(get_format(name).renderer).render


def renderer_modules(names) -> tuple[str, ...]:
    """The modules that render formats *names* (for workers to import before the first report)."""
    return tuple(FORMATS[name].renderer for name in names if name in FORMATS)


def render(name: str, job: RenderJob) -> bytes:
    return get_renderer(name)(job)
