"""Native Office charts: the one module that owns DrawingML chart XML.

A `Chart` block becomes an openpyxl chart object whose series point at the cells holding its
data (`data_table`, laid out at `ChartCells`) *and* carry a copy of the values (the caches), so
that readers that never calculate a workbook (phone previews, Word and LibreOffice opening a
DOCX) still draw every bar. The workbook adds that object to a sheet; the DOCX gets the same
object's `c:chartSpace` XML (`chart_space_xml`) as a chart part of its own
(`docxchart.add_docx_chart`), bound to a sheet "Sheet1" of a small embedded workbook
(`data_workbook`) so that Word's "Edit Data" opens the numbers. Nothing else in the code base
writes chart XML. python-docx is not imported here: a workbook build does without it.
"""

from __future__ import annotations

from ..core import openpyxl_lean  # noqa: F401 -- first: openpyxl without NumPy (see there)

# isort: split

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from lxml import etree  # type: ignore[import-untyped]
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, PieChart
from openpyxl.chart.axis import ChartLines
from openpyxl.chart.data_source import AxDataSource, NumData, NumDataSource, NumRef, NumVal, StrData, StrRef, StrVal
from openpyxl.chart.label import DataLabel, DataLabelList
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.chart.legend import Legend
from openpyxl.chart.marker import DataPoint, Marker
from openpyxl.chart.series import Series, SeriesLabel
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.line import LineProperties
from openpyxl.drawing.text import (
    CharacterProperties,
    Font as TypeFace,
    Paragraph as DrawingParagraph,
    ParagraphProperties,
    RegularTextRun,
    RichTextProperties,
)
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.functions import Element

from ..core.document import Chart
from ..core.helvetica import string_width
from ..core.numbers import AUTO_DECIMALS, NumberFormat
from ..core.text import xml_safe
from .chartscale import basis_shown, derived_at, label_format, labels_below, nice_range, value_extent
from .ooxml import Parts, write_package
from .theme import Theme

__all__ = ["ChartCells", "data_table", "excel_format", "build_chart", "chart_space_xml", "data_workbook",
           "CHART_CONTENT_TYPE", "C_NS"]

C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
DOCX_SHEET = "Sheet1"  # the sheet of the workbook embedded with a DOCX chart, as Word names it
DEFAULT_SIZE_CM = (16.0, 9.0)
# The embedded workbook's zip entries and properties carry this date, so that a DOCX built twice
# from the same data is byte-identical (the document's own date is stamped by its renderer).
EMBEDDED_DATE = dt.datetime(2000, 1, 1)

# Text sizes in 1/100 pt, as DrawingML counts them.
TITLE_SIZE = 1300
SUBTITLE_SIZE = 1000
AXIS_TITLE_SIZE = 1000
TICK_SIZE = 900
LEGEND_SIZE = 900
LABEL_SIZE = 800
LINE_WIDTH = 28575  # EMU: 2.25 pt, Excel's default line series
MARKER_SIZE = 6  # points
GRID_WIDTH = 6350  # EMU: 0.5 pt
BAR_GAP = 60  # percent of a bar's width between categories (Excel's default 150 looks sparse)
POINTS_PER_CM = 72 / 2.54
LINE_SPACING = 1.25  # a line of chart text takes its size times this
PAD = 6  # points around the parts of a chart (title, axis labels, legend)
HBAR_NAMES_SHARE = 0.3  # of the chart's width: category names of a bar chart wider than this ...
HBAR_NAMES_MAX = 0.4  # ... get this much, with the plot placed by hand


# --- the data behind the chart -----------------------------------------------------------------


def data_table(chart: Chart) -> tuple[tuple[str, ...], list[tuple]]:
    """Return the header and rows of the data behind *chart*, as a worksheet shows it.

    One row per category: the category, each series' value (None where there is none) and, when
    the chart has one series with derived points, the basis of the point ("Reported",
    "Derived (estimate)").
    """
    basis = chart.has_derived and len(chart.series) == 1
    header = (xml_safe(chart.x_label) or "Category", *(xml_safe(s.name) for s in chart.series))
    if basis:
        header += ("Basis",)
    rows = []
    for i, category in enumerate(chart.categories):
        row: tuple = (_category(category), *(_value(s.values, i) for s in chart.series))
        if basis:
            row += (chart.basis_labels[1] if derived_at(chart.series[0], i) else chart.basis_labels[0],)
        rows.append(row)
    return header, rows


@dataclass(frozen=True)
class ChartCells:
    """Where a chart's `data_table` sits on a sheet: its header row and category column (1-based).

    The series' columns follow the category column, one per series, in order.
    """

    sheet: str
    first_row: int = 1
    first_col: int = 1

    def ref(self, col: int, first: int, last: int | None = None) -> str:
        """Return the absolute reference of rows *first*..*last* of the table's column *col* (0 = categories)."""
        letter = get_column_letter(self.first_col + col)
        cell = f"${letter}${self.first_row + first}"
        if last is not None and last != first:
            cell += f":${letter}${self.first_row + last}"
        return f"{quote_sheetname(self.sheet)}!{cell}"


# --- number formats ----------------------------------------------------------------------------


def excel_format(fmt: NumberFormat, values: Iterable[float | None] = ()) -> str:
    """Return the spreadsheet number format that shows a value as *fmt* does.

    A format with automatic decimals takes the decimals *values* need (see
    `chartscale.label_format`): ``#,##0`` when all are whole, else up to ``#,##0.00``. Without
    *values* it takes AUTO_DECIMALS (``#,##0.00``): a cell format must not hide decimals of a
    value it was not shown.
    """
    values = list(values)
    if fmt.decimals is None and not values:
        fmt = replace(fmt, decimals=AUTO_DECIMALS)
    fmt = label_format(fmt, values)
    number = ("#,##0" if fmt.thousands and not fmt.percent else "0") + ("." + "0" * fmt.decimals if fmt.decimals else "")
    if fmt.percent:
        number += "%"  # the spreadsheet multiplies by 100, as NumberFormat.text does
    unit = _literal(f" {fmt.unit}") if fmt.unit else ""
    if not fmt.currency:
        return number + unit
    # The code goes before the sign, as NumberFormat.text writes it ("EUR -2.0"); a format of
    # one section would put Excel's minus in front of the code.
    currency = _literal(f"{fmt.currency} ")
    return f"{currency}{number}{unit};{currency}-{number}{unit}"


def _axis_format(fmt: NumberFormat, step: float) -> str:
    """The value axis' tick format: *fmt* without currency and unit, which the axis title says
    (repeated at every tick they crowd the axis), with the decimals *step* needs."""
    plain = NumberFormat(decimals=None, percent=fmt.percent, thousands=fmt.thousands)
    return excel_format(plain, [step])


def _literal(text: str) -> str:
    """Quote *text* as literal text in a number format (a double quote inside becomes \\")."""
    return '\\"'.join(f'"{part}"' if part else "" for part in text.split('"'))


# --- the openpyxl chart ------------------------------------------------------------------------


class _Finished:
    """What openpyxl's `ChartBase._write` leaves out, added to the chartSpace tree it builds.

    Without ``autoTitleDeleted`` Excel and LibreOffice title a one-series chart that has no
    title with the series' name. openpyxl writes a data label's number format without
    ``sourceLinked``, which LibreOffice then takes as linked: it shows the cells' format (all
    the decimals of 3.7281041629) instead of the label's.
    """

    def _write(self):
        tree = super()._write()
        if self.title is None:
            tree.find("chart").insert(0, Element("autoTitleDeleted", val="1"))  # its place: after the title
        for labels in (*tree.iter("dLbls"), *tree.iter("dLbl")):
            number_format = labels.find("numFmt")
            if number_format is not None:
                number_format.set("sourceLinked", "0")
        return tree


# openpyxl's serialisable classes list what they write in class attributes that a subclass
# would otherwise get empty (its metaclass builds them from the class body alone).
class _BarChart(_Finished, BarChart):
    tagname = BarChart.tagname
    __attrs__, __nested__, __elements__ = BarChart.__attrs__, BarChart.__nested__, BarChart.__elements__


class _LineChart(_Finished, LineChart):
    tagname = LineChart.tagname
    __attrs__, __nested__, __elements__ = LineChart.__attrs__, LineChart.__nested__, LineChart.__elements__


class _PieChart(_Finished, PieChart):
    tagname = PieChart.tagname
    __attrs__, __nested__, __elements__ = PieChart.__attrs__, PieChart.__nested__, PieChart.__elements__


def build_chart(
    chart: Chart,
    theme: Theme,
    cells: ChartCells,
    *,
    width_cm: float = DEFAULT_SIZE_CM[0],
    height_cm: float = DEFAULT_SIZE_CM[1],
    title: bool = True,
) -> BarChart | LineChart | PieChart:
    """Return an openpyxl chart of *chart* bound to its `data_table` at *cells*, values cached.

    *title* False leaves the chart's title to a caption outside it (a DOCX figure caption); the
    line telling reported from derived points stays.
    """
    return _build(chart, theme, cells, width_cm, height_cm, title=title, frame=True)


def _build(chart: Chart, theme: Theme, cells: ChartCells, width_cm: float, height_cm: float, *,
           title: bool, frame: bool) -> BarChart | LineChart | PieChart:
    if not chart.series or not chart.categories:
        raise ValueError(f"chart {chart.title!r} has no categories or no series")
    look = _Look(theme)
    kind = chart.kind
    made: BarChart | LineChart | PieChart
    if kind == "pie":
        made = _PieChart(varyColors=True)
        made.firstSliceAng = 0
    elif kind == "line":
        made = _LineChart(marker=True)
        made.grouping = "standard"
    else:
        made = _BarChart()
        made.type = "bar" if kind == "hbar" else "col"
        made.grouping = "stacked" if kind == "stacked" else "clustered"
        made.gapWidth = BAR_GAP
        if kind == "stacked":
            made.overlap = 100  # the segments of a category on top of each other, not side by side
    made.width, made.height = width_cm, height_cm
    made.roundedCorners = False  # absent, Word and Excel draw the chart's frame with rounded corners
    # A white ground (over a sheet's gridlines) with a thin frame in a workbook; none in a document.
    made.graphical_properties = GraphicalProperties(
        solidFill="FFFFFF",
        ln=LineProperties(solidFill=look.rule, w=GRID_WIDTH) if frame else LineProperties(noFill=True),
    )

    drawn = chart.series[:1] if kind == "pie" else chart.series  # a pie shows one series
    labels = excel_format(chart.format, (v for s in drawn for v in s.values))
    for i, series in enumerate(drawn):
        made.series.append(_series(chart, i, series, cells, look, labels))

    made.title = _title(chart, look, title)
    made.legend = (
        Legend(legendPos="b", overlay=False, txPr=look.text(LEGEND_SIZE)) if kind == "pie" or len(drawn) > 1 else None
    )
    if kind != "pie":
        _axes(made, chart, look)
    if kind == "hbar":
        made.layout = _hbar_layout(chart, width_cm, height_cm, made)
    return made


def _hbar_layout(chart: Chart, width_cm: float, height_cm: float, made: BarChart) -> Layout | None:
    """Place the plot of a bar chart with long category names, or None to leave it to the reader.

    LibreOffice neither wraps nor cuts the names left of horizontal bars: it narrows the plot
    until they fit, down to a sliver. Past `HBAR_NAMES_SHARE` of the width the plot is placed
    by hand, leaving the names at most `HBAR_NAMES_MAX` of it (Excel wraps them within that).
    Sizes are estimated with Helvetica's metrics, which Arial and Liberation Sans share.
    """
    width, height = width_cm * POINTS_PER_CM, height_cm * POINTS_PER_CM
    tick = TICK_SIZE / 100
    names = max((string_width(str(c), "Helvetica", tick) for c in chart.categories), default=0)
    if names <= HBAR_NAMES_SHARE * width:
        return None
    axis_title = AXIS_TITLE_SIZE / 100 * LINE_SPACING
    left = PAD + (axis_title + PAD if chart.x_label else 0) + min(names, HBAR_NAMES_MAX * width) + PAD
    title = sum(size / 100 * LINE_SPACING for size in _title_sizes(made))
    top = PAD + title + (PAD if title else 0)
    bottom = PAD + tick * LINE_SPACING + PAD + (axis_title + PAD if chart.y_label else 0)
    if made.legend is not None:
        bottom += LEGEND_SIZE / 100 * LINE_SPACING + PAD
    right = 2 * PAD
    return Layout(manualLayout=ManualLayout(
        layoutTarget="inner", xMode="edge", yMode="edge",
        x=left / width, y=top / height, w=1 - (left + right) / width, h=1 - (top + bottom) / height,
    ))


def _title_sizes(made) -> list[int]:
    """The text sizes (1/100 pt) of the chart title's lines."""
    if made.title is None:
        return []
    return [p.pPr.defRPr.sz for p in made.title.tx.rich.p]


def _series(chart: Chart, i: int, series, cells: ChartCells, look: _Look, label_code: str) -> Series:
    n = len(chart.categories)
    col = 1 + i
    values = [_value(series.values, k) for k in range(n)]
    made = Series(
        idx=i,
        order=i,
        tx=SeriesLabel(strRef=StrRef(
            f=cells.ref(col, 0), strCache=StrData(ptCount=1, pt=[StrVal(idx=0, v=xml_safe(series.name))])
        )),
        cat=_categories(chart, cells),
        val=NumDataSource(numRef=NumRef(
            f=cells.ref(col, 1, n),
            numCache=NumData(
                formatCode=label_code,
                ptCount=n,
                # A missing value has no point at all: a gap, not a zero bar.
                pt=[NumVal(idx=k, v=v) for k, v in enumerate(values) if v is not None],
            ),
        )),
    )
    colour = look.series(i)
    kind = chart.kind
    if kind == "line":
        made.smooth = False  # openpyxl leaves it unset and some readers then smooth the line
        made.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill=colour, w=LINE_WIDTH))
        made.marker = _marker(colour)
    elif kind == "pie":
        made.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill="FFFFFF", w=GRID_WIDTH))
        for k in range(n):  # the slices told apart by the series colours, in category order
            point = DataPoint(idx=k)
            point.graphicalProperties = GraphicalProperties(
                solidFill=look.series(k), ln=LineProperties(solidFill="FFFFFF", w=GRID_WIDTH)
            )
            made.dPt.append(point)
    else:
        made.graphicalProperties = GraphicalProperties(solidFill=colour, ln=LineProperties(solidFill=colour))
        made.invertIfNegative = False  # else Excel draws negative bars white
    if basis_shown(chart):
        for k in range(n):
            if not derived_at(series, k):
                continue
            point = DataPoint(idx=k)
            if kind == "line":
                point.marker = _marker(look.secondary)
                # Excel colours a point's marker from its marker properties, LibreOffice from the
                # point's line, which in Excel is the segment leading to the point: drawn lighter
                # too, the line fades where the estimates begin.
                point.graphicalProperties = GraphicalProperties(
                    solidFill=look.secondary, ln=LineProperties(solidFill=look.secondary, w=LINE_WIDTH)
                )
            else:
                point.graphicalProperties = GraphicalProperties(
                    solidFill=look.secondary, ln=LineProperties(solidFill=look.secondary)
                )
                point.invertIfNegative = False
            made.dPt.append(point)
    if chart.value_labels:
        made.dLbls = _data_labels(kind, look, label_code)
        below = labels_below(chart)
        for k in range(n):
            if (i, k) in below:  # under the point: another line's label is above it
                point_label = DataLabel(idx=k, **_label_settings(look, label_code, "b", None))
                made.dLbls.dLbl.append(point_label)
    return made


def _categories(chart: Chart, cells: ChartCells) -> AxDataSource:
    n = len(chart.categories)
    f = cells.ref(0, 1, n)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in chart.categories):
        # Years stay numbers, as in the cells; "0" keeps 2024 from showing as 2,024.
        points = [NumVal(idx=k, v=c) for k, c in enumerate(chart.categories)]
        return AxDataSource(numRef=NumRef(f=f, numCache=NumData(formatCode="0", ptCount=n, pt=points)))
    points = [StrVal(idx=k, v=xml_safe(str(c))) for k, c in enumerate(chart.categories)]
    return AxDataSource(strRef=StrRef(f=f, strCache=StrData(ptCount=n, pt=points)))


def _marker(colour: str) -> Marker:
    return Marker(
        symbol="circle",
        size=MARKER_SIZE,
        spPr=GraphicalProperties(solidFill=colour, ln=LineProperties(solidFill=colour)),
    )


def _data_labels(kind: str, look: _Look, code: str) -> DataLabelList:
    # Stacked segments carry their value inside (Excel refuses "outEnd" there: the file would
    # need repair), in white on the segment's colour; elsewhere labels sit outside the bar or
    # slice, in grey on white (inside a dark slice grey would not read).
    position = {"stacked": "ctr", "line": "t"}.get(kind, "outEnd")
    return DataLabelList(**_label_settings(look, code, position, "FFFFFF" if kind == "stacked" else None))


def _label_settings(look: _Look, code: str, position: str, colour: str | None) -> dict:
    """The settings of value labels (of a series, or of one point): the value alone, formatted."""
    return dict(
        numFmt=code,
        showVal=True,
        showLegendKey=False,
        showCatName=False,
        showSerName=False,
        showPercent=False,
        showBubbleSize=False,
        dLblPos=position,
        txPr=look.text(LABEL_SIZE, colour=colour),
    )


def _title(chart: Chart, look: _Look, with_title: bool) -> Title | None:
    lines = []
    if with_title and chart.title:
        lines.append((xml_safe(chart.title), TITLE_SIZE, True))
    if basis_shown(chart):
        # One series cannot have two legend entries, so the title says which colour is which.
        reported, derived = chart.basis_labels
        lines.append((f"Dark: {xml_safe(reported)}  ·  Light: {xml_safe(derived)}", SUBTITLE_SIZE, False))
    return look.title(*lines) if lines else None


def _axes(made: BarChart | LineChart, chart: Chart, look: _Look) -> None:
    categories, values = made.x_axis, made.y_axis
    # openpyxl 3.1 writes delete="1" on axes unless told otherwise, hiding them in Excel.
    categories.delete = values.delete = False
    if chart.kind == "hbar":
        # Bars read top-down in category order: the category axis runs from the top, and the value
        # axis, which would follow it to the top, is kept at the bottom by crossing at the maximum.
        categories.axPos, values.axPos = "l", "b"
        categories.scaling.orientation = "maxMin"
        values.crosses = "max"
    else:
        categories.axPos, values.axPos = "b", "l"
    if chart.x_label:
        categories.title = look.title((xml_safe(chart.x_label), AXIS_TITLE_SIZE, True))
    if chart.y_label:
        values.title = look.title((xml_safe(chart.y_label), AXIS_TITLE_SIZE, True))
    categories.txPr = look.text(TICK_SIZE, wrap=True)
    values.txPr = look.text(TICK_SIZE)
    categories.majorTickMark = values.majorTickMark = None
    # Labels below the axis line even when values go negative, where the axis line sits mid-plot.
    categories.tickLblPos = "low"
    low, high = value_extent(chart)
    bottom, top, step = nice_range(low, high)
    values.scaling.min, values.scaling.max, values.majorUnit = bottom, top, step
    values.number_format = _axis_format(chart.format, step)
    values.numFmt.sourceLinked = False  # the cells' format would otherwise win
    # Gridlines would cross the value labels; without labels they help read the values off.
    values.majorGridlines = (
        None if chart.value_labels
        else ChartLines(spPr=GraphicalProperties(ln=LineProperties(solidFill=look.rule, w=GRID_WIDTH)))
    )


class _Look:
    """The theme as DrawingML text and colours (hex strings, upper case as Office writes them)."""

    def __init__(self, theme: Theme):
        self.theme = theme
        self.font = theme.office_font
        self.ink = theme.ink.upper()
        self.muted = theme.muted.upper()
        self.rule = theme.rule.upper()
        self.secondary = theme.secondary.upper()

    def series(self, i: int) -> str:
        return self.theme.series_colour(i).upper()

    def chars(self, size: int, bold: bool = False, colour: str | None = None) -> CharacterProperties:
        """Chart text in the office font; *size* in 1/100 pt. Titles in ink, the rest muted."""
        colour = colour or (self.ink if bold else self.muted)
        return CharacterProperties(latin=TypeFace(typeface=self.font), sz=size, b=bold, solidFill=colour)

    def text(self, size: int, colour: str | None = None, *, wrap: bool = False) -> RichText:
        """Text properties for labels (ticks, data labels, legend)."""
        props = self.chars(size, colour=colour)
        body = RichTextProperties(wrap="square") if wrap else None
        # r=[]: else openpyxl adds an empty text run, which is no text property.
        paragraph = DrawingParagraph(pPr=ParagraphProperties(defRPr=props), r=[], endParaRPr=props)
        return RichText(bodyPr=body, p=[paragraph])

    def title(self, *lines: tuple[str, int, bool]) -> Title:
        """A title of one or more lines, each (text, size in 1/100 pt, bold)."""
        paragraphs = []
        for text, size, bold in lines:
            props = self.chars(size, bold)
            paragraphs.append(
                DrawingParagraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
            )
        return Title(tx=Text(rich=RichText(p=paragraphs)), overlay=False)


# --- DOCX --------------------------------------------------------------------------------------


def chart_space_xml(chart: Chart, theme: Theme, *, title: bool = True, workbook_rid: str | None = None) -> bytes:
    """Return the XML of a DOCX chart part (``c:chartSpace``) drawing *chart*.

    The series refer to a sheet "Sheet1" holding `data_table` at A1 and carry their values, which
    is all Word and LibreOffice need to draw it. *workbook_rid* is the chart part's relationship
    to an embedded workbook with that sheet (`data_workbook`), which Word's "Edit Data" opens.
    """
    made = _build(chart, theme, ChartCells(DOCX_SHEET), *DEFAULT_SIZE_CM, title=title, frame=False)
    # openpyxl builds the tree with un-namespaced tags and a literal xmlns attribute; read back
    # from its text it is an ordinary namespaced tree that can be extended.
    space = etree.fromstring(etree.tostring(made._write()))
    if workbook_rid is not None:
        external = etree.SubElement(space, f"{{{C_NS}}}externalData", nsmap={"r": R_NS})
        external.set(f"{{{R_NS}}}id", workbook_rid)
        etree.SubElement(external, f"{{{C_NS}}}autoUpdate", val="0")
        # Its place in the sequence: after chart, spPr and txPr (the last of which openpyxl writes).
        anchor = [child for child in space if etree.QName(child).localname in ("chart", "spPr", "txPr")][-1]
        anchor.addnext(external)
    return etree.tostring(space, xml_declaration=True, encoding="UTF-8", standalone=True)


def data_workbook(chart: Chart) -> bytes:
    """Return a small workbook holding `data_table` at Sheet1!A1: the data Word's "Edit Data" opens.

    Its bytes depend on *chart* only (fixed dates), so a document embedding it is reproducible.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = DOCX_SHEET
    header, rows = data_table(chart)
    code = excel_format(chart.format, (v for s in chart.series for v in s.values))  # as the labels show them
    for col, text in enumerate(header, 1):
        _text_cell(sheet.cell(row=1, column=col), text)
    for r, row in enumerate(rows, 2):
        for col, value in enumerate(row, 1):
            cell = sheet.cell(row=r, column=col)
            if isinstance(value, str):
                _text_cell(cell, value)
            elif value is not None:
                cell.value = value
                if 2 <= col < 2 + len(chart.series):
                    cell.number_format = code
    for col, values in enumerate(zip(header, *rows), 1):
        width = max(len(str(v)) for v in values if v is not None)
        sheet.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 60)
    props = book.properties
    props.creator = props.lastModifiedBy = ""  # client files do not advertise the tool
    props.created = props.modified = EMBEDDED_DATE
    parts = Parts()
    ExcelWriter(book, parts).save()  # not book.save(), which stamps `modified` with the clock
    return write_package(parts.entries, EMBEDDED_DATE)


def _text_cell(cell, value: str) -> None:
    """Put *value* in *cell* as literal text: openpyxl would make a formula of "=…"."""
    cell.value = value
    cell.data_type = "s"
    cell.quotePrefix = value[:1] in ("=", "+", "-", "@")


# --- values ------------------------------------------------------------------------------------


def _value(values: Sequence[float | None], i: int) -> float | None:
    """The value at *i*, None when missing or not finite (a spreadsheet has no NaN or infinity)."""
    value = values[i] if i < len(values) else None
    return value if value is not None and math.isfinite(value) else None


def _category(category: str | int) -> str | int:
    return xml_safe(category) if isinstance(category, str) else category

