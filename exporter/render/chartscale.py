"""What every drawing of a chart shares, whichever format draws it: scale, label decimals, basis.

The native Office chart (nativechart.py) and the PDF's vector chart (vectorchart.py) take their value-axis range and step, the decimals of their value labels and
whether derived points are drawn lighter from here, so a chart reads the same in the Word file,
the workbook and the PDF.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from ..core.document import Chart, Series
from ..core.numbers import AUTO_DECIMALS, NumberFormat, needed_decimals

__all__ = ["nice_axis", "nice_range", "value_extent", "label_format", "ticks", "basis_shown", "derived_at",
           "labels_below"]

HEADROOM = 1.12  # the axis reaches this far past the longest bar: room for its value label
TARGET_STEPS = 7  # about this many gridline steps from zero to the top


def nice_axis(top: float) -> tuple[float, float]:
    """Return a value-axis maximum and step that leave room for value labels above the tallest bar.

    Shared by the native Office chart and the PDF's vector chart, so both show the same scale.
    """
    if top <= 0:
        return 1.0, 0.2
    raw = top * HEADROOM / TARGET_STEPS
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(top * HEADROOM / step) * step, step


def nice_range(low: float, high: float) -> tuple[float, float, float]:
    """Return a value-axis minimum, maximum and step covering *low*..*high* and zero.

    Bars grow from zero, so the axis always holds it. With no negative values this is
    `nice_axis` (minimum 0); otherwise the step is chosen for the whole span, and each end gets
    headroom of a share of the span for the value label past the end of its longest bar (a
    label is as wide for a short negative bar as for a long positive one).
    """
    low, high = min(low, 0.0), max(high, 0.0)
    if low == 0:
        top, step = nice_axis(high)
        return 0.0, top, step
    span = high - low
    raw = span * HEADROOM / TARGET_STEPS
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    pad = span * (HEADROOM - 1)
    bottom = math.floor((low - pad) / step) * step
    top = math.ceil((high + pad) / step) * step if high > 0 else 0.0
    return bottom, top, step


def value_extent(chart: Chart) -> tuple[float, float]:
    """Return the lowest and highest value the value axis must show (stacked: the sums per category)."""
    if chart.kind == "stacked":
        # Positive values stack up from zero and negative ones down, as Excel and reportlab draw them.
        ups, downs = [], []
        for i in range(len(chart.categories)):
            points = [v for s in chart.series if i < len(s.values) and (v := s.values[i]) is not None]
            ups.append(sum(v for v in points if v > 0))
            downs.append(sum(v for v in points if v < 0))
        return min(downs, default=0.0), max(ups, default=0.0)
    values = [v for s in chart.series for v in s.values if v is not None]
    return min(values, default=0.0), max(values, default=0.0)


def ticks(bottom: float, top: float, step: float) -> list[float]:
    """Return the values of the gridlines from *bottom* to *top*, free of float drift (0.30000000000000004)."""
    count = round((top - bottom) / step)
    digits = max(0, -math.floor(math.log10(step)) + 2)
    return [round(bottom + i * step, digits) for i in range(count + 1)]


def label_format(fmt: NumberFormat, values: Iterable[float | None]) -> NumberFormat:
    """Return *fmt* with the decimals fixed for a chart's value labels.

    A format with automatic decimals shows each value with the decimals it needs (2.5, 3); a
    spreadsheet number format cannot, so all labels of a chart get the most any value needs (up
    to AUTO_DECIMALS): 2.5, 3.0. The native and the vector chart both use this, so they agree.
    """
    if fmt.decimals is not None:
        return fmt
    scale = 100 if fmt.percent else 1  # rounded below: 0.07 * 100 is 7.000000000000001
    decimals = max(
        (needed_decimals(round(v * scale, 9), AUTO_DECIMALS) for v in values if v is not None and math.isfinite(v)),
        default=0,
    )
    return replace(fmt, decimals=decimals)


def derived_at(series: Series, i: int) -> bool:
    """Whether point *i* of *series* is derived (a series without flags has none)."""
    return i < len(series.derived) and series.derived[i]


def basis_shown(chart: Chart) -> bool:
    """Whether *chart* draws its derived points in the theme's lighter colour, with a legend saying so.

    Only a chart of one series can: with several, colour already tells the series apart, and a
    pie's slices each have a colour of their own. The data table's Basis column still tells.
    """
    return chart.has_derived and len(chart.series) == 1 and chart.kind != "pie"


def labels_below(chart: Chart) -> frozenset[tuple[int, int]]:
    """The (series, category) points of a line chart whose value label goes below the point.

    Labels sit above their points; where lines run close together the labels of a category
    would overprint each other, so at each category only the highest point keeps its label
    above and the others put theirs below. Enough for two lines, the usual case; with more,
    labels of close middle lines can still meet.
    """
    if chart.kind != "line" or len(chart.series) < 2:
        return frozenset()
    below: set[tuple[int, int]] = set()
    for i in range(len(chart.categories)):
        present = [(s, v) for s, series in enumerate(chart.series)
                   if i < len(series.values) and (v := series.values[i]) is not None and math.isfinite(v)]
        if len(present) < 2:
            continue
        top = max(present, key=lambda point: (point[1], -point[0]))  # a tie: the first series stays above
        below.update((s, i) for s, _ in present if s != top[0])
    return frozenset(below)
