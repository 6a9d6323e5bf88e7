"""Health for ops: per report and per timetable job, the last run, success and failure, the next
fire time, and whether it failed last or is stale; a Nagios-style summary line over all of them.

    run history (read only) ──▶ Health per report and job ◀── JobPlan per job (schedule/plan.py)
                                          │
                                          ▼
                     Status: summary line, detail lines, JSON; healthy or not

The history is opened read-only (no schema written, no lock taken), so `status` works while a
build runs and never gets in its way. Times are the runs' start times.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import StateError
from ..core.ids import SetId
from ..core.statedb import DB_NAME
from ..core.workspace import Workspace
from .catalog import report_ids
from .history import process_gone

SUCCESS_OUTCOMES = ("built", "unchanged")
# A report stopped by the run deadline is in a run marked failed; stopped by SIGTERM, it is neither.
_REPORT_KIND = """CASE WHEN o.outcome IN ('built', 'unchanged') THEN 'success'
    WHEN o.outcome IN ('failed', 'invalid') OR (o.outcome = 'stopped' AND r.status = 'failed') THEN 'failure'
    ELSE 'other' END"""
# Skipped (lock busy, fire time missed), stopped (the service stopping) and running runs are neither.
_RUN_KIND = """CASE WHEN r.status = 'ok' THEN 'success'
    WHEN r.status IN ('failed', 'invalid', 'interrupted') THEN 'failure' ELSE 'other' END"""
NAMES_IN_SUMMARY = 5


@dataclass(frozen=True)
class Scheduler:
    """Whether a scheduler service holds the state folder: True, False, or None when it cannot be told."""

    running: bool | None
    pid: int | None = None

    def as_json(self) -> dict:
        return {"running": self.running, "pid": self.pid}


@dataclass(frozen=True)
class JobPlan:
    """What the timetable (or the running service) says of one job, as plain values."""

    id: str
    trigger: str  # "cron 0 6 * * 1-5" or "every 1h"
    reports: tuple[str, ...]  # empty: every report
    next_fire: dt.datetime | None
    next_fire_from: str  # "job store" (the running service's) or "timetable"
    grace: dt.timedelta  # misfire_grace + run_deadline: how long after a fire time its run may still end
    fire_after: Callable[[dt.datetime], dt.datetime | None]  # the first fire time after a moment

    def covers(self, set_id: str) -> bool:
        return not self.reports or SetId.parse(set_id).report in self.reports


@dataclass(frozen=True)
class Event:
    """One run as seen from a report (its outcome) or a job (the run's status)."""

    run_id: str
    at: dt.datetime  # the run's start
    result: str
    error: str | None

    def as_json(self) -> dict:
        return {"run_id": self.run_id, "at": _iso(self.at), "result": self.result, "error": self.error}


@dataclass(frozen=True)
class Health:
    kind: str  # "report" or "job"
    id: str
    last_run: Event | None
    last_success: Event | None
    last_failure: Event | None
    next_fire: dt.datetime | None = None
    next_fire_from: str | None = None
    stale: tuple[str, ...] = ()  # why it is stale: one reason per job period or --max-age
    trigger: str | None = None  # a job's
    jobs: tuple[str, ...] = ()  # the jobs that build a report

    @property
    def failed(self) -> bool:
        """The latest run that succeeded or failed, failed (a later skipped or running one does not clear it)."""
        if self.last_failure is None:
            return False
        return self.last_success is None or _order(self.last_failure) > _order(self.last_success)

    @property
    def healthy(self) -> bool:
        return not self.failed and not self.stale

    @property
    def state(self) -> str:
        if self.failed:
            return "failed"
        if self.stale:
            return "stale"
        return "never run" if self.last_run is None else "ok"

    def as_json(self) -> dict:
        extra = {"trigger": self.trigger} if self.kind == "job" else {"jobs": list(self.jobs)}
        return {
            "id": self.id, **extra, "state": self.state, "healthy": self.healthy, "failed": self.failed,
            "stale": list(self.stale),
            **{name: None if event is None else event.as_json() for name, event in
               (("last_run", self.last_run), ("last_success", self.last_success),
                ("last_failure", self.last_failure))},
            "next_fire": None if self.next_fire is None else _iso(self.next_fire),
            "next_fire_from": self.next_fire_from,
        }


@dataclass(frozen=True)
class Status:
    now: dt.datetime
    reports: tuple[Health, ...]
    jobs: tuple[Health, ...] | None  # None: no timetable
    scheduler: Scheduler | None = None
    timetable_error: str | None = None  # the timetable exists or is named, and cannot be used
    max_age: dt.timedelta | None = None

    @property
    def healthy(self) -> bool:
        return self.timetable_error is None and all(h.healthy for h in (*self.reports, *(self.jobs or ())))

    def summary(self) -> str:
        """One line in the shape of a Nagios/Icinga check: ``EXPORTER OK - …`` or ``EXPORTER CRITICAL - …``."""
        jobs = self.jobs or ()
        if self.healthy:
            counts = _count(len(self.reports), "report") + (f", {_count(len(jobs), 'job')}" if self.jobs is not None
                                                             else "")
            text = f"EXPORTER OK - {counts} healthy"
        else:
            parts = ["timetable invalid"] if self.timetable_error is not None else []
            for items, noun in ((self.reports, "report"), (jobs, "job")):
                for state in ("failed", "stale"):
                    names = [h.id for h in items if h.state == state]
                    if names:
                        parts.append(f"{_count(len(names), noun)} {state}: {_names(names)}")
            text = "EXPORTER CRITICAL - " + "; ".join(parts)
        perf = {"reports": len(self.reports), "reports_failed": sum(h.failed for h in self.reports),
                "reports_stale": sum(bool(h.stale) for h in self.reports)}
        if self.jobs is not None:
            perf |= {"jobs": len(jobs), "jobs_failed": sum(h.failed for h in jobs),
                     "jobs_stale": sum(bool(h.stale) for h in jobs)}
        return text + " | " + " ".join(f"{k}={v}" for k, v in perf.items())

    def lines(self) -> list[str]:
        """The detail after the summary line, for people."""
        lines = []
        if self.jobs is not None or self.timetable_error is not None:
            lines.append(f"scheduler: {_scheduler_text(self.scheduler)}")
        if self.timetable_error is not None:
            lines.append("timetable: invalid")
            lines += [f"    {line}" for line in self.timetable_error.splitlines()]
        for health in (*self.reports, *(self.jobs or ())):
            lines += _health_lines(health)
        return lines

    def as_json(self) -> dict:
        return {
            "healthy": self.healthy, "summary": self.summary(), "now": _iso(self.now),
            "max_age_seconds": None if self.max_age is None else int(self.max_age.total_seconds()),
            "scheduler": None if self.scheduler is None else self.scheduler.as_json(),
            "timetable_error": self.timetable_error,
            "reports": [h.as_json() for h in self.reports],
            "jobs": None if self.jobs is None else [h.as_json() for h in self.jobs],
        }


def status_of(workspace: Workspace, *, now: dt.datetime, jobs: list[JobPlan] | None = None,
              scheduler: Scheduler | None = None, timetable_error: str | None = None,
              max_age: dt.timedelta | None = None) -> Status:
    """Judge each report of the catalog and each job in *jobs* (None: no timetable) by the run history."""
    catalog = report_ids(workspace)
    history = _read(workspace.state / DB_NAME)
    plans = jobs or []
    reports = []
    for set_id in _listed_sets(catalog, history.reports):
        events = history.reports.get(set_id, _Events())
        covering = [p for p in plans if p.covers(set_id)]
        fires = sorted((p.next_fire, p.next_fire_from) for p in covering if p.next_fire is not None)
        next_fire, next_from = fires[0] if fires else (None, None)
        reports.append(Health("report", set_id, events.last_run, events.last_success, events.last_failure,
                              next_fire, next_from, _stale(events, covering, now, max_age),
                              jobs=tuple(p.id for p in covering)))
    judged = None
    if jobs is not None:
        judged = []
        for plan in plans:
            events = history.jobs.get(plan.id, _Events())
            judged.append(Health("job", plan.id, events.last_run, events.last_success, events.last_failure,
                                 plan.next_fire, plan.next_fire_from, _stale(events, [plan], now, max_age),
                                 trigger=plan.trigger))
    return Status(now, tuple(reports), None if judged is None else tuple(judged), scheduler, timetable_error, max_age)


@dataclass
class _Events:
    last_run: Event | None = None
    last_success: Event | None = None
    last_failure: Event | None = None
    first_at: dt.datetime | None = None  # the first run recorded: when the report or job was first seen


@dataclass
class _History:
    reports: dict[str, _Events] = field(default_factory=dict)
    jobs: dict[str, _Events] = field(default_factory=dict)


# The latest row of each (report or job, kind) and the latest of each overall, in one pass with window functions.
_LATEST = """
SELECT key, kind, run_id, started_at, result, error, first_at, n_any, n_kind FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY key ORDER BY started_at DESC, run_id DESC) AS n_any,
              ROW_NUMBER() OVER (PARTITION BY key, kind ORDER BY started_at DESC, run_id DESC) AS n_kind,
              MIN(started_at) OVER (PARTITION BY key) AS first_at
    FROM ({rows})
) WHERE n_any = 1 OR n_kind = 1
"""
_REPORT_ROWS = (f"SELECT o.report_id AS key, {_REPORT_KIND} AS kind, r.run_id, r.started_at, o.outcome AS result, "
                "o.error FROM outcomes o JOIN runs r ON r.run_id = o.run_id")
_JOB_ROWS = (f"SELECT r.job_id AS key, {_RUN_KIND} AS kind, r.run_id, r.started_at, r.status AS result, r.error "
             "FROM runs r WHERE r.job_id IS NOT NULL")
# A failed run with no error of its own failed in its reports: theirs say why.
_REPORT_ERRORS = ("SELECT report_id, error FROM outcomes WHERE run_id = ? AND outcome IN ('failed', 'invalid') "
                  "ORDER BY report_id")


def _read(path: Path) -> _History:
    """The latest runs of each report and job, read from the history without writing to it."""
    history = _History()
    if not path.is_file():
        return history
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"runs", "outcomes"} <= tables:
                return history  # only the delivery ledger so far
            for target, rows in ((history.reports, _REPORT_ROWS), (history.jobs, _JOB_ROWS)):
                for key, kind, run_id, started, result, error, first, n_any, n_kind in db.execute(
                        _LATEST.format(rows=rows)):
                    events = target.setdefault(key, _Events(first_at=_time(first)))
                    event = Event(run_id, _time(started), result, error)
                    if n_any == 1:
                        events.last_run = event
                    if n_kind == 1 and kind == "success":
                        events.last_success = event
                    elif n_kind == 1 and kind == "failure":
                        if error is None and target is history.jobs:
                            event = Event(run_id, event.at, result, _reports_error(db, run_id))
                        events.last_failure = event
                        if n_any == 1:
                            events.last_run = event
            for events in history.jobs.values():
                run = events.last_run
                if run is not None and run.result == "running" and (why := _ended(db, run.run_id, path.parent)):
                    events.last_run = events.last_failure = Event(run.run_id, run.at, "interrupted", why)
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot read the run history: {exc}") from exc
    return history


def _ended(db: sqlite3.Connection, run_id: str, state: Path) -> str | None:
    """Why a run the history has as running has ended without saying so (`history.process_gone`)."""
    try:
        row = db.execute("SELECT pid, host, pid_ns FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    except sqlite3.OperationalError:  # a history no run of this version has opened yet: no pid_ns column
        return None
    if row is None:
        return None
    pid, host, pid_ns = row
    return process_gone(pid, host, pid_ns, state)


def _reports_error(db: sqlite3.Connection, run_id: str) -> str | None:
    errors = [f"{report_id}: {error or 'failed'}" for report_id, error in db.execute(_REPORT_ERRORS, (run_id,))]
    return "\n".join(errors) or None


def _listed_sets(catalog: list[str], reports: dict[str, _Events]) -> list[str]:
    """The catalog's reports, each followed by its variants' sets as its latest successful run recorded them.

    A variant recorded only before its report's last success has been removed from the report.
    """
    variants: dict[str, list[str]] = {}
    for set_id in sorted(reports):
        parsed = SetId.parse(set_id)
        if parsed.is_variant:
            variants.setdefault(parsed.report, []).append(set_id)
    listed = []
    for report_id in catalog:
        listed.append(report_id)
        own = reports.get(report_id, _Events()).last_success
        for set_id in variants.get(report_id, []):
            last = reports[set_id].last_run
            if last is not None and (own is None or _order(last) >= _order(own)):  # same second: by run id
                listed.append(set_id)
    return listed


def _stale(events: _Events, plans: list[JobPlan], now: dt.datetime, max_age: dt.timedelta | None) -> tuple[str, ...]:
    """Why a report or job is stale: a fire time passed, with its grace, and no success since; or --max-age."""
    reasons = []
    since = events.last_success.at if events.last_success else events.first_at
    if since is not None:  # never run: nothing says since when it was due (--max-age does)
        for plan in plans:
            fire = plan.fire_after(since)
            if fire is not None and fire + plan.grace <= now:
                what = "no success since" if events.last_success else "never succeeded; due at"
                reasons.append(f"{what} {_iso(fire)} (job {plan.id}; misfire_grace and run_deadline "
                               f"of {_span(plan.grace)} passed)")
    if max_age is not None:
        if events.last_success is None:
            reasons.append(f"never succeeded (--max-age {_span(max_age)})")
        elif now - events.last_success.at > max_age:
            reasons.append(f"last success {_span(now - events.last_success.at)} ago, over --max-age {_span(max_age)}")
    return tuple(reasons)


def _health_lines(health: Health) -> list[str]:
    head = f"{health.kind} {health.id}" + (f" ({health.trigger})" if health.trigger else "")
    lines = [f"{head}: {health.state.upper() if not health.healthy else health.state}"]

    def event(label: str, e: Event | None, *, error: bool = False) -> None:
        if e is None:
            lines.append(f"    {label:<14}never")
            return
        text = f"{_iso(e.at)} {e.result} (run {e.run_id})"
        lines.append(f"    {label:<14}{text}")
        if error and e.error:
            lines.extend(f"        {line}" for line in e.error.splitlines())

    event("last run:", health.last_run)
    event("last success:", health.last_success)
    event("last failure:", health.last_failure, error=True)
    if health.next_fire is not None:
        by = f"; jobs {', '.join(health.jobs)}" if health.jobs else ""
        lines.append(f"    {'next fire:':<14}{_iso(health.next_fire)} ({health.next_fire_from}{by})")
    lines.extend(f"    {'stale:':<14}{reason}" for reason in health.stale)
    return lines


def _scheduler_text(scheduler: Scheduler | None) -> str:
    if scheduler is None or scheduler.running is None:
        return "unknown (no lock table to read)"
    if not scheduler.running:
        return "not running (next fire times from the timetable)"
    return "running" + (f" (pid {scheduler.pid})" if scheduler.pid else "")


def _order(event: Event) -> tuple[dt.datetime, str]:
    return event.at, event.run_id


def _time(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_IN_SUMMARY])
    return shown + (f" and {len(names) - NAMES_IN_SUMMARY} more" if len(names) > NAMES_IN_SUMMARY else "")


def _span(delta: dt.timedelta) -> str:
    """A duration as the timetable writes them, to the two largest units: 1d 6h, 45m, 30s."""
    rest = max(int(delta.total_seconds()), 0)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return " ".join(parts[:2])
