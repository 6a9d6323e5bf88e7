"""The scheduler service: APScheduler 3.x running the timetable's jobs in the foreground.

Each run is ``exporter run-job JOB_ID`` in a child process, the very command a crontab line runs,
so that a run past its deadline can be stopped without harming the service. The job store is
SQLite in the state folder; one scheduler per state folder, enforced by a lock, because
APScheduler's persistent stores cannot be shared between schedulers.

SIGHUP syncs the jobs with the timetable again (a reload thread does it: a signal handler must not take
the scheduler's locks). Under systemd (``Type=notify``, see `.systemd`) the service says READY=1 once
its jobs are synced, STATUS= after each run, WATCHDOG=1 from the scheduler's loop and STOPPING=1.

    timetable ──sync──▶ job store ──APScheduler──▶ scheduled_build(job_id, …) ──▶ exporter run-job (child)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from ..core import logs
from ..core.errors import DataError, ExporterError, StateError
from ..core.workspace import Workspace
from ..runs.history import RunHistory
from ..runs.lock import SCHEDULER_LOCK_NAME, exclusive_run
from ..runs.record import Clock, RunContext, new_run_id, utc_now
from .jobs import alerts_for, closed_day, load_schedule, run_job_argv
from .systemd import WATCHDOG_JOB_ID, Notifier, add_watchdog
from .timetable import JobSpec, Timetable, seconds
from .triggers import CrontabTrigger, closed_at, cron_of, outdated, trigger_for
from .watch import Watch

log = logging.getLogger(__name__)

JOBSTORE_NAME = "jobs.sqlite"
JOB_FUNCTION = "exporter.schedule.service:scheduled_build"
# Where stores written before the package move point; such jobs are rewritten at start-up.
LEGACY_JOB_FUNCTIONS = ("exporter.service:scheduled_build",)
STOP_GRACE_SECONDS = 30  # after SIGTERM, how long a stopping child may take before it is killed
# The closed-day watchers (`watch_closed_days`): an in-memory store and a thread of their own.
CLOSED_DAYS = "closed-days"


class _Runs:
    """What the job threads share with the main thread: running children and pending catch-ups."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.children: dict[str, subprocess.Popen] = {}
        self.catch_up: dict[str, int] = {}
        self.stopping = threading.Event()
        self.child_options: list[str] = []  # the service's own log options, passed on to each run
        self.notifier = Notifier({})  # systemd's, when the service runs under it (Type=notify)
        self.reload = threading.Event()  # set by SIGHUP: re-read the timetable
        self.job_count = 0
        self.last_run = ""  # for systemd's STATUS=: the last run's job, outcome and end time
        self.clock: Clock = utc_now
        self.store: Any = None  # the scheduler's job store, for a reload and the watchdog's health check
        self.metrics_file: Path | None = None  # the service's --metrics-file, passed on to each run
        self.watch_lock = threading.Lock()  # held by a closed-day watcher while it records and pings


_RUNS = _Runs()


def run_service(workspace: Workspace, *, child_options: list[str] | tuple[str, ...] = (),
                clock: Clock = utc_now, metrics_port: int | None = None, metrics_address: str = "127.0.0.1") -> None:
    """Run the scheduler until SIGTERM or SIGINT; return once the running build has ended.

    *child_options* are global command-line options for each run's ``exporter`` child (log format, -q).
    With *metrics_port*, Prometheus metrics are served on *metrics_address* (computed at each scrape).
    """
    timetable = load_schedule(workspace)
    _RUNS.child_options = list(child_options)
    _RUNS.metrics_file = workspace.absolute().metrics_file
    _RUNS.notifier, _RUNS.clock, _RUNS.job_count = Notifier.take_from(os.environ), clock, len(timetable.jobs)
    from ..runs import metrics  # prometheus_client is loaded only when metrics are written or served

    # The metrics endpoint starts before READY is told to systemd: a port in use stops the start (exit 2).
    with exclusive_run(workspace.state, name=SCHEDULER_LOCK_NAME, what="exporter scheduler"), \
            metrics.serving(workspace, metrics_port, metrics_address):
        scheduler = _make_scheduler(workspace, timetable, clock)
        _install_signal_handlers(scheduler)
        _notify_systemd(scheduler)
        _reload_on_sighup(scheduler, workspace, clock)
        log.info("scheduler started: %d job(s), time zone %s, state %s", len(timetable.jobs), timetable.timezone,
                 workspace.state)
        scheduler.start()  # blocks until a signal shuts it down
        _wait_for_children()
        with _RUNS.watch_lock:  # a closed-day watcher halfway through finishes first
            pass
        log.info("scheduler stopped")


def _make_scheduler(workspace: Workspace, timetable: Timetable, clock: Clock):
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    store = _RUNS.store = job_store(workspace)
    scheduler = BlockingScheduler(
        jobstores={"default": store},
        # One worker: jobs of this service run one after another instead of meeting the build lock.
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,  # after downtime, one catch-up run instead of every missed one
            "max_instances": 1,
            "misfire_grace_time": seconds(timetable.misfire_grace),
        },
        timezone=timetable.zone,
    )
    sync_jobs(scheduler, store, workspace, timetable, clock().astimezone(timetable.zone))
    from apscheduler.jobstores.memory import MemoryJobStore

    scheduler.add_jobstore(MemoryJobStore(), CLOSED_DAYS)
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), CLOSED_DAYS)
    watch_closed_days(scheduler, workspace, timetable)
    scheduler.add_listener(
        lambda event: _record_not_run(workspace, event, clock), EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )
    return scheduler


def job_store(workspace: Workspace):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    workspace.state.mkdir(parents=True, exist_ok=True)
    return SQLAlchemyJobStore(url=f"sqlite:///{workspace.state / JOBSTORE_NAME}")


def job_kwargs(workspace: Workspace, timetable: Timetable, job: JobSpec) -> dict:
    """The job function's arguments: primitives only, since the store pickles them.

    What the job builds is not among them: `exporter run-job` reads it from the timetable at each run.
    """
    where = workspace.absolute()
    return {
        "job_id": job.id,
        "data_dir": str(where.data_dir),
        "output_dir": str(where.output_dir),
        "state_dir": str(workspace.state.resolve()),  # resolved whole, as before: OUTPUT/.exporter may be a link
        "schedule": str(where.schedule),
        "recipients": str(where.recipients),
        "deadline": float(seconds(timetable.run_deadline)),
        "spec": _spec(timetable, job),
    }


def _spec(timetable: Timetable, job: JobSpec) -> str:
    """What the trigger is made from: a stored job keeps its next run time only while this is unchanged.

    A job without a calendar has the spec it had before calendars existed, so upgrading replaces no job.
    """
    spec: dict = {"cron": cron_of(job) if job.cron is None else job.cron, "every": job.every,
                  "timezone": timetable.timezone}
    if job.business_day is not None:
        spec |= {"business_day": job.business_day, "at": job.at}
    calendar = timetable.calendar_of(job)
    if calendar is not None:  # a changed holiday list or closed date changes the fire times
        spec |= {"calendar": calendar.as_state(), "on_holiday": job.holiday_rule if job.cron else None}
    return json.dumps(spec, sort_keys=True)


_PLACES = ("job_id", "data_dir", "output_dir", "state_dir", "deadline", "spec")


def _unchanged(stored, kwargs: dict) -> bool:
    """Tell whether a stored job is the timetable's job as it is now (a legacy job: same places and trigger)."""
    if stored.func_ref == JOB_FUNCTION:
        return stored.kwargs == kwargs
    return stored.func_ref in LEGACY_JOB_FUNCTIONS and all(stored.kwargs.get(k) == kwargs[k] for k in _PLACES)


def sync_jobs(scheduler, store, workspace: Workspace, timetable: Timetable, now: dt.datetime) -> None:
    """Make the job store hold exactly the timetable's jobs.

    A stored job whose definition is unchanged keeps its next run time, so fire times missed while
    the service was down are made up for (once, as the scheduler coalesces them). A job stored by
    an earlier version under the old module path is rewritten to the new one, keeping its next run
    time. Changed and new jobs are (re)added with fixed ids; jobs no longer in the timetable are removed.
    """
    store.start(scheduler, "default")  # to read the stored jobs before the scheduler runs
    wanted = {job.id: job for job in timetable.jobs}
    for stored in store.get_all_jobs():
        if stored.id not in wanted:
            log.info("job %s: removed (no longer in the timetable)", stored.id)
            if scheduler.running:  # a reload: under the scheduler's lock, not while it dispatches the job
                scheduler.remove_job(stored.id, "default")
            else:
                store.remove_job(stored.id)
    grace = dt.timedelta(seconds=seconds(timetable.misfire_grace))
    for job in timetable.jobs:
        kwargs = job_kwargs(workspace, timetable, job)
        trigger = trigger_for(job, timetable.zone, calendar=timetable.calendar_of(job))
        stored = store.lookup_job(job.id)
        if stored is not None and _unchanged(stored, kwargs):
            kept, next_run = stored.trigger, stored.next_run_time
            if outdated(kept):
                # Stored before crontab days were read as cron reads them (APScheduler's 1-5 is Tuesday to
                # Saturday): the same job with the right trigger, from the first right fire time on.
                kept, next_run = trigger, next_run and trigger.get_next_fire_time(None, next_run)
            missed = _missed(kept, next_run, now)
            if missed and now - missed[-1] <= grace:
                _RUNS.catch_up[job.id] = len(missed)
                log.info("job %s: %d run(s) missed while stopped; one catch-up run follows", job.id, len(missed))
            elif missed:
                log.warning("job %s: %d run(s) missed, the last %s ago, beyond the misfire grace: not made up",
                            job.id, len(missed), now - missed[-1])
            if stored.func_ref == JOB_FUNCTION and kept is stored.trigger:
                continue
            if stored.func_ref != JOB_FUNCTION:
                log.info("job %s: moved from %s to %s, keeping its next run time", job.id, stored.func_ref,
                         JOB_FUNCTION)
            if kept is not stored.trigger:
                log.info("job %s: its cron days are now read as cron reads them (0 and 7 Sunday)", job.id)
            scheduler.add_job(JOB_FUNCTION, trigger=kept, id=job.id, name=job.id, kwargs=kwargs,
                              next_run_time=next_run, replace_existing=True)
            continue
        scheduler.add_job(JOB_FUNCTION, trigger=trigger, id=job.id, name=job.id, kwargs=kwargs,
                          replace_existing=True)


def _missed(trigger, first: dt.datetime | None, now: dt.datetime) -> list[dt.datetime]:
    times: list[dt.datetime] = []
    fire = first
    while fire is not None and fire <= now and len(times) < 10_000:
        times.append(fire)
        fire = trigger.get_next_fire_time(fire, now)
    return times


def watch_closed_days(scheduler, workspace: Workspace, timetable: Timetable) -> None:
    """Put a closed-day watcher beside each calendar job: at the times of the job's crontab line it does
    what the line would on a day the calendar closes (`jobs.closed_day`: the skipped run recorded,
    the health check pinged as a success). The service's own trigger fires nothing on such a day, so
    without it a check scheduled like the job's cron would report every holiday as down.

    The watchers judge by the timetable as loaded (at start-up or the last SIGHUP), as the jobs fire.
    They live in memory, in a thread apart from the builds, and are replaced at each reload; one that
    runs late (the thread busy pinging) still handles every line time since its last run.
    """
    now = _RUNS.clock()
    previous = {job.id: job.func for job in scheduler.get_jobs(CLOSED_DAYS)}
    wanted = set()
    for job in timetable.jobs:
        if job.calendar is None:  # weekends only (a business_day job's default) close no day it would fire on
            continue
        watcher = _ClosedDayWatcher(workspace, timetable, job, since=getattr(previous.get(_watcher_id(job.id)),
                                                                             "since", now))
        wanted.add(_watcher_id(job.id))
        scheduler.add_job(watcher, watcher.line, id=_watcher_id(job.id), name=_watcher_id(job.id),
                          jobstore=CLOSED_DAYS, executor=CLOSED_DAYS, coalesce=True, max_instances=1,
                          misfire_grace_time=None, replace_existing=True)
    for stale in previous.keys() - wanted:
        scheduler.remove_job(stale, CLOSED_DAYS)


def _watcher_id(job_id: str) -> str:
    return f"{job_id} (closed days)"


class _ClosedDayWatcher:
    """The closed-day watcher of one calendar job (see `watch_closed_days`)."""

    def __init__(self, workspace: Workspace, timetable: Timetable, job: JobSpec, *, since: dt.datetime):
        self.workspace, self.timetable, self.job = workspace, timetable, job
        self.trigger = trigger_for(job, timetable.zone, calendar=timetable.calendar_of(job))
        self.line = CrontabTrigger(self.trigger.line, timetable.zone)
        self.since = since  # line times up to this one are handled

    def __call__(self) -> None:
        with _RUNS.watch_lock:  # the service does not stop halfway through a record and its ping
            if _RUNS.stopping.is_set():
                return
            now = _RUNS.clock()
            moments, self.since = self._line_times(self.since, now), now
            for moment in moments:
                decision = closed_at(self.trigger, moment)
                if decision is None:
                    continue
                try:
                    closed_day(self.workspace, self.timetable, self.job, RunContext(trigger="schedule",
                                                                                    clock=_RUNS.clock), decision)
                except Exception:  # a state folder gone, say: told, and the service goes on
                    log.exception("job %s: cannot record its closed day", self.job.id)

    def _line_times(self, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
        first = self.line.get_next_fire_time(None, after.astimezone(self.timetable.zone))
        return [t for t in _missed(self.line, first, until) if t > after]  # the time *after* itself was handled


def _record_not_run(workspace: Workspace, event, clock: Clock) -> None:
    from apscheduler.events import EVENT_JOB_MISSED

    if event.jobstore == CLOSED_DAYS:  # a watcher's time passed while the service was busy or down: nothing to record
        return
    if event.job_id == WATCHDOG_JOB_ID:  # not a run: the previous ping is still waiting on the job store
        log.warning("systemd watchdog ping late: the previous one has not finished")
        return
    reason = (
        "fire time missed by more than the misfire grace"
        if event.code == EVENT_JOB_MISSED
        else "the previous run of this job was still going"
    )
    log.warning("job %s: run skipped: %s", event.job_id, reason, extra={"job_id": event.job_id})
    now = clock()
    try:
        with RunHistory(workspace.state) as history:
            history.skipped(new_run_id(now), "schedule", now.isoformat(timespec="seconds"), reason,
                            job_id=event.job_id)
    except StateError:
        log.exception("job %s: cannot record the skipped run", event.job_id)
    from ..runs.metrics import write_after_run

    write_after_run(workspace)  # the textfile counts the skipped run too


def _install_signal_handlers(scheduler) -> None:
    def stop(signum, frame):
        if _RUNS.stopping.is_set():
            return
        log.info("%s received: no new runs; waiting for the running build", signal.Signals(signum).name)
        _RUNS.stopping.set()
        _RUNS.notifier.stopping(_status())
        with _RUNS.lock:
            for child in _RUNS.children.values():
                child.send_signal(signal.SIGTERM)  # the child stops before its next publish
        scheduler.shutdown(wait=False)

    def reload(signum, frame):
        # Only a flag here: the reload takes the scheduler's locks, which the interrupted loop may hold.
        if not _RUNS.stopping.is_set():
            _RUNS.reload.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)


def _notify_systemd(scheduler) -> None:
    """READY=1 once the scheduler runs its synced jobs; WATCHDOG=1 from its loop (nothing without systemd)."""
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    scheduler.add_listener(lambda event: _RUNS.notifier.ready(_status()), EVENT_SCHEDULER_STARTED)
    add_watchdog(scheduler, _RUNS.notifier, _healthy)


def _reload_on_sighup(scheduler, workspace: Workspace, clock: Clock) -> None:
    """A thread that reloads the timetable each time the SIGHUP handler sets the flag."""

    def reload_on_sighup() -> None:
        while True:
            _RUNS.reload.wait()
            _RUNS.reload.clear()
            if _RUNS.stopping.is_set():
                return
            try:
                _reload(scheduler, workspace, clock)
            except Exception:  # the thread must live on for the next SIGHUP, and say why this one failed
                log.exception("timetable reload failed: the jobs run on as they were")
                _RUNS.notifier.ready(_status("timetable reload failed; jobs unchanged"))

    threading.Thread(target=reload_on_sighup, name="exporter-reload", daemon=True).start()


def _reload(scheduler, workspace: Workspace, clock: Clock) -> None:
    """Re-read the timetable and sync the jobs; a broken timetable leaves the jobs as they are."""
    log.info("SIGHUP received: reloading the timetable %s", workspace.schedule)
    _RUNS.notifier.reloading()
    try:
        timetable = load_schedule(workspace)
    except ExporterError as exc:
        problems = [str(p) for p in exc.problems] if isinstance(exc, DataError) else [str(exc)]
        for problem in problems:
            log.error("%s", problem)
        log.error("timetable not reloaded (%d problem(s)): the jobs run on as they were", len(problems))
        _RUNS.notifier.ready(_status("timetable reload failed; jobs unchanged"))
        return
    before = {job.id: job.kwargs for job in _RUNS.store.get_all_jobs()}
    sync_jobs(scheduler, _RUNS.store, workspace, timetable, clock().astimezone(timetable.zone))
    watch_closed_days(scheduler, workspace, timetable)
    grace = seconds(timetable.misfire_grace)
    for job in scheduler.get_jobs("default"):
        if job.misfire_grace_time != grace:  # job_defaults hold the grace read at start-up
            scheduler.modify_job(job.id, "default", misfire_grace_time=grace)
        if before.get(job.id) != job.kwargs:
            log.info("job %s: %s, next run at %s", job.id, "changed" if job.id in before else "added",
                     job.next_run_time.isoformat(timespec="seconds"))
    _RUNS.job_count = len(timetable.jobs)
    log.info("timetable reloaded: %d job(s)", len(timetable.jobs))
    _RUNS.notifier.ready(_status())


def _healthy() -> bool:
    """Whether the watchdog may ping: not stopping, and the job store answers (a ping proves the loop runs)."""
    if _RUNS.stopping.is_set():
        return False
    try:
        _RUNS.store.get_next_run_time()
    except Exception:  # the store's driver errors vary: any of them means no runs are dispatched
        log.exception("the job store does not answer: no watchdog ping, so systemd restarts the service")
        return False
    return True


def _status(note: str = "") -> str:
    """systemd's STATUS= line: the jobs, the last run, and what the service is doing if not just waiting."""
    last = f"last run: {_RUNS.last_run}" if _RUNS.last_run else "no run yet"
    if _RUNS.stopping.is_set():  # a run ending after SIGTERM must not make the service look idle again
        note = "stopping: waiting for the running build"
    return "; ".join(part for part in (f"{_RUNS.job_count} job(s)", last, note) if part)


def _wait_for_children() -> None:
    with _RUNS.lock:
        children = list(_RUNS.children.values())
    for child in children:
        try:
            child.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()


def scheduled_build(
    job_id: str, data_dir: str, output_dir: str, state_dir: str, deadline: float, spec: str = "",
    schedule: str | None = None, recipients: str | None = None, **legacy,
) -> int:
    """Run timetable job *job_id* as a child ``exporter run-job``; stop it at *deadline* seconds.

    Referenced by the job store as ``exporter.schedule.service:scheduled_build``: keep the name and
    the primitive arguments stable. *legacy* takes what stores of earlier versions pass (reports,
    formats, deliver): the child reads them from the timetable instead.
    """
    if _RUNS.stopping.is_set():
        return 0
    workspace = Workspace(Path(data_dir), Path(output_dir), Path(state_dir),
                          schedule_file=Path(schedule) if schedule else None,
                          recipients_file=Path(recipients) if recipients else None,
                          metrics_file=_RUNS.metrics_file)
    with logs.context(job_id=job_id):
        code = _run_child(job_id, workspace, deadline)
    ended = _RUNS.clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _RUNS.last_run = f"{job_id} {_outcome(code)} at {ended} (exit {code})"
    _RUNS.notifier.status(_status())
    return code


_OUTCOMES = {0: "done", 1: "failed", 2: "invalid data", 75: "skipped: another run holds the lock"}


def _outcome(code: int) -> str:
    return _OUTCOMES.get(code, f"stopped by signal {-code}" if code < 0 else "ended")


def _run_child(job_id: str, workspace: Workspace, deadline: float) -> int:
    catch_up = _RUNS.catch_up.pop(job_id, 0)
    command = run_job_argv(job_id, workspace, trigger="schedule", executable=sys.executable,
                           options=tuple(_RUNS.child_options), catch_up=catch_up)
    log.info("job %s: run started%s", job_id, f" (catch-up for {catch_up} missed run(s))" if catch_up else "")
    # The child's log lines carry their own time, level, run and job ids: they go straight to our stderr.
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    with _RUNS.lock:
        _RUNS.children[job_id] = child
    try:
        try:
            child.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            log.error("job %s: still running after the %g s deadline: stopping it", job_id, deadline)
            child.terminate()
            try:
                child.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            reason = f"stopped: the run deadline of {deadline:g} s was exceeded"
            with RunHistory(workspace.state) as history:
                run_id = history.fail_latest_of(child.pid, now, reason)
            # The stopped child never got to ping its health check or tell the owners: its run failed.
            Watch(workspace, job_id, RunContext(trigger="schedule"), alerts_for(workspace, job_id)).stopped_at_deadline(
                run_id, reason)
            return child.returncode
    finally:
        with _RUNS.lock:
            _RUNS.children.pop(job_id, None)
    # A run that failed or could not start (invalid data) is an error to whoever watches the log; one that
    # met the lock is not, as the next fire time tries again.
    level = {0: logging.INFO, 75: logging.WARNING}.get(child.returncode, logging.ERROR)
    log.log(level, "job %s: run %s (exit %d)", job_id, _outcome(child.returncode), child.returncode)
    return child.returncode
