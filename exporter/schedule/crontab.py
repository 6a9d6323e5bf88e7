"""Crontab lines equivalent to a timetable: each runs the job through `exporter run-job`, as the service does."""

from __future__ import annotations

import shlex

from ..core.workspace import Workspace
from .jobs import run_job_argv
from .timetable import JobSpec, Timetable
from .triggers import crontab_expression, describe


def job_command(job: JobSpec, workspace: Workspace, *, executable: str) -> str:
    """The command a crontab line runs for *job*: it names the job; the timetable says what it builds."""
    args = run_job_argv(job.id, workspace, trigger="cron", executable=executable, options=("-q",))
    # cron turns an unescaped % into a newline
    return shlex.join(args).replace("%", "\\%")


def crontab_lines(timetable: Timetable, workspace: Workspace, *, executable: str) -> list[str]:
    """Return the crontab for *timetable*: a CRON_TZ line, then one line per expressible job."""
    lines = [
        "# exporter timetable as crontab lines. Install with: crontab -e (or a file in /etc/cron.d with a user field).",
        "# CRON_TZ makes cron read the times in the timetable's zone (cronie, systemd-cron);",
        "# with a cron that ignores it, set the system time zone to the same zone instead.",
        f"CRON_TZ={timetable.timezone}",
    ]
    for job in timetable.jobs:
        calendar = timetable.calendar_of(job)
        when = crontab_expression(job, calendar)
        if when is None:
            lines.append(f"# {job.id}: every {job.every} has no crontab equivalent; run `exporter schedule` for it")
            continue
        if calendar is not None:
            lines.append(f"# {job.id}: {describe(job)}; " + (
                "on a closed day run-job records a skipped run and builds nothing" if when == job.cron else
                "this line runs on every day the job may fire, and run-job builds only at its fire times"))
        # Exit 75 means another run holds the lock: the next fire time tries again.
        lines.append(f"{when} {job_command(job, workspace, executable=executable)}  # {job.id}")
    return lines
