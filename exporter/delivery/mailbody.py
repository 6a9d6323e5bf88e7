"""The mail's body: what a salesperson reads before opening an attachment, as HTML and as plain text.

Both parts say the same: title, edition and as-of date; the headline; the key figures; what changed
since the edition this list last received (figures that moved and by how much, rows added or
removed per table); the first chart as a picture (HTML only, with its title in the text); the
attachments; a link to the shared folder when `EXPORTER_PUBLIC_URL` is set. Everything comes from
the set's manifest (`publish.summary`), never from data files.

The HTML is a Jinja2 template with autoescaping, so every string from the data is escaped; its CSS
is inlined by css-inline (mail clients drop <style>); one column, at most 600 px wide, so it reads
on a phone. The chart is drawn by matplotlib (no browser or office suite) into a PNG the HTML
shows through a Content-ID.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from ..core.messages import Words
from ..publish.summary import format_of
from .links import Links

log = logging.getLogger(__name__)

CHART_SIZE_IN = (5.6, 3.0)
CHART_DPI = 200  # crisp on phones' dense screens; the HTML shows it 560 px wide


@dataclass(frozen=True)
class Body:
    text: str
    html: str
    chart_png: bytes | None  # shown by the HTML as cid:CHART_ID
    chart_title: str = ""


CHART_ID = "chart"  # its Content-ID's local part; the domain is the message id's


def changes(current: dict[str, Any], previous: dict[str, Any] | None, words: Words) -> list[str] | None:
    """Lines saying what moved between two summaries; None when there is nothing to compare with."""
    if previous is None:
        return None
    lines = []
    before = {f.get("label"): f for f in previous.get("figures", []) if isinstance(f, dict)}
    for figure in current.get("figures", []):
        label, old = figure.get("label", ""), before.get(figure.get("label"))
        if old is None:
            lines.append(words("mail_new_figure", label=label, new=figure.get("text", "")))
            continue
        new_value, old_value = figure.get("value"), old.get("value")
        if figure.get("text") == old.get("text") and new_value == old_value:
            continue
        if isinstance(new_value, (int, float)) and isinstance(old_value, (int, float)):
            fmt = format_of(figure.get("format"))
            delta = new_value - old_value
            change = ("+" if delta > 0 else "−" if delta < 0 else "±") + fmt.text(abs(delta))
        else:
            change = "≠"
        lines.append(words("mail_moved", label=label, old=old.get("text", ""), new=figure.get("text", ""),
                           change=change))
    rows_before = {t.get("id"): t.get("rows") for t in previous.get("tables", []) if isinstance(t, dict)}
    for table in current.get("tables", []):
        old_rows, rows = rows_before.get(table.get("id")), table.get("rows")
        if not isinstance(old_rows, int) or not isinstance(rows, int) or old_rows == rows:
            continue
        key = "mail_rows_added" if rows > old_rows else "mail_rows_removed"
        lines.append(words(key, table=table.get("title", ""), count=f"{abs(rows - old_rows):,}", total=f"{rows:,}"))
    return lines


def compose(*, title: str, edition: str, as_of: str, publisher: str, headline: str, summary: dict[str, Any],
            previous: dict[str, Any] | None, previous_as_of: str, attachments: list[tuple[str, str]],
            links: Links | None, words: Words, accent: str) -> Body:
    """The body of one message; *attachments* are (file name, size text)."""
    figures = [(f.get("label", ""), f.get("text", "")) for f in summary.get("figures", []) if isinstance(f, dict)]
    moved = changes(summary, previous, words)
    chart = summary.get("chart") if isinstance(summary.get("chart"), dict) else None
    try:
        png = _chart_png_text_as_text(chart) if chart else None
    except Exception:  # a picture that cannot be drawn must not stop the mail: it goes without
        log.warning("the mail's chart could not be drawn; the mail goes without it", exc_info=True)
        png = None
    chart_title = str(chart.get("title", "")) if chart else ""
    context = {
        "title": title, "edition": edition, "as_of_line": words("mail_as_of", date=as_of, publisher=publisher),
        "headline": headline, "figures": figures, "key_figures": words("mail_key_figures"),
        "changes_title": words("mail_changes", date=previous_as_of) if moved is not None else "",
        "changes": moved if moved else [], "first": words("mail_first") if moved is None else "",
        "no_change": words("mail_no_change") if moved == [] else "",
        "chart": png is not None, "chart_id": CHART_ID, "chart_alt": words("mail_chart", title=chart_title),
        "attached": words("mail_attached"), "attachments": attachments,
        "link": links.folder if links else "", "link_text": words("mail_open"), "closing": words("mail_closing"),
        "accent": accent if _hex(accent) else "1F4E79",
    }
    return Body(_text(context), _html(context), png, chart_title)


def _text(c: dict[str, Any]) -> str:
    lines = [c["title"]]
    if c["edition"]:
        lines.append(c["edition"])
    lines += [c["as_of_line"], ""]
    if c["headline"]:
        lines += [c["headline"], ""]
    if c["figures"]:
        lines += [c["key_figures"], *(f"  {label}: {text}" for label, text in c["figures"]), ""]
    if c["changes_title"]:
        lines += [c["changes_title"], *(f"  {line}" for line in c["changes"])]
        if c["no_change"]:
            lines.append(f"  {c['no_change']}")
        lines.append("")
    elif c["first"]:
        lines += [c["first"], ""]
    if c["chart"]:
        lines += [f"({c['chart_alt']})", ""]
    lines += [c["attached"], *(f"  - {name} ({size})" for name, size in c["attachments"]), ""]
    if c["link"]:
        lines += [f"{c['link_text']}: {c['link']}", ""]
    lines.append(c["closing"])
    return "\n".join(lines) + "\n"


_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { margin: 0; padding: 0; background: #f4f4f4; font-family: Arial, Helvetica, sans-serif; color: #222222; }
.wrap { width: 100%; background: #f4f4f4; }
.page { max-width: 600px; margin: 0 auto; background: #ffffff; }
.band { background: #{{ accent }}; height: 6px; }
.inner { padding: 20px 20px 8px 20px; }
h1 { font-size: 22px; line-height: 28px; margin: 0 0 4px 0; color: #{{ accent }}; }
.edition { font-size: 14px; margin: 0 0 4px 0; color: #555555; }
.asof { font-size: 13px; margin: 0 0 16px 0; color: #666666; }
.headline { font-size: 15px; line-height: 22px; margin: 0 0 16px 0; }
h2 { font-size: 15px; margin: 18px 0 8px 0; color: #{{ accent }}; }
.card { display: inline-block; width: 46%; min-width: 140px; margin: 0 2% 10px 0; padding: 8px 10px;
        border-left: 4px solid #{{ accent }}; background: #f7f7f7; vertical-align: top; box-sizing: border-box; }
.value { font-size: 18px; font-weight: bold; margin: 0; }
.label { font-size: 12px; color: #555555; margin: 2px 0 0 0; }
ul { margin: 0 0 12px 0; padding-left: 20px; font-size: 14px; line-height: 21px; }
.note { font-size: 14px; color: #555555; margin: 0 0 12px 0; }
.chart { width: 100%; max-width: 560px; height: auto; border: 0; display: block; margin: 4px 0 12px 0; }
.button { display: inline-block; background: #{{ accent }}; color: #ffffff; text-decoration: none; padding: 10px 16px;
          font-size: 14px; font-weight: bold; margin: 4px 0 16px 0; }
.closing { font-size: 12px; line-height: 18px; color: #777777; margin: 12px 0 16px 0; }
</style></head>
<body><div class="wrap"><div class="page"><div class="band"></div><div class="inner">
<h1>{{ title }}</h1>
{% if edition %}<p class="edition">{{ edition }}</p>{% endif %}
<p class="asof">{{ as_of_line }}</p>
{% if headline %}<p class="headline">{{ headline }}</p>{% endif %}
{% if figures %}<h2>{{ key_figures }}</h2>
{% for label, text in figures %}<div class="card"><p class="value">{{ text }}</p><p class="label">{{ label }}</p></div>
{% endfor %}{% endif %}
{% if changes_title %}<h2>{{ changes_title }}</h2>
{% if changes %}<ul>{% for line in changes %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if no_change %}<p class="note">{{ no_change }}</p>{% endif %}
{% elif first %}<p class="note">{{ first }}</p>{% endif %}
{% if chart %}<img class="chart" src="cid:{{ chart_id }}" alt="{{ chart_alt }}" width="560">{% endif %}
{% if link %}<a class="button" href="{{ link }}">{{ link_text }}</a>{% endif %}
<h2>{{ attached }}</h2>
<ul>{% for name, size in attachments %}<li>{{ name }} ({{ size }})</li>{% endfor %}</ul>
<p class="closing">{{ closing }}</p>
</div></div></div></body></html>
"""


def _html(context: dict[str, Any]) -> str:
    import css_inline
    import jinja2

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.from_string(_TEMPLATE).render(**context)
    # Inlined, but the <style> stays too: clients that keep it get the phone layout's max-width.
    return css_inline.CSSInliner(keep_style_tags=True).inline(page)


def _hex(value: str) -> bool:
    return len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value)


def _chart_png_text_as_text(chart: dict[str, Any]) -> bytes | None:
    """The summary's chart as a PNG, or None when it has nothing to draw (matplotlib is then not even
    imported), with matplotlib's mathtext off: "$5M to $10M" from the data is text, not a formula."""
    categories = [str(c) for c in chart.get("categories", [])]
    series = [s for s in chart.get("series", []) if isinstance(s, dict)]
    if not categories or not series:
        return None
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        return _chart_png(chart, categories, series)


def _chart_png(chart: dict[str, Any], categories: list[str], series: list[dict[str, Any]]) -> bytes | None:
    """The summary's chart as a PNG, or None when none of its values can be drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fmt = format_of(chart.get("format"))
    colours = [f"#{c}" for c in chart.get("colours", []) if isinstance(c, str) and _hex(c)] or ["#1F4E79"]
    figure = Figure(figsize=CHART_SIZE_IN, dpi=CHART_DPI)
    axes = figure.add_subplot()
    kind = chart.get("kind", "bar")

    def values(s: dict[str, Any]) -> list[float]:
        raw = list(s.get("values", []))[: len(categories)]
        return [float(v) if isinstance(v, (int, float)) else float("nan") for v in raw] + \
            [float("nan")] * (len(categories) - len(raw))

    if kind == "pie":
        shown = [(c, v) for c, v in zip(categories, values(series[0])) if v == v and v > 0]
        if not shown:
            return None
        axes.pie([v for _, v in shown], labels=[c for c, _ in shown], colors=colours * len(shown),
                 textprops={"fontsize": 9})
        axes.set_aspect("equal")
    else:
        positions = range(len(categories))
        width = 0.8 / (1 if kind == "stacked" else len(series))
        bottom = [0.0] * len(categories)
        for n, s in enumerate(series):
            colour, ys = colours[n % len(colours)], values(s)
            if kind == "line":
                axes.plot(list(positions), ys, color=colour, marker="o", markersize=4, label=s.get("name", ""))
            elif kind == "hbar":
                axes.barh([p + n * width for p in positions], ys, height=width, color=colour, label=s.get("name", ""))
            elif kind == "stacked":
                axes.bar(list(positions), ys, width=width, bottom=bottom, color=colour, label=s.get("name", ""))
                bottom = [b + (y if y == y else 0.0) for b, y in zip(bottom, ys)]
            else:
                axes.bar([p + n * width for p in positions], ys, width=width, color=colour, label=s.get("name", ""))
        offset = 0 if kind in ("line", "stacked") else width * (len(series) - 1) / 2
        ticks = [p + offset for p in positions]
        value_axis = axes.xaxis if kind == "hbar" else axes.yaxis
        value_axis.set_major_formatter(FuncFormatter(lambda v, _: fmt.text(float(v))))
        (axes.set_yticks if kind == "hbar" else axes.set_xticks)(ticks, categories, fontsize=9)
        axes.tick_params(labelsize=9)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        if len(series) > 1:
            axes.legend(fontsize=9, frameon=False)
    axes.set_title(str(chart.get("title", "")), fontsize=11, loc="left")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
