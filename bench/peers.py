"""The tools people would pick instead of exporter: typst, docxtpl and WeasyPrint, writing the same content.

Each peer takes the same `RenderJob` as our renderers and the bare floor (`bench/baselines.py`) and reads only
its format-neutral `Document`; the timed part is turning that document into the bytes of a file, as for ours.
The peers are installed by the `bench` extra (`pip install -e '.[bench]'`); WeasyPrint also needs Pango (Debian's
`libpango-1.0-0`, `libpangoft2-1.0-0`).

- **typst** (the Python package, `typst.compile`): the bench writes typst source from the document (cover page,
  contents page by `outline()`, running header, footer with "Page X of Y", headings, paragraphs, bullets, tables
  with a shaded header row, key figures as a table, the chart, FAQ) and compiles it to a PDF. Every data string goes
  into the source as a typst string literal (`"…"`, backslash, quote and control characters escaped) passed to a
  function (`#par("…")`, `#heading(…)`, `table(…)`), never as markup, so `*`, `#`, `$`, `<` and `@` in the data
  stay text (checked with such a title, heading and paragraph: pdftotext shows them as they are). The
  chart is drawn by typst itself (a bar chart of rectangles placed by a function in the source's preamble:
  vector, like ours; reported points dark, derived points light, value labels, axis, legend); no picture is
  embedded. Text in DejaVu Sans, the font our PDF embeds, from matplotlib's font folder, loaded once into a
  `typst.Fonts` (without the system's fonts: the fastest way found to call it, 19 ms against 29 ms scanning the
  system's fonts on each call). Two ways to call it: `typst.compile` per render (`typst`: a new compiler, or
  "world", each time), and one `typst.Compiler` made once and given each new source (`typst-reused`). Each
  render compiles a new document (every text marked with the render's number after the first): typst memoizes
  compilation process-wide, and the same source again costs the reused compiler about 4 ms, a cache hit that no
  report of a catalog gets.
- **docxtpl**: a Word template that the bench makes itself with python-docx (title, subtitle, running header and
  footer, then Jinja tags in paragraphs — `{%p for %}`, `{%p if %}` — and a table whose rows and cells are looped
  with `{%tr %}` and `{%tc %}`), rendered with the document's content (`autoescape=True`: the texts go into the XML
  escaped, so "Codman & Shurtleff" stays text). The template is made once (a user would keep it as a file); each
  render opens it afresh, as docxtpl requires. The chart is the same plain matplotlib PNG the bare python-docx floor
  draws (`baselines.chart_png`), inserted as an `InlineImage`, drawn anew for each render: a docxtpl user has no
  other way to put a chart in the file.
- **WeasyPrint**: HTML and CSS written from the document (every text through `html.escape`), the same structure
  as the typst source: cover, contents with `target-counter()` page numbers, running header, "Page X of Y" by
  `counter(pages)`; the chart as inline SVG bars written by the bench (vector, text escaped).

Charts of other kinds than bars (lines, pies, horizontal or stacked bars) are drawn by the typst and WeasyPrint
peers as grouped vertical bars: the peers stand for the shipped market report, whose one chart is a bar chart.

    python3 -m bench.peers OUT_DIR YAML   # write each peer's file, and the typst source, for a look
"""

from __future__ import annotations

import functools
import html
import io
import itertools
import math
import sys
from collections.abc import Callable
from pathlib import Path

from exporter.core.document import QA, Bullets, Chart, Document, Figures, Paragraph, Table
from exporter.render import RenderJob

DARK, LIGHT = "#1f4e79", "#9dbbd9"  # reported and derived points, and the headings' colour
PALETTE = (("#1f4e79", "#9dbbd9"), ("#c55a11", "#f4b183"), ("#548235", "#a9d18e"), ("#7030a0", "#c3a3dd"))


def _chart_ticks(chart: Chart) -> tuple[float, list[tuple[float, str]]]:
    """The value axis: its top and its ticks (a step of 1, 2 or 5 × 10^k, about five of them)."""
    top = max((v for s in chart.series for v in s.values if v is not None), default=1.0) or 1.0
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    count = math.ceil(top / step)
    if count * step < top * 1.08:  # room for the value labels above the tallest bar
        count += 1
    return count * step, [(i * step, f"{i * step:g}") for i in range(count + 1)]


def _value_label(chart: Chart, value: float | None) -> str:
    return chart.format.text(value) if chart.value_labels and value is not None else ""


def _page_of(doc: Document) -> list[str]:
    """The catalogue's "Page {page} of {pages}" cut around its placeholders: text, "page", text, "pages", text."""
    phrase = doc.words("page_of", page="\x00page\x00", pages="\x00pages\x00")
    return phrase.split("\x00")


# --- typst -----------------------------------------------------------------------------------

_TYPST_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
_TYPST_ESCAPES.update({c: f"\\u{{{c:x}}}" for c in (*range(0x20), 0x7F, 0x2028, 0x2029) if c not in _TYPST_ESCAPES})


def ts(text: object, mark: str = "") -> str:
    """*text* as a typst string literal: shown as it is, never read as markup (*mark* appended to a non-empty text)."""
    text = str(text)
    return '"' + (text + mark if text else "").translate(_TYPST_ESCAPES) + '"'


TYPST_PREAMBLE = """\
#let dark = rgb("%(dark)s")
#let barchart(cats: (), series: (), ymax: 1, ticks: (), xlabel: "", ylabel: "", legend: ()) = {
  let lm = 1.9cm
  let tm = 0.9cm
  let w = 14cm
  let h = 6cm
  let n = cats.len()
  let slot = w / n
  let bw = slot * 0.7 / series.len()
  block(width: lm + w, height: tm + h + 1.3cm, {
    place(dx: lm, dy: 0pt, stack(dir: ltr, spacing: 1.2em, ..legend.map(((c, name)) =>
      stack(dir: ltr, spacing: 4pt, box(width: 8pt, height: 8pt, fill: rgb(c)), text(size: 8pt, name)))))
    for (t, label) in ticks {
      let y = tm + h - h * t / ymax
      place(dx: lm, dy: y, line(length: w, stroke: 0.3pt + luma(200)))
      place(dx: 0.6cm, dy: y - 4pt, box(width: lm - 0.6cm - 4pt, align(right, text(size: 7pt, label))))
    }
    for (i, cat) in cats.enumerate() {
      for (j, s) in series.enumerate() {
        let v = s.values.at(i)
        if v != none {
          let bh = h * v / ymax
          let x = lm + slot * i + slot * 0.15 + bw * j
          place(dx: x, dy: tm + h - bh, rect(width: bw, height: bh, stroke: none,
            fill: rgb(if s.derived.at(i) { s.light } else { s.dark })))
          if s.labels.at(i) != "" {
            place(dx: x - 6pt, dy: tm + h - bh - 10pt, box(width: bw + 12pt, align(center, text(size: 6.5pt, s.labels.at(i)))))
          }
        }
      }
      place(dx: lm + slot * i, dy: tm + h + 4pt, box(width: slot, align(center, text(size: 7pt, cat))))
    }
    place(dx: lm, dy: tm + h + 18pt, box(width: w, align(center, text(size: 8pt, xlabel))))
    place(dx: 0pt, dy: tm, box(height: h, align(horizon, rotate(-90deg, reflow: true, text(size: 8pt, ylabel)))))
  })
}
#set document(title: %(title)s, author: %(author)s)
#set text(font: "DejaVu Sans", size: 9.5pt, lang: %(lang)s)
#set par(spacing: 0.9em, leading: 0.6em)
#set page(paper: "a4", margin: (x: 2cm, top: 2.4cm, bottom: 2.2cm),
  header: context if here().page() > 1 {
    set text(size: 7.5pt, fill: luma(90))
    %(title)s
    v(-6pt)
    line(length: 100%%, stroke: 0.6pt + dark)
  },
  footer: context if here().page() > 1 {
    set text(size: 7.5pt, fill: luma(90))
    let (page, pages) = (counter(page).get().first(), counter(page).final().first())
    grid(columns: (1fr, auto), %(footer)s, %(page_of)s)
  })
#show heading: set text(fill: dark)
#show heading.where(level: 1): set text(size: 15pt)
#show heading.where(level: 1): set block(above: 1.6em, below: 0.8em)
#show heading.where(level: 2): set text(size: 11.5pt)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.caption: set text(size: 8pt, weight: "bold")
#show table.cell.where(y: 0): set text(fill: white, weight: "bold")
"""


def _typst_array(items: list[str]) -> str:
    return "(" + "".join(f"{item}, " for item in items) + ")"  # a trailing comma: one item is still an array


def typst_table(table: Table, mark: str = "") -> str:
    lit = functools.partial(ts, mark=mark)
    align = _typst_array(["right" if numeric else "left" for numeric in table.numeric])
    cells = ", ".join(lit(text) for row in table.rows for text in row)
    header = ", ".join(lit(text) for text in table.header)
    columns = _typst_array(["1fr", *["auto"] * (len(table.header) - 1)])
    return (f"#figure(kind: table, caption: {lit(table.caption)}, table(columns: {columns}, "
            f"align: {align}, stroke: (x: none, y: 0.4pt + luma(200)), inset: 5pt, "
            f"fill: (x, y) => if y == 0 {{ dark }}, table.header({header}), {cells}))\n\n")


def typst_chart(chart: Chart, mark: str = "") -> str:
    lit = functools.partial(ts, mark=mark)
    ymax, ticks = _chart_ticks(chart)
    series = []
    for n, s in enumerate(chart.series):
        dark, light = PALETTE[n % len(PALETTE)]
        derived = [bool(s.derived) and s.derived[i] for i in range(len(s.values))]
        series.append(
            f"(values: {_typst_array(['none' if v is None else repr(float(v)) for v in s.values])}, "
            f"derived: {_typst_array(['true' if d else 'false' for d in derived])}, "
            f"labels: {_typst_array([lit(_value_label(chart, v)) for v in s.values])}, "
            f'dark: "{dark}", light: "{light}")')
    if chart.has_derived and len(chart.series) == 1:
        legend = [f'("{DARK}", {lit(chart.basis_labels[0])})', f'("{LIGHT}", {lit(chart.basis_labels[1])})']
    else:
        legend = [f'("{PALETTE[n % len(PALETTE)][0]}", {lit(s.name)})' for n, s in enumerate(chart.series)]
    return (f"#figure(barchart(cats: {_typst_array([lit(c) for c in chart.categories])}, "
            f"series: {_typst_array(series)}, ymax: {ymax!r}, "
            f"ticks: {_typst_array([f'({t!r}, {lit(label)})' for t, label in ticks])}, "
            f"xlabel: {lit(chart.x_label)}, ylabel: {lit(chart.y_label)}, legend: {_typst_array(legend)}), "
            f"caption: {lit(chart.title)})\n\n")


def typst_source(doc: Document, mark: str = "") -> str:
    """The whole document as typst source; every data string a typst string literal.

    *mark* is appended to every text: the reused compiler is given a new document each time (as a catalog does),
    not the same source again, which typst's memoized compilation would answer from its caches.
    """
    lit = functools.partial(ts, mark=mark)
    footer = lit(f"{doc.words('as_of', date=doc.as_of_text)} · {doc.publisher}")
    out = [TYPST_PREAMBLE % {"dark": DARK, "title": lit(doc.title), "author": lit(doc.meta.author),
                             "lang": ts(doc.language.split("-")[0]), "footer": footer,
                             "page_of": " + ".join(lit(part) if n % 2 == 0 else f"str({part})"
                                                   for n, part in enumerate(_page_of(doc)))}]
    out.append(f"#page(header: none, footer: none)[\n#v(5cm)\n#text(size: 26pt, weight: \"bold\", fill: dark, "
               f"{lit(doc.title)})\n\n#text(size: 13pt, {lit(doc.subtitle)})\n\n")
    if doc.edition:
        out.append(f"#text(size: 11pt, {lit(doc.edition)})\n\n")
    out.append(f"#v(1cm)\n#text(size: 10pt, {lit(doc.words('as_of', date=doc.as_of_text))})\n\n#text(size: 10pt, {lit(doc.publisher)})\n]\n\n")
    out.append(f"#outline(title: {lit(doc.words('contents'))}, "
               "depth: 2)\n#pagebreak()\n\n")
    for section in doc.sections:
        out.append(f"#heading(level: {min(section.level, 2)}, {lit(section.title)})\n\n")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                if block.role == "lead":
                    out.append(f"#text(size: 11.5pt, {lit(block.text)})\n\n")
                elif block.role == "note":
                    out.append(f"#text(size: 8pt, style: \"italic\", fill: luma(80), {lit(block.text)})\n\n")
                else:
                    out.append(f"#par({lit(block.text)})\n\n")
            elif isinstance(block, Bullets):
                out.append(f"#list({', '.join(lit(item) for item in block.items)})\n\n")
            elif isinstance(block, Table):
                out.append(typst_table(block, mark))
            elif isinstance(block, Figures):
                out.append(typst_table(block.as_table(), mark))
            elif isinstance(block, Chart):
                out.append(typst_chart(block, mark))
            elif isinstance(block, QA):
                out.append(f"#par(strong({lit(f'{block.number}. {block.question}')}))\n\n#par({lit(block.answer)})\n\n")
    return "".join(out)


@functools.cache
def _typst_fonts():
    """DejaVu Sans, from matplotlib's copy (the file our PDF embeds), plus typst's own fonts; made once."""
    import matplotlib
    import typst

    return typst.Fonts(include_system_fonts=False, font_paths=[str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")])


def _new_documents(doc_source: Callable[[Document, str], str]) -> Callable[[Document], bytes]:
    """The typst source of *doc*, a new document on each call: the first as it is, then every text marked " 1", " 2", …

    typst memoizes its compilation process-wide (comemo): the same source compiled again is answered mostly from
    its caches (the reused compiler: about 4 ms instead of 16 ms here), which no report of a catalog is. Ours, and
    every other peer, renders the same document each time, but keeps no results between renders.
    """
    count = itertools.count()

    def source(doc: Document) -> bytes:
        n = next(count)
        return doc_source(doc, f" {n}" if n else "").encode()

    return source


def typst_compile() -> Callable[[RenderJob], bytes]:
    """`typst.compile` of the document's typst source: a new compiler (world) per call, as the function makes."""
    import typst

    source = _new_documents(typst_source)

    def write(job: RenderJob) -> bytes:
        doc = job.document
        return typst.compile(source(doc), font_paths=_typst_fonts(), timestamp=int(doc.meta.created.timestamp()))

    return write


def typst_reused() -> Callable[[RenderJob], bytes]:
    """One `typst.Compiler` made once (its fonts loaded once); each render compiles the document's new source."""
    import typst

    compiler = typst.Compiler(font_paths=_typst_fonts())
    source = _new_documents(typst_source)

    def write(job: RenderJob) -> bytes:
        doc = job.document
        out = compiler.compile(input=source(doc), format="pdf", timestamp=int(doc.meta.created.timestamp()))
        assert isinstance(out, bytes)
        return out

    return write


# --- docxtpl ---------------------------------------------------------------------------------


@functools.cache
def docxtpl_template() -> bytes:
    """The Word template, made with python-docx: fixed texts and styles, Jinja tags where the content goes."""
    import docx

    word = docx.Document()
    section = word.sections[0]
    section.header.paragraphs[0].text = "{{ title }}"
    section.footer.paragraphs[0].text = "{{ as_of }} · {{ publisher }}"
    word.add_paragraph("{{ title }}", style="Title")
    word.add_paragraph("{{ subtitle }}", style="Subtitle")
    word.add_paragraph("{%p if edition %}")
    word.add_paragraph("{{ edition }}")
    word.add_paragraph("{%p endif %}")
    word.add_paragraph("{{ as_of }} · {{ publisher }}")
    word.add_paragraph("{%p for s in sections %}")
    word.add_paragraph("{%p if s.level == 1 %}")
    word.add_paragraph("{{ s.title }}", style="Heading 1")
    word.add_paragraph("{%p else %}")
    word.add_paragraph("{{ s.title }}", style="Heading 2")
    word.add_paragraph("{%p endif %}")
    word.add_paragraph("{%p for b in s.blocks %}")
    word.add_paragraph("{%p if b.kind == 'lead' %}")
    word.add_paragraph("{{ b.text }}", style="Intense Quote")
    word.add_paragraph("{%p elif b.kind == 'text' %}")
    word.add_paragraph("{{ b.text }}")
    word.add_paragraph("{%p elif b.kind == 'note' %}")
    word.add_paragraph("{{ b.text }}", style="Quote")
    word.add_paragraph("{%p elif b.kind == 'bullets' %}")
    word.add_paragraph("{%p for item in b.entries %}")
    word.add_paragraph("{{ item }}", style="List Bullet")
    word.add_paragraph("{%p endfor %}")
    word.add_paragraph("{%p elif b.kind == 'table' %}")
    word.add_paragraph("{{ b.caption }}", style="Caption")
    grid = word.add_table(rows=4, cols=3)
    grid.style = "Light Grid Accent 1"
    for cell, text in zip(grid.rows[0].cells, ("{%tc for h in b.header %}", "{{ h }}", "{%tc endfor %}")):
        cell.text = text
    grid.rows[1].cells[0].text = "{%tr for row in b.rows %}"
    for cell, text in zip(grid.rows[2].cells, ("{%tc for c in row %}", "{{ c }}", "{%tc endfor %}")):
        cell.text = text
    grid.rows[3].cells[0].text = "{%tr endfor %}"
    word.add_paragraph("{%p elif b.kind == 'chart' %}")
    word.add_paragraph("{{ b.image }}")
    word.add_paragraph("{{ b.title }}", style="Caption")
    word.add_paragraph("{%p elif b.kind == 'qa' %}")
    word.add_paragraph().add_run("{{ b.number }}. {{ b.question }}").bold = True
    word.add_paragraph("{{ b.answer }}")
    word.add_paragraph("{%p endif %}")
    word.add_paragraph("{%p endfor %}")
    word.add_paragraph("{%p endfor %}")
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def docxtpl_docx(job: RenderJob) -> bytes:
    """docxtpl's render of the bench's template with the document's content (charts: matplotlib PNGs)."""
    from docx.shared import Inches
    from docxtpl import DocxTemplate, InlineImage

    from bench.baselines import CHART_WIDTH_IN, chart_png

    doc = job.document
    template = DocxTemplate(io.BytesIO(docxtpl_template()))

    def block(b) -> dict:
        if isinstance(b, Paragraph):
            return {"kind": {"lead": "lead", "note": "note"}.get(b.role, "text"), "text": b.text}
        if isinstance(b, Bullets):
            return {"kind": "bullets", "entries": b.items}
        if isinstance(b, (Table, Figures)):
            t = b.as_table() if isinstance(b, Figures) else b
            return {"kind": "table", "caption": t.caption, "header": t.header, "rows": t.rows}
        if isinstance(b, Chart):
            image = InlineImage(template, io.BytesIO(chart_png(b)), width=Inches(CHART_WIDTH_IN))
            return {"kind": "chart", "image": image, "title": b.title}
        if isinstance(b, QA):
            return {"kind": "qa", "number": b.number, "question": b.question, "answer": b.answer}
        return {"kind": "none"}  # workbook-only blocks

    context = {
        "title": doc.title, "subtitle": doc.subtitle, "edition": doc.edition,
        "as_of": doc.words("as_of", date=doc.as_of_text),
        "publisher": doc.publisher,
        "sections": [{"title": s.title, "level": s.level, "blocks": [block(b) for b in s.blocks]}
                     for s in doc.sections],
    }
    template.render(context, autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


# --- WeasyPrint ------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 2.4cm 2cm 2.2cm 2cm; font-family: "DejaVu Sans";
  @top-left { content: string(title); font-size: 7.5pt; color: #5a5a5a; border-bottom: 0.6pt solid %(dark)s; }
  @bottom-left { content: string(footer); font-size: 7.5pt; color: #5a5a5a; }
  @bottom-right { content: %(page_of)s; font-size: 7.5pt; color: #5a5a5a; } }
@page :first { @top-left { content: none; } @bottom-left { content: none; } @bottom-right { content: none; } }
body { font-family: "DejaVu Sans"; font-size: 9.5pt; line-height: 1.35; }
.cover { page-break-after: always; padding-top: 5cm; }
.cover h1 { font-size: 26pt; color: %(dark)s; string-set: title content(); }
.cover .foot { string-set: footer content(); height: 0; margin: 0; overflow: hidden; }
.subtitle { font-size: 13pt; }
nav { page-break-after: always; }
nav a { display: block; color: black; text-decoration: none; margin: 0.3em 0; }
nav a.l2 { padding-left: 1.5em; }
nav a::after { content: leader('. ') target-counter(attr(href), page); }
h2 { font-size: 15pt; color: %(dark)s; margin: 1.6em 0 0.6em; }
h3 { font-size: 11.5pt; color: %(dark)s; }
.lead { font-size: 11.5pt; }
.note { font-size: 8pt; font-style: italic; color: #505050; }
table { border-collapse: collapse; width: 100%%; margin-bottom: 1em; }
caption { caption-side: top; text-align: left; font-size: 8pt; font-weight: bold; padding-bottom: 4px; }
th { background: %(dark)s; color: white; text-align: left; }
th, td { padding: 4px 5px; border-bottom: 0.4pt solid #c8c8c8; }
.num { text-align: right; }
figure { margin: 1em 0; } figcaption { font-size: 8pt; font-weight: bold; }
"""


def css_string(text: str) -> str:
    """*text* as a CSS string: backslash, quote and line breaks escaped."""
    return '"' + "".join(f"\\{ord(c):x} " if c in '\\"\n\r\f' or ord(c) < 0x20 else c for c in text) + '"'


def css(doc: Document) -> str:
    page_of = " ".join(css_string(part) if n % 2 == 0 else f"counter({part})"
                       for n, part in enumerate(_page_of(doc)))
    return CSS % {"dark": DARK, "page_of": page_of}


def svg_chart(chart: Chart) -> str:
    """The chart as inline SVG bars (the typst peer's geometry); every text escaped."""
    e = html.escape
    ymax, ticks = _chart_ticks(chart)
    lm, tm, w, h = 54.0, 26.0, 397.0, 170.0  # points: 1.9 cm, 0.9 cm, 14 cm, 6 cm
    slot = w / len(chart.categories)
    bw = slot * 0.7 / len(chart.series)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lm + w:.0f}pt" height="{tm + h + 38:.0f}pt" '
             f'viewBox="0 0 {lm + w:.0f} {tm + h + 38:.0f}" font-family="DejaVu Sans">']
    for t, label in ticks:
        y = tm + h - h * t / ymax
        parts.append(f'<line x1="{lm}" x2="{lm + w}" y1="{y:.2f}" y2="{y:.2f}" stroke="#c8c8c8" stroke-width="0.3"/>'
                     f'<text x="{lm - 4}" y="{y + 2.5:.2f}" font-size="7" text-anchor="end">{e(label)}</text>')
    for i, category in enumerate(chart.categories):
        for j, s in enumerate(chart.series):
            v = s.values[i]
            if v is None:
                continue
            dark, light = PALETTE[j % len(PALETTE)]
            bh = h * v / ymax
            x = lm + slot * i + slot * 0.15 + bw * j
            fill = light if s.derived and s.derived[i] else dark
            parts.append(f'<rect x="{x:.2f}" y="{tm + h - bh:.2f}" width="{bw:.2f}" height="{bh:.2f}" fill="{fill}"/>')
            label = _value_label(chart, v)
            if label:
                parts.append(f'<text x="{x + bw / 2:.2f}" y="{tm + h - bh - 3:.2f}" font-size="6.5" '
                             f'text-anchor="middle">{e(label)}</text>')
        parts.append(f'<text x="{lm + slot * (i + 0.5):.2f}" y="{tm + h + 11:.2f}" font-size="7" '
                     f'text-anchor="middle">{e(str(category))}</text>')
    parts.append(f'<text x="{lm + w / 2:.2f}" y="{tm + h + 28:.2f}" font-size="8" text-anchor="middle">'
                 f'{e(chart.x_label)}</text>'
                 f'<text transform="translate(12 {tm + h / 2:.2f}) rotate(-90)" font-size="8" text-anchor="middle">'
                 f'{e(chart.y_label)}</text>')
    if chart.has_derived and len(chart.series) == 1:
        legend = [(DARK, chart.basis_labels[0]), (LIGHT, chart.basis_labels[1])]
    else:
        legend = [(PALETTE[n % len(PALETTE)][0], s.name) for n, s in enumerate(chart.series)]
    x = lm
    for colour, name in legend:
        parts.append(f'<rect x="{x:.2f}" y="4" width="8" height="8" fill="{colour}"/>'
                     f'<text x="{x + 12:.2f}" y="11" font-size="8">{e(name)}</text>')
        x += 24 + 4.6 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def html_table(table: Table) -> str:
    e = html.escape
    cls = [' class="num"' if numeric else "" for numeric in table.numeric]
    head = "".join(f"<th{c}>{e(text)}</th>" for c, text in zip(cls, table.header))
    body = "".join("<tr>" + "".join(f"<td{c}>{e(text)}</td>" for c, text in zip(cls, row)) + "</tr>"
                   for row in table.rows)
    return f"<table><caption>{e(table.caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_document(doc: Document) -> str:
    """The whole document as HTML and CSS for WeasyPrint; every data string escaped."""
    e = html.escape
    as_of = doc.words("as_of", date=doc.as_of_text)
    out = [f'<!DOCTYPE html><html lang="{e(doc.language)}"><head><meta charset="utf-8"><title>{e(doc.meta.title)}'
           f'</title><meta name="author" content="{e(doc.meta.author)}"><style>{css(doc)}</style></head><body>',
           f'<section class="cover"><h1>{e(doc.title)}</h1><p class="subtitle">{e(doc.subtitle)}</p>',
           f"<p>{e(doc.edition)}</p>" if doc.edition else "",
           f'<p>{e(as_of)}</p><p>{e(doc.publisher)}</p>'
           f'<p class="foot">{e(as_of)} · {e(doc.publisher)}</p></section>',
           f"<nav><h2>{e(doc.words('contents'))}</h2>"]
    out += [f'<a class="l{min(s.level, 2)}" href="#s{n}">{e(s.title)}</a>' for n, s in enumerate(doc.sections)]
    out.append("</nav>")
    for n, section in enumerate(doc.sections):
        tag = "h2" if section.level <= 1 else "h3"
        out.append(f'<{tag} id="s{n}">{e(section.title)}</{tag}>')
        for block in section.blocks:
            if isinstance(block, Paragraph):
                cls = f' class="{block.role}"' if block.role in ("lead", "note") else ""
                out.append(f"<p{cls}>{e(block.text)}</p>")
            elif isinstance(block, Bullets):
                out.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>")
            elif isinstance(block, Table):
                out.append(html_table(block))
            elif isinstance(block, Figures):
                out.append(html_table(block.as_table()))
            elif isinstance(block, Chart):
                out.append(f"<figure>{svg_chart(block)}<figcaption>{e(block.title)}</figcaption></figure>")
            elif isinstance(block, QA):
                out.append(f"<p><strong>{block.number}. {e(block.question)}</strong></p><p>{e(block.answer)}</p>")
    out.append("</body></html>")
    return "".join(out)


def weasyprint_pdf(job: RenderJob) -> bytes:
    from weasyprint import HTML

    return HTML(string=html_document(job.document)).write_pdf()


# name -> (format, make): make() is called once, untimed, and returns the writer that is timed.
PEERS: dict[str, tuple[str, Callable[[], Callable[[RenderJob], bytes]]]] = {
    "typst": ("pdf", typst_compile),
    "typst-reused": ("pdf", typst_reused),
    "weasyprint": ("pdf", lambda: weasyprint_pdf),
    "docxtpl": ("docx", lambda: docxtpl_docx),
}


def main(argv: list[str]) -> None:
    from exporter.runs.catalog import ReportSource, load

    out, path = Path(argv[0]), Path(argv[1])
    job = load(ReportSource.at(path)).job
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{path.stem}.typ").write_text(typst_source(job.document), encoding="utf-8")
    (out / f"{path.stem}.html").write_text(html_document(job.document), encoding="utf-8")
    for name, (fmt, make) in PEERS.items():
        (out / f"{path.stem}.{name}.{fmt}").write_bytes(make()(job))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1:])
