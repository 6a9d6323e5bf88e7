"""Figures computed from the reported ones: the implied growth rate and the year-by-year series.

Reported figures are what the source states; everything here is derived and says so (`Basis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .model import Figures, Scale

# Percentage points by which a stated CAGR may differ from the one implied by the sizes before
# we warn; sources round their rates to one decimal.
CAGR_TOLERANCE_PP = 0.25


class Basis(str, Enum):
    reported = "reported"
    derived = "derived"

    @property
    def label(self) -> str:
        return {"reported": "Reported", "derived": "Derived (estimate)"}[self.value]


@dataclass(frozen=True)
class Point:
    year: int
    value: float
    basis: Basis


@dataclass(frozen=True)
class Forecast:
    """The market-size series from the base year to the projection year, in one scale."""

    currency: str
    scale: Scale
    points: tuple[Point, ...]
    implied_cagr: float  # a fraction: 0.065 for 6.5 %
    stated_cagr: float  # a fraction, as the source states it
    stated_period: tuple[int, int]

    @property
    def unit(self) -> str:
        return f"{self.currency} {self.scale.value}" if self.scale is not Scale.unit else self.currency

    @property
    def base(self) -> Point:
        return self.points[0]

    @property
    def projection(self) -> Point:
        return self.points[-1]


def implied_cagr(figures: Figures) -> float:
    """Return the compound annual rate that takes the base size to the projected size."""
    scale = figures.projection.size.scale
    start = figures.base.size.in_scale(scale)
    end = figures.projection.size.in_scale(scale)
    years = figures.projection.year - figures.base.year
    return (end / start) ** (1 / years) - 1


def forecast(figures: Figures) -> Forecast:
    """Interpolate the series geometrically between the two reported sizes.

    The two end points are the reported sizes themselves; the years between are estimates at the
    implied rate, so the series runs exactly through what the source states.
    """
    scale = figures.projection.size.scale
    base_value = figures.base.size.in_scale(scale)
    rate = implied_cagr(figures)
    first, last = figures.base.year, figures.projection.year
    points = []
    for year in range(first, last + 1):
        if year == first:
            points.append(Point(year, base_value, Basis.reported))
        elif year == last:
            points.append(Point(year, figures.projection.size.amount, Basis.reported))
        else:
            points.append(Point(year, base_value * (1 + rate) ** (year - first), Basis.derived))
    return Forecast(
        currency=figures.base.size.currency,
        scale=scale,
        points=tuple(points),
        implied_cagr=rate,
        stated_cagr=figures.cagr.percent / 100,
        stated_period=(figures.cagr.start_year, figures.cagr.end_year),
    )


def cagr_warning(figures: Figures) -> str | None:
    """Say so when the stated CAGR disagrees with the one the sizes imply, else return None."""
    implied = implied_cagr(figures) * 100
    stated = figures.cagr.percent
    if abs(implied - stated) <= CAGR_TOLERANCE_PP:
        return None
    return (
        f"stated CAGR {stated:g}% ({figures.cagr.start_year}-{figures.cagr.end_year}) disagrees with "
        f"{implied:.2f}% implied by the sizes {figures.base.size.amount:g} ({figures.base.year}) and "
        f"{figures.projection.size.amount:g} ({figures.projection.year}) "
        f"by more than {CAGR_TOLERANCE_PP} percentage points"
    )
