"""The bare-library floor: python-docx, openpyxl and reportlab writing the same content, plainly.

Each writer takes the same `RenderJob` the renderers get (text, tables and figures already
derived) and writes what a reader needs to see, the way the libraries' tutorials do it:

- **DOCX** (python-docx): a title and subtitle, every section as a Word heading, every paragraph,
  bullets in "List Bullet", each table as a caption and a grid (`add_row().cells`), the forecast
  chart as a matplotlib PNG of the same size and resolution (bars with value labels, axis titles,
  legend), each FAQ as a question and an answer. Not included: the title page, contents field,
  header and footer, styles, borders, shading, caption fields, reproducible zip.
- **XLSX** (openpyxl): the same eight sheets with the same cell values (texts, numbers, dates,
  the Assumptions formulas) and a native column chart bound to the Forecast cells. Not included:
  fonts, fills, borders, number formats, row heights, page setup, properties, reproducible zip.
- **PDF** (reportlab platypus): the same flowing text with the same embedded TrueType font
  (DejaVu Sans: the text must show, whatever its script), each table as a grid of paragraphs (so
  long cells wrap), the chart as a vector bar chart, built in one pass. Not included: cover,
  contents page (which needs a second pass), outline, page X of Y, theme.

The tables bench (`bench/tables.py`) has the same kind of floor for one long table.

    python3 -m bench.baselines OUT_DIR YAML   # write the three files (the cold-build baseline)
"""

from __future__ import annotations

import functools
import io
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from exporter.core.document import QA, Bullets, Chart, Paragraph, Table
from exporter.render import RenderJob

CHART_WIDTH_IN, CHART_DPI = 6.0, 200  # what the DOCX renderer embeds


# --- DOCX ------------------------------------------------------------------------------------


def chart_png(chart: Chart) -> bytes:
    """A plain matplotlib column chart of the forecast (no pyplot, default style)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    points = chart.forecast.points
    fig = Figure(figsize=(CHART_WIDTH_IN, CHART_WIDTH_IN * 0.48), dpi=CHART_DPI, layout="constrained")
    ax = fig.add_subplot()
    bars = ax.bar([p.year for p in points], [p.value for p in points], label=chart.y_label)
    ax.bar_label(bars, labels=[f"{p.value:,.2f}" for p in points])
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
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


def bare_xlsx(job: RenderJob) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    report, fc, doc = job.report, job.forecast, job.document
    f = report.figures
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append([report.title])
    ws.append([])
    for label, value in (("Market", report.market), ("Geography", report.geography), ("As of", report.as_of),
                         ("Publisher", report.publisher.name), ("Source", report.source.title),
                         ("Source URL", str(report.source.url)),
                         ("Sample report URL", str(report.source.sample_url or ""))):
        ws.append([label, value])
    ws.append([])
    ws.append(["Figure", "Value", "Unit", "Period/Year", "Basis"])
    ws.append(["Market size, base year", f.base.size.amount, f.base.size.currency, f.base.year, "Reported"])
    ws.append(["Market size, projection", f.projection.size.amount, f.projection.size.currency,
               f.projection.year, "Reported"])
    ws.append(["CAGR (stated)", f.cagr.percent / 100, "percent per year",
               f"{f.cagr.start_year}–{f.cagr.end_year}", "Reported"])
    ws.append(["CAGR (implied by reported sizes)", fc.implied_cagr, "percent per year",
               f"{f.base.year}–{f.projection.year}", "Derived (estimate)"])
    notes = {s.key: [b.text for b in s.blocks if isinstance(b, Paragraph) and b.role == "note"]
             for s in doc.sections}
    ws.append([])
    ws.append(notes.get("source", [""])[:1])

    ws = wb.create_sheet("Forecast")
    ws.append(["Year", f"Market size ({fc.unit})", "Basis"])
    for p in fc.points:
        ws.append([p.year, p.value, p.basis.label])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=len(fc.points) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(fc.points) + 1))
    chart.title = f"{report.geography} {report.market} market size"
    ws.add_chart(chart, "E2")
    ws.append([])
    ws.append(notes.get("forecast", [""])[:1])

    ws = wb.create_sheet("Assumptions")
    ws.append(["Input", "Value", "Unit", "Basis"])
    ws.append(["Base year", fc.base.year, "year", "Reported"])
    ws.append(["Base value", fc.base.value, fc.unit, "Reported"])
    ws.append(["Growth rate used", fc.implied_cagr, "percent per year", "Derived (estimate)"])
    ws.append(["Stated CAGR", fc.stated_cagr, "percent per year", "Reported"])
    ws.append([])
    ws.append(["Yellow cells are inputs: edit them and the series below recomputes."])
    ws.append([])
    ws.append(["Year", f"Market size ({fc.unit})", "Basis"])
    for row, p in enumerate(fc.points, 10):
        ws.append([p.year, f"=$B$3*(1+$B$4)^(A{row}-$B$2)", "Scenario (computed from inputs)"])

    ws = wb.create_sheet("Segments")
    ws.append(["Segmentation", "Segment", "Title", "Text", "Conditions", "Drugs"])
    for seg in report.segmentations:
        for s in seg.segments:
            ws.append([seg.dimension, s.name, s.title or "", "\n\n".join(s.paragraphs),
                       "\n".join(s.conditions), "\n".join(s.drugs)])

    ws = wb.create_sheet("Trends & Opportunities")
    ws.append(["Section", "#", "Text"])
    for section in doc.sections:
        if section.key in ("trends", "opportunities"):
            texts = [b.text for b in section.blocks if isinstance(b, Paragraph)]
            for n, text in enumerate(texts, 1):
                ws.append([section.title, n, text])

    ws = wb.create_sheet("FAQ")
    ws.append(["#", "Question", "Answer"])
    for section in doc.sections:
        for block in section.blocks:
            if isinstance(block, QA):
                ws.append([block.number, block.question, block.answer])

    ws = wb.create_sheet("Companies")
    ws.append(["#", "Company"])
    for n, company in enumerate(report.companies.entries if report.companies else [], 1):
        ws.append([n, company.name])

    ws = wb.create_sheet("Regions")
    ws.append(["Region", "Countries"])
    for region in report.regions.entries if report.regions else []:
        ws.append([region.name, ", ".join(region.countries)])
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


def bar_drawing(chart: Chart):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing

    points = chart.forecast.points
    drawing = Drawing(450, 240)
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 50, 40, 380, 170
    bars.data = [[p.value for p in points]]
    bars.categoryAxis.categoryNames = [str(p.year) for p in points]
    bars.barLabelFormat = "%.2f"
    bars.valueAxis.valueMin = 0
    drawing.add(bars)
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
            elif isinstance(block, Chart):
                story += [bar_drawing(block), P(escape(block.title), styles["Normal"])]
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
