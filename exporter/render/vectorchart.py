"""Draw a `Chart` block as reportlab vector graphics for the PDF, in the native chart's colours.

Series take the theme's series colours and, in a chart of one series, derived points the
lighter secondary colour, as in the Office chart (nativechart.py); the value scale and the
decimals of value labels come from chartscale.py, so the PDF reads like the DOCX and XLSX. The
layout numbers (margins, legend above the plot, axis titles) are those of the market report's
forecast chart, so that chart looks as it always did.

The caller registers the font (*font*; the regular face is all a chart uses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from . import reportlab_speed  # noqa: F401 -- first: shape checks off (see there)

# isort: split

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.charts.textlabels import Label
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..core.document import Chart
from ..core.numbers import NumberFormat
from .chartscale import basis_shown, derived_at, label_format, labels_below, nice_range, ticks, value_extent
from .shapepaint import paint
from .theme import Theme

__all__ = ["chart_drawing"]

# The forecast chart's layout, in points: the plot's lower-left corner, the space kept right of
# it and above it (legend), and the baselines of the axis titles.
PLOT_X, PLOT_Y = 58, 48
RIGHT_GAP, TOP_GAP = 10, 38
TITLE_GAP = 10  # points between the value axis title and the tick labels
TITLE_BASELINE = 12  # the category axis title, from the bottom; the value axis title, from the left
LABEL_SIZE = 7.5  # value labels
TICK_SIZE = 8
AXIS_TITLE_SIZE = 8.5
LEGEND_SIZE = 8
LEGEND_ROW = 12  # points per legend row
SWATCH = 10  # points: the legend's colour box
LEGEND_GAP = 20  # between legend entries
MAX_LEGEND_NAME = 150  # points: a series name in the legend is cut with "…" beyond this
ROTATED = 30  # degrees: category labels too long to stand side by side
MAX_CATEGORY_LABEL = 110  # points: a rotated (or hbar) category label is cut with "…" beyond this
LINE_WIDTH = 2
MARKER_SIZE = 5
LINE_LABEL_NUDGE = 5  # points between a line's point and its value label
ELLIPSIS = "…"


def chart_drawing(chart: Chart, theme: Theme, *, width: float, height: float = 240,
                  font: str = "DejaVuSans") -> Drawing:
    """Return a *width* x *height* point drawing of *chart*; the chart widget is ``drawing.chart``.

    Bar, hbar and stacked charts keep their series' values (None for a missing one) in
    ``drawing.chart.data``; a line chart's rows are the runs between missing values and its
    derived-point markers (see `_line`).
    """
    if not chart.series or not chart.categories:
        raise ValueError(f"chart {chart.title!r} has no categories or no series")
    look = _Look(theme, font)
    # initialFontName: else the renderer's state starts in Helvetica, which the PDF may not embed.
    drawing = _ChartDrawing(width, height, initialFontName=font)
    if chart.kind == "pie":
        _pie(drawing, chart, look)
        return drawing
    rows = _legend_rows(chart, look, width - PLOT_X - RIGHT_GAP)
    top = height - TOP_GAP - (rows - 1) * LEGEND_ROW
    if chart.kind == "line":
        widget = _line(chart, look)
    elif chart.kind == "hbar":
        widget = _bars(HorizontalBarChart(), chart, look)
    else:
        widget = _bars(VerticalBarChart(), chart, look)
    _place(widget, chart, look, width, top)
    drawing.add(widget, name="chart")
    _legend(drawing, chart, look, widget.x if chart.kind != "hbar" else PLOT_X, height - 8,
            width - PLOT_X - RIGHT_GAP)
    _axis_titles(drawing, chart, look, widget)
    return drawing


class _ChartDrawing(Drawing):
    """A drawing that platypus draws with `shapepaint` (the same page as renderPDF, in a fifth less time)."""

    def draw(self, showBoundary=None):
        paint(self, self.canv)


class _Look:
    def __init__(self, theme: Theme, font: str):
        self.theme = theme
        self.font = font
        self.secondary = _colour(theme.secondary)
        self.ink = _colour(theme.ink)
        self.muted = _colour(theme.muted)
        self.rule = _colour(theme.rule)

    def series(self, i: int) -> colors.Color:
        return _colour(self.theme.series_colour(i))

    def width(self, text: str, size: float) -> float:
        return stringWidth(text, self.font, size)


def _colour(hex_colour: str) -> colors.Color:
    return colors.HexColor(f"#{hex_colour}")


# --- bars and lines ----------------------------------------------------------------------------


def _bars(bars, chart: Chart, look: _Look):
    """Fill a Vertical- or HorizontalBarChart with *chart*'s series, colours and value labels."""
    n = len(chart.categories)
    bars.data = [[_value(s.values, i) for i in range(n)] for s in chart.series]
    if chart.kind == "stacked":
        bars.categoryAxis.style = "stacked"
    # Today's forecast look: bars twice as wide as the gap between categories; a group of bars
    # side by side keeps a wider gap to the next.
    bars.barWidth = 2
    bars.groupSpacing = 1 if len(chart.series) == 1 or chart.kind == "stacked" else 1.5
    bars.barSpacing = 0
    bars.strokeColor = None
    bars.bars.strokeColor = None
    for s in range(len(chart.series)):
        bars.bars[s].fillColor = look.series(s)
    if basis_shown(chart):
        for i in range(n):
            if derived_at(chart.series[0], i):
                bars.bars[(0, i)].fillColor = look.secondary
    if chart.value_labels:
        shown = label_format(chart.format, (v for s in chart.series for v in s.values))
        bars.barLabelFormat = lambda value: "" if value is None else shown.text(value)
        labels = bars.barLabels
        labels.fontName, labels.fontSize = look.font, LABEL_SIZE
        if chart.kind == "stacked":
            # Inside each segment, white on its colour: past a segment's end lies the next one.
            labels.boxTarget = "mid"
            labels.fillColor = colors.white
        else:
            labels.fillColor = look.ink
            labels.nudge = 3
            # Past the end of the bar; reportlab's bar labels flip the anchor (and the nudge) for
            # a negative value, so its label sits below (left of) the bar.
            labels.boxAnchor = "w" if chart.kind == "hbar" else "s"
    return bars


def _line(chart: Chart, look: _Look) -> HorizontalLineChart:
    """A line chart with a marker at each value and a gap where a value is missing.

    reportlab joins a row's points across a missing value and numbers its labels by drawn point,
    so each run of values between gaps is a row of its own (with its own labels). Derived points
    of a one-series chart get a row of lighter markers drawn over the series' own.
    """
    n = len(chart.categories)
    lines = HorizontalLineChart()
    rows: list[list[float | None]] = []
    texts: list[list[str]] = []
    shown = label_format(chart.format, (v for s in chart.series for v in s.values))
    below = labels_below(chart)
    for s, series in enumerate(chart.series):
        values = [_value(series.values, i) for i in range(n)]
        for run in _runs(values):
            row = len(rows)
            lines.lines[row].strokeColor = look.series(s)
            # A lone value is a marker: reportlab cannot draw a line through one point.
            lines.lines[row].lineStyle = "joinedLine" if len(run) > 1 else "line"
            lines.lines[row].symbol = makeMarker(
                "FilledCircle", size=MARKER_SIZE, fillColor=look.series(s), strokeColor=look.series(s)
            )
            rows.append([values[i] if i in run else None for i in range(n)])
            texts.append([shown.text(values[i]) if chart.value_labels else "" for i in run])
            # Labels are numbered by drawn point (k), not by category (i).
            for k, i in enumerate(run):
                if (s, i) in below:
                    label = lines.lineLabels[(row, k)]
                    label.boxAnchor = "n"
                    label.dy = -2 * LINE_LABEL_NUDGE
    if basis_shown(chart):
        own = [_value(chart.series[0].values, i) for i in range(n)]
        derived = [v if derived_at(chart.series[0], i) else None for i, v in enumerate(own)]
        if any(v is not None for v in derived):
            style = lines.lines[len(rows)]
            style.lineStyle = "line"  # markers only: the series' own rows draw the line
            style.strokeColor = look.secondary
            style.symbol = makeMarker("FilledCircle", size=MARKER_SIZE, fillColor=look.secondary,
                                      strokeColor=look.secondary)
            rows.append(derived)
            texts.append(["" for v in derived if v is not None])
    lines.data = rows or [[None] * n]
    lines.lines.strokeWidth = LINE_WIDTH
    lines.joinedLines = 0  # each row says whether it is joined (lineStyle)
    lines.lineLabelFormat = "values"
    lines.lineLabelArray = texts or [[]]
    lines.lineLabels.fontName, lines.lineLabels.fontSize = look.font, LABEL_SIZE
    lines.lineLabels.fillColor = look.ink
    lines.lineLabels.boxAnchor = "s"
    lines.lineLabelNudge = LINE_LABEL_NUDGE
    return lines


def _runs(values: Sequence[float | None]) -> list[range]:
    """The runs of consecutive present values: [1, None, 2, 3] gives range(0, 1), range(2, 4)."""
    runs, start = [], None
    for i, value in enumerate([*values, None]):
        if value is not None and start is None:
            start = i
        elif value is None and start is not None:
            runs.append(range(start, i))
            start = None
    return runs


def _place(widget, chart: Chart, look: _Look, width: float, top: float) -> None:
    """Size the plot inside the drawing and style both axes; long category names get room."""
    names = [str(c) for c in chart.categories]
    categories, values = widget.categoryAxis, widget.valueAxis
    labels = categories.labels
    labels.fontName, labels.fontSize, labels.fillColor = look.font, TICK_SIZE, look.ink
    categories.strokeColor = look.muted
    if chart.kind == "hbar":
        categories.tickLeft = 0
        values.tickDown = 0
    else:
        categories.tickDown = 0
        values.tickLeft = 0
    bottom: float = PLOT_Y
    if chart.kind == "hbar":
        # The names stand left of the bars, first at the top: the plot starts after the longest
        # (cut at MAX_CATEGORY_LABEL, or at a third of the drawing when that is narrower).
        room = min(MAX_CATEGORY_LABEL, width / 3)
        names = [_fit(name, look, TICK_SIZE, room) for name in names]
        left = PLOT_X - 30 + max((look.width(name, TICK_SIZE) for name in names), default=0)
        widget.x = max(PLOT_X, left)
        categories.reverseDirection = 1
        # And within a category the first series on top. reportlab's reversePlotOrder shifts
        # side-by-side bars out of their category (4.x, 5.x); the "mixed" style, one series per
        # sub-bar, places them correctly.
        if len(chart.series) > 1:
            categories.style = "mixed"
            widget.seriesOrder = [[s] for s in range(len(chart.series))]
            widget.reversePlotOrder = 1
        categories.labels.boxAnchor = "e"
        categories.labels.dx = -4
    else:
        widget.x = PLOT_X
        slot = (width - PLOT_X - RIGHT_GAP) / max(len(names), 1)
        if max((look.width(name, TICK_SIZE) for name in names), default=0) > slot - 4:
            # Side by side the names would run into each other: slanted, cut to MAX_CATEGORY_LABEL.
            names = [_fit(name, look, TICK_SIZE, MAX_CATEGORY_LABEL) for name in names]
            longest = max(look.width(name, TICK_SIZE) for name in names)
            labels.angle = ROTATED
            labels.boxAnchor = "ne"
            labels.dx, labels.dy = 4, -2
            bottom += longest * math.sin(math.radians(ROTATED)) - TICK_SIZE
    categories.categoryNames = names
    widget.y = bottom
    widget.width = width - widget.x - RIGHT_GAP
    widget.height = max(top - bottom, 20)

    low, high = value_extent(chart)
    axis_min, axis_max, step = nice_range(low, high)
    values.valueMin, values.valueMax, values.valueStep = axis_min, axis_max, step
    values.valueSteps = ticks(axis_min, axis_max, step)
    tick_format = _axis_format(chart.format, step)
    values.labelTextFormat = tick_format.text
    if chart.kind != "hbar":
        # Room left of the plot for the widest tick label and, beyond it, the rotated axis title.
        widest = max(look.width(tick_format.text(t), TICK_SIZE) for t in values.valueSteps)
        needed = TITLE_BASELINE + AXIS_TITLE_SIZE / 2 + TITLE_GAP + widest
        if needed > widget.x:
            widget.width -= needed - widget.x
            widget.x = needed
    values.labels.fontName, values.labels.fontSize, values.labels.fillColor = look.font, TICK_SIZE, look.muted
    values.strokeColor = None
    values.visibleGrid = 1
    values.gridStrokeColor = look.rule
    values.gridStrokeWidth = 0.4
    if low < 0:
        # The category axis line is drawn at zero; its names stay below (left of) the plot.
        categories.labelAxisMode = "low"


def _axis_format(fmt: NumberFormat, step: float) -> NumberFormat:
    """Tick labels: *fmt* without currency and unit (the axis title says them), decimals for *step*."""
    return label_format(NumberFormat(percent=fmt.percent, thousands=fmt.thousands, locale=fmt.locale), [step])


def _axis_titles(drawing: Drawing, chart: Chart, look: _Look, widget) -> None:
    # The category title under the plot and the value title up its left side (hbar: the other way).
    under, beside = (chart.y_label, chart.x_label) if chart.kind == "hbar" else (chart.x_label, chart.y_label)
    if under:
        drawing.add(String(widget.x + widget.width / 2, TITLE_BASELINE, under, fontName=look.font,
                           fontSize=AXIS_TITLE_SIZE, fillColor=look.muted, textAnchor="middle"), name="x_label")
    if beside:
        label = Label()
        label.setOrigin(TITLE_BASELINE, widget.y + widget.height / 2)
        label.angle = 90
        label.setText(beside)
        label.fontName, label.fontSize, label.fillColor = look.font, AXIS_TITLE_SIZE, look.muted
        label.boxAnchor = "c"
        drawing.add(label, name="y_label")


# --- legends -----------------------------------------------------------------------------------


def _legend_pairs(chart: Chart, look: _Look) -> list[tuple[colors.Color, str]]:
    if basis_shown(chart):
        # Today's forecast legend: one swatch per basis, since colour tells them apart.
        reported, derived = chart.basis_labels
        return [(look.series(0), reported), (look.secondary, derived)]
    if len(chart.series) > 1:
        # A long series name is cut, or one entry would take the whole width.
        return [(look.series(i), _fit(s.name, look, LEGEND_SIZE, MAX_LEGEND_NAME)) for i, s in enumerate(chart.series)]
    return []


def _legend_rows(chart: Chart, look: _Look, room: float) -> int:
    pairs = _legend_pairs(chart, look)
    if not pairs:
        return 1
    per_row = max(1, int(room // _entry_width(pairs, look)))
    return math.ceil(len(pairs) / per_row)


def _entry_width(pairs, look: _Look) -> float:
    return max(look.width(name, LEGEND_SIZE) for _, name in pairs) + SWATCH + 5 + LEGEND_GAP


def _legend(drawing: Drawing, chart: Chart, look: _Look, x: float, y: float, room: float) -> None:
    """A legend in rows above the plot, left-aligned with it (the forecast chart's place)."""
    pairs = _legend_pairs(chart, look)
    if not pairs:
        return
    entry = _entry_width(pairs, look)
    per_row = max(1, int(room // entry))
    rows = math.ceil(len(pairs) / per_row)
    legend = _legend_widget(look)
    legend.x, legend.y = x, y
    # Entries fill a column before the next: with one row, each entry is a column of its own.
    legend.columnMaximum = rows
    legend.deltax = max(entry, 120) if rows == 1 and len(pairs) <= 2 else entry
    legend.deltay = LEGEND_ROW
    legend.colorNamePairs = pairs
    drawing.add(legend, name="legend")


def _legend_widget(look: _Look) -> Legend:
    legend = Legend()
    legend.alignment = "right"  # the swatch left of its text
    legend.fontName = look.font
    legend.fontSize = LEGEND_SIZE
    legend.fillColor = look.ink
    legend.boxAnchor = "nw"
    legend.dxTextSpace = 5
    legend.strokeColor = None
    return legend


# --- pie ---------------------------------------------------------------------------------------


def _pie(drawing: Drawing, chart: Chart, look: _Look) -> None:
    """A pie of the first series, slices coloured by category, names in a legend at its right.

    Categories without a value have no slice; the others keep their category's colour, as in
    the native chart.
    """
    series = chart.series[0] if chart.series else None
    present = [
        (i, str(name), value)
        for i, name in enumerate(chart.categories)
        if series is not None and (value := _value(series.values, i)) is not None and value > 0
    ]
    pie = Pie()
    size = drawing.height - 2 * 28  # room above and below for the labels outside the slices
    pie.width = pie.height = size
    pie.x, pie.y = 60, (drawing.height - size) / 2
    pie.data = [value for _, _, value in present] or [1]
    pie.startAngle = 90  # the first slice from twelve o'clock, clockwise, as Office draws it
    pie.direction = "clockwise"
    pie.slices.strokeColor = colors.white
    pie.slices.strokeWidth = 1
    for k, (i, _, _) in enumerate(present):
        pie.slices[k].fillColor = look.series(i)
    if not present:
        pie.slices[0].fillColor = look.rule
    if chart.value_labels and present:
        shown = label_format(chart.format, (value for _, _, value in present))
        pie.labels = [shown.text(value) for _, _, value in present]
        pie.slices.fontName, pie.slices.fontSize, pie.slices.fontColor = look.font, LABEL_SIZE, look.ink
        pie.slices.labelRadius = 1.18
    drawing.add(pie, name="chart")
    room = drawing.width - (pie.x + size + 40) - RIGHT_GAP
    legend = _legend_widget(look)
    legend.x, legend.y = pie.x + size + 40, pie.y + size
    legend.columnMaximum = max(min(len(present), int(size // LEGEND_ROW)), 1)  # more: a second column
    legend.deltay = LEGEND_ROW
    legend.colorNamePairs = [(look.series(i), _fit(name, look, LEGEND_SIZE, room - SWATCH - 5))
                             for i, name, _ in present]
    drawing.add(legend, name="legend")


# --- text and values ---------------------------------------------------------------------------


def _fit(text: str, look: _Look, size: float, room: float) -> str:
    """Return *text*, cut with "…" to fit *room* points if it does not."""
    if look.width(text, size) <= room:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
    while low < high:
        mid = (low + high + 1) // 2
        if look.width(text[:mid].rstrip() + ELLIPSIS, size) <= room:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ELLIPSIS


def _value(values: Sequence[float | None], i: int) -> float | None:
    """The value at *i*, None when missing or not finite."""
    value = values[i] if i < len(values) else None
    return value if value is not None and math.isfinite(value) else None
