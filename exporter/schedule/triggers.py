"""APScheduler triggers for timetable jobs, with cron's behaviour at daylight-saving changes, cron's
day rules, and business calendars.

APScheduler 3.x fires a daily ``30 1 * * *`` job twice on the night clocks go back (01:30
happens twice). Cron implementations run such fixed-time jobs once, and jobs with a wildcard
hour every hour; `OncePerWallTimeCronTrigger` does the same. Spring-forward gaps are already
handled by APScheduler (a 02:30 job runs once, in the hour after the gap).

APScheduler 3.x also reads a crontab's day of week differently from cron (its 0 is Monday, cron's
is Sunday, so ``1-5`` meant Tuesday to Saturday) and requires both the day of month and the day of
week where cron takes either. `CrontabTrigger` reads the five fields as cron does.

    CrontabTrigger          a crontab expression, read as cron reads it
    CalendarCronTrigger     a crontab expression and a business calendar: fires on holidays dropped or moved
    BusinessDayTrigger      the Nth business day of each month at a time of day

`cron_decision` is the cron path's side of the same rules: `exporter run-job --trigger cron`, started
by a crontab line, asks it whether this is a fire time, a fire time on a closed day, or neither.

Job stores pickle triggers, so the classes live here, at a stable import path, and keep only
primitive values (expressions, zone names, calendar codes and dates) in their pickled state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .calendars import WEEKDAY_NAMES, WEEKENDS_ONLY, BusinessCalendar
from .timetable import JobSpec, seconds


class OncePerWallTimeCronTrigger(CronTrigger):
    """A cron trigger that skips the repeat of a wall-clock time when clocks go back.

    It also guards against two slips of APScheduler 3.11 at DST changes: answering, from inside a
    repeated hour, with a time before the one asked for (seen: from 01:01 EST, ``*/20 1 * * *`` gave
    01:20 EDT), and skipping the first midnight after clocks go forward (`_missed_after_a_change`).
    """

    def get_next_fire_time(self, previous_fire_time, now):
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall time, ignoring fold.
        floor = _utc(now) if previous_fire_time is None else _utc(previous_fire_time) + _TICK
        fire = self._next_from(floor, super().get_next_fire_time(previous_fire_time, now))
        return fire if fire is None else self._missed_after_a_change(floor, fire) or fire

    def _next_from(self, floor: dt.datetime, fire: dt.datetime | None) -> dt.datetime | None:
        """*fire*, APScheduler's answer from *floor*, or the next one that is not before *floor*
        nor the repeat of a fixed wall time."""
        for _ in range(48):  # each round moves on by an hour; a DST change repeats one or two
            if fire is None:
                return None
            if _utc(fire) < floor:
                floor = _next_hour(floor)
            elif self._fixed_hour() and _is_repeat(fire):
                floor = _next_hour(fire)
            else:
                return fire
            fire = super().get_next_fire_time(None, floor.astimezone(self.timezone))
        return fire

    def _missed_after_a_change(self, floor: dt.datetime, fire: dt.datetime) -> dt.datetime | None:
        """A fire time before *fire* that APScheduler stepped over, or None.

        APScheduler 3.11 moves on to the next day with the UTC offset of the day it started from:
        after clocks go forward, the next day's 00:00 comes out as 01:00, matches no fire time, and
        the whole day is passed by (a daily 00:00 job in New York had no fire on 2027-03-15, nor one
        in Berlin on 2027-03-29; where clocks jump at midnight, none on the day of the jump). Asked
        again from the start of each day whose UTC offsets differ from the day before's, it finds them.
        """
        day, last = _local_day(floor, self.timezone) + _ONE_DAY, _local_day(fire, self.timezone)
        before = _offsets(_day_start(day - _ONE_DAY, self.timezone))
        while day <= last:
            start = _day_start(day, self.timezone)
            if _offsets(start) != before:
                # From the day's 00:00 as named, even where clocks jump at midnight and it does not exist
                # (Santiago, Beirut, Havana): APScheduler then puts a 00:xx time just after the jump.
                since = start if _utc(start) >= floor else floor.astimezone(self.timezone)
                found = self._next_from(floor, super().get_next_fire_time(None, since))
                if found is not None and _utc(found) < _utc(fire):
                    return found
            before = _offsets(start)
            day += _ONE_DAY
        return None

    def _fixed_hour(self) -> bool:
        hour = next(f for f in self.fields if f.name == "hour")
        return str(hour) != "*"


_TICK = dt.timedelta(microseconds=1)


def _utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC)


def _offsets(when: dt.datetime) -> tuple[dt.timedelta | None, dt.timedelta | None]:
    """The UTC offset *when* is named with, and the one of the instant it stands for: they differ for
    a wall time that does not exist (the hour skipped when clocks go forward)."""
    return when.utcoffset(), _utc(when).astimezone(when.tzinfo).utcoffset()


def _next_hour(when: dt.datetime) -> dt.datetime:
    """Return the top of the next hour after *when*, in UTC."""
    return _utc(when).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def _is_repeat(when: dt.datetime) -> bool:
    """Tell whether *when* is the second occurrence of an ambiguous local time."""
    wall = when.replace(tzinfo=None)
    first = wall.replace(tzinfo=when.tzinfo, fold=0)
    return first.utcoffset() != when.utcoffset()


def interval_as_cron(every: str) -> str | None:
    """Return the 5-field cron form of an interval, or None when cron cannot express it evenly."""
    total = seconds(every)
    if total % 60:
        return None
    minutes = total // 60
    if minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60 == 0:
        hours = minutes // 60
        if hours < 24 and 24 % hours == 0:
            return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
        if hours == 24:
            return "0 0 * * *"
    return None


def cron_of(job: JobSpec) -> str | None:
    """The cron expression a job fires on: its own, or its interval's when cron can express it.

    None for a business_day job and for an interval cron cannot express.
    """
    if job.business_day is not None:
        return None
    return job.cron if job.cron is not None else interval_as_cron(job.every or "")


def on_the_clock(job: JobSpec) -> bool:
    """Whether the job's fire times are wall-clock times (cron, business day), not counted from a start."""
    return job.every is None or interval_as_cron(job.every) is not None


def trigger_for(job: JobSpec, zone: ZoneInfo, *, start: dt.datetime | None = None,
                calendar: BusinessCalendar | None = None):
    """Return the APScheduler trigger for a timetable job; *calendar* is its business calendar, if any.

    An interval that divides the hour or the day (``every: 15m``, ``every: 2h``) fires on the same
    wall-clock times as its crontab line (:00, :15, …), so the service and cron agree; any other
    interval counts from *start* (the service's start), and has no crontab line.
    """
    if job.business_day is not None:
        return BusinessDayTrigger(job.business_day, job.at or "", zone, calendar or WEEKENDS_ONLY)
    expression = cron_of(job)
    if expression is not None and job.calendar is not None:
        if calendar is None:
            raise ValueError(f"job {job.id}: its calendar {job.calendar!r} was not given")
        return CalendarCronTrigger(expression, zone, calendar, job.holiday_rule)
    if expression is not None:
        return CrontabTrigger(expression, zone)
    return IntervalTrigger(seconds=seconds(job.every or ""), timezone=zone, start_date=start)


# --- cron's day rules -------------------------------------------------------------------------------

_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's numbering: 0 (and 7) is Sunday


def _cron_weekday(text: str) -> int:
    name = text.lower()
    if name in _CRON_DAY_NAMES:
        return _CRON_DAY_NAMES.index(name)
    if not text.isdigit() or int(text) > 7:
        raise ValueError(f"Error validating expression {text!r}: give a day of week 0-7 (0 and 7 are Sunday) "
                         "or sun-sat")
    return int(text)


def crontab_weekdays(field: str) -> frozenset[int]:
    """The days of week (cron's numbers, Sunday 0) a crontab's fifth field names; raise `ValueError`."""
    days: set[int] = set()
    for item in field.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"Error validating expression {item!r}: the step must be a positive number")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, _, high = base.partition("-")
            first, last = _cron_weekday(low), _cron_weekday(high)
            if first > last:
                raise ValueError(f"Error validating expression {item!r}: the range runs backwards")
        elif slash:
            raise ValueError(f"Error validating expression {item!r}: a step needs * or a range")
        else:
            first = last = _cron_weekday(base)
        days.update(d % 7 for d in range(first, last + 1, step))
    return frozenset(days)


def _apscheduler_weekdays(days: frozenset[int]) -> str:
    """The day_of_week field of an APScheduler CronTrigger for cron's day numbers (by name: no numbering to mix up)."""
    if len(days) == 7:
        return "*"
    return ",".join(WEEKDAY_NAMES[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


class CrontabTrigger(BaseTrigger):
    """A 5-field crontab expression read as cron reads it, fixed-time jobs once per day across DST changes.

    The day of week is cron's (0 and 7 Sunday), and when both the day of month and the day of week
    are restricted (neither starts with ``*``) a day matching either fires, as in cron.
    """

    def __init__(self, expression: str, timezone: ZoneInfo):
        self.expression, self.timezone = expression, timezone
        self._build()

    def _build(self) -> None:
        fields = self.expression.split()
        if len(fields) != 5:
            raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
        minute, hour, day, month, day_of_week = fields
        weekdays = _apscheduler_weekdays(crontab_weekdays(day_of_week))
        either = not day.startswith("*") and not day_of_week.startswith("*")  # cron's rule: either day matches

        def part(day: str, weekdays: str) -> OncePerWallTimeCronTrigger:
            return OncePerWallTimeCronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekdays,
                                              timezone=self.timezone)

        self._parts = [part(day, "*"), part("*", weekdays)] if either else [part(day, weekdays)]

    def get_next_fire_time(self, previous_fire_time, now):
        fires = [f for f in (p.get_next_fire_time(previous_fire_time, now) for p in self._parts) if f is not None]
        return min(fires, key=_utc) if fires else None

    def __getstate__(self):
        return {"version": 1, "expression": self.expression, "timezone": self.timezone.key}

    def __setstate__(self, state):
        if state.get("version", 1) > 1:
            raise ValueError(f"Got serialized data for version {state['version']} of CrontabTrigger, "
                             "but only version 1 can be handled")
        self.expression, self.timezone = state["expression"], ZoneInfo(state["timezone"])
        self._build()

    def __str__(self):
        return f"crontab[{self.expression}]"

    def __repr__(self):
        return f"<CrontabTrigger ({self.expression!r}, timezone={self.timezone.key!r})>"


def check_crontab(expression: str) -> None:
    """Raise `ValueError` for an expression cron would not take."""
    CrontabTrigger(expression, ZoneInfo("UTC"))


def outdated(trigger) -> bool:
    """Whether a stored trigger reads a crontab's day of week APScheduler's way (stored before CrontabTrigger)."""
    if type(trigger) is not OncePerWallTimeCronTrigger:
        return False
    return str(next(f for f in trigger.fields if f.name == "day_of_week")) != "*"


# --- business calendars -----------------------------------------------------------------------------

def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of a local day (past the gap when midnight itself is skipped)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def _local_day(when: dt.datetime, zone: ZoneInfo) -> dt.date:
    return when.astimezone(zone).date()


def _first_on(trigger, day: dt.date, lowest: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The first fire time of *trigger* at or after *lowest* that falls on the local *day*."""
    fire = trigger.get_next_fire_time(None, lowest.astimezone(zone))
    return fire if fire is not None and _local_day(fire, zone) == day else None


_MAX_DAYS = 12 * 366  # a job whose next fire is further than this away has none
_ONE_DAY = dt.timedelta(days=1)


class CalendarCronTrigger(BaseTrigger):
    """A crontab expression with a business calendar: a fire on a holiday is dropped or moved.

    A holiday is a public or market holiday of the calendar, or one of its closed dates; weekends are
    not holidays here, since the expression already says on which days of the week the job runs.
    *on_holiday*: ``skip`` drops the fire; ``next`` (``previous``) moves it to the same time on the
    next (previous) business day, a day that is neither a weekend day nor a holiday. A moved fire that
    meets one of the job's own fire times is one fire.
    """

    def __init__(self, expression: str, timezone: ZoneInfo, calendar: BusinessCalendar, on_holiday: str = "skip"):
        if on_holiday not in ("skip", "next", "previous"):
            raise ValueError(f"on_holiday must be skip, next or previous, not {on_holiday!r}")
        self.expression, self.timezone, self.calendar, self.on_holiday = expression, timezone, calendar, on_holiday
        self._build()

    def _build(self) -> None:
        minute, hour = self.expression.split()[:2]
        self.raw = CrontabTrigger(self.expression, self.timezone)
        self._daily = CrontabTrigger(f"{minute} {hour} * * *", self.timezone)  # the times of a moved fire

    @property
    def line(self) -> str:
        """The crontab line's expression: the job's own when holidays are skipped, else its times every day."""
        return self.expression if self.on_holiday == "skip" else self._daily.expression

    def get_next_fire_time(self, previous_fire_time, now):
        floor = _utc(now) if previous_fire_time is None else min(_utc(now), _utc(previous_fire_time) + _TICK)
        if previous_fire_time is not None and floor <= _utc(previous_fire_time):
            floor = _utc(previous_fire_time) + _TICK
        day = _local_day(floor, self.timezone)
        for _ in range(_MAX_DAYS):
            fire = self._first_fire_on(day, floor)
            if fire is not None:
                return fire
            following = self._day_after(day)
            if following is None:
                return None
            day = following
        return None

    def _first_fire_on(self, day: dt.date, floor: dt.datetime) -> dt.datetime | None:
        lowest = max(floor, _utc(_day_start(day, self.timezone)))
        fires = []
        if self.calendar.holiday(day) is None:
            fires.append(_first_on(self.raw, day, lowest, self.timezone))
        if self.on_holiday != "skip" and self.calendar.is_business_day(day) and any(
                self._fires_on(source) for source in self._moved_from(day)):
            fires.append(_first_on(self._daily, day, lowest, self.timezone))
        found = [f for f in fires if f is not None]
        return min(found, key=_utc) if found else None

    def _moved_from(self, day: dt.date) -> list[dt.date]:
        """The holidays whose fires move to business day *day*."""
        if self.on_holiday == "next":
            first, last = self.calendar.previous_business_day(day) + _ONE_DAY, day - _ONE_DAY
        else:
            first, last = day + _ONE_DAY, self.calendar.next_business_day(day) - _ONE_DAY
        days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        return [d for d in days if self.calendar.holiday(d) is not None]

    def _fires_on(self, day: dt.date) -> bool:
        return _first_on(self.raw, day, _utc(_day_start(day, self.timezone)), self.timezone) is not None

    def _day_after(self, day: dt.date) -> dt.date | None:
        """The next day after *day* that may have a fire: jumps over days without any."""
        upcoming = self.raw.get_next_fire_time(None, _day_start(day + _ONE_DAY, self.timezone))
        coming = None if upcoming is None else _local_day(upcoming, self.timezone)
        if self.on_holiday == "next":
            # A holiday's fire (today's, or one before it) moves on to the next business day.
            pending = None if self.calendar.is_business_day(day) else self.calendar.next_business_day(day)
            candidates = [d for d in (coming, pending) if d is not None]
            return min(candidates) if candidates else None
        if coming is None:
            return None
        if self.on_holiday == "previous":
            # A later holiday's fire moves back, at most to the business day before the next fire day.
            return max(day + _ONE_DAY, self.calendar.previous_business_day(coming))
        return coming

    def __getstate__(self):
        return {"version": 1, "expression": self.expression, "timezone": self.timezone.key,
                "calendar": self.calendar.as_state(), "on_holiday": self.on_holiday}

    def __setstate__(self, state):
        if state.get("version", 1) > 1:
            raise ValueError(f"Got serialized data for version {state['version']} of CalendarCronTrigger, "
                             "but only version 1 can be handled")
        self.expression, self.timezone = state["expression"], ZoneInfo(state["timezone"])
        self.calendar, self.on_holiday = BusinessCalendar.from_state(state["calendar"]), state["on_holiday"]
        self._build()

    def __str__(self):
        return f"crontab[{self.expression}] calendar[{self.calendar.name}, on holiday: {self.on_holiday}]"

    def __repr__(self):
        return (f"<CalendarCronTrigger ({self.expression!r}, timezone={self.timezone.key!r}, "
                f"calendar={self.calendar.name!r}, on_holiday={self.on_holiday!r})>")


class BusinessDayTrigger(BaseTrigger):
    """The *n*-th business day of each month (1 the first, -1 the last) at a time of day ("HH:MM").

    Business days are those that are neither weekend days nor holidays of the calendar; a month with
    fewer than *n* has no fire. The time of day behaves at DST changes as a daily crontab line would.
    """

    def __init__(self, n: int, at: str, timezone: ZoneInfo, calendar: BusinessCalendar):
        if n == 0:
            raise ValueError("business day 0 does not exist: 1 is the first, -1 the last")
        self.n, self.at, self.timezone, self.calendar = n, at, timezone, calendar
        self._build()

    def _build(self) -> None:
        hour, minute = (int(part) for part in self.at.split(":"))
        self._daily = CrontabTrigger(f"{minute} {hour} * * *", self.timezone)

    def get_next_fire_time(self, previous_fire_time, now):
        floor = _utc(now) if previous_fire_time is None else min(_utc(now), _utc(previous_fire_time) + _TICK)
        if previous_fire_time is not None and floor <= _utc(previous_fire_time):
            floor = _utc(previous_fire_time) + _TICK
        local = floor.astimezone(self.timezone)
        year, month = local.year, local.month
        for _ in range(_MAX_DAYS // 28):
            day = self.calendar.nth_business_day(year, month, self.n)
            if day is not None and day >= local.date():
                fire = _first_on(self._daily, day, max(floor, _utc(_day_start(day, self.timezone))), self.timezone)
                if fire is not None:
                    return fire
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None

    @property
    def raw(self) -> BusinessDayTrigger:
        """The same rule with no holidays: where the job would fire if no day were a holiday."""
        return BusinessDayTrigger(self.n, self.at, self.timezone, self.calendar.weekends_only())

    @property
    def line(self) -> str:
        """The crontab line's expression: the time on every weekday of the calendar (a business day may be any)."""
        hour, minute = (int(part) for part in self.at.split(":"))
        cron_days = sorted((d + 1) % 7 for d in self.calendar.workdays)  # date.weekday() to cron's numbering
        return f"{minute} {hour} * * {_cron_list(cron_days) if len(cron_days) < 7 else '*'}"

    def __getstate__(self):
        return {"version": 1, "n": self.n, "at": self.at, "timezone": self.timezone.key,
                "calendar": self.calendar.as_state()}

    def __setstate__(self, state):
        if state.get("version", 1) > 1:
            raise ValueError(f"Got serialized data for version {state['version']} of BusinessDayTrigger, "
                             "but only version 1 can be handled")
        self.n, self.at, self.timezone = state["n"], state["at"], ZoneInfo(state["timezone"])
        self.calendar = BusinessCalendar.from_state(state["calendar"])
        self._build()

    def __str__(self):
        return f"business_day[{self.n} at {self.at}, calendar {self.calendar.name}]"

    def __repr__(self):
        return (f"<BusinessDayTrigger ({self.n}, {self.at!r}, timezone={self.timezone.key!r}, "
                f"calendar={self.calendar.name!r})>")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 11th, …; -1 is "last", -2 "2nd-last"."""
    if n == -1:
        return "last"
    if n < 0:
        return f"{ordinal(-n)}-last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_RULES = {"skip": "holidays skipped", "next": "holidays moved to the next business day",
          "previous": "holidays moved to the previous business day"}


def describe(job: JobSpec) -> str:
    """How a job is scheduled, in words: ``cron 0 6 * * 1-5``, ``every 1h``, ``1st business day at 07:00, …``."""
    if job.business_day is not None:
        days = f"calendar {job.calendar}" if job.calendar else "weekends closed"
        return f"{ordinal(job.business_day)} business day of the month at {job.at}, {days}"
    if job.cron is None:
        return f"every {job.every}"
    if job.calendar is None:
        return f"cron {job.cron}"
    return f"cron {job.cron}, calendar {job.calendar}, {_RULES[job.holiday_rule]}"


def crontab_expression(job: JobSpec, calendar: BusinessCalendar | None) -> str | None:
    """The cron expression of the job's crontab line: every time the job may fire, or None.

    A job with a calendar gets a line that fires on every candidate day (`exporter run-job` decides):
    its own expression when holidays are skipped; the same times every day when fires move to another
    day; the time on every weekday of the calendar for a business_day job.
    """
    if job.business_day is not None or (job.calendar is not None and cron_of(job) is not None):
        return trigger_for(job, ZoneInfo("UTC"), calendar=calendar).line
    return cron_of(job)


def _cron_list(days: list[int]) -> str:
    """``1,2,3,4,5`` as ``1-5``; other lists as they are."""
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{days[0]}-{days[-1]}"
    return ",".join(map(str, days))


# --- the cron path's decision ------------------------------------------------------------------------

# A crontab line's run starts a little after its minute begins; under load it may start later still.
LATE_START = dt.timedelta(minutes=5)
_LONGEST_GAP = dt.timedelta(hours=3)  # cron runs a skipped fixed time at once if the clock jumped less than this


@dataclass(frozen=True)
class Decision:
    """What `run-job --trigger cron` does now: ``run``, ``closed`` (a fire on a closed day), ``late`` (a fire time
    the start came too long after) or ``not due``."""

    action: str
    reason: str
    fire: dt.datetime | None = None  # the fire time this run stands for (run) or that the closed day took


def cron_decision(trigger, now: dt.datetime, grace: dt.timedelta = dt.timedelta(0), job_id: str = "JOB") -> Decision:
    """Decide, for the job *job_id*'s crontab line started at *now*, whether it fires, is closed, is late or is not due.

    The start stands for the line's latest time that cron starts at most `LATE_START` before *now*
    (a time whose wall-clock time does not exist, in the hour skipped when clocks go forward, is
    started by cron when the clock jumps). At that time the job fires, or its calendar closed the
    day on which it would have fired without the calendar, or neither.
    """
    zone = trigger.timezone
    moment = _latest_start(CrontabTrigger(trigger.line, zone), now)
    if moment is not None and _fires_at(trigger, moment):
        return Decision("run", f"fire time {_shown(moment, zone)}", moment)
    then = _next_fire_text(trigger, now)
    if moment is None:
        missed = _missed_fire(trigger, now, grace)
        if missed is not None:  # cron started the line late (a loaded host): said loudly, never silently lost
            late = int((_utc(now) - _utc(missed)).total_seconds() // 60)
            return Decision("late", f"started {late} min after the fire time {_shown(missed, zone)}, more than "
                                    f"{int(LATE_START.total_seconds() // 60)} min late: not built (run it with "
                                    f"`exporter run-job {job_id}`); {then}", missed)
        return Decision("not due", f"not a time of the job's crontab line; {then}")
    return closed_at(trigger, moment, now) or Decision("not due", f"{_shown(moment, zone)} is not a fire time "
                                                                  f"of the job; {then}")


def closed_at(trigger, moment: dt.datetime, now: dt.datetime | None = None) -> Decision | None:
    """The decision "closed" for *moment*, a time of the job's crontab line as its trigger gives it,
    when the job's calendar closes that day and the job would have fired then without it; else None.
    Its reason names the next fire time after *now* (default: *moment*). The service asks it for a
    time it fired; `cron_decision` for the time a crontab line started at."""
    reason = trigger.calendar.reason(_local_day(moment, trigger.timezone))
    if reason is None or _fires_at(trigger, moment) or not _fires_at(trigger.raw, moment):
        return None
    return Decision("closed", f"{reason}; {_next_fire_text(trigger, moment if now is None else now)}", moment)


def _next_fire_text(trigger, after: dt.datetime) -> str:
    following = trigger.get_next_fire_time(None, after)
    return f"next fire time {_shown(following, trigger.timezone)}" if following is not None else "no next fire time"


def _missed_fire(trigger, now: dt.datetime, grace: dt.timedelta) -> dt.datetime | None:
    """The job's latest fire time between *grace* and `LATE_START` before *now* (a start that came too late), or None."""
    if grace <= LATE_START:
        return None
    fire, found = trigger.get_next_fire_time(None, (now - grace).astimezone(trigger.timezone)), None
    while fire is not None and _utc(fire) <= _utc(now) - LATE_START:
        found = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
    return found


def _fires_at(trigger, moment: dt.datetime) -> bool:
    """Whether *moment* is a fire time of *trigger* (asked from before: a time in a DST gap is found by wall time)."""
    since = _cron_start(moment, trigger.timezone) - dt.timedelta(seconds=1)
    fire = trigger.get_next_fire_time(None, since.astimezone(trigger.timezone))
    while fire is not None and _utc(fire) < _utc(moment):
        fire = trigger.get_next_fire_time(fire, fire)
    return fire is not None and _utc(fire) == _utc(moment)


def _latest_start(line, now: dt.datetime) -> dt.datetime | None:
    """The latest time of *line* that cron starts in the `LATE_START` before *now*, or None."""
    zone, latest = line.timezone, None
    fire = line.get_next_fire_time(None, (now - LATE_START).astimezone(zone))
    while fire is not None and _utc(fire) <= _utc(now) + _LONGEST_GAP:  # cron starts a fire at or before its time
        if _utc(now) - LATE_START < _cron_start(fire, zone) <= _utc(now):
            latest = fire
        fire = line.get_next_fire_time(fire, fire)
    return latest


def _cron_start(fire: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """When cron starts the run of *fire* (UTC): at the fire time, or when the clock jumped over its wall time."""
    wall = fire.replace(tzinfo=None)
    if dt.datetime.combine(wall.date(), wall.time(), tzinfo=zone).astimezone(dt.UTC).astimezone(zone).replace(
            tzinfo=None) == wall:
        return _utc(fire)
    low, high = _utc(fire) - _LONGEST_GAP, _utc(fire)  # the jump is the first instant whose wall time is past *wall*
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _shown(when: dt.datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).isoformat(timespec="minutes")


def fire_times(trigger, now: dt.datetime, count: int) -> list[dt.datetime]:
    """Return the next *count* fire times of *trigger* after *now*."""
    times: list[dt.datetime] = []
    previous = None
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous, now = fire, fire + dt.timedelta(microseconds=1)
    return times
