"""Plain-text dump of the document: cheap golden tests and a quick look at what a report says."""

from __future__ import annotations

import textwrap

from ..core.derive import Basis
from ..core.document import QA, Bullets, Chart, Paragraph, Table
from . import RenderJob


def render(job: RenderJob) -> bytes:
    doc = job.document
    out = [doc.title, "=" * len(doc.title), doc.subtitle, *([doc.edition] if doc.edition else []),
           f"As of {doc.as_of.isoformat()} · {doc.publisher}", ""]
    for section in doc.sections:
        underline = "=" if section.level == 1 else "-"
        out += [section.title, underline * len(section.title), ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                prefix = "Note: " if block.role == "note" else ""
                out += textwrap.wrap(prefix + block.text, 100) + [""]
            elif isinstance(block, Bullets):
                out += [f"  * {item}" for item in block.items] + [""]
            elif isinstance(block, Table):
                widths = [max(len(r[i]) for r in (block.header, *block.rows)) for i in range(len(block.header))]
                for row in (block.header, *block.rows):
                    cells = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, block.numeric)]
                    out.append("  " + " | ".join(cells).rstrip())
                out.append("")
            elif isinstance(block, Chart):
                top = max(p.value for p in block.forecast.points)
                out.append(f"  Chart: {block.title}")
                for p in block.forecast.points:
                    bar = ("#" if p.basis is Basis.reported else "+") * round(40 * p.value / top)
                    out.append(f"  {p.year} {bar} {p.value:.2f}")
                out.append("  (# reported, + derived estimate)")
                out.append("")
            elif isinstance(block, QA):
                out += textwrap.wrap(f"Q{block.number}. {block.question}", 100)
                out += textwrap.wrap(block.answer, 100, initial_indent="    ", subsequent_indent="    ") + [""]
    return "\n".join(out).encode("utf-8")
