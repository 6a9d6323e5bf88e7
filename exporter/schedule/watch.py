"""What a scheduled run tells the outside: health-check pings and failure notices, around `run_job`.

    start ping ─▶ run_build ─▶ success or fail ping ─▶ notices to the owners (once per failure episode)

Episodes are kept per job and report: one report failing in a job mails its owners (the report's,
the job's and the timetable's) once, and once more when it builds again. A run that cannot start
(the timetable broken, the job gone, an error before any report) is an episode of the job as a
whole. A run that meets the lock is not a failure (another run is building): it pings success with
a note. A run stopped by SIGTERM sends no outcome: the check's grace time says so if no run follows.
Nothing here fails or changes a run: every problem is a warning in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import logs
from ..core.errors import DataError, ExporterError, LockBusy
from ..core.ids import valid_id
from ..core.model import plain_email
from ..core.workspace import Workspace
from ..delivery.notices import Check, send_notices
from ..runs.build import BuildResult
from ..runs.catalog import report_ids
from ..runs.record import RunContext
from ..source.reader import read_yaml
from .pings import check_setting, ping
from .timetable import JobSpec, Timetable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alerts:
    """Where a job's runs are reported: its health check and the owners of the job as a whole."""

    healthcheck_url: str | None = field(default=None, repr=False)  # may hold a token
    owners: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()  # the job's reports; empty: every report

    @classmethod
    def of(cls, timetable: Timetable, job: JobSpec) -> Alerts:
        return cls(job.healthcheck_url or timetable.healthcheck_url, _unique([*timetable.owners, *job.owners]),
                   job.report_ids)

    @classmethod
    def salvaged(cls, path: Path, job_id: str) -> Alerts:
        """The valid settings of a timetable that does not load: a broken timetable is told like any failure."""
        try:
            data = read_yaml(path).data
        except (ExporterError, OSError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        jobs = data["jobs"] if isinstance(data.get("jobs"), list) else []
        job = next((j for j in jobs if isinstance(j, dict) and j.get("id") == job_id), {})
        url = _valid(job.get("healthcheck_url"), check_setting) or _valid(data.get("healthcheck_url"), check_setting)
        return cls(url, _addresses(data.get("owners"), job.get("owners")))


class Watch:
    """Pings and notices for one run of a job; no method raises."""

    def __init__(self, workspace: Workspace, job_id: str, run: RunContext, alerts: Alerts):
        self.workspace, self.job_id, self.run, self.alerts = workspace, job_id, run, alerts
        self._owners: dict[str, tuple[str, ...]] = {}

    def _ping(self, event: str, body: str = "") -> None:
        """Ping the job's health check (if it has one) with *event*; a ping that fails is logged, never raised."""
        self._guarded(lambda: ping(self.alerts.healthcheck_url, event, self.run.env, body=body))

    def started(self) -> None:
        self._ping("start")

    def finished(self, result: BuildResult) -> None:
        """Ping the outcome of a run that went through, and open or end its episodes."""
        def report() -> None:
            checks = self._checks(result)
            failing = [c for c in checks if c.error is not None]
            # Each ping is guarded on its own: one that fails in an unforeseen way must not keep the owners uninformed.
            if failing:
                self._ping("fail", _summary(result.run_id, failing))
            elif not result.stopped:
                counts = {s: sum(o.status == s for o in result.outcomes) for s in ("built", "unchanged")}
                self._ping("success", f"run {result.run_id}: ok: built {counts['built']}, unchanged {counts['unchanged']}")
            send_notices(self.workspace, checks, run_id=result.run_id, env=self.run.env, now=self.run.clock())

        with logs.context(run_id=result.run_id):
            self._guarded(report)

    def could_not_run(self, exc: BaseException) -> None:
        """Ping failure and tell the owners of a run that raised (it could not start, or stopped on an error)."""
        def report() -> None:
            checks = self._checks_of_error(exc)
            self._ping("fail", _summary(None, checks))
            send_notices(self.workspace, checks, run_id=None, env=self.run.env, now=self.run.clock())

        self._guarded(report)

    def skipped(self, exc: LockBusy) -> None:
        """Another run holds the lock and builds: not a failure, but the start ping needs its end."""
        self._ping("success", f"skipped: {exc}")

    def stopped_at_deadline(self, run_id: str | None, reason: str) -> None:
        """A run the service stopped at its run_deadline failed, though what it published before stays:
        the stopped run itself could not say so."""
        def report() -> None:
            check = Check(self.job_id, "", reason, self.alerts.owners, self._job_reports(),
                          subject=f"exporter: job {self.job_id} stopped at its run deadline",
                          lead=(f"The scheduled job {self.job_id} ran past its run deadline and was stopped. The "
                                "reports it published before stay published; the others keep their last good files."))
            self._ping("fail", f"run {run_id}: {reason}" if run_id else reason)
            send_notices(self.workspace, [check], run_id=run_id, env=self.run.env, now=self.run.clock())

        self._guarded(report)

    def closed_or_late(self, *, late: bool, summary: str) -> None:
        """A crontab line that builds nothing: a closed day (success) or a fire time lost to a late start (fail)."""
        self._ping("fail" if late else "success", summary)

    def _checks(self, result: BuildResult) -> list[Check]:
        errors: dict[str, list[str]] = {}
        worked: list[str] = []
        for outcome in result.outcomes:
            if outcome.status in ("failed", "invalid"):
                lines = [str(p) for p in outcome.problems] or [outcome.error or outcome.status]
                errors.setdefault(outcome.report_id, []).extend(lines)
            elif outcome.status in ("built", "unchanged"):
                worked.append(outcome.report_id)
        for delivery in result.deliveries:
            if delivery.status == "failed":
                errors.setdefault(delivery.report_id, []).append(
                    f"delivery to list {delivery.list_id} by {delivery.channel} failed: {delivery.error}")
        sets = tuple(o.report_id for o in result.outcomes)
        checks = [Check(self.job_id, "", None, self.alerts.owners, sets)]  # the job ran: it is no longer broken
        checks += [self._of_report(set_id, "\n".join(lines)) for set_id, lines in errors.items()]
        checks += [self._of_report(set_id, None) for set_id in worked if set_id not in errors]
        return checks

    def _checks_of_error(self, exc: BaseException) -> list[Check]:
        """Problems located in a report's files are that report's; anything else is the job's."""
        by_report: dict[str, list[str]] = {}
        rest: list[str] = []
        if isinstance(exc, DataError):
            reports_dir = self.workspace.reports_dir.resolve()
            for problem in exc.problems:
                report = problem.file.name.partition(".")[0]
                if problem.file.parent.resolve() == reports_dir and valid_id(report):
                    by_report.setdefault(report, []).append(str(problem))
                else:
                    rest.append(str(problem))
        else:
            rest.append(str(exc) or type(exc).__name__)
        checks = [self._of_report(report, "\n".join(lines)) for report, lines in by_report.items()]
        if rest:
            checks.append(Check(self.job_id, "", "\n".join(rest), self.alerts.owners, self._job_reports()))
        return checks

    def _of_report(self, set_id: str, error: str | None) -> Check:
        owners = _unique([*self.alerts.owners, *self._report_owners(set_id.partition(".")[0])])
        return Check(self.job_id, set_id, error, owners, (set_id,))

    def _report_owners(self, report_id: str) -> tuple[str, ...]:
        """The report's `owners`, read leniently: an invalid report is exactly the one whose owners must hear."""
        if report_id not in self._owners:
            try:
                data = read_yaml(self.workspace.reports_dir / f"{report_id}.yaml").data
            except (ExporterError, OSError):
                data = None
            self._owners[report_id] = _addresses(data.get("owners")) if isinstance(data, dict) else ()
        return self._owners[report_id]

    def _job_reports(self) -> tuple[str, ...]:
        if self.alerts.reports:
            return self.alerts.reports
        try:
            return tuple(report_ids(self.workspace))
        except (ExporterError, OSError):
            return ()

    def _guarded(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:  # a bug here must not turn a good run into a failed one
            # No traceback: its text could quote a ping URL, which holds the check's token.
            log.warning("job %s: pings and notices: unexpected %s", self.job_id, type(exc).__name__)


def _summary(run_id: str | None, failing: list[Check]) -> str:
    head = f"run {run_id}: " if run_id else "the run could not start: "
    lines = [head + f"{len(failing)} failure(s)"]
    for check in failing:
        for line in (check.error or "").splitlines():
            lines.append(f"{check.report_id or 'job ' + check.job_id}: {line}")
    return "\n".join(lines)


def _valid(value: object, check: Callable[[str], str]) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return check(value)
    except ValueError:
        return None


def _addresses(*values: object) -> tuple[str, ...]:
    found = [address for value in values if isinstance(value, list)
             for address in (_valid(v, plain_email) for v in value) if address]
    return _unique(found)


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
