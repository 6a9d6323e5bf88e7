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

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from ..core.errors import DataError, Problem
from ..core.formats import FORMATS
from ..core.model import Id, Owners
from ..source.reader import read_yaml
from ..source.validate import parse_model
from .pings import check_setting

_DURATION = re.compile(r"^([1-9][0-9]*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration: give a number and a unit (s, m, h or d), e.g. 15m")
    return value


Duration = Annotated[StrictStr, AfterValidator(_duration), Field(description="A number and a unit: 30s, 15m, 6h, 1d.")]
# The URL usually holds a secret token: `${NAME}` takes it from the environment at each run.
PingUrl = Annotated[StrictStr, AfterValidator(check_setting), Field(description=(
    "Health-check ping URL (healthchecks.io, Cronitor), or ${VARIABLE} naming one in the environment."))]
if TYPE_CHECKING:  # a Literal built at runtime is not a type to a type checker
    FormatName = str
else:
    FormatName = Literal[tuple(sorted(FORMATS))]


def seconds(duration: str) -> int:
    """Return the seconds in a duration such as ``15m``."""
    match = _DURATION.match(duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobSpec(_Strict):
    """One entry of the timetable: a cron expression or an interval, and what to build."""

    id: Id
    cron: StrictStr | None = Field(default=None, description="5-field crontab, in the timetable's time zone.")
    every: Duration | None = None
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
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone=dt.UTC)
            except ValueError as exc:
                raise ValueError(f"bad cron expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_trigger(self):
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of cron or every")
        return self

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
    if known_reports is not None:
        problems = []
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
            raise DataError(problems)
    return LoadedTimetable(path, timetable)
