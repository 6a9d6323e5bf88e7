"""Draw the forecast chart as a PNG, shared by the renderers that embed a picture.

Reported and derived years are told apart by colour (the theme's accent and its lighter
secondary) and the legend, so a reader of a printed page never mistakes an estimate for a figure
the source states. The PDF draws the same chart as vectors in the same style (see pdf.py).
"""

from __future__ import annotations

import io
import math
import pathlib

from ..core.derive import Basis
from ..core.document import Chart
from .theme import DEFAULT_THEME, Theme

FONT_FILE = "DejaVuSans.ttf"
ASPECT = 0.48  # height / width: wide enough for a decade of columns, short enough for a page


def nice_axis(top: float) -> tuple[float, float]:
    """Return a value-axis maximum and step that leave room for value labels above the tallest bar.

    Shared by the PNG and the PDF's vector chart, so both show the same scale.
    """
    if top <= 0:
        return 1.0, 0.2
    raw = top * 1.12 / 7
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(top * 1.12 / step) * step, step


def chart_png(chart: Chart, *, width_in: float, dpi: int, theme: Theme = DEFAULT_THEME) -> bytes:
    """Draw *chart* as a column chart and return reproducible PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    # The DejaVu Sans file inside matplotlib, not a system copy that may differ from machine to
    # machine; passed to each artist because rcParams are process-global.
    font = pathlib.Path(matplotlib.get_data_path(), "fonts", "ttf", FONT_FILE)
    text = FontProperties(fname=font, size=8.5)
    small = FontProperties(fname=font, size=7.5)
    fig = Figure(figsize=(width_in, width_in * ASPECT), dpi=dpi, layout="constrained", facecolor="white")
    ax = fig.add_subplot()
    _draw_columns(ax, chart, small, theme)
    _style_axes(ax, chart, text, theme)
    out = io.BytesIO()
    # Without "Software" the PNG carries no version string; Agg output is otherwise deterministic.
    fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return out.getvalue()


def _draw_columns(ax, chart: Chart, labels, theme: Theme) -> None:
    points = chart.forecast.points
    fills = {Basis.reported: f"#{theme.accent}", Basis.derived: f"#{theme.secondary}"}
    for basis in Basis:
        chosen = [p for p in points if p.basis is basis]
        if not chosen:
            continue
        bars = ax.bar(
            [p.year for p in chosen],
            [p.value for p in chosen],
            width=0.68,
            linewidth=0,
            label=basis.label,
            zorder=2,
            color=fills[basis],
        )
        ax.bar_label(
            bars, labels=[f"{p.value:,.2f}" for p in chosen], padding=2, color=f"#{theme.ink}", fontproperties=labels
        )
    top, step = nice_axis(max(p.value for p in points))
    ax.set_ylim(0, top)
    ticks = [step * i for i in range(round(top / step) + 1)]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks], fontproperties=labels, color=f"#{theme.muted}")
    ax.grid(axis="y", color=f"#{theme.rule}", linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)


def _style_axes(ax, chart: Chart, text, theme: Theme) -> None:
    years = [p.year for p in chart.forecast.points]
    ax.set_xticks(years, [str(y) for y in years], fontproperties=text, color=f"#{theme.ink}")
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlabel(chart.x_label, fontproperties=text, color=f"#{theme.muted}")
    ax.set_ylabel(chart.y_label, fontproperties=text, color=f"#{theme.muted}")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(f"#{theme.muted}")
    ax.tick_params(axis="x", length=0, pad=4)
    ax.tick_params(axis="y", length=0, pad=3)
    # Above the plot area, the legend can never hide a column or its label.
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=2,
        frameon=False,
        prop=text,
        labelcolor=f"#{theme.ink}",
        handlelength=1.6,
        borderaxespad=0.2,
    )
