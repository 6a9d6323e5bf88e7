"""The bare-library floor: python-docx, openpyxl and reportlab writing the same content, plainly.

Each writer takes the same `RenderJob` the renderers get and reads only its format-neutral
`Document` (sections of blocks, facts, workbook sheets, datasets), as the renderers do, so the
floor follows any report kind: the market report and the `kind: document` example alike. Each
writes what a reader needs to see, the way the libraries' tutorials do it:

- **DOCX** (python-docx): a title and subtitle, every section as a Word heading, every paragraph,
  bullets in "List Bullet", each table (and each block of key figures, as a table of figure,
  value and basis) as a caption and a grid (`add_row().cells`), each FAQ as a question and an
  answer. Each chart is a plain matplotlib PNG (default style, no pyplot; bars, stacked bars,
  lines or a pie, value labels where the chart has them, axis titles, legend), 6 in wide at
  200 dpi, the frame the renderer's chart takes: that is what a user of python-docx alone would
  do. The renderer writes a native Word chart part instead (`exporter.render.nativechart`),
  which python-docx cannot. Not included: the title page, contents field, header and footer,
  styles, borders, shading, cards, caption fields, reproducible zip.
- **XLSX** (openpyxl): the same sheets with the same cell values: the Summary (title, facts, key
  figures with their unit, period and basis, and for a document report its texts), one sheet per
  chart (named after it) with the data behind it and a native chart bound to those cells, the Assumptions inputs
  and formulas, the layout's record sheets, and each data table in full. When the report's theme
  names an Excel template, the sheets are added to it, as the renderer adds them (the template's
  sheets, styles and pictures are part of the file). Not included: fonts, fills, borders, number
  formats, row heights, page setup, properties, write-only streaming, reproducible zip.
- **PDF** (reportlab platypus): the same flowing text with the same embedded TrueType font
  (DejaVu Sans: the text must show, whatever its script), each table (and block of key figures)
  as a grid of paragraphs (so long cells wrap), each chart as a plain reportlab vector chart of
  its kind, built in one pass. Not included: cover, contents page (which needs a second pass),
  outline, page X of Y, theme, cards.

The tables bench (`bench/tables.py`) has the same kind of floor for one long table.

    python3 -m bench.baselines OUT_DIR YAML   # write the three files (the cold-build baseline)
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from exporter.core.document import QA, Bullets, Chart, Document, Figures, Paragraph, Scenario, Table
from exporter.render import RenderJob

CHART_WIDTH_IN, CHART_DPI = 6.0, 200  # the renderer's chart frame: 6 in wide, half as high (a pie 0.6)


def _values(chart: Chart, n: int) -> list[float]:
    """Series *n*'s values, NaN where there is none (matplotlib leaves a gap)."""
    return [math.nan if v is None else v for v in chart.series[n].values]


def _label(chart: Chart, value: float | None) -> str:
    return "" if value is None else chart.format.text(value)


def _section_note(doc: Document, section) -> str | None:
    return next((b.text for b in section.blocks if isinstance(b, Paragraph) and b.role == "note"), None)


# --- DOCX ------------------------------------------------------------------------------------


def chart_png(chart: Chart) -> bytes:
    """A plain matplotlib chart of *chart*'s kind (no pyplot, default style)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    aspect = 0.6 if chart.kind == "pie" else 0.5
    fig = Figure(figsize=(CHART_WIDTH_IN, CHART_WIDTH_IN * aspect), dpi=CHART_DPI, layout="constrained")
    ax = fig.add_subplot()
    names = [str(c) for c in chart.categories]
    if chart.kind == "pie":
        pairs = [(name, v) for name, v in zip(names, chart.series[0].values) if v]
        ax.pie([v for _, v in pairs], labels=[name for name, _ in pairs], autopct="%1.0f%%")
        ax.set_title(chart.title)
    elif chart.kind == "line":
        for n, series in enumerate(chart.series):
            ax.plot(names, _values(chart, n), marker="o", label=series.name)
            if chart.value_labels:
                for x, v in enumerate(series.values):
                    if v is not None:
                        ax.annotate(_label(chart, v), (x, v), textcoords="offset points", xytext=(0, 5),
                                    ha="center")
    else:
        horizontal = chart.kind == "hbar"
        draw = ax.barh if horizontal else ax.bar
        positions = range(len(names))
        count = len(chart.series)
        stacked = chart.kind == "stacked"
        width = 0.8 if stacked else 0.8 / count
        base = [0.0] * len(names)
        for n, series in enumerate(chart.series):
            values = _values(chart, n)
            at = positions if stacked else [p - 0.4 + width * (n + 0.5) for p in positions]
            if stacked:
                bars = draw(at, values, width, base, label=series.name)
                base = [b + (0 if math.isnan(v) else v) for b, v in zip(base, values)]
            else:
                bars = draw(at, values, width, label=series.name)
            if chart.value_labels:
                ax.bar_label(bars, labels=[_label(chart, v) for v in series.values])
        (ax.set_yticks if horizontal else ax.set_xticks)(list(positions), names)
    if chart.kind != "pie":
        ax.set_xlabel(chart.y_label if chart.kind == "hbar" else chart.x_label)
        ax.set_ylabel(chart.x_label if chart.kind == "hbar" else chart.y_label)
        ax.legend()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def docx_table(word, table: Table) -> None:
    word.add_paragraph(table.caption)
    grid = word.add_table(rows=1, cols=len(table.header))
    for cell, text in zip(grid.rows[0].cells, table.header):
        cell.text = text
    for row in table.rows:
        for cell, text in zip(grid.add_row().cells, row):
            cell.text = text


def bare_docx(job: RenderJob) -> bytes:
    import docx
    from docx.shared import Inches

    doc = job.document
    word = docx.Document()
    word.add_heading(doc.title, 0)
    word.add_paragraph(doc.subtitle)
    word.add_paragraph(f"As of {doc.as_of.isoformat()} · {doc.publisher}")
    for section in doc.sections:
        word.add_heading(section.title, level=section.level)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                word.add_paragraph(block.text)
            elif isinstance(block, Bullets):
                for item in block.items:
                    word.add_paragraph(item, style="List Bullet")
            elif isinstance(block, Table):
                docx_table(word, block)
            elif isinstance(block, Figures):
                docx_table(word, block.as_table())
            elif isinstance(block, Chart):
                word.add_picture(io.BytesIO(chart_png(block)), width=Inches(CHART_WIDTH_IN))
                word.add_paragraph(block.title)
            elif isinstance(block, QA):
                word.add_paragraph().add_run(f"{block.number}. {block.question}").bold = True
                word.add_paragraph(block.answer)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


# --- XLSX ------------------------------------------------------------------------------------

FIGURE_COLUMNS = (("Unit", "unit"), ("Period/Year", "period"), ("Basis", "basis"), ("Note", "note"))


def _sheet_name(title: str, taken: set[str]) -> str:
    name = "".join(" " if c in "[]:*?/\\" else c for c in title)[:31].strip() or "Sheet"
    base, n = name, 1
    while name.casefold() in taken:
        n += 1
        name = f"{base[:27]} ({n})"
    taken.add(name.casefold())
    return name


def xlsx_summary(ws, doc: Document) -> None:
    ws.append([doc.meta.title])
    ws.append([])
    for label, value in doc.facts:
        ws.append([label, value])
    figures = [f for _, block in doc.blocks() if isinstance(block, Figures) for f in block.figures]
    if figures:
        extra = [(name, attr) for name, attr in FIGURE_COLUMNS if any(getattr(f, attr) for f in figures)]
        ws.append([])
        ws.append(["Figure", "Value", *(name for name, _ in extra)])
        for f in figures:
            number = isinstance(f.value, (int, float, dt.date)) and not isinstance(f.value, bool)
            ws.append([f.label, f.value if number else f.text, *(getattr(f, attr) for _, attr in extra)])
    if doc.workbook_texts:
        ws.append([])
        ws.append(["Section", "Text"])
        for section, block in doc.blocks():
            if isinstance(block, Paragraph):
                ws.append([section.title, block.text])
            elif isinstance(block, Bullets):
                for item in block.items:
                    ws.append([section.title, f"• {item}"])
            elif isinstance(block, QA):
                ws.append([section.title, f"{block.question}\n{block.answer}"])
    source = next((s for s in doc.sections if s.key == "source"), None)
    note = _section_note(doc, source) if source else None
    if note:
        ws.append([])
        ws.append([note])


def xlsx_chart(ws, chart: Chart, note: str | None) -> None:
    """The data behind *chart* (category, one column per series, Basis when points are derived) and a native chart."""
    from openpyxl.chart import BarChart, LineChart, PieChart, Reference

    basis = chart.has_derived and len(chart.series) == 1
    ws.append([chart.x_label or "Category", *(s.name for s in chart.series), *(("Basis",) if basis else ())])
    for i, category in enumerate(chart.categories):
        row = [category, *(s.values[i] for s in chart.series)]
        if basis:
            row.append(chart.basis_labels[1 if chart.series[0].derived[i] else 0])
        ws.append(row)
    last = len(chart.categories) + 1
    if chart.kind == "pie":
        made = PieChart()
    elif chart.kind == "line":
        made = LineChart()
    else:
        made = BarChart()
        made.type = "bar" if chart.kind == "hbar" else "col"
        if chart.kind == "stacked":
            made.grouping, made.overlap = "stacked", 100
    made.add_data(Reference(ws, min_col=2, max_col=1 + len(chart.series), min_row=1, max_row=last),
                  titles_from_data=True)
    made.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    made.title = chart.title
    ws.add_chart(made, "H2")
    if note:
        ws.append([])
        ws.append([note])


def xlsx_scenario(ws, s: Scenario) -> None:
    """The inputs, then the series as live formulas of them (rows 10 on, as the renderer lays them)."""
    reported, derived = s.basis
    ws.append(["Input", "Value", "Unit", "Basis"])
    ws.append([s.labels[0], s.base_year, "year", reported])
    ws.append([s.labels[1], s.base_value, s.unit, reported])
    ws.append([s.labels[2], s.rate, s.rate_unit, derived])
    ws.append([s.reference_label, s.reference_rate, s.rate_unit, reported])
    ws.append([])
    ws.append([s.explanation])
    ws.append([])
    ws.append(["Year", f"Market size ({s.unit})", "Basis"])
    for row, year in enumerate(s.years, 10):
        ws.append([year, f"=$B$3*(1+$B$4)^(A{row}-$B$2)", s.series_basis])


def bare_xlsx(job: RenderJob) -> bytes:
    from openpyxl import Workbook, load_workbook

    doc = job.document
    template = job.options.theme.excel_template
    if template is None:
        wb = Workbook()
        ws = wb.active
        ws.title = "Summary"
    else:
        wb = load_workbook(template)
        wb.template = False
        ws = wb.create_sheet("Summary")
    taken = {"summary", *(sheet.title.casefold() for sheet in wb.worksheets)}
    xlsx_summary(ws, doc)
    charts = 0
    for section, block in doc.blocks():
        if isinstance(block, Chart):
            charts += 1
            name = _sheet_name(block.sheet or block.title or f"Chart {charts}", taken)
            xlsx_chart(wb.create_sheet(name), block, _section_note(doc, section))
        elif isinstance(block, Scenario):
            xlsx_scenario(wb.create_sheet(_sheet_name(block.sheet, taken)), block)
    for sheet in doc.sheets:
        ws = wb.create_sheet(_sheet_name(sheet.name, taken))
        ws.append(list(sheet.header))
        for row in sheet.rows:
            ws.append(list(row))
    for dataset in doc.datasets:
        ws = wb.create_sheet(_sheet_name(dataset.title, taken))
        ws.append([c.name for c in dataset.columns])
        for row in dataset.source.iter_rows():
            ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------


@functools.cache
def pdf_styles():
    """Register DejaVu Sans (matplotlib's copy) once; return the sample style sheet using it."""
    import matplotlib
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont("BareSans", str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("BareSans-Bold", str(folder / "DejaVuSans-Bold.ttf")))
    styles = getSampleStyleSheet()
    for name in ("Title", "Heading1", "Heading2", "Heading3"):
        styles[name].fontName = "BareSans-Bold"
    for name in ("Normal", "BodyText", "Bullet"):
        styles[name].fontName = "BareSans"
    return styles


def pdf_table(table: Table) -> list:
    from reportlab.platypus import Paragraph as P, Table as PdfTable, TableStyle

    styles = pdf_styles()
    cell = styles["BodyText"]
    grid = PdfTable([[P(escape(t), cell) for t in row] for row in (table.header, *table.rows)], repeatRows=1)
    grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, "grey")]))
    return [P(escape(table.caption), styles["Normal"]), grid]


def chart_drawing(chart: Chart):
    """A plain reportlab chart of *chart*'s kind: bars, stacked bars, lines or a pie, with a legend."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.charts.piecharts import Pie
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(450, 240, initialFontName="BareSans")
    names = [str(c) for c in chart.categories]
    palette = (colors.steelblue, colors.orange, colors.seagreen, colors.firebrick, colors.purple, colors.grey)
    if chart.kind == "pie":
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 150, 30, 170, 170
        pairs = [(name, v) for name, v in zip(names, chart.series[0].values) if v]
        pie.data = [v for _, v in pairs]
        pie.labels = [name for name, _ in pairs]
        pie.slices.fontName = "BareSans"
        drawing.add(pie)
        return drawing
    if chart.kind == "line":
        plot = HorizontalLineChart()
        for n in range(len(chart.series)):
            plot.lines[n].strokeColor = palette[n % len(palette)]
        if chart.value_labels:
            plot.lineLabelFormat = lambda v: _label(chart, v)
    else:
        plot = HorizontalBarChart() if chart.kind == "hbar" else VerticalBarChart()
        if chart.kind == "stacked":
            plot.categoryAxis.style = "stacked"
        for n in range(len(chart.series)):
            plot.bars[n].fillColor = palette[n % len(palette)]
        if chart.value_labels:
            plot.barLabelFormat = lambda v: _label(chart, v)
            plot.barLabels.fontName = "BareSans"
    plot.x, plot.y, plot.width, plot.height = 60, 40, 370, 160
    plot.data = [list(s.values) for s in chart.series]
    plot.categoryAxis.categoryNames = names
    plot.categoryAxis.labels.fontName = plot.valueAxis.labels.fontName = "BareSans"
    plot.valueAxis.labelTextFormat = lambda v: _label(chart, v)
    plot.valueAxis.valueMin = 0
    drawing.add(plot)
    if len(chart.series) > 1:
        legend = Legend()
        legend.x, legend.y, legend.fontName = 60, 232, "BareSans"
        legend.columnMaximum, legend.alignment = 1, "right"
        legend.colorNamePairs = [(palette[n % len(palette)], s.name) for n, s in enumerate(chart.series)]
        drawing.add(legend)
    return drawing


def bare_pdf(job: RenderJob) -> bytes:
    from reportlab.platypus import Paragraph as P, SimpleDocTemplate

    styles = pdf_styles()
    doc = job.document
    story = [P(escape(doc.title), styles["Title"]), P(escape(doc.subtitle), styles["Normal"])]
    for section in doc.sections:
        story.append(P(escape(section.title), styles["Heading1" if section.level <= 1 else "Heading2"]))
        for block in section.blocks:
            if isinstance(block, Paragraph):
                story.append(P(escape(block.text), styles["BodyText"]))
            elif isinstance(block, Bullets):
                story += [P(escape(item), styles["Bullet"], bulletText="•") for item in block.items]
            elif isinstance(block, Table):
                story += pdf_table(block)
            elif isinstance(block, Figures):
                story += pdf_table(block.as_table())
            elif isinstance(block, Chart):
                story += [chart_drawing(block), P(escape(block.title), styles["Normal"])]
            elif isinstance(block, QA):
                story += [P(f"<b>{block.number}. {escape(block.question)}</b>", styles["BodyText"]),
                          P(escape(block.answer), styles["BodyText"])]
    out = io.BytesIO()
    SimpleDocTemplate(out, title=doc.meta.title, author=doc.meta.author).build(story)
    return out.getvalue()


WRITERS = {"docx": bare_docx, "xlsx": bare_xlsx, "pdf": bare_pdf}


def main(argv: list[str]) -> None:
    from exporter.runs.catalog import ReportSource, load

    out, path = Path(argv[0]), Path(argv[1])
    job = load(ReportSource.at(path)).job
    out.mkdir(parents=True, exist_ok=True)
    for fmt, writer in WRITERS.items():
        (out / f"{path.stem}.{fmt}").write_bytes(writer(job))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1:])
