"""The timetable's jobs: running one (the same call from the service and from cron) and listing them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from ..core import logs
from ..core.errors import DataError, ExporterError, LockBusy, UsageError
from ..core.workspace import Workspace
from ..runs.build import DEFAULT_KEEP, BuildResult, Delivery, Selection, Workers, run_build
from ..runs.catalog import report_ids
from ..runs.history import RunHistory
from ..runs.record import Clock, RunContext, iso, new_run_id, utc_now
from .timetable import JobSpec, Timetable, load_timetable, seconds
from .triggers import Decision, cron_decision, describe, fire_times, trigger_for
from .watch import Alerts, Watch

log = logging.getLogger(__name__)


def load_schedule(workspace: Workspace) -> Timetable:
    """Read and check the workspace's timetable against the reports found; raise `DataError`."""
    return load_timetable(workspace.schedule, report_ids(workspace)).timetable


def find(timetable: Timetable, job_id: str, where: Workspace) -> JobSpec:
    for job in timetable.jobs:
        if job.id == job_id:
            return job
    known = ", ".join(job.id for job in timetable.jobs)
    raise UsageError(f"{where.schedule}: no job {job_id!r} (jobs: {known})")


def alerts_for(workspace: Workspace, job_id: str) -> Alerts:
    """The job's health check and owners, from the timetable as it is now (what of it is valid, if it does not load)."""
    try:
        timetable = load_schedule(workspace)
        return Alerts.of(timetable, find(timetable, job_id, workspace))
    except (ExporterError, OSError):
        return Alerts.salvaged(workspace.schedule, job_id)


def run_job_argv(job_id: str, workspace: Workspace, *, trigger: str, executable: str, options: tuple[str, ...] = (),
                 catch_up: int = 0) -> list[str]:
    """The `exporter run-job` command line for *job_id*: what a crontab line and the service's child run.

    Places are absolute; the timetable named here says what the job builds when the command runs.
    """
    where = workspace.absolute()
    argv = [executable, "-m", "exporter", *options, "run-job", job_id, "--trigger", trigger]
    if catch_up:
        argv += ["--catch-up", str(catch_up)]
    argv += ["--data-dir", str(where.data_dir), "--output-dir", str(where.output_dir), "--schedule", str(where.schedule)]
    if where.state_dir is not None:
        argv += ["--state-dir", str(where.state_dir)]
    if where.recipients_file is not None:
        argv += ["--recipients", str(where.recipients_file)]
    if where.metrics_file is not None:
        argv += ["--metrics-file", str(where.metrics_file)]
    return argv


@dataclass(frozen=True)
class JobSkipped:
    """A crontab line's run that built nothing: the job's calendar closes the day, or it is not a fire time."""

    run_id: str | None  # the skipped run recorded in the history (a closed day); None: nothing recorded
    reason: str  # "closed: Thanksgiving Day (us-ny); next fire time …" or "not a fire time of the job; …"


def run_job(workspace: Workspace, job_id: str, *, run: RunContext | None = None, workers: Workers = Workers(),
            keep: int = DEFAULT_KEEP) -> BuildResult | JobSkipped:
    """Run timetable job *job_id* now: build its reports and formats and deliver them as it says.

    The service (trigger ``schedule``) and crontab lines (trigger ``cron``) both come here, so a job
    does the same whichever starts it. The timetable is read at each run.

    A crontab line of a job with a calendar or a business day fires on every day the job might
    (`exporter cron`), so with trigger ``cron`` such a job first asks its trigger, the one the
    service fires on: on a closed day the run is recorded as skipped with the reason, and at any
    other time that is no fire time nothing is recorded; either way nothing is built (`JobSkipped`).
    """
    run = dataclasses.replace(run or RunContext(), job_id=job_id)
    with logs.context(job_id=job_id):
        try:
            timetable = load_schedule(workspace)
            job = find(timetable, job_id, workspace)
        except (DataError, UsageError) as exc:
            _record_not_started(workspace, run, exc)
            Watch(workspace, job_id, run, Alerts.salvaged(workspace.schedule, job_id)).could_not_run(exc)
            raise
        if run.trigger == "cron" and timetable.calendar_of(job) is not None:
            skipped = _closed_or_not_due(workspace, timetable, job, run)
            if skipped is not None:
                return skipped
        # Pings and failure notices (the timetable's healthcheck_url and owners): never fail the run.
        watch = Watch(workspace, job_id, run, Alerts.of(timetable, job))
        watch.started()
        delivery = None if job.deliver_lists is None else Delivery(lists=job.deliver_lists)
        try:
            result = run_build(workspace, Selection(job.report_ids, tuple(job.formats or ())),
                               run=run, workers=workers, delivery=delivery, keep=keep)
        except LockBusy as exc:  # another run is building: not a failure
            watch.skipped(exc)
            raise
        except Exception as exc:  # the run stopped on an error: told like any failure
            watch.could_not_run(exc)
            raise
        watch.finished(result)
        return result


def closed_day(workspace: Workspace, timetable: Timetable, job: JobSpec, run: RunContext,
               decision: Decision) -> JobSkipped:
    """What the service does at a time of a calendar job's crontab line on a day the calendar closes
    (*decision*, from `triggers.closed_at`): what the line itself does there, the run recorded as
    skipped and the health check pinged as a success. So a check scheduled like the job's cron stays
    quiet on holidays whichever runs the timetable."""
    with logs.context(job_id=job.id):
        return _skipped(workspace, timetable, job, run, decision)


def _closed_or_not_due(workspace: Workspace, timetable: Timetable, job: JobSpec,
                       run: RunContext) -> JobSkipped | None:
    """None when the crontab line's run is at a fire time of the job; else why it builds nothing."""
    decision = cron_decision(trigger_for(job, timetable.zone, calendar=timetable.calendar_of(job)), run.clock(),
                             dt.timedelta(seconds=seconds(timetable.misfire_grace)), job.id)
    if decision.action == "run":
        return None
    if decision.action == "not due":  # the line fires on every candidate day: most of them are not the job's
        log.info("job %s: nothing to do: %s", job.id, decision.reason)
        return JobSkipped(None, decision.reason)
    return _skipped(workspace, timetable, job, run, decision)


def _skipped(workspace: Workspace, timetable: Timetable, job: JobSpec, run: RunContext, decision: Decision) -> JobSkipped:
    """A closed day or a lost fire time: recorded as a skipped run, logged, and told to the health check."""
    now = run.clock()
    run_id = new_run_id(now)
    with RunHistory(workspace.state) as history:
        history.skipped(run_id, run.trigger, iso(now), decision.reason, job_id=job.id, catch_up=run.catch_up)
    from ..runs.metrics import write_after_run  # prometheus_client is loaded only when metrics are written

    write_after_run(workspace)
    with logs.context(run_id=run_id):
        # A late start lost a fire time: an error (cron mails it, even with -q). A closed day is the plan.
        (log.error if decision.action == "late" else log.info)("job %s: run skipped: %s", job.id, decision.reason)
        # A health check scheduled like the crontab line expects a ping on a closed day too: the job did
        # what it should. A lost fire time is a failure to it.
        Watch(workspace, job.id, run, Alerts.of(timetable, job)).closed_or_late(
            late=decision.action == "late", summary=f"run {run_id}: skipped: {decision.reason}")
    return JobSkipped(run_id, decision.reason)


def _record_not_started(workspace: Workspace, run: RunContext, exc: ExporterError) -> None:
    """A scheduled job that cannot start (gone from the timetable, timetable invalid) is a run in the history."""
    now = run.clock()
    with RunHistory(workspace.state) as history:
        history.skipped(new_run_id(now), run.trigger, iso(now), str(exc), job_id=run.job_id, catch_up=run.catch_up,
                        status="invalid")
    from ..runs.metrics import write_after_run  # prometheus_client is loaded only when metrics are written

    write_after_run(workspace)  # the textfile counts a run that could not start too


@dataclass(frozen=True)
class JobListing:
    id: str
    trigger: str  # "cron 0 6 * * 1-5", "every 1h", "1st business day of the month at 07:00, calendar us-ny"
    timezone: str
    reports: tuple[str, ...]  # empty: every report
    formats: tuple[str, ...]  # empty: the default formats
    deliver: tuple[str, ...] | None  # None: no delivery; empty: every list
    next: tuple[dt.datetime, ...]

    def as_json(self) -> dict:
        return {
            "id": self.id, "trigger": self.trigger, "timezone": self.timezone,
            "reports": list(self.reports) or "all", "formats": list(self.formats) or "default",
            "deliver": None if self.deliver is None else (list(self.deliver) or "all"),
            "next": [t.isoformat(timespec="seconds") for t in self.next],
        }


def list_jobs(workspace: Workspace, *, count: int = 5, clock: Clock = utc_now) -> list[JobListing]:
    """Each job of the timetable with its next *count* fire times, in the timetable's zone."""
    timetable = load_schedule(workspace)
    now = clock().astimezone(timetable.zone)
    listed = []
    for job in timetable.jobs:
        # An interval cron cannot express counts from a service start: from now, here.
        start = now + dt.timedelta(seconds=seconds(job.every)) if job.every else None
        trigger = trigger_for(job, timetable.zone, start=start, calendar=timetable.calendar_of(job))
        times = fire_times(trigger, now, count)
        listed.append(JobListing(job.id, describe(job), timetable.timezone,
                                 job.report_ids, tuple(job.formats or ()), job.deliver_lists,
                                 tuple(t.astimezone(timetable.zone) for t in times)))
    return listed
