"""Draw the forecast chart as a PNG, shared by the renderers that embed a picture.

Reported and derived years are told apart by colour, hatching and the legend, so a reader of a
printed page never mistakes an estimate for a figure the source states.
"""

from __future__ import annotations

import io
import pathlib

from ..derive import Basis
from ..document import Chart

ACCENT = "#1F4E79"
DERIVED_FILL = "#DDEBF7"
HATCH = "#5B8DB8"
INK = "#262626"
MUTED = "#595959"
FONT_FILE = "DejaVuSans.ttf"
ASPECT = 0.48  # height / width: wide enough for a decade of columns, short enough for a page


def chart_png(chart: Chart, *, width_in: float, dpi: int) -> bytes:
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
    _draw_columns(ax, chart, small)
    _style_axes(ax, chart, text)
    out = io.BytesIO()
    # Without "Software" the PNG carries no version string; Agg output is otherwise deterministic.
    fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return out.getvalue()


def _draw_columns(ax, chart: Chart, labels) -> None:
    points = chart.forecast.points
    styles = {
        Basis.reported: dict(color=ACCENT, edgecolor=ACCENT),
        Basis.derived: dict(
            color=DERIVED_FILL, edgecolor=ACCENT, hatch="///", hatchcolor=HATCH, hatch_linewidth=0.7
        ),
    }
    for basis in Basis:
        chosen = [p for p in points if p.basis is basis]
        if not chosen:
            continue
        bars = ax.bar(
            [p.year for p in chosen],
            [p.value for p in chosen],
            width=0.68,
            linewidth=0.8,
            label=basis.label,
            zorder=2,
            **styles[basis],
        )
        ax.bar_label(
            bars, labels=[f"{p.value:,.2f}" for p in chosen], padding=2, color=INK, fontproperties=labels
        )
    ax.set_ylim(0, max(p.value for p in points) * 1.12)


def _style_axes(ax, chart: Chart, text) -> None:
    years = [p.year for p in chart.forecast.points]
    ax.set_xticks(years, [str(y) for y in years], fontproperties=text, color=INK)
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlabel(chart.x_label, fontproperties=text, color=MUTED)
    ax.set_ylabel(chart.y_label, fontproperties=text, color=MUTED)
    # Every column carries its value, so a y scale would only repeat them.
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#A6A6A6")
    ax.tick_params(axis="x", length=0, pad=4)
    # Above the plot area, the legend can never hide a column or its label.
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=2,
        frameon=False,
        prop=text,
        labelcolor=INK,
        handlelength=1.6,
        borderaxespad=0.2,
    )
