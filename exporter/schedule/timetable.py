"""The timetable (`data/schedule.yaml`): when which reports are rebuilt, in which time zone.

Read with the same YAML reader as the report data and validated the same way, so problems come
out as ``FILE:LINE: field.path: problem``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..core.errors import DataError, Problem
from ..core.formats import FORMATS
from ..core.model import Id, Owners
from ..source.reader import read_yaml
from ..source.validate import parse_model
from .calendars import WEEKDAY_NAMES, WEEKENDS_ONLY, BusinessCalendar, check_country, check_financial, check_subdivision
from .pings import check_setting

_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
MAX_BUSINESS_DAY = 31  # a month with fewer business days than asked for has no fire

def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration: give a number and a unit (s, m, h or d), e.g. 15m")
    return value


def _time_of_day(value: str) -> str:
    if not _TIME_OF_DAY.match(value):
        raise ValueError(f"{value!r} is not a time of day: give hours and minutes on a 24-hour clock, e.g. \"07:00\"")
    return value


Duration = Annotated[StrictStr, AfterValidator(_duration), Field(description="A number and a unit: 30s, 15m, 6h, 1d.")]
TimeOfDay = Annotated[StrictStr, AfterValidator(_time_of_day), Field(description="HH:MM, 24-hour clock, local time.")]
# The URL usually holds a secret token: `${NAME}` takes it from the environment at each run.
PingUrl = Annotated[StrictStr, AfterValidator(check_setting), Field(description=(
    "Health-check ping URL (healthchecks.io, Cronitor), or ${VARIABLE} naming one in the environment."))]
if TYPE_CHECKING:  # a Literal built at runtime is not a type to a type checker
    FormatName = str
    WeekdayName = str
else:
    FormatName = Literal[tuple(sorted(FORMATS))]
    WeekdayName = Literal[WEEKDAY_NAMES]


def seconds(duration: str) -> int:
    """Return the seconds in a duration such as ``15m``."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarSpec(_Strict):
    """A business calendar: a country's or a market's holidays, closed dates of the company's own, a weekend."""

    country: StrictStr | None = Field(default=None, description="ISO 3166-1 code: public holidays of the country.")
    financial: StrictStr | None = Field(default=None, description="A market's trading holidays, e.g. NYSE.")
    subdivision: StrictStr | None = Field(default=None, description="A state or province of the country, e.g. NY.")
    closed: list[dt.date] = Field(default=[], description="Dates the company is closed besides the holidays.")
    weekend: list[WeekdayName] | None = Field(
        default=None, description="Days never worked (mon … sun); default: the country's or market's, else sat, sun.")

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else check_country(value)

    @field_validator("financial")
    @classmethod
    def _financial(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("country") is not None:
            raise ValueError("give a country or a financial market, not both")
        return None if value is None else check_financial(value)

    @field_validator("subdivision")
    @classmethod
    def _subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or "country" not in info.data or "financial" not in info.data:
            return value  # a bad country or market is reported on its own line
        return check_subdivision(value, country=info.data["country"], financial=info.data["financial"])

    @field_validator("weekend")
    @classmethod
    def _weekend(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) == len(WEEKDAY_NAMES):
            raise ValueError("a weekend of every day leaves no business day")
        return value

    def calendar(self, name: str) -> BusinessCalendar:
        weekend = None if self.weekend is None else tuple(sorted({WEEKDAY_NAMES.index(d) for d in self.weekend}))
        return BusinessCalendar(name, self.country, self.subdivision, self.financial,
                                tuple(sorted(set(self.closed))), weekend)


class JobSpec(_Strict):
    """One entry of the timetable: when it runs (cron, an interval or a business day) and what to build."""

    id: Id
    cron: StrictStr | None = Field(default=None, description="5-field crontab, in the timetable's time zone.")
    every: Duration | None = None
    business_day: StrictInt | None = Field(
        default=None, description="The Nth business day of each month: 1 the first, 2 the second, -1 the last.")
    at: TimeOfDay | None = Field(default=None, description="The time of day of a business_day job, e.g. \"07:00\".")
    calendar: Id | None = Field(default=None, description="A calendar of the timetable's calendars.")
    on_holiday: Literal["skip", "next", "previous"] | None = Field(
        default=None, description="A cron job's fire on a holiday of its calendar: dropped (skip, the default), "
                                  "or moved to the next or previous business day at the same time.")
    reports: Literal["all"] | list[Id] = "all"
    formats: list[FormatName] | None = None
    deliver: Literal["all"] | list[Id] | None = Field(
        default=None, description="Distribution lists to deliver to after the build (recipients.yaml)."
    )
    healthcheck_url: PingUrl | None = Field(default=None, repr=False,  # it may hold a token
                                            description="This job's check, over the timetable's.")
    owners: Owners = []  # mailed about this job's failures, with the timetable's owners

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from .triggers import check_crontab  # triggers read the timetable's types: imported when used

            try:
                check_crontab(value)
            except ValueError as exc:
                raise ValueError(f"bad cron expression {value!r}: {exc}") from None
        return value

    @field_validator("business_day")
    @classmethod
    def _business_day(cls, value: int | None) -> int | None:
        if value is not None and not (1 <= abs(value) <= MAX_BUSINESS_DAY):
            raise ValueError(f"give 1 to {MAX_BUSINESS_DAY} (counting from the month's start) or -1 to "
                             f"-{MAX_BUSINESS_DAY} (from its end; -1 is the last business day), not {value}")
        return value

    @model_validator(mode="after")
    def _one_trigger(self):
        if sum(v is not None for v in (self.cron, self.every, self.business_day)) != 1:
            raise ValueError("give exactly one of cron, every or business_day")
        if self.business_day is not None and self.at is None:
            raise ValueError('a business_day job needs at: the time of day, e.g. at: "07:00"')
        if self.at is not None and self.business_day is None:
            raise ValueError("at is the time of a business_day job; a cron job has its time in its cron expression")
        if self.every is not None and self.calendar is not None:
            raise ValueError("a calendar applies to cron and business_day jobs, not to intervals")
        if self.on_holiday is not None and self.cron is None:
            raise ValueError("on_holiday is for cron jobs with a calendar (a business_day job never fires on a "
                             "holiday)")
        if self.on_holiday is not None and self.calendar is None:
            raise ValueError("on_holiday needs a calendar: which days are holidays")
        return self

    @property
    def holiday_rule(self) -> str:
        """What a cron job with a calendar does on a holiday: skip, next or previous."""
        return self.on_holiday or "skip"

    @property
    def deliver_lists(self) -> tuple[str, ...] | None:
        """The lists to deliver to (empty: every list), or None for no delivery."""
        if self.deliver is None:
            return None
        return () if self.deliver == "all" else tuple(self.deliver)

    @property
    def report_ids(self) -> tuple[str, ...]:
        """The ids to build; empty means every report."""
        return () if self.reports == "all" else tuple(self.reports)


class Timetable(_Strict):
    """The whole timetable."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Timetable")

    timezone: StrictStr = Field(description="IANA time zone name, e.g. America/New_York.")
    misfire_grace: Duration = Field(
        default="6h", description="How late a missed run may still start (after downtime)."
    )
    run_deadline: Duration = Field(default="1h", description="A run still going after this is stopped.")
    healthcheck_url: PingUrl | None = Field(default=None, repr=False,  # it may hold a token
                                            description="The check every job pings, unless it has its own.")
    owners: Owners = []  # mailed about every job's failures
    calendars: dict[Id, CalendarSpec] = Field(
        default={}, description="Business calendars by name, for the jobs' calendar and business_day.")
    jobs: list[JobSpec] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _unique_ids(self):
        seen = set()
        for job in self.jobs:
            if job.id in seen:
                raise ValueError(f"job id {job.id!r} is used twice")
            seen.add(job.id)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def calendar_of(self, job: JobSpec) -> BusinessCalendar | None:
        """The job's business calendar: its named one; weekends only for a business_day job without one."""
        if job.calendar is not None:
            return self.calendars[job.calendar].calendar(job.calendar)
        return WEEKENDS_ONLY if job.business_day is not None else None


@dataclass(frozen=True)
class LoadedTimetable:
    path: Path
    timetable: Timetable


def load_timetable(path: Path, known_reports: list[str] | None = None) -> LoadedTimetable:
    """Read and validate the timetable at *path*; raise `DataError` listing every problem.

    With *known_reports*, a job naming another report id is a problem too.
    """
    doc = read_yaml(path)
    timetable = parse_model(doc, Timetable)
    problems = []
    for j, job in enumerate(timetable.jobs):
        if job.calendar is not None and job.calendar not in timetable.calendars:
            known = ", ".join(timetable.calendars) or "none: add a calendars: section"
            problems.append(Problem(path, doc.line_of(("jobs", j, "calendar")), f"jobs[{j}].calendar",
                                    f"unknown calendar {job.calendar!r} (calendars: {known})"))
    if known_reports is not None:
        for j, job in enumerate(timetable.jobs):
            for r, report_id in enumerate(job.report_ids):
                if report_id not in known_reports:
                    where = ("jobs", j, "reports", r)
                    known = ", ".join(known_reports) or "none"
                    problems.append(
                        Problem(path, doc.line_of(where), f"jobs[{j}].reports[{r}]",
                                f"unknown report id {report_id!r} (known: {known})")
                    )
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.line or 0))
    return LoadedTimetable(path, timetable)
