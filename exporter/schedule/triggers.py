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
    return when.astimezone(dt.timezone.utc)


def _next_hour(when: dt.datetime) -> dt.datetime:
    """Return the top of the next hour after *when*, in UTC."""
    return _utc(when).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)


def _is_repeat(when: dt.datetime) -> bool:
    """Tell whether *when* is the second occurrence of an ambiguous local time."""
    wall = when.replace(tzinfo=None)
    first = wall.replace(tzinfo=when.tzinfo, fold=0)
    return first.utcoffset() != when.utcoffset()


def trigger_for(job: JobSpec, zone: ZoneInfo, *, start: dt.datetime | None = None):
    """Return the APScheduler trigger for a timetable job."""
    if job.cron is not None:
        fields = job.cron.split()
        minute, hour, day, month, day_of_week = fields
        return OncePerWallTimeCronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=zone
        )
    return IntervalTrigger(seconds=seconds(job.every), timezone=zone, start_date=start)


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
