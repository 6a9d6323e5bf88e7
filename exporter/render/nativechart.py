"""Native Office charts: the one module that owns DrawingML chart XML.

A `Chart` block becomes a chart part (`c:chartSpace`) whose series point at the cells holding its
data (`data_table`, laid out at `ChartCells`) *and* carry a copy of the values (the caches), so
that readers that never calculate a workbook (phone previews, Word and LibreOffice opening a
DOCX) still draw every bar. The workbook adds it to a sheet as a chart openpyxl's writer places
(`build_chart`); the DOCX gets the same XML (`chart_space_xml`) as a chart part of its own
(`docxchart.add_docx_chart`), bound to a sheet "Sheet1" of a small embedded workbook
(`data_workbook`) so that Word's "Edit Data" opens the numbers. Nothing else in the code base
writes chart XML. python-docx is not imported here: a workbook build does without it.
"""

from __future__ import annotations

from ..core import openpyxl_lean  # noqa: F401 -- first: openpyxl without NumPy and Pillow (see there)

# isort: split

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from lxml.etree import fromstring  # type: ignore[import-untyped]
from openpyxl import Workbook
from openpyxl.chart._chart import ChartBase
from openpyxl.utils import get_column_letter, quote_sheetname

from ..core.document import Chart
from ..core.helvetica import string_width
from ..core.numbers import AUTO_DECIMALS, NumberFormat
from ..core.text import xml_attribute, xml_safe, xml_text
from .chartscale import basis_shown, derived_at, label_format, labels_below, nice_range, value_extent
from .ooxml import Parts, write_package
from .sheetwriter import SheetsInMemory
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


# --- the chart part's XML ----------------------------------------------------------------------
#
# Written as text, element by element in the order and form openpyxl's chart objects serialised
# them (tests/test_chart_xml.py holds that output and compares): the default namespace on the
# chartSpace, DrawingML elements declaring their "a" prefix each, numbers as "%.16g", text escaped
# as lxml escapes it. Building the chart as openpyxl objects, then serialising them, was a third
# of a workbook's render (2.5 ms a chart).

A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_A = f' xmlns:a="{A_NS}"'


class NativeChart(ChartBase):
    """A chart whose part is written already: what openpyxl's workbook writer reads of a chart.

    The writer anchors it on its sheet (`anchor`, `width` and `height` in cm), names its part
    (`path`, from the `_id` it gives) and writes `_write()`'s tree there. None of ChartBase's own
    parts (series, axes, legend) is made: the XML has them.
    """

    def __init__(self, xml: str, width_cm: float, height_cm: float):  # not ChartBase's: nothing of it is written
        self._xml, self.width, self.height = xml, width_cm, height_cm

    def _write(self):
        return fromstring(self._xml.encode("utf-8"))


def build_chart(
    chart: Chart,
    theme: Theme,
    cells: ChartCells,
    *,
    width_cm: float = DEFAULT_SIZE_CM[0],
    height_cm: float = DEFAULT_SIZE_CM[1],
    title: bool = True,
) -> NativeChart:
    """Return the chart of *chart*, bound to its `data_table` at *cells* with the values cached, for a sheet.

    *title* False leaves the chart's title to a caption outside it (a DOCX figure caption); the
    line telling reported from derived points stays.
    """
    return NativeChart(_chart_space(chart, theme, cells, width_cm, height_cm, title=title, frame=True),
                       width_cm, height_cm)


def _chart_space(chart: Chart, theme: Theme, cells: ChartCells, width_cm: float, height_cm: float, *,
                 title: bool, frame: bool) -> str:
    """The chart part's `c:chartSpace` element."""
    if not chart.series or not chart.categories:
        raise ValueError(f"chart {chart.title!r} has no categories or no series")
    look = _Look(theme)
    kind = chart.kind
    drawn = chart.series[:1] if kind == "pie" else chart.series  # a pie shows one series
    labels = excel_format(chart.format, (v for s in drawn for v in s.values))
    series = "".join(_series(chart, i, s, cells, look, labels) for i, s in enumerate(drawn))
    if kind == "pie":
        plot = f'<pieChart><varyColors val="1"/>{series}<firstSliceAng val="0"/></pieChart>'
    elif kind == "line":
        plot = f'<lineChart><grouping val="standard"/>{series}<marker val="1"/>{_AXIS_IDS}</lineChart>'
    else:
        direction = "bar" if kind == "hbar" else "col"
        grouping = "stacked" if kind == "stacked" else "clustered"
        # Stacked: the segments of a category on top of each other, not side by side.
        overlap = '<overlap val="100"/>' if kind == "stacked" else ""
        plot = (f'<barChart><barDir val="{direction}"/><grouping val="{grouping}"/>{series}'
                f'<gapWidth val="{BAR_GAP}"/>{overlap}{_AXIS_IDS}</barChart>')
    title_lines = _title_lines(chart, title)
    legend = kind == "pie" or len(drawn) > 1
    layout = _hbar_layout(chart, width_cm, height_cm, title_lines, legend) if kind == "hbar" else ""
    axes = "" if kind == "pie" else _axes(chart, look)
    # Without autoTitleDeleted Excel and LibreOffice title a one-series chart that has no title
    # with the series' name.
    heading = look.title(title_lines) if title_lines else '<autoTitleDeleted val="1"/>'
    key = f'<legend><legendPos val="b"/><overlay val="0"/>{look.text(LEGEND_SIZE)}</legend>' if legend else ""
    # A white ground (over a sheet's gridlines) with a thin frame in a workbook; none in a document.
    ground = _shape(fill="FFFFFF", line=look.rule, width=GRID_WIDTH) if frame else _shape(fill="FFFFFF", no_line=True)
    # roundedCorners: absent, Word and Excel draw the chart's frame with rounded corners.
    return (f'<chartSpace xmlns="{C_NS}"><roundedCorners val="0"/><chart>{heading}<plotArea>{layout}{plot}{axes}'
            f'</plotArea>{key}<plotVisOnly val="1"/><dispBlanksAs val="gap"/></chart>{ground}</chartSpace>')


_AXIS_IDS = '<axId val="10"/><axId val="100"/>'


def _hbar_layout(chart: Chart, width_cm: float, height_cm: float, title_lines: list[tuple[str, int, bool]],
                 legend: bool) -> str:
    """Place the plot of a bar chart with long category names, or "" to leave it to the reader.

    LibreOffice neither wraps nor cuts the names left of horizontal bars: it narrows the plot
    until they fit, down to a sliver. Past `HBAR_NAMES_SHARE` of the width the plot is placed
    by hand, leaving the names at most `HBAR_NAMES_MAX` of it (Excel wraps them within that).
    Sizes are estimated with Helvetica's metrics, which Arial and Liberation Sans share.
    """
    width, height = width_cm * POINTS_PER_CM, height_cm * POINTS_PER_CM
    tick = TICK_SIZE / 100
    names = max((string_width(str(c), "Helvetica", tick) for c in chart.categories), default=0)
    if names <= HBAR_NAMES_SHARE * width:
        return ""
    axis_title = AXIS_TITLE_SIZE / 100 * LINE_SPACING
    left = PAD + (axis_title + PAD if chart.x_label else 0) + min(names, HBAR_NAMES_MAX * width) + PAD
    title = sum(size / 100 * LINE_SPACING for _, size, _ in title_lines)
    top = PAD + title + (PAD if title else 0)
    bottom = PAD + tick * LINE_SPACING + PAD + (axis_title + PAD if chart.y_label else 0)
    if legend:
        bottom += LEGEND_SIZE / 100 * LINE_SPACING + PAD
    right = 2 * PAD
    place = (left / width, top / height, 1 - (left + right) / width, 1 - (top + bottom) / height)
    return ('<layout><manualLayout><layoutTarget val="inner"/><xMode val="edge"/><yMode val="edge"/>'
            '<wMode val="factor"/><hMode val="factor"/>'
            + "".join(f'<{name} val="{_number(value)}"/>' for name, value in zip("xywh", place))
            + "</manualLayout></layout>")


def _series(chart: Chart, i: int, series, cells: ChartCells, look: _Look, label_code: str) -> str:
    n = len(chart.categories)
    col = 1 + i
    name = xml_text(xml_safe(series.name))
    points = "".join(f'<pt idx="{k}"><v>{_number(v)}</v></pt>'
                     for k in range(n) if (v := _value(series.values, k)) is not None)  # a gap, not a zero bar
    colour = look.series(i)
    kind = chart.kind
    if kind == "line":
        # smooth: openpyxl left it unset and some readers then smooth the line.
        shape, after = _shape(line=colour, width=LINE_WIDTH) + _marker(colour), '<smooth val="0"/>'
    elif kind == "pie":
        shape, after = _shape(line="FFFFFF", width=GRID_WIDTH), ""
    else:
        # invertIfNegative: else Excel draws negative bars white.
        shape, after = _shape(fill=colour, line=colour) + '<invertIfNegative val="0"/>', ""
    dots = []
    if kind == "pie":  # the slices told apart by the series colours, in category order
        dots += [f'<dPt><idx val="{k}"/>{_shape(fill=look.series(k), line="FFFFFF", width=GRID_WIDTH)}</dPt>'
                 for k in range(n)]
    if basis_shown(chart):
        for k in range(n):
            if not derived_at(series, k):
                continue
            if kind == "line":
                # Excel colours a point's marker from its marker properties, LibreOffice from the
                # point's line, which in Excel is the segment leading to the point: drawn lighter
                # too, the line fades where the estimates begin.
                dots.append(f'<dPt><idx val="{k}"/>{_marker(look.secondary)}'
                            f'{_shape(fill=look.secondary, line=look.secondary, width=LINE_WIDTH)}</dPt>')
            else:
                dots.append(f'<dPt><idx val="{k}"/><invertIfNegative val="0"/>'
                            f'{_shape(fill=look.secondary, line=look.secondary)}</dPt>')
    labels = ""
    if chart.value_labels:
        below = labels_below(chart)
        # Under the point where another line's label is above it.
        one_by_one = "".join(f"<dLbl><idx val=\"{k}\"/>{_label_settings(look, label_code, 'b', None)}</dLbl>"
                             for k in range(n) if (i, k) in below)
        labels = f"<dLbls>{one_by_one}{_data_labels(kind, look, label_code)}</dLbls>"
    return (f'<ser><idx val="{i}"/><order val="{i}"/><tx><strRef><f>{xml_text(cells.ref(col, 0))}</f><strCache>'
            f'<ptCount val="1"/><pt idx="0"><v>{name}</v></pt></strCache></strRef></tx>{shape}{"".join(dots)}'
            f'{labels}{_categories(chart, cells)}<val><numRef><f>{xml_text(cells.ref(col, 1, n))}</f><numCache>'
            f'<formatCode>{xml_text(label_code)}</formatCode><ptCount val="{n}"/>{points}</numCache></numRef></val>'
            f'{after}</ser>')


def _categories(chart: Chart, cells: ChartCells) -> str:
    n = len(chart.categories)
    f = xml_text(cells.ref(0, 1, n))
    if all(isinstance(c, int) and not isinstance(c, bool) for c in chart.categories):
        # Years stay numbers, as in the cells; "0" keeps 2024 from showing as 2,024.
        points = "".join(f'<pt idx="{k}"><v>{_number(cast(int, c))}</v></pt>' for k, c in enumerate(chart.categories))
        return f'<cat><numRef><f>{f}</f><numCache><formatCode>0</formatCode><ptCount val="{n}"/>{points}</numCache></numRef></cat>'
    points = "".join(f'<pt idx="{k}"><v>{xml_text(xml_safe(str(c)))}</v></pt>' for k, c in enumerate(chart.categories))
    return f'<cat><strRef><f>{f}</f><strCache><ptCount val="{n}"/>{points}</strCache></strRef></cat>'


def _marker(colour: str) -> str:
    return f'<marker><symbol val="circle"/><size val="{MARKER_SIZE}"/>{_shape(fill=colour, line=colour)}</marker>'


def _data_labels(kind: str, look: _Look, code: str) -> str:
    # Stacked segments carry their value inside (Excel refuses "outEnd" there: the file would
    # need repair), in white on the segment's colour; elsewhere labels sit outside the bar or
    # slice, in grey on white (inside a dark slice grey would not read).
    position = {"stacked": "ctr", "line": "t"}.get(kind, "outEnd")
    return _label_settings(look, code, position, "FFFFFF" if kind == "stacked" else None)


def _label_settings(look: _Look, code: str, position: str, colour: str | None) -> str:
    """The settings of value labels (of a series, or of one point): the value alone, formatted.

    sourceLinked="0": else LibreOffice shows the cells' format (all the decimals of 3.7281041629)
    instead of the label's.
    """
    return (f'<numFmt formatCode="{xml_attribute(code)}" sourceLinked="0"/>{look.text(LABEL_SIZE, colour=colour)}'
            f'<dLblPos val="{position}"/><showLegendKey val="0"/><showVal val="1"/><showCatName val="0"/>'
            '<showSerName val="0"/><showPercent val="0"/><showBubbleSize val="0"/>')


def _title_lines(chart: Chart, with_title: bool) -> list[tuple[str, int, bool]]:
    """The chart title's lines: (text, size in 1/100 pt, bold)."""
    lines = []
    if with_title and chart.title:
        lines.append((xml_safe(chart.title), TITLE_SIZE, True))
    if basis_shown(chart):
        # One series cannot have two legend entries, so the title says which colour is which.
        reported, derived = chart.basis_labels
        lines.append((f"Dark: {xml_safe(reported)}  ·  Light: {xml_safe(derived)}", SUBTITLE_SIZE, False))
    return lines


def _axes(chart: Chart, look: _Look) -> str:
    if chart.kind == "hbar":
        # Bars read top-down in category order: the category axis runs from the top, and the value
        # axis, which would follow it to the top, is kept at the bottom by crossing at the maximum.
        positions, orientation, crosses = ("l", "b"), "maxMin", '<crosses val="max"/>'
    else:
        positions, orientation, crosses = ("b", "l"), "minMax", ""
    x_title = look.title([(xml_safe(chart.x_label), AXIS_TITLE_SIZE, True)]) if chart.x_label else ""
    y_title = look.title([(xml_safe(chart.y_label), AXIS_TITLE_SIZE, True)]) if chart.y_label else ""
    low, high = value_extent(chart)
    bottom, top, step = nice_range(low, high)
    # Gridlines would cross the value labels; without labels they help read the values off.
    grid = "" if chart.value_labels else f"<majorGridlines>{_shape(line=look.rule, width=GRID_WIDTH)}</majorGridlines>"
    # delete="0": openpyxl 3.1 wrote delete="1" unless told otherwise, hiding the axes in Excel.
    # tickLblPos "low": labels below the axis line even when values go negative, where the axis
    # line sits mid-plot. The value axis' number format is not linked: the cells' would win.
    categories = (f'<catAx><axId val="10"/><scaling><orientation val="{orientation}"/></scaling><delete val="0"/>'
                  f'<axPos val="{positions[0]}"/>{x_title}<majorTickMark val="none"/><minorTickMark val="none"/>'
                  f'<tickLblPos val="low"/>{look.text(TICK_SIZE, wrap=True)}<crossAx val="100"/>'
                  '<lblOffset val="100"/></catAx>')
    values = (f'<valAx><axId val="100"/><scaling><orientation val="minMax"/><max val="{_number(top)}"/>'
              f'<min val="{_number(bottom)}"/></scaling><delete val="0"/><axPos val="{positions[1]}"/>{grid}{y_title}'
              f'<numFmt formatCode="{xml_attribute(_axis_format(chart.format, step))}" sourceLinked="0"/>'
              f'<majorTickMark val="none"/><minorTickMark val="none"/>{look.text(TICK_SIZE)}<crossAx val="10"/>'
              f'{crosses}<majorUnit val="{_number(step)}"/></valAx>')
    return categories + values


def _shape(fill: str | None = None, line: str | None = None, width: int | None = None, *, no_line: bool = False) -> str:
    """Shape properties (`c:spPr`): a solid fill, and a solid (or no) outline *width* EMU wide."""
    parts = f'<a:solidFill{_A}><a:srgbClr val="{fill}"/></a:solidFill>' if fill else ""
    if line or no_line:
        stroke = "<a:noFill/>" if no_line else f'<a:solidFill><a:srgbClr val="{line}"/></a:solidFill>'
        thickness = f' w="{width}"' if width is not None else ""
        parts += f'<a:ln{_A}{thickness}>{stroke}<a:prstDash val="solid"/></a:ln>'
    return f"<spPr>{parts}</spPr>"


def _number(value: float) -> str:
    return "%.16g" % value  # noqa: UP031 -- openpyxl's form: 2022 for 2022.0, 0.1 for 0.1


class _Look:
    """The theme as DrawingML text and colours (hex strings, upper case as Office writes them)."""

    def __init__(self, theme: Theme):
        self.theme = theme
        self.font = xml_attribute(theme.office_font)
        self.ink = theme.ink.upper()
        self.muted = theme.muted.upper()
        self.rule = theme.rule.upper()
        self.secondary = theme.secondary.upper()

    def series(self, i: int) -> str:
        return self.theme.series_colour(i).upper()

    def chars(self, tag: str, size: int, bold: bool = False, colour: str | None = None) -> str:
        """Chart text properties in the office font; *size* in 1/100 pt. Titles in ink, the rest muted."""
        colour = colour or (self.ink if bold else self.muted)
        return (f'<a:{tag} sz="{size}" b="{int(bold)}"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
                f'<a:latin typeface="{self.font}"/></a:{tag}>')

    def text(self, size: int, colour: str | None = None, *, wrap: bool = False) -> str:
        """Text properties (`c:txPr`) for labels (ticks, data labels, legend)."""
        body = f'<a:bodyPr{_A} wrap="square"/>' if wrap else f"<a:bodyPr{_A}/>"
        return (f'<txPr>{body}<a:p{_A}><a:pPr>{self.chars("defRPr", size, colour=colour)}</a:pPr>'
                f'{self.chars("endParaRPr", size, colour=colour)}</a:p></txPr>')

    def title(self, lines: list[tuple[str, int, bool]]) -> str:
        """A title (`c:title`) of one or more lines, each (text, size in 1/100 pt, bold)."""
        paragraphs = "".join(
            f'<a:p{_A}><a:pPr>{self.chars("defRPr", size, bold)}</a:pPr><a:r>{self.chars("rPr", size, bold)}'
            f"<a:t>{xml_text(text)}</a:t></a:r></a:p>" for text, size, bold in lines)
        return f'<title><tx><rich><a:bodyPr{_A}/>{paragraphs}</rich></tx><overlay val="0"/></title>'


# --- DOCX --------------------------------------------------------------------------------------


def chart_space_xml(chart: Chart, theme: Theme, *, title: bool = True, workbook_rid: str | None = None) -> bytes:
    """Return the XML of a DOCX chart part (``c:chartSpace``) drawing *chart*.

    The series refer to a sheet "Sheet1" holding `data_table` at A1 and carry their values, which
    is all Word and LibreOffice need to draw it. *workbook_rid* is the chart part's relationship
    to an embedded workbook with that sheet (`data_workbook`), which Word's "Edit Data" opens.
    """
    space = _chart_space(chart, theme, ChartCells(DOCX_SHEET), *DEFAULT_SIZE_CM, title=title, frame=False)
    if workbook_rid is not None:
        # Its place in the sequence: after chart and spPr, the part's last elements.
        external = (f'<externalData xmlns:r="{R_NS}" r:id="{xml_attribute(workbook_rid)}"><autoUpdate val="0"/>'
                    "</externalData>")
        space = space[: -len("</chartSpace>")] + external + "</chartSpace>"
    return b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n" + space.encode("utf-8")


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
    SheetsInMemory(book, parts).save()  # not book.save(), which stamps `modified` with the clock
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

