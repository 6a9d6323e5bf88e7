"""A static index page of the published reports: `OUTPUT/index.html`.

The page is built from the manifests alone (plus whether a history folder exists), so it shows
exactly the sets a reader can download and the hashes to check them against. Everything taken
from a manifest is data: it is HTML-escaped, and file links are URL-quoted path segments that stay
inside the report's folder. The page holds no clock, so equal manifests give identical bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..core.formats import FORMATS
from ..core.workspace import INDEX_NAME
from .files import KEPT_DIR, atomic_write, kept_sets
from .manifest import FileEntry, PublishedSet

ACCENT = "#1F4E79"
SHORT_HASH = 12
# Month names spelled out here because strftime's %b follows the locale, and the page must not.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

CSS = f"""
:root {{ --accent: {ACCENT}; --ink: #1b1f24; --muted: #5a6370; --line: #d8dee6; --bg: #f4f6f9; }}
* {{ box-sizing: border-box; }}
html {{ -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }}
body {{ margin: 0; background: var(--bg); color: var(--ink); line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
    "Liberation Sans", sans-serif; }}
.wrap {{ max-width: 60rem; margin: 0 auto; padding: 0 1rem; }}
header.page {{ background: var(--accent); color: #fff; padding: 1.25rem 0 1rem; }}
header.page h1 {{ margin: 0; font-size: 1.5rem; font-weight: 600; }}
header.page p {{ margin: .25rem 0 0; opacity: .85; font-size: .9rem; }}
main {{ padding-top: 1rem; padding-bottom: 2rem; }}
.report {{ background: #fff; border: 1px solid var(--line); border-top: 4px solid var(--accent);
  border-radius: 6px; padding: 1rem 1.25rem; margin: 0 0 1rem; overflow-wrap: break-word; }}
.report h2 {{ margin: 0 0 .25rem; font-size: 1.2rem; color: var(--accent); }}
.headline {{ margin: 0 0 .75rem; color: var(--muted); font-size: .92rem; }}
.meta {{ display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; margin: 0 0 .75rem; font-size: .9rem; }}
.meta div {{ display: flex; gap: .4rem; min-width: 0; max-width: 100%; }}
.meta dt {{ color: var(--muted); flex: none; }}
.meta dd {{ margin: 0; min-width: 0; overflow-wrap: anywhere; }}
code {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .85em; }}
a {{ color: var(--accent); }}
table.files {{ width: 100%; border-collapse: collapse; font-size: .92rem; }}
.files th, .files td {{ text-align: left; padding: .45rem .5rem; border-top: 1px solid var(--line); vertical-align: top; }}
.files thead th {{ border-top: 0; color: var(--muted); font-weight: 600; font-size: .8rem;
  text-transform: uppercase; letter-spacing: .04em; }}
.files thead th, .files tbody th, .files td.size {{ white-space: nowrap; }}
.files a {{ font-weight: 600; }}
details summary {{ cursor: pointer; color: var(--muted); }}
details code.sha256 {{ display: block; margin-top: .25rem; word-break: break-all; }}
.links {{ margin: .75rem 0 0; font-size: .9rem; display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; }}
.empty {{ background: #fff; border: 1px dashed var(--line); border-radius: 6px; padding: 2rem 1rem;
  text-align: center; color: var(--muted); }}
footer {{ color: var(--muted); font-size: .8rem; padding-bottom: 2rem; }}
.visually-hidden {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }}
@media (max-width: 600px) {{
  .report {{ padding: .85rem .9rem; }}
  .files thead {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }}
  .files, .files tbody, .files tr, .files th, .files td {{ display: block; width: 100%; }}
  .files tr {{ border-top: 1px solid var(--line); padding: .4rem 0; }}
  .files th, .files td {{ border: 0; padding: .1rem 0; }}
  /* A flex row keeps each label beside its value, the hash's <details> included. */
  .files td {{ display: flex; gap: .35rem; align-items: baseline; }}
  .files td > * {{ min-width: 0; flex: 0 1 auto; overflow-wrap: anywhere; }}
  .files td::before {{ content: attr(data-label) ":"; flex: none; color: var(--muted); font-size: .85rem; }}
}}
"""


@dataclass(frozen=True)
class _Listed:
    folder: str
    published: PublishedSet
    kept: int | None  # sets kept in the folder's history; None when there is no such folder

    @property
    def title(self) -> str:
        return self.published.title or self.published.set_id or self.folder

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.title.casefold(), self.published.set_id, self.folder)


def render_index(output_dir: Path) -> bytes:
    """Render the index page of every report folder in *output_dir* that has a readable manifest."""
    listed = sorted(_collect(output_dir), key=lambda item: item.sort_key)
    count = f"{len(listed)} report{'' if len(listed) == 1 else 's'}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Published reports</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        '<header class="page"><div class="wrap">',
        "<h1>Published reports</h1>",
        f"<p>{count} · Generated from the manifests in this folder</p>",
        "</div></header>",
        '<main class="wrap">',
    ]
    if listed:
        parts.extend(_report(item) for item in listed)
        parts.append("</main>")
        parts.append(
            '<footer class="wrap"><p>Check a download against its SHA-256 with '
            "<code>sha256sum</code> (Linux), <code>shasum -a 256</code> (macOS) or "
            "<code>Get-FileHash</code> (Windows).</p></footer>"
        )
    else:
        parts.append('<p class="empty">No reports are published yet.</p>')
        parts.append("</main>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts).encode("utf-8")


def write_index(output_dir: Path) -> Path:
    """Write `index.html` into *output_dir* atomically and return its path."""
    target = output_dir / INDEX_NAME
    atomic_write(target, render_index(output_dir))
    return target


def human_size(size: int) -> str:
    """Return *size* in bytes as a short reader's size: ``812 bytes``, ``92 KB``, ``4.3 MB``."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        # Rounding can carry into the next unit (1023.6 KB would read "1024 KB").
        if round(value) < 1024 or unit == "TB":
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def readable_utc(value: str) -> str | None:
    """Return an ISO 8601 time as ``23 Nov 2026, 06:00 UTC``, or None when it is not one."""
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # the pipeline always writes an offset; a bare time is taken as UTC
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    return f"{when.day} {MONTHS[when.month - 1]} {when.year}, {when:%H:%M} UTC"


def readable_date(value: str) -> str | None:
    """Return an ISO date as ``23 Nov 2026``, or None when it is not one."""
    try:
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _collect(output_dir: Path) -> list[_Listed]:
    if not output_dir.is_dir():
        return []
    listed = []
    for folder in output_dir.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        published = PublishedSet.read(folder)
        if published is None:
            continue
        history = folder / KEPT_DIR
        kept = len(kept_sets(history)) if history.is_dir() else None
        listed.append(_Listed(folder.name, published, kept))
    return listed


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _href(*segments: str) -> str:
    # Every segment is quoted whole (with "/" too), so a name from a manifest cannot leave its folder.
    return _e("/".join(quote(segment, safe="") for segment in segments))


def _report(item: _Listed) -> str:
    m = item.published
    report_id = m.set_id or item.folder
    lines = ['<article class="report">', f"<h2>{_e(item.title)}</h2>"]
    if m.headline:
        lines.append(f'<p class="headline">{_e(m.headline)}</p>')
    lines.append('<dl class="meta">')
    lines.append(f'<div><dt>Report ID</dt><dd><code class="report-id">{_e(report_id)}</code></dd></div>')
    lines.append(f"<div><dt>As of</dt><dd>{_time(m.as_of, readable_date)}</dd></div>")
    lines.append(f"<div><dt>Built</dt><dd>{_time(m.built_at, readable_utc)}</dd></div>")
    lines.append("</dl>")
    lines.append(_files(item.folder, m.files))
    links = [f'<a class="manifest" href="{_href(item.folder, "manifest.json")}">Manifest (JSON)</a>']
    if item.kept is not None:
        sets = f"{item.kept} set{'' if item.kept == 1 else 's'} kept"
        links.append(f'<a class="history" href="{_href(item.folder, KEPT_DIR)}/">Build history</a> ({sets})')
    lines.append(f'<p class="links">{"".join(f"<span>{link}</span>" for link in links)}</p>')
    lines.append("</article>")
    return "\n".join(lines)


def _time(value: str, readable) -> str:
    if not value:
        return "unknown"
    shown = readable(value)
    if shown is None:
        return _e(value)
    return f'<time datetime="{_e(value)}">{_e(shown)}</time>'


def _files(folder: str, files: dict[str, FileEntry]) -> str:
    entries = _ordered_entries(files)
    if not entries:
        return '<p class="nofiles">This manifest lists no files.</p>'
    rows = [
        '<table class="files">',
        "<thead><tr>"
        '<th scope="col">Format</th><th scope="col">File</th><th scope="col">Size</th><th scope="col">SHA-256</th>'
        "</tr></thead>",
        "<tbody>",
    ]
    for fmt, entry in entries:
        name, size, digest = entry.name, entry.size, entry.sha256
        if size is not None:
            size_cell = f'<span title="{size:,} bytes">{_e(human_size(size))}</span>'
        else:
            size_cell = "unknown"
        if digest:
            # A <details> rather than only a title attribute: a phone has no hover to show it.
            hash_cell = (
                f'<details><summary><code title="{_e(digest)}">{_e(digest[:SHORT_HASH])}…</code></summary>'
                f'<code class="sha256">{_e(digest)}</code></details>'
            )
        else:
            hash_cell = "unknown"
        rows.append(
            '<tr class="file">'
            f'<th scope="row" data-label="Format">{_e(FORMATS[fmt].label if fmt in FORMATS else fmt)}</th>'
            f'<td data-label="File"><a class="download" href="{_href(folder, name)}">{_e(name)}</a></td>'
            f'<td class="size" data-label="Size">{size_cell}</td>'
            f'<td class="hash" data-label="SHA-256">{hash_cell}</td>'
            "</tr>"
        )
    rows += ["</tbody>", "</table>"]
    return "\n".join(rows)


def _ordered_entries(files: dict[str, FileEntry]) -> list[tuple[str, FileEntry]]:
    """Return the file entries in the usual format order (Word, Excel, PDF), others after by name."""
    order = {fmt: i for i, fmt in enumerate(FORMATS)}
    return sorted(files.items(), key=lambda pair: (order.get(pair[0], len(order)), pair[0]))
