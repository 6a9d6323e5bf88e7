"""Business calendars: which days a business is closed, from the `holidays` package and the timetable.

A calendar is a country's public holidays (``country: US, subdivision: NY``) or a market's trading
holidays (``financial: NYSE``), or neither, plus closed dates of the company's own (``closed:``) and
a weekend (the country's or market's: Saturday and Sunday for most; ``weekend:`` says otherwise).

    holiday   a public or market holiday, or a closed date of the timetable
    business  neither a weekend day nor a holiday

Only primitive values are kept here (codes, dates, weekday numbers): triggers holding a calendar
are pickled into the scheduler's job store, and the holidays themselves are looked up again, per
year, from the installed package whenever a trigger asks.
"""

from __future__ import annotations

import calendar as _monthly
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEKEND = (5, 6)  # Saturday and Sunday, as date.weekday() numbers them
CLOSED_DAY = "company closed day"  # the name of a timetable's own closed date, in reasons
_SEARCH_DAYS = 3 * 366  # a calendar is refused if it has no business day for this long


def check_country(code: str) -> str:
    """Return *code* if the holidays package knows the country; raise `ValueError` otherwise."""
    import holidays

    if code not in holidays.list_supported_countries():
        hint = f" (did you mean {code.upper()!r}?)" if code.upper() in holidays.list_supported_countries() else ""
        raise ValueError(f"unknown country {code!r}{hint}: give an ISO 3166-1 code the holidays package knows, "
                         "such as US, GB, DE or FR")
    return code


def check_financial(code: str) -> str:
    """Return *code* if the holidays package knows the market; raise `ValueError` otherwise."""
    import holidays

    known = holidays.list_supported_financial()
    if code not in known:
        hint = f" (did you mean {code.upper()!r}?)" if code.upper() in known else ""
        names = ", ".join(sorted(holidays.list_supported_financial(include_aliases=False)))
        raise ValueError(f"unknown financial market {code!r}{hint}; known: {names}, and aliases such as NYSE")
    return code


def check_subdivision(subdivision: str, *, country: str | None, financial: str | None) -> str:
    """Return *subdivision* if the country (or market) has it; raise `ValueError` otherwise."""
    entity = _entity(country, financial)
    if entity is None:
        raise ValueError("a subdivision needs a country (or a financial market) to belong to")
    known = tuple(entity.subdivisions)
    aliases = tuple(getattr(entity, "subdivisions_aliases", {}) or ())
    if subdivision not in known and subdivision not in aliases:
        what = country or financial
        listed = ", ".join(known) or "none: it has no subdivisions"
        raise ValueError(f"{what} has no subdivision {subdivision!r} (known: {listed})")
    return subdivision


def _entity(country: str | None, financial: str | None):
    """The holidays package's class for a country or market, or None (an unknown one is checked elsewhere)."""
    import holidays

    try:
        if country is not None:
            return holidays.country_holidays(country, years=())
        if financial is not None:
            return holidays.financial_holidays(financial, years=())
    except NotImplementedError:
        return None
    return None


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str | None, subdivision: str | None, financial: str | None,
                     year: int) -> Mapping[dt.date, str]:
    """The holidays of one year, by date, named in English where the package can."""
    import holidays

    if country is None and financial is None:
        return {}
    factory = holidays.country_holidays if country is not None else holidays.financial_holidays
    code = country if country is not None else financial
    probe = factory(code, years=())  # type: ignore[arg-type]
    language = "en_US" if "en_US" in (probe.supported_languages or ()) else None
    found = factory(code, subdiv=subdivision, years=year, language=language)  # type: ignore[arg-type]
    return {day: name for day, name in found.items()}


@functools.lru_cache(maxsize=64)
def _package_weekend(country: str | None, financial: str | None) -> tuple[int, ...]:
    entity = _entity(country, financial)
    weekend = getattr(entity, "weekend", None) if entity is not None else None
    return tuple(sorted(weekend)) if weekend is not None else DEFAULT_WEEKEND


@dataclass(frozen=True)
class BusinessCalendar:
    """One named calendar of the timetable, as plain values."""

    name: str
    country: str | None = None
    subdivision: str | None = None
    financial: str | None = None
    closed: tuple[dt.date, ...] = ()
    weekend_days: tuple[int, ...] | None = None  # None: the country's or market's (Saturday and Sunday for most)

    @property
    def weekend(self) -> frozenset[int]:
        """The weekday numbers (Monday 0) that are never business days."""
        if self.weekend_days is not None:
            return frozenset(self.weekend_days)
        return frozenset(_package_weekend(self.country, self.financial))

    @property
    def workdays(self) -> tuple[int, ...]:
        return tuple(d for d in range(7) if d not in self.weekend)

    def holiday(self, day: dt.date) -> str | None:
        """The name(s) of the holiday or closed date on *day*, or None on any other day (weekends included)."""
        names = []
        public = _public_holidays(self.country, self.subdivision, self.financial, day.year).get(day)
        if public:
            names.append(public)
        if day in self.closed:
            names.append(CLOSED_DAY)
        return "; ".join(names) or None

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() not in self.weekend and self.holiday(day) is None

    def next_business_day(self, day: dt.date) -> dt.date:
        """The first business day after *day*."""
        return self._step(day, 1)

    def previous_business_day(self, day: dt.date) -> dt.date:
        """The last business day before *day*."""
        return self._step(day, -1)

    def _step(self, day: dt.date, direction: int) -> dt.date:
        for n in range(1, _SEARCH_DAYS):
            candidate = day + dt.timedelta(days=direction * n)
            if self.is_business_day(candidate):
                return candidate
        raise ValueError(f"calendar {self.name!r} has no business day within {_SEARCH_DAYS} days of {day}")

    def business_days(self, year: int, month: int) -> list[dt.date]:
        """The business days of a month, in order."""
        days = (dt.date(year, month, d) for d in range(1, _monthly.monthrange(year, month)[1] + 1))
        return [day for day in days if self.is_business_day(day)]

    def nth_business_day(self, year: int, month: int, n: int) -> dt.date | None:
        """The *n*-th business day of a month (1 the first, -1 the last), or None when the month has fewer."""
        days = self.business_days(year, month)
        index = n - 1 if n > 0 else n
        return days[index] if -len(days) <= index < len(days) else None

    def reason(self, day: dt.date) -> str | None:
        """Why *day* is closed, as the history records it: ``closed: Thanksgiving Day (us-ny)``."""
        name = self.holiday(day)
        return None if name is None else f"closed: {name} ({self.name})"

    def weekends_only(self) -> BusinessCalendar:
        """This calendar without its holidays: the same weekend, every other day a business day."""
        return BusinessCalendar(self.name, weekend_days=tuple(sorted(self.weekend)))

    def as_state(self) -> dict:
        """Primitive values that make this calendar again (`from_state`): what job stores keep."""
        return {"name": self.name, "country": self.country, "subdivision": self.subdivision,
                "financial": self.financial, "closed": [d.isoformat() for d in self.closed],
                "weekend": None if self.weekend_days is None else list(self.weekend_days)}

    @classmethod
    def from_state(cls, state: Mapping) -> BusinessCalendar:
        weekend = state.get("weekend")
        return cls(state["name"], state.get("country"), state.get("subdivision"), state.get("financial"),
                   tuple(dt.date.fromisoformat(d) for d in state.get("closed", ())),
                   None if weekend is None else tuple(weekend))


WEEKENDS_ONLY = BusinessCalendar("weekends", weekend_days=DEFAULT_WEEKEND)
