"""Renderers, looked up by format name. Each turns a `RenderJob` into the bytes of one file.

May import: core, and source.glyphs for the font files. Never the report model, the source files, the clock, the environment or the
output folder: a renderer sees the format-neutral document and its render options, nothing else
(data tables reach it as the document's datasets, which stream their rows).

A renderer is ``render(job: RenderJob) -> bytes`` in its own module; modules are imported only
when their format is used, so the CLI starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.document import Document
from ..core.formats import DEFAULT_FORMATS, FORMATS, get_format
from .theme import DEFAULT_THEME, Theme

__all__ = ["FORMATS", "DEFAULT_FORMATS", "RenderJob", "RenderOptions", "get_renderer", "render"]


@dataclass(frozen=True)
class RenderOptions:
    """How a document is rendered, as opposed to what it says."""

    theme: Theme = DEFAULT_THEME


@dataclass(frozen=True)
class RenderJob:
    """Everything a renderer may use. Renderers read nothing else: no files, no clock."""

    document: Document
    options: RenderOptions = field(default_factory=RenderOptions)


Renderer = Callable[[RenderJob], bytes]


def get_renderer(name: str) -> Renderer:
    """Return the renderer for format *name*; raise `UsageError` for an unknown one."""
    return importlib.import_module(get_format(name).renderer).render


def renderer_modules(names) -> tuple[str, ...]:
    """The modules that render formats *names* (for workers to import before the first report)."""
    return tuple(FORMATS[name].renderer for name in names if name in FORMATS)


def render(name: str, job: RenderJob) -> bytes:
    return get_renderer(name)(job)
