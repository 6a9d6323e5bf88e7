"""The timetable's jobs: running one (the same call from the service and from cron) and listing them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from ..core import logs
from ..core.errors import DataError, ExporterError, LockBusy, UsageError
from ..core.workspace import Workspace
from ..runs.build import DEFAULT_KEEP, BuildResult, Delivery, Selection, Workers, run_build
from ..runs.catalog import report_ids
from ..runs.history import RunHistory
from ..runs.record import Clock, RunContext, iso, new_run_id, utc_now
from .timetable import JobSpec, Timetable, load_timetable, seconds
from .triggers import fire_times, trigger_for
from .watch import Alerts, Watch


def load_schedule(workspace: Workspace) -> Timetable:
    """Read and check the workspace's timetable against the reports found; raise `DataError`."""
    return load_timetable(workspace.schedule, report_ids(workspace)).timetable


def find(timetable: Timetable, job_id: str, where: Workspace) -> JobSpec:
    for job in timetable.jobs:
        if job.id == job_id:
            return job
    known = ", ".join(job.id for job in timetable.jobs)
    raise UsageError(f"{where.schedule}: no job {job_id!r} (jobs: {known})")


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


def run_job(workspace: Workspace, job_id: str, *, run: RunContext | None = None, workers: Workers = Workers(),
            keep: int = DEFAULT_KEEP) -> BuildResult:
    """Run timetable job *job_id* now: build its reports and formats and deliver them as it says.

    The service (trigger ``schedule``) and crontab lines (trigger ``cron``) both come here, so a job
    does the same whichever starts it. The timetable is read at each run.
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
    trigger: str  # "cron 0 6 * * 1-5" or "every 1h"
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
        times = fire_times(trigger_for(job, timetable.zone, start=start), now, count)
        listed.append(JobListing(job.id, f"cron {job.cron}" if job.cron else f"every {job.every}", timetable.timezone,
                                 job.report_ids, tuple(job.formats or ()), job.deliver_lists,
                                 tuple(t.astimezone(timetable.zone) for t in times)))
    return listed
