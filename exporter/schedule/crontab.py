"""Crontab lines equivalent to a timetable, for running `exporter build` from the system's cron."""

from __future__ import annotations

import shlex
from pathlib import Path

from .timetable import JobSpec, Timetable, seconds


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


def build_command(job: JobSpec, *, executable: str, data_dir: Path, output_dir: Path, state_dir: Path | None) -> str:
    args = [executable, "-m", "exporter", "-q", "build", *job.report_ids]
    for fmt in job.formats or ():
        args += ["-f", fmt]
    args += ["--data-dir", str(data_dir.resolve()), "--output-dir", str(output_dir.resolve())]
    if state_dir is not None:
        args += ["--state-dir", str(state_dir.resolve())]
    # cron turns an unescaped % into a newline
    return shlex.join(args).replace("%", "\\%")


def crontab_lines(timetable: Timetable, *, data_dir: Path, output_dir: Path, state_dir: Path | None,
                  executable: str) -> list[str]:
    """Return the crontab for *timetable*: a CRON_TZ line, then one line per expressible job."""
    lines = [
        "# exporter timetable as crontab lines. Install with: crontab -e (or a file in /etc/cron.d with a user field).",
        "# CRON_TZ makes cron read the times in the timetable's zone (cronie, systemd-cron);",
        "# with a cron that ignores it, set the system time zone to the same zone instead.",
        f"CRON_TZ={timetable.timezone}",
    ]
    for job in timetable.jobs:
        when = job.cron if job.cron else interval_as_cron(job.every)
        if when is None:
            lines.append(f"# {job.id}: every {job.every} has no crontab equivalent; run `exporter schedule` for it")
            continue
        command = build_command(job, executable=executable, data_dir=data_dir, output_dir=output_dir,
                                state_dir=state_dir)
        # Exit 75 means another run holds the lock: the next fire time tries again.
        lines.append(f"{when} {command}  # {job.id}")
    return lines
