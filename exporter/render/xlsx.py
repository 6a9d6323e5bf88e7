"""Render the report as an Excel workbook: key figures, the forecast with a native chart, a live
scenario sheet and the report's texts as tables.

Every text from the data enters a cell through `_text`, which pins it as a string so that
``=HYPERLINK(...)`` stays text; the only formulas are the ones `_formula` builds from cell
addresses. Figures are numbers with number formats, never formatted strings, so the workbook
can be calculated with and read by pandas alike.
"""

from __future__ import annotations

import contextvars
import functools
import datetime as dt
import io
import zipfile
from copy import copy
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.drawing.text import CharacterProperties, Paragraph as DrawingParagraph
from openpyxl.drawing.text import Font as TypeFace, ParagraphProperties, RegularTextRun
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.named_styles import NamedStyleList
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..derive import Basis, Forecast
from ..document import QA, Chart, Document, Paragraph, Section
from ..model import Money, Report, Scale
from ..theme import DEFAULT_THEME, Theme
from . import RenderJob
from .ooxml import reproducible_zip, utc_naive

# Sheet names are fixed here, never taken from data: Excel limits them to 31 characters and
# forbids some characters, and other tools find sheets by these names.
SUMMARY = "Summary"
FORECAST = "Forecast"
ASSUMPTIONS = "Assumptions"
SEGMENTS = "Segments"
TRENDS = "Trends & Opportunities"
FAQ = "FAQ"
COMPANIES = "Companies"
REGIONS = "Regions"
SHEETS = (SUMMARY, FORECAST, ASSUMPTIONS, SEGMENTS, TRENDS, FAQ, COMPANIES, REGIONS)


class _Look:
    """The theme as openpyxl fonts, fills and borders."""

    def __init__(self, theme: Theme):
        self.theme = t = theme
        font, size = theme.office_font, theme.base_size
        set_ = functools.partial(setattr, self)
        set_("font", font)
        set_("size", size)
        set_("accent", t.accent.upper())
        set_("secondary", t.secondary.upper())  # derived bars: the same hue, so reported bars stand out
        set_("ink", t.ink.upper())
        set_("muted", t.muted.upper())
        set_("header_font", Font(name=font, size=size, bold=True, color="FFFFFF"))
        set_("header_fill", PatternFill("solid", fgColor=t.accent.upper()))
        set_("title_font", Font(name=font, bold=True, size=16, color=t.accent.upper()))
        set_("label_font", Font(name=font, size=size, bold=True, color=t.muted.upper()))
        set_("body_font", Font(name=font, size=size))
        set_("derived_font", Font(name=font, size=size, italic=True))
        set_("note_font", Font(name=font, size=size, italic=True, color=t.muted.upper()))
        set_("explain_font", Font(name=font, size=size, italic=True, color=t.accent.upper()))
        # The spreadsheet convention for "type here": blue figures on a light-yellow ground.
        set_("input_font", Font(name=font, size=size, bold=True, color="0000FF"))
        thin = Side(style="thin", color=t.rule.upper())
        set_("box", Border(left=thin, right=thin, top=thin, bottom=thin))
        set_("underline", Border(bottom=thin))


# The look of the workbook being written; render_with sets it for the duration of one render
# (a context variable, so renders in parallel threads never see each other's theme).
_LOOK: contextvars.ContextVar[_Look] = contextvars.ContextVar("xlsx_look", default=_Look(DEFAULT_THEME))


def _look() -> _Look:
    return _LOOK.get()


# Arial renders with the same metrics everywhere (Liberation Sans on Linux), so the row
# heights estimated below fit wherever the workbook is opened.
FONT = DEFAULT_THEME.office_font
SIZE = DEFAULT_THEME.base_size
ACCENT = DEFAULT_THEME.accent.upper()
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")

TOP = Alignment(vertical="top")
WRAP = Alignment(vertical="top", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="top")
NUMBER = Alignment(horizontal="right", vertical="top", indent=1)  # keeps figures off the next column's text

MONEY_FORMAT = "#,##0.00"
DERIVED_RATE_FORMAT = "0.00%"
YEAR_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"
LANGUAGE = "en-US"

LINE_POINTS = 11.5  # pitch of 10 pt Arial lines: Excel 11.5, LibreOffice 11.25
ROW_PADDING = 3  # points above and below the text of a wrapped row
LOGO_HEIGHT_PX = 48  # the Summary sheet's logo, at the top
CHART_SIZE_CM = (22, 13.5)  # the Forecast chart: beside a 58-character table it fills a landscape page

PERCENT_UNIT = "percent per year"
SCENARIO_BASIS = "Scenario (computed from inputs)"

# The earliest and latest times a zip entry can carry (DOS date format).


def render(job: RenderJob) -> bytes:
    """Return the bytes of the workbook for *job*."""
    return render_with(job, DEFAULT_THEME)


def render_with(job: RenderJob, theme: Theme) -> bytes:
    """Return the bytes of the workbook for *job* in *theme*."""
    token = _LOOK.set(_Look(theme))
    try:
        return _render(job, theme)
    finally:
        _LOOK.reset(token)


def _render(job: RenderJob, theme: Theme) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    _default_font(wb)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    doc = job.document
    _summary(sheets[SUMMARY], job)
    _forecast(sheets[FORECAST], job)
    _assumptions(sheets[ASSUMPTIONS], job.forecast)
    _segments(sheets[SEGMENTS], job.report)
    _trends(sheets[TRENDS], doc)
    _faq(sheets[FAQ], doc)
    _companies(sheets[COMPANIES], job.report)
    _regions(sheets[REGIONS], job.report)
    for ws in wb.worksheets:
        _fit_rows(ws)
        _page_setup(ws, theme)
    _properties(wb, doc)
    return _save(wb, utc_naive(doc.meta.created))


def _default_font(wb: Workbook) -> None:
    """Make the body font the workbook's Normal font.

    Column widths are counted in digits of the Normal font, so with Calibri as Normal (openpyxl's
    default, replaced by a wider font where Calibri is missing) the wrapped-text heights estimated
    here would fit in one application and not another. openpyxl has no public setter for it.
    """
    body = _look().body_font
    wb._fonts = IndexedList([body])
    wb._named_styles = NamedStyleList()
    wb.add_named_style(NamedStyle(name="Normal", font=copy(body), border=Border(), builtinId=0))


# --- cells -----------------------------------------------------------------------------------


def _text(cell: Cell, value: str) -> Cell:
    """Put *value* in *cell* as a literal string: never a formula, never an error code.

    openpyxl turns any string starting with "=" into a formula and "#N/A" into an error, so the
    type is forced back after assignment. This is the one place data text enters a cell.
    """
    cell.value = value
    cell.data_type = "s"
    # Keeps the text literal when a user edits the cell in Excel too.
    cell.quotePrefix = value[:1] in ("=", "+", "-", "@")
    return cell


def _formula(cell: Cell, formula: str) -> Cell:
    """Put a formula this module built from cell addresses (never from data) in *cell*."""
    cell.value = formula
    assert cell.data_type == "f", formula
    return cell


def _put(ws: Worksheet, row: int, col: int, value, number_format: str | None = None) -> Cell:
    """Write a text, number or date to (row, col); texts go through `_text`."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        _text(cell, value)
    elif value is not None:
        cell.value = value
    if number_format:
        cell.number_format = number_format
    cell.font = _look().body_font
    cell.alignment = _alignment(value, number_format)
    return cell


def _alignment(value, number_format: str | None) -> Alignment:
    if isinstance(value, (int, float)) and number_format != YEAR_FORMAT:
        return NUMBER
    if isinstance(value, (int, dt.date)):
        return LEFT  # years and dates label a row rather than being summed
    return TOP


def _header(ws: Worksheet, row: int, labels: Sequence[str], numeric: Sequence[int] = ()) -> None:
    """Write a header row; labels of the *numeric* columns (1-based) align with their figures."""
    for col, label in enumerate(labels, 1):
        cell = _put(ws, row, col, label)
        cell.font = _look().header_font
        cell.fill = _look().header_fill
        if col in numeric:
            cell.alignment = Alignment(horizontal="right", vertical="center", wrap_text=True, indent=1)
        else:
            cell.alignment = Alignment(vertical="center", wrap_text=True)


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[float],
    wrap: Sequence[bool] | None = None,
    formats: Sequence[str | None] | None = None,
) -> int:
    """Write a header row at the top of *ws*, freeze it, and the rows below; return the last row."""
    wrap = wrap or [False] * len(header)
    formats = formats or [None] * len(header)
    rows = list(rows)
    numeric = [
        col
        for col, (value, fmt) in enumerate(zip(rows[0] if rows else (), formats), 1)
        if isinstance(value, (int, float)) and fmt != YEAR_FORMAT
    ]
    _header(ws, 1, header, numeric)
    ws.freeze_panes = "A2"
    _widths(ws, widths)
    last = 1
    for last, values in enumerate(rows, 2):
        for col, value in enumerate(values, 1):
            cell = _put(ws, last, col, value, formats[col - 1])
            cell.border = _look().underline
            if wrap[col - 1]:
                cell.alignment = WRAP
    return last


def _note(ws: Worksheet, row: int, text: str, first_col: int, last_col: int, font: Font | None = None) -> None:
    """Write *text* across the columns first..last as one wrapped note."""
    cell = _put(ws, row, first_col, text)
    cell.font = font or _look().note_font
    cell.alignment = WRAP
    if last_col > first_col:
        ws.merge_cells(start_row=row, start_column=first_col, end_row=row, end_column=last_col)


def _fit_rows(ws: Worksheet) -> None:
    """Size every row holding wrapped text to show all of it.

    Neither Excel nor LibreOffice reliably grows rows of a generated file to fit wrapped text
    (merged cells never), so the height is estimated from the text and the column widths.
    """
    merged = {
        (rng.min_row, rng.min_col): range(rng.min_col, rng.max_col + 1) for rng in ws.merged_cells.ranges
    }
    for row in ws.iter_rows():
        lines = 1
        for cell in row:
            if not (isinstance(cell.value, str) and cell.alignment.wrap_text):
                continue
            cols = merged.get((cell.row, cell.column), range(cell.column, cell.column + 1))
            width = sum(ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in cols)
            size = float(cell.font.sz or SIZE)
            lines = max(lines, _lines(cell.value, width, bold=bool(cell.font.b), size=size))
        if lines > 1:
            ws.row_dimensions[row[0].row].height = lines * _line_points() + 2 * ROW_PADDING


def _line_points() -> float:
    """Height of one line of body text: LINE_POINTS at 10 pt, in proportion for other sizes."""
    return LINE_POINTS * _look().size / 10


def _lines(text: str, width: float, bold: bool = False, size: float = SIZE) -> int:
    """Count the lines *text* wraps to in a cell *width* characters wide, wrapping word by word.

    Words are measured with Helvetica's metrics, which Arial and Liberation Sans share. A
    column-width unit comes out at 5.5 pt of text width in LibreOffice (measured on its PDF
    export; Excel's 7 px digit makes it about 5.3 pt), less the cell's padding.
    """
    font = "Helvetica-Bold" if bold else "Helvetica"
    usable = max(width * 5.5 - 6, size)
    space = stringWidth(" ", font, size)
    count = 0
    for part in text.split("\n"):
        count += 1
        used = 0.0
        for word in part.split():
            need = stringWidth(word, font, size)
            if used and used + space + need <= usable:
                used += space + need
            elif used:
                count += 1
                used = need
            else:
                used = need
            while used > usable:  # a word wider than the cell breaks across lines
                count += 1
                used -= usable
    return count


# --- sheets ----------------------------------------------------------------------------------


def _summary(ws: Worksheet, job: RenderJob) -> None:
    report, fc, doc = job.report, job.forecast, job.document
    f = report.figures
    _widths(ws, (38, 14, 18, 14, 22))
    title = _put(ws, 1, 1, report.title)
    title.font = _look().title_font
    title.alignment = Alignment(vertical="center")
    ws.row_dimensions[1].height = 28
    logo = _look().theme.logo
    if logo is not None:
        image = SheetImage(str(logo))
        image.width, image.height = round(image.width * LOGO_HEIGHT_PX / image.height), LOGO_HEIGHT_PX
        ws.row_dimensions[1].height = LOGO_HEIGHT_PX * 0.75 + 6
        ws.add_image(image, "E1")
    ws.freeze_panes = "A2"

    facts: list[tuple[str, object, str | None]] = [
        ("Market", report.market, None),
        ("Geography", report.geography, None),
        ("As of", report.as_of, DATE_FORMAT),
        ("Publisher", report.publisher.name, None),
        ("Source", report.source.title, None),
        # Plain text on purpose: the workbook carries no live links.
        ("Source URL", str(report.source.url), None),
    ]
    if report.source.sample_url:
        facts.append(("Sample report URL", str(report.source.sample_url), None))
    row = 2
    for row, (label, value, number_format) in enumerate(facts, 3):
        _put(ws, row, 1, label).font = _look().label_font
        _put(ws, row, 2, value, number_format).alignment = LEFT

    row += 2
    _header(ws, row, ("Figure", "Value", "Unit", "Period/Year", "Basis"), numeric=(2,))
    reported, derived = Basis.reported.label, Basis.derived.label
    figures = (
        (
            "Market size, base year",
            f.base.size.amount,
            MONEY_FORMAT,
            _unit(f.base.size),
            f.base.year,
            reported,
        ),
        (
            "Market size, projection",
            f.projection.size.amount,
            MONEY_FORMAT,
            _unit(f.projection.size),
            f.projection.year,
            reported,
        ),
        (
            "CAGR (stated)",
            f.cagr.percent / 100,
            _stated_rate_format(f.cagr.percent),
            PERCENT_UNIT,
            f"{f.cagr.start_year}–{f.cagr.end_year}",
            reported,
        ),
        (
            "CAGR (implied by reported sizes)",
            fc.implied_cagr,
            DERIVED_RATE_FORMAT,
            PERCENT_UNIT,
            f"{f.base.year}–{f.projection.year}",
            derived,
        ),
    )
    for label, value, number_format, unit, period, basis in figures:
        row += 1
        _put(ws, row, 1, label)
        _put(ws, row, 2, value, number_format)
        _put(ws, row, 3, unit)
        _put(ws, row, 4, period, YEAR_FORMAT if isinstance(period, int) else None)
        _put(ws, row, 5, basis)
        if basis == derived:
            for col in (1, 2, 5):
                ws.cell(row=row, column=col).font = _look().derived_font
        for col in range(1, 6):
            ws.cell(row=row, column=col).border = _look().underline

    note = _section_note(doc, "source")
    if note:
        _note(ws, row + 2, note, 1, 5)


def _forecast(ws: Worksheet, job: RenderJob) -> None:
    fc, doc = job.forecast, job.document
    last = _table(
        ws,
        ("Year", f"Market size ({fc.unit})", "Basis"),
        ((p.year, p.value, p.basis.label) for p in fc.points),
        widths=(10, 26, 22),
        formats=(YEAR_FORMAT, MONEY_FORMAT, None),
    )
    for row, point in enumerate(fc.points, 2):
        if point.basis is Basis.derived:
            for col in (2, 3):
                ws.cell(row=row, column=col).font = _look().derived_font
    chart_block = _chart_block(doc)
    # A narrow gutter, then the chart beside the table, large enough to fill a landscape page
    # once the sheet is scaled to one page wide.
    ws.column_dimensions["D"].width = 3
    ws.add_chart(_bar_chart(ws, fc, chart_block, last), "E2")
    note = _section_note(doc, "forecast")
    if note:
        _note(ws, last + 2, note, 1, 3)


def _bar_chart(ws: Worksheet, fc: Forecast, block: Chart | None, last_row: int) -> BarChart:
    """Build a column chart bound to the Forecast cells, reported bars dark and derived light."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.gapWidth = 60
    chart.width, chart.height = CHART_SIZE_CM
    values = Reference(ws, min_col=2, min_row=1, max_row=last_row)
    years = Reference(ws, min_col=1, min_row=2, max_row=last_row)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(years)
    chart.legend = None  # one series: the subtitle tells reported from derived instead
    title = block.title if block else ws.cell(row=1, column=2).value
    legend = f"Dark: {Basis.reported.label}  ·  Light: {Basis.derived.label}"
    chart.title = _rich_title((title, 1300, True), (legend, 1000, False))
    chart.x_axis.title = _rich_title((block.x_label if block else "Year", 1000, True))
    chart.y_axis.title = _rich_title((block.y_label if block else ws.cell(row=1, column=2).value, 1000, True))
    chart.x_axis.axPos = "b"
    chart.x_axis.txPr = _text_props(900)
    chart.y_axis.txPr = _text_props(900)
    # openpyxl 3.1 writes delete="1" on axes unless told otherwise, hiding them in Excel.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.scaling.min = 0
    chart.y_axis.majorGridlines = None  # the bars carry their values; gridlines would cross the labels
    chart.y_axis.number_format = "#,##0.0"

    series = chart.series[0]
    series.graphicalProperties.solidFill = _look().secondary
    series.graphicalProperties.line.solidFill = _look().secondary
    for idx, point in enumerate(fc.points):
        if point.basis is Basis.reported:
            dp = DataPoint(idx=idx)
            dp.graphicalProperties.solidFill = _look().accent
            dp.graphicalProperties.line.solidFill = _look().accent
            series.dPt.append(dp)
    series.dLbls = DataLabelList(
        numFmt=MONEY_FORMAT,
        showVal=True,
        showLegendKey=False,
        showCatName=False,
        showSerName=False,
        showPercent=False,
        showBubbleSize=False,
    )
    series.dLbls.position = "outEnd"
    series.dLbls.txPr = _text_props(800)
    return chart


def _char_props(size: int, bold: bool = False) -> CharacterProperties:
    """Return chart text properties in the body font; *size* is in 1/100 pt."""
    look = _look()
    colour = look.ink if bold else look.muted
    return CharacterProperties(latin=TypeFace(typeface=look.font), sz=size, b=bold, solidFill=colour)


def _text_props(size: int) -> RichText:
    """Return the text properties for chart labels (ticks, data labels) in the body font."""
    props = _char_props(size)
    return RichText(p=[DrawingParagraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def _rich_title(*lines: tuple[str, int, bool]) -> Title:
    """Build a chart or axis title of one or more lines, each (text, size in 1/100 pt, bold)."""
    paragraphs = []
    for text, size, bold in lines:
        props = _char_props(size, bold)
        paragraphs.append(
            DrawingParagraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
        )
    return Title(tx=Text(rich=RichText(p=paragraphs)), overlay=False)


def _assumptions(ws: Worksheet, fc: Forecast) -> None:
    """Lay out editable inputs and a series computed from them by live formulas."""
    _header(ws, 1, ("Input", "Value", "Unit", "Basis"), numeric=(2,))
    ws.freeze_panes = "A2"
    _widths(ws, (54, 26, 30, 22))
    start, end = fc.stated_period
    inputs = (
        ("Base year", fc.base.year, YEAR_FORMAT, "year", Basis.reported.label, True),
        (
            f"Base value (market size {fc.base.year})",
            fc.base.value,
            MONEY_FORMAT,
            fc.unit,
            Basis.reported.label,
            True,
        ),
        (
            "Growth rate used (implied by reported sizes; derived)",
            fc.implied_cagr,
            DERIVED_RATE_FORMAT,
            PERCENT_UNIT,
            Basis.derived.label,
            True,
        ),
        (
            f"Stated CAGR {start}–{end} (reference; not used in the series)",
            fc.stated_cagr,
            _stated_rate_format(fc.stated_cagr * 100),
            PERCENT_UNIT,
            Basis.reported.label,
            False,
        ),
    )
    for row, (label, value, number_format, unit, basis, editable) in enumerate(inputs, 2):
        _put(ws, row, 1, label)
        cell = _put(ws, row, 2, value, number_format)
        cell.alignment = NUMBER  # the base year too: all inputs line up as figures
        cell.border = _look().box
        if editable:
            cell.font = _look().input_font
            cell.fill = INPUT_FILL
        else:
            cell.font = _look().note_font
        _put(ws, row, 3, unit)
        _put(ws, row, 4, basis)
    year_ref, value_ref, rate_ref = "$B$2", "$B$3", "$B$4"

    _note(
        ws,
        7,
        "Yellow cells are inputs: edit the base year, base value or growth rate and the series below "
        f"recomputes. The {FORECAST} sheet keeps the published values (reported and derived) unchanged.",
        1,
        4,
        font=_look().explain_font,
    )
    _header(ws, 9, ("Year", f"Market size ({fc.unit})", "Basis"), numeric=(2,))
    for row, point in enumerate(fc.points, 10):
        _put(ws, row, 1, point.year, YEAR_FORMAT).border = _look().underline
        cell = ws.cell(row=row, column=2)
        _formula(cell, f"={value_ref}*(1+{rate_ref})^(A{row}-{year_ref})")
        cell.number_format = MONEY_FORMAT
        cell.font = _look().body_font
        cell.alignment = NUMBER
        cell.border = _look().underline
        _put(ws, row, 3, SCENARIO_BASIS).border = _look().underline


def _segments(ws: Worksheet, report: Report) -> None:
    rows = (
        (
            seg.dimension,
            segment.name,
            segment.title or "",
            "\n\n".join(segment.paragraphs),
            "\n".join(segment.conditions),
            "\n".join(segment.drugs),
        )
        for seg in report.segmentations
        for segment in seg.segments
    )
    _table(
        ws,
        ("Segmentation", "Segment", "Title", "Text", "Conditions", "Drugs"),
        rows,
        widths=(16, 18, 24, 100, 26, 22),
        wrap=(True, True, True, True, True, True),
    )


def _trends(ws: Worksheet, doc: Document) -> None:
    rows = []
    for key in ("trends", "opportunities"):
        section = _section(doc, key)
        if section is None:
            continue
        paragraphs = [b.text for b in section.blocks if isinstance(b, Paragraph)]
        rows += [(section.title, n, text) for n, text in enumerate(paragraphs, 1)]
    _table(ws, ("Section", "#", "Text"), rows, widths=(28, 5, 110), wrap=(True, False, True))


def _faq(ws: Worksheet, doc: Document) -> None:
    section = _section(doc, "faqs")
    entries = [b for b in section.blocks if isinstance(b, QA)] if section else []
    _table(
        ws,
        ("#", "Question", "Answer"),
        ((qa.number, qa.question, qa.answer) for qa in entries),
        widths=(5, 50, 100),
        wrap=(False, True, True),
    )


def _companies(ws: Worksheet, report: Report) -> None:
    entries = report.companies.entries if report.companies else []
    rows = ((n, company.name) for n, company in enumerate(entries, 1))
    _table(ws, ("#", "Company"), rows, widths=(5, 48), wrap=(False, True))


def _regions(ws: Worksheet, report: Report) -> None:
    entries = report.regions.entries if report.regions else []
    _table(
        ws,
        ("Region", "Countries"),
        ((r.name, _countries(r)) for r in entries),
        widths=(28, 70),
        wrap=(True, True),
    )


# --- helpers ---------------------------------------------------------------------------------


def _unit(money: Money) -> str:
    return money.currency if money.scale is Scale.unit else f"{money.currency} {money.scale.value}"


def _stated_rate_format(percent: float) -> str:
    """Return a percent format showing every decimal the source states (at least one)."""
    decimals = len(f"{percent:g}".partition(".")[2]) if "e" not in f"{percent:g}" else 2
    return "0." + "0" * max(1, min(decimals, 4)) + "%"


def _countries(region) -> str:
    countries = ", ".join(region.countries)
    if countries and region.more_countries:
        countries += " and others"
    return countries


def _section(doc: Document, key: str) -> Section | None:
    return next((s for s in doc.sections if s.key == key), None)


def _section_note(doc: Document, key: str) -> str | None:
    section = _section(doc, key)
    if section is None:
        return None
    return next((b.text for b in section.blocks if isinstance(b, Paragraph) and b.role == "note"), None)


def _chart_block(doc: Document) -> Chart | None:
    section = _section(doc, "forecast")
    if section is None:
        return None
    return next((b for b in section.blocks if isinstance(b, Chart)), None)


def _page_setup(ws: Worksheet, theme: Theme) -> None:
    """Print each sheet landscape, one page wide, repeating its header row."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_LETTER if theme.page_size == "Letter" else ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.right.size = 8


def _properties(wb: Workbook, doc: Document) -> None:
    meta = doc.meta
    when = utc_naive(meta.created)
    props = wb.properties
    props.title = meta.title
    props.subject = meta.subject
    props.creator = meta.author
    props.lastModifiedBy = meta.author
    props.keywords = ", ".join(meta.keywords)
    props.description = doc.subtitle
    props.language = LANGUAGE
    props.created = props.modified = props.lastPrinted = when


def _save(wb: Workbook, when: dt.datetime) -> bytes:
    """Serialise *wb* reproducibly: fixed zip entry dates and order, no `modified = now`."""
    raw = io.BytesIO()
    # ExcelWriter rather than wb.save(): save() overwrites `modified` with the clock.
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    return reproducible_zip(raw.getvalue(), when)
