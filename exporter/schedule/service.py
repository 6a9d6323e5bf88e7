"""The scheduler service: APScheduler 3.x running the timetable's jobs in the foreground.

Each run is the same build as ``exporter build`` (same pipeline, lock, publishing and history),
started as a child process so that a run past its deadline can be stopped without harming the
service. The job store is SQLite in the state folder; one scheduler per state folder, enforced by
a lock, because APScheduler's persistent stores cannot be shared between schedulers.

    timetable ──sync──▶ job store ──APScheduler──▶ scheduled_build(job_id, …) ──▶ exporter build (child)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import StateError
from ..runs.history import History
from ..runs.lock import SCHEDULER_LOCK_NAME, exclusive_run
from ..runs.pipeline import discover, new_run_id, state_dir_for
from .timetable import JobSpec, Timetable, load_timetable, seconds
from .triggers import trigger_for

log = logging.getLogger(__name__)

JOBSTORE_NAME = "jobs.sqlite"
JOB_FUNCTION = "exporter.schedule.service:scheduled_build"
STOP_GRACE_SECONDS = 30  # after SIGTERM, how long a stopping child may take before it is killed


@dataclass(frozen=True)
class ServiceConfig:
    schedule: Path
    data_dir: Path
    output_dir: Path
    state_dir: Path | None = None

    @property
    def state(self) -> Path:
        return state_dir_for(self.output_dir, self.state_dir)


class _Runs:
    """What the job threads share with the main thread: running children and pending catch-ups."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.children: dict[str, subprocess.Popen] = {}
        self.catch_up: dict[str, int] = {}
        self.stopping = threading.Event()


_RUNS = _Runs()


def run_service(config: ServiceConfig) -> None:
    """Run the scheduler until SIGTERM or SIGINT; return once the running build has ended."""
    known = [s.id for s in discover(config.data_dir)]
    timetable = load_timetable(config.schedule, known).timetable
    with exclusive_run(config.state, name=SCHEDULER_LOCK_NAME, what="exporter scheduler"):
        scheduler = _make_scheduler(config, timetable)
        _install_signal_handlers(scheduler)
        log.info("scheduler started: %d job(s), time zone %s, state %s", len(timetable.jobs), timetable.timezone,
                 config.state)
        scheduler.start()  # blocks until a signal shuts it down
        _wait_for_children()
        log.info("scheduler stopped")


def _make_scheduler(config: ServiceConfig, timetable: Timetable):
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    config.state.mkdir(parents=True, exist_ok=True)
    store = SQLAlchemyJobStore(url=f"sqlite:///{config.state / JOBSTORE_NAME}")
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
    _sync_jobs(scheduler, store, config, timetable)
    scheduler.add_listener(
        lambda event: _record_not_run(config, event), EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )
    return scheduler


def _job_kwargs(config: ServiceConfig, timetable: Timetable, job: JobSpec) -> dict:
    """The job function's arguments: primitives only, since the store pickles them."""
    return {
        "job_id": job.id,
        "data_dir": str(config.data_dir.resolve()),
        "output_dir": str(config.output_dir.resolve()),
        "state_dir": str(config.state.resolve()),
        "reports": list(job.report_ids),
        "formats": list(job.formats or ()),
        "deadline": float(seconds(timetable.run_deadline)),
        "deliver": None if job.deliver_lists is None else list(job.deliver_lists),
        # What the trigger was made from: a stored job is kept only while this is unchanged.
        "spec": json.dumps({"cron": job.cron, "every": job.every, "timezone": timetable.timezone}, sort_keys=True),
    }


def _sync_jobs(scheduler, store, config: ServiceConfig, timetable: Timetable) -> None:
    """Make the job store hold exactly the timetable's jobs.

    A stored job whose definition is unchanged keeps its next run time, so fire times missed while
    the service was down are made up for (once, as the scheduler coalesces them). Changed and new
    jobs are (re)added with fixed ids; jobs no longer in the timetable are removed.
    """
    store.start(scheduler, "default")  # to read the stored jobs before the scheduler runs
    now = dt.datetime.now(timetable.zone)
    wanted = {job.id: job for job in timetable.jobs}
    for stored in store.get_all_jobs():
        if stored.id not in wanted:
            log.info("job %s: removed (no longer in the timetable)", stored.id)
            store.remove_job(stored.id)
    grace = dt.timedelta(seconds=seconds(timetable.misfire_grace))
    for job in timetable.jobs:
        kwargs = _job_kwargs(config, timetable, job)
        stored = store.lookup_job(job.id)
        if stored is not None and stored.kwargs == kwargs and stored.func_ref == JOB_FUNCTION:
            missed = _missed(stored, now)
            if missed and now - missed[-1] <= grace:
                _RUNS.catch_up[job.id] = len(missed)
                log.info("job %s: %d run(s) missed while stopped; one catch-up run follows", job.id, len(missed))
            elif missed:
                log.warning("job %s: %d run(s) missed, the last %s ago, beyond the misfire grace: not made up",
                            job.id, len(missed), now - missed[-1])
            continue
        scheduler.add_job(JOB_FUNCTION, trigger=trigger_for(job, timetable.zone), id=job.id, name=job.id,
                          kwargs=kwargs, replace_existing=True)


def _missed(stored, now: dt.datetime) -> list[dt.datetime]:
    times: list[dt.datetime] = []
    fire = stored.next_run_time
    while fire is not None and fire <= now and len(times) < 10_000:
        times.append(fire)
        fire = stored.trigger.get_next_fire_time(fire, now)
    return times


def _record_not_run(config: ServiceConfig, event) -> None:
    from apscheduler.events import EVENT_JOB_MISSED

    reason = (
        "fire time missed by more than the misfire grace"
        if event.code == EVENT_JOB_MISSED
        else "the previous run of this job was still going"
    )
    log.warning("job %s: run skipped: %s", event.job_id, reason)
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with History(config.state) as history:
            history.skipped(new_run_id(now), "schedule", now.isoformat(timespec="seconds"), reason,
                            job_id=event.job_id)
    except StateError:
        log.exception("job %s: cannot record the skipped run", event.job_id)


def _install_signal_handlers(scheduler) -> None:
    def stop(signum, frame):
        if _RUNS.stopping.is_set():
            return
        log.info("%s received: no new runs; waiting for the running build", signal.Signals(signum).name)
        _RUNS.stopping.set()
        with _RUNS.lock:
            for child in _RUNS.children.values():
                child.send_signal(signal.SIGTERM)  # the child stops before its next publish
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _wait_for_children() -> None:
    with _RUNS.lock:
        children = list(_RUNS.children.values())
    for child in children:
        try:
            child.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()


def scheduled_build(
    job_id: str, data_dir: str, output_dir: str, state_dir: str, reports: list[str], formats: list[str],
    deadline: float, spec: str = "", deliver: list[str] | None = None,
) -> int:
    """Run one scheduled build as a child ``exporter build``; stop it at *deadline* seconds.

    Referenced by the job store as ``exporter.schedule.service:scheduled_build``: keep the name and the
    primitive arguments stable.
    """
    if _RUNS.stopping.is_set():
        return 0
    catch_up = _RUNS.catch_up.pop(job_id, 0)
    command = [sys.executable, "-m", "exporter", "-q", "build", *reports, "--data-dir", data_dir,
               "--output-dir", output_dir, "--state-dir", state_dir, "--trigger", "schedule", "--job-id", job_id,
               "--catch-up", str(catch_up)]
    for fmt in formats:
        command += ["-f", fmt]
    if deliver is not None:  # an empty list delivers to every list
        command.append("--deliver")
        for name in deliver:
            command += ["--list", name]
    log.info("job %s: build started%s", job_id, f" (catch-up for {catch_up} missed run(s))" if catch_up else "")
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    with _RUNS.lock:
        _RUNS.children[job_id] = child
    try:
        try:
            stdout, stderr = child.communicate(timeout=deadline)
        except subprocess.TimeoutExpired:
            log.error("job %s: still running after the %g s deadline: stopping it", job_id, deadline)
            child.terminate()
            try:
                stdout, stderr = child.communicate(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                stdout, stderr = child.communicate()
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            with History(Path(state_dir)) as history:
                history.fail_latest_of(child.pid, now, f"stopped: the run deadline of {deadline:g} s was exceeded")
            return child.returncode
    finally:
        with _RUNS.lock:
            _RUNS.children.pop(job_id, None)
    for line in (stderr or "").splitlines():
        log.warning("job %s: %s", job_id, line)
    outcome = {0: "done", 1: "failed", 2: "invalid data", 75: "skipped: another run holds the lock"}
    log.info("job %s: build %s (exit %d)", job_id, outcome.get(child.returncode, "ended"), child.returncode)
    return child.returncode
