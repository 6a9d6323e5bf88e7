"""Plain-text dump of the document: cheap golden tests and a quick look at what a report says."""

from __future__ import annotations

import textwrap

from ..core.document import QA, WORKBOOK_ONLY, Bullets, Chart, Figures, Paragraph, Table
from . import RenderJob

WIDTH = 100
BAR = 40  # characters of the longest bar


def render(job: RenderJob) -> bytes:
    doc = job.document
    out = [doc.title, "=" * len(doc.title), *([doc.subtitle] if doc.subtitle else []),
           *([doc.edition] if doc.edition else []), f"{doc.words('as_of', date=doc.as_of_text)} · {doc.publisher}", ""]
    for section in doc.sections:
        underline = "=" if section.level == 1 else "-"
        out += [section.title, underline * len(section.title), ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                prefix = "Note: " if block.role == "note" else ""
                out += _wrap(prefix + block.text) + [""]
            elif isinstance(block, Bullets):
                out += [f"  * {item}" for item in block.items] + [""]
            elif isinstance(block, Figures):
                if block.style == "table":
                    out += _table(block.as_table())
                else:
                    out += [f"  [{f.label}: {f.text}{f' ({f.note})' if f.note else ''}]" for f in block.figures]
                    out.append("")
            elif isinstance(block, Table):
                out += _table(block)
            elif isinstance(block, Chart):
                out += _chart(block)
            elif isinstance(block, QA):
                out += _wrap(f"Q{block.number}. {block.question}")
                out += textwrap.wrap(block.answer, WIDTH, initial_indent="    ", subsequent_indent="    ",
                                     break_on_hyphens=False) + [""]
            elif isinstance(block, WORKBOOK_ONLY):
                continue
    return "\n".join(out).encode("utf-8")


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, break_on_hyphens=False)


def _cell(text: str) -> str:
    """A cell on one line: line breaks shown as spaces, the column rule escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _table(block: Table) -> list[str]:
    rows = [tuple(_cell(c) for c in row) for row in (block.header, *block.rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(block.header))]
    out = [f"  Table: {block.caption}"]
    for row in rows:
        cells = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, block.numeric)]
        out.append("  " + " | ".join(cells).rstrip())
    return out + [""]


def _chart(chart: Chart) -> list[str]:
    out = [f"  Chart ({chart.kind}): {chart.title}"]
    if chart.x_label or chart.y_label:
        out.append(f"  x: {chart.x_label or '-'} · y: {chart.y_label or '-'}")
    values = [v for s in chart.series for v in s.values if v is not None]
    top = max((abs(v) for v in values), default=0) or 1
    labels = [str(c) for c in chart.categories]
    width = max((len(label) for label in labels), default=0)
    for series in chart.series:
        if len(chart.series) > 1:
            out.append(f"  {series.name}:")
        for n, (label, value) in enumerate(zip(labels, series.values)):
            derived = n < len(series.derived) and series.derived[n]
            shown = chart.format.text(value)
            bar = ("+" if derived else "#") * round(BAR * abs(value) / top) if value is not None else ""
            out.append(f"  {label.ljust(width)} {bar} {shown}".rstrip())
    if chart.has_derived:
        reported, derived_label = chart.basis_labels
        out.append(f"  (# {reported.lower()}, + {derived_label.lower()})")
    return out + [""]
