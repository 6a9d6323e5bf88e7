"""When each timetable job is due: its next fire time and the fire times a run must have followed.

What `exporter status` needs from the schedule, as plain values: the history side (runs/status.py)
judges the runs against them. Reads only: the running service's job store is read as a plain
SQLite table (its ``next_run_time`` column), never unpickled and never opened by APScheduler, and
whether the service runs is read from the kernel's lock table, never by taking its lock.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..core.workspace import Workspace
from ..runs.lock import PROC_LOCKS, SCHEDULER_LOCK_NAME, held
from ..runs.status import JobPlan, Scheduler
from .service import JOBSTORE_NAME
from .timetable import Timetable, seconds
from .triggers import describe, fire_times, on_the_clock, trigger_for


def job_plans(workspace: Workspace, timetable: Timetable, now: dt.datetime, scheduler: Scheduler) -> list[JobPlan]:
    """Each job of *timetable* with its next fire time: the service's when it runs, else the timetable's."""
    zone = timetable.zone
    stored = _stored_next_runs(workspace.state, zone) if scheduler.running is not False else {}
    grace = dt.timedelta(seconds=seconds(timetable.misfire_grace) + seconds(timetable.run_deadline))
    plans = []
    for job in timetable.jobs:
        fire_after = (_cron_fire_after(trigger_for(job, zone, calendar=timetable.calendar_of(job)))
                      if on_the_clock(job) else _fire_after(job.every))
        stored_next = stored.get(job.id)
        # With no lock table to ask (not Linux), a stored time still ahead is taken as the service's.
        next_fire: dt.datetime | None = stored_next
        source = "job store"
        if stored_next is None or not (scheduler.running or stored_next >= now):
            next_fire, source = fire_after(now), "timetable"
        plans.append(JobPlan(job.id, describe(job), job.report_ids,
                             None if next_fire is None else next_fire.astimezone(zone), source, grace, fire_after))
    return plans


def _cron_fire_after(trigger) -> Callable[[dt.datetime], dt.datetime | None]:
    def fire_after(moment: dt.datetime) -> dt.datetime | None:
        # Times in the history have whole seconds: a run that started at 06:00:00.4 reads 06:00:00.
        times = fire_times(trigger, moment + dt.timedelta(seconds=1), 1)
        return times[0] if times else None

    return fire_after


def _fire_after(every: str | None) -> Callable[[dt.datetime], dt.datetime | None]:
    """An interval that counts from the service's start: the next run is one interval after the last."""
    period = dt.timedelta(seconds=seconds(every or ""))
    return lambda moment: moment + period


def _stored_next_runs(state: Path, zone) -> dict[str, dt.datetime]:
    """The next run time of each job in the service's job store, or nothing when there is no store."""
    path = state / JOBSTORE_NAME
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall()
        finally:
            db.close()
    except sqlite3.Error:  # not (yet) a job store: the timetable says when instead
        return {}
    # APScheduler stores UTC seconds since the epoch; NULL is a paused job.
    return {job_id: dt.datetime.fromtimestamp(when, zone) for job_id, when in rows if when is not None}


def scheduler_state(state: Path, locks: Path = PROC_LOCKS) -> Scheduler:
    """Tell whether a scheduler service holds its lock in *state*, from the kernel's table of locks."""
    running, pid = held(state / SCHEDULER_LOCK_NAME, locks)
    return Scheduler(running, pid)
