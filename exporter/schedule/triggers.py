"""APScheduler triggers for timetable jobs, with cron's behaviour at daylight-saving changes.

APScheduler 3.x fires a daily ``30 1 * * *`` job twice on the night clocks go back (01:30
happens twice). Cron implementations run such fixed-time jobs once, and jobs with a wildcard
hour every hour; `OncePerWallTimeCronTrigger` does the same. Spring-forward gaps are already
handled by APScheduler (a 02:30 job runs once, at the first valid instant).

Job stores pickle triggers, so the class lives here, at a stable import path.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .timetable import JobSpec, seconds


class OncePerWallTimeCronTrigger(CronTrigger):
    """A cron trigger that skips the repeat of a wall-clock time when clocks go back.

    It also guards against APScheduler 3.11 answering, from inside a repeated hour, with a time
    before the one asked for (seen: from 01:01 EST, ``*/20 1 * * *`` gave 01:20 EDT).
    """

    def get_next_fire_time(self, previous_fire_time, now):
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall time, ignoring fold.
        floor = _utc(now) if previous_fire_time is None else _utc(previous_fire_time) + _TICK
        fire = super().get_next_fire_time(previous_fire_time, now)
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

    def _fixed_hour(self) -> bool:
        hour = next(f for f in self.fields if f.name == "hour")
        return str(hour) != "*"


_TICK = dt.timedelta(microseconds=1)


def _utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC)


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
    """The cron expression a job fires on: its own, or its interval's when cron can express it."""
    return job.cron if job.cron is not None else interval_as_cron(job.every or "")


def trigger_for(job: JobSpec, zone: ZoneInfo, *, start: dt.datetime | None = None):
    """Return the APScheduler trigger for a timetable job.

    An interval that divides the hour or the day (``every: 15m``, ``every: 2h``) fires on the same
    wall-clock times as its crontab line (:00, :15, …), so the service and cron agree; any other
    interval counts from *start* (the service's start), and has no crontab line.
    """
    expression = cron_of(job)
    if expression is not None:
        minute, hour, day, month, day_of_week = expression.split()
        return OncePerWallTimeCronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=zone
        )
    return IntervalTrigger(seconds=seconds(job.every or ""), timezone=zone, start_date=start)


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
