"""What the command line prints: results of the library calls as lines for people, cron mail and logs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # annotations only: `exporter build` starts without the scheduler and delivery modules
    from .api import BuildResult, JobListing, RunRecord
    from .delivery.deliver import DeliveryOutcome

log = logging.getLogger("exporter")

_DELIVERY_LABELS = {"planned": "would send", "unchanged": "already delivered"}


def echo_build(result: BuildResult, *, quiet: bool, clear_progress: bool = False) -> None:
    """Warnings and errors on stderr; one line per set on stdout, then a summary and the deliveries."""
    if clear_progress:
        click.echo("\r\033[K", nl=False, err=True)
    if not quiet:
        for problem in result.warnings:
            click.echo(f"Warning: {problem}", err=True)
    for problem in result.problems:
        click.echo(f"Error: {problem}", err=True)
    for outcome in result.outcomes:
        if outcome.status == "stopped":
            click.echo(f"Error: {outcome.report_id}: {outcome.error}", err=True)
        elif outcome.status == "failed":
            click.echo(f"Error: {outcome.error}", err=True)
        elif outcome.status == "invalid":
            for problem in outcome.problems:
                click.echo(f"Error: {problem}", err=True)
    for line, failed in _outcome_lines(result):
        if failed or not quiet:
            click.echo(line)
    if len(result.outcomes) > 1 and not quiet:
        click.echo(_summary(result))
    echo_deliveries(result.deliveries, quiet)


def log_outcomes(result: BuildResult, *, quiet: bool) -> None:
    """The same as `echo_build`, as log lines (for `run-job`, whose output goes to logs and cron mail)."""
    for problem in () if quiet else result.warnings:
        log.warning("%s", problem)
    for problem in result.problems:
        log.error("%s", problem)
    for outcome in result.outcomes:
        if outcome.status == "invalid":
            for problem in outcome.problems:
                log.error("%s: invalid: %s", outcome.report_id, problem)
        elif outcome.status in ("failed", "stopped"):
            log.error("%s: %s: %s", outcome.report_id, outcome.status, outcome.error)
    for line, failed in _outcome_lines(result):
        if not failed:
            log.info("%s", line)
    (log.info if result.ok else log.warning)("%s", _summary(result))
    for d in result.deliveries:
        if d.status == "failed":
            log.error("%s: %s: %s: %s", d.report_id, d.list_id, d.channel, d.error)
        else:
            log.info("%s", _delivery_line(d))


def _outcome_lines(result: BuildResult) -> list[tuple[str, bool]]:
    lines = []
    for outcome in result.outcomes:
        failed = outcome.status in ("failed", "invalid", "stopped")
        detail = ": " + ", ".join(str(p) for p in outcome.files) if outcome.status == "built" else ""
        lines.append((f"{outcome.report_id}: {outcome.status}{detail}", failed))
    return lines


def _summary(result: BuildResult) -> str:
    counts = {status: sum(o.status == status for o in result.outcomes)
              for status in ("built", "unchanged", "failed", "invalid", "stopped")}
    text = ", ".join(f"{n} {status}" for status, n in counts.items() if n or status not in ("invalid", "stopped"))
    return f"summary: {text} in {result.seconds:.1f} s"


def progress_bar():
    def show(done: int, total: int, report_id: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        click.echo(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {report_id}", nl=False, err=True)

    return show


def _delivery_line(d: DeliveryOutcome) -> str:
    return f"{d.report_id}: {d.list_id}: {d.channel}: {_DELIVERY_LABELS.get(d.status, d.status)} ({d.target})"


def echo_deliveries(deliveries: list[DeliveryOutcome], quiet: bool) -> None:
    for d in deliveries:
        if d.status == "failed":
            click.echo(f"Error: {d.report_id}: {d.list_id}: {d.channel}: {d.error}", err=True)
    for d in deliveries:
        if quiet and d.status != "failed":
            continue
        click.echo(_delivery_line(d))


def echo_history(records: list[RunRecord], *, verbose: bool = False) -> None:
    """One line per run, then its reports and deliveries; errors by their first line, whole with *verbose*."""
    if not records:
        click.echo("no runs recorded")
    for record in records:
        run = record.run
        ended = run.ended_at or "-"
        trigger = run.trigger + (f" ({run.job_id})" if run.job_id else "")
        catch_up = f", catch-up for {run.catch_up} missed" if run.catch_up else ""
        took = f" ({run.duration:.1f} s)" if run.duration is not None else ""
        click.echo(f"{run.run_id}  {trigger}  {run.started_at} -> {ended}{took}  {run.status}{catch_up}")
        if verbose and (run.host or run.version):
            click.echo(f"    on {run.host or '?'}, exporter {run.version or '?'}")
        if run.error:
            click.echo(_error_lines("    error: ", run.error, verbose))
        for report in run.reports:
            if report.error:
                click.echo(_error_lines(f"    {report.report_id}: {report.outcome}: ", report.error, verbose))
            else:
                click.echo(f"    {report.report_id}: {report.outcome}")
        for d in record.deliveries:
            error = f": {d.error}" if d.error else ""
            click.echo(f"    {d.report_id} -> {d.list_id} by {d.channel}: {d.status}{error}")


def _error_lines(lead: str, error: str, verbose: bool) -> str:
    """*error* after *lead*: its first line (with a count of the rest), or every line indented under it."""
    lines = error.splitlines() or [""]
    if verbose:
        return lead + f"\n{' ' * 8}".join(lines)
    more = f" (and {len(lines) - 1} more lines: history -v)" if len(lines) > 1 else ""
    return f"{lead}{lines[0]}{more}"


def echo_jobs(listed: list[JobListing]) -> None:
    for job in listed:
        reports = ", ".join(job.reports) or "all"
        formats = ", ".join(job.formats) or "default"
        deliver = "" if job.deliver is None else f"; deliver: {', '.join(job.deliver) or 'every list'}"
        click.echo(f"{job.id}: {job.trigger} ({job.timezone}); reports: {reports}; formats: {formats}{deliver}")
        for fire_time in job.next:
            click.echo(f"    {fire_time.isoformat(timespec='seconds')}")
