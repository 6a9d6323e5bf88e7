"""The command line: a thin layer over `exporter.runs.pipeline`.

Each command parses its options, calls one library function and turns library errors into exit
codes: 0 ok, 1 a build failed, 2 usage error or invalid data, 75 another run holds the lock.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import click

from . import __version__
from .core.errors import EXIT_FAILED, DataError, ExporterError
from .core.formats import FORMATS

log = logging.getLogger("exporter")


def _dir_option(name: str, envvar: str, default: str, help: str):
    return click.option(
        f"--{name}",
        envvar=envvar,
        default=default,
        show_default=True,
        show_envvar=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=help,
    )


data_dir_option = _dir_option("data-dir", "EXPORTER_DATA_DIR", "data", "Folder holding reports/<id>.yaml.")
output_dir_option = _dir_option("output-dir", "EXPORTER_OUTPUT_DIR", "output", "Folder the deliverables go to.")


def _state_dir_option(**kwargs):
    return click.option(
        "--state-dir",
        envvar="EXPORTER_STATE_DIR",
        show_envvar=True,
        default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder for the run history and the lock.  [default: OUTPUT/.exporter]",
        **kwargs,
    )


def _file_option(name: str, envvar: str, help: str):
    return click.option(f"--{name}", envvar=envvar, show_envvar=True, default=None,
                        type=click.Path(dir_okay=False, path_type=Path), help=help)


schedule_option = _file_option("schedule", "EXPORTER_SCHEDULE", "The timetable.  [default: DATA/schedule.yaml]")
recipients_option = _file_option("recipients", "EXPORTER_RECIPIENTS",
                                 "The distribution lists.  [default: DATA/recipients.yaml]")
list_option = click.option(
    "--list", "lists", multiple=True, metavar="NAME",
    help="Deliver to this distribution list only; repeat for several. Default: every list.",
)


def _print_deliveries(deliveries, quiet: bool) -> None:
    for d in deliveries:
        if d.status == "failed":
            click.echo(f"Error: {d.report_id}: {d.list_id}: {d.channel}: {d.error}", err=True)
    for d in deliveries:
        if quiet and d.status != "failed":
            continue
        label = {"planned": "would send", "unchanged": "already delivered"}.get(d.status, d.status)
        click.echo(f"{d.report_id}: {d.list_id}: {d.channel}: {label} ({d.target})")


def _unknown_lists(timetable, recipients) -> list:
    """Problems for timetable jobs naming distribution lists the recipients file lacks."""
    from .core.errors import Problem

    known = {item.id for item in recipients.recipients.lists} if recipients else set()
    problems = []
    for j, job in enumerate(timetable.timetable.jobs):
        for name in job.deliver_lists or ():
            if name not in known:
                problems.append(Problem(timetable.path, None, f"jobs[{j}].deliver",
                                        f"unknown distribution list {name!r} (known: {', '.join(sorted(known)) or 'none'})"))
    return problems


def _unknown_variant_lists(loaded, recipients) -> list:
    """Problems for report variants naming distribution lists the recipients file lacks."""
    from .core.errors import Problem

    known = {item.id for item in recipients.recipients.lists}
    return [Problem(report.source.path, None, f"variants[{v}].lists[{n}]",
                    f"unknown distribution list {name!r} (known: {', '.join(sorted(known))})")
            for report in loaded for v, variant in enumerate(report.job.report.variants)
            for n, name in enumerate(variant.lists) if name not in known]


def _schedule_path(schedule: Path | None, data_dir: Path) -> Path:
    from .schedule.timetable import SCHEDULE_NAME

    return schedule if schedule is not None else data_dir / SCHEDULE_NAME


def _state_dir(state_dir: Path | None) -> Path | None:
    """Return the command's --state-dir, else the global one given before the command."""
    return state_dir or click.get_current_context().find_root().params.get("state_dir")


def _warn(problem) -> None:
    if not click.get_current_context().find_root().params.get("quiet"):
        click.echo(f"Warning: {problem}", err=True)


def handle_errors(func):
    """Turn exporter errors into one clear line each on stderr and the matching exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        verbose = click.get_current_context().find_root().params.get("verbose", 0)
        try:
            return func(*args, **kwargs)
        except DataError as exc:
            for problem in exc.problems:
                click.echo(f"Error: {problem}", err=True)
            sys.exit(exc.exit_code)
        except ExporterError as exc:
            if verbose:
                log.exception("details")
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            if verbose:
                log.exception("details")
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc}", err=True)
            sys.exit(EXIT_FAILED)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="exporter")
@click.option("-v", "--verbose", count=True, help="Say more; -v also shows tracebacks of errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@_state_dir_option()
def cli(verbose: int, quiet: bool, state_dir: Path | None) -> None:
    """Build Word, Excel and PDF market reports from canonical data.

    Exit codes: 0 ok, 1 a build failed, 2 usage error or invalid data,
    75 another run holds the lock (try again later).
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(sorted(FORMATS)),
    help="Format to build; repeat for several. Default: docx, xlsx and pdf.",
)
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
@click.option("-j", "--jobs", default=os.cpu_count() or 1, show_default="the number of CPUs",
              type=click.IntRange(min=1), help="Reports rendered in parallel worker processes.")
@click.option(
    "--keep", default=5, show_default=True, type=click.IntRange(min=0),
    help="Published sets to keep in OUTPUT/<id>/history/ (0 keeps none).",
)
@click.option(
    "--wait", default=0.0, type=click.FloatRange(min=0), metavar="SECONDS",
    help="Wait this long for another run to finish instead of exiting 75 at once.",
)
@data_dir_option
@output_dir_option
@_state_dir_option()
@click.option("--deliver", "deliver_after", is_flag=True, help="Deliver the reports to their lists after building.")
@list_option
@recipients_option
@click.option(
    "--executor", default="local", show_default=True, envvar="EXPORTER_EXECUTOR", show_envvar=True,
    type=click.Choice(["local", "dask"]),
    help="Render on this machine (--jobs processes) or on the Dask cluster at --scheduler-address.",
)
@click.option(
    "--scheduler-address", default=None, envvar="EXPORTER_DASK_SCHEDULER", show_envvar=True,
    metavar="tcp://HOST:PORT", help="The Dask scheduler that --executor dask sends the rendering to.",
)
@click.option("--trigger", default="cli", hidden=True, help="What started the run, for the history.")
@click.option("--job-id", default=None, hidden=True, help="The timetable job of a scheduled run.")
@click.option("--catch-up", default=0, type=click.IntRange(min=0), hidden=True,
              help="Fire times missed during downtime that this run makes up for.")
@click.pass_context
@handle_errors
def build(ctx, report_ids, formats, force, jobs, keep, wait, data_dir, output_dir, state_dir, deliver_after, lists,
          recipients, executor, scheduler_address, trigger, job_id, catch_up) -> None:
    """Build the deliverables of REPORT_ID (default: every report).

    Publishes OUTPUT/<id>/<id>.<format> and OUTPUT/<id>/manifest.json as one set, and one set
    OUTPUT/<id>.<variant>/ per variant the report declares. A set whose data (the YAML and its
    <id>.<table>.csv files), formats and exporter version match its manifest is skipped
    ("unchanged") and no file is touched. Invalid data publishes nothing and exits 2; a report
    that fails to render or publish keeps its previous set and exits 1 after the others are
    built. Ends with one line per set: built, unchanged, failed or stopped.
    """
    from .runs.pipeline import BuildRequest, run_build

    if executor == "dask":
        if not scheduler_address:
            raise click.UsageError("--executor dask needs --scheduler-address tcp://HOST:PORT "
                                   "(or EXPORTER_DASK_SCHEDULER)", ctx)
    stop = threading.Event()
    # SIGTERM (a service stopping, a deadline) ends the build at the next safe point: never mid-publish.
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    request = BuildRequest(
        data_dir=data_dir, output_dir=output_dir, ids=report_ids, formats=formats,
        state_dir=_state_dir(state_dir), force=force, keep=keep, wait=wait, trigger=trigger,
        job_id=job_id, catch_up=catch_up, should_stop=stop.is_set, deliver=deliver_after, lists=lists,
        recipients=recipients, jobs=jobs, progress=_progress_line() if _show_progress(ctx) else None,
        executor=executor, scheduler_address=scheduler_address if executor == "dask" else None,
    )
    started = time.monotonic()
    result = run_build(request)
    if request.progress:
        click.echo("\r\033[K", nl=False, err=True)
    for problem in result.warnings:
        _warn(problem)
    quiet = ctx.find_root().params["quiet"]
    for outcome in result.outcomes:
        if outcome.status in ("failed", "stopped"):
            click.echo(f"Error: {outcome.report_id}: {outcome.error}" if outcome.status == "stopped"
                       else f"Error: {outcome.error}", err=True)
    for outcome in result.outcomes:
        if outcome.status in ("failed", "stopped"):
            click.echo(f"{outcome.report_id}: {outcome.status}")
        elif not quiet:
            detail = ": " + ", ".join(str(p) for p in outcome.files) if outcome.status == "built" else ""
            click.echo(f"{outcome.report_id}: {outcome.status}{detail}")
    if len(result.outcomes) > 1 and not quiet:
        counts = {status: sum(o.status == status for o in result.outcomes)
                  for status in ("built", "unchanged", "failed", "stopped")}
        text = ", ".join(f"{n} {status}" for status, n in counts.items() if n or status != "stopped")
        click.echo(f"summary: {text} in {time.monotonic() - started:.1f} s")
    _print_deliveries(result.deliveries, quiet)
    if not result.ok:
        sys.exit(EXIT_FAILED)


def _show_progress(ctx) -> bool:
    """Show progress only to a person at a terminal: never under cron, in a pipe or with -q."""
    return not ctx.find_root().params["quiet"] and sys.stderr.isatty()


def _progress_line():
    def show(done: int, total: int, report_id: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        click.echo(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {report_id}", nl=False, err=True)

    return show


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@list_option
@click.option("--dry-run", is_flag=True, help="Print what would go where; send and record nothing.")
@click.option("--wait", default=0.0, type=click.FloatRange(min=0), metavar="SECONDS",
              help="Wait this long for another run to finish instead of exiting 75 at once.")
@recipients_option
@data_dir_option
@output_dir_option
@_state_dir_option()
@click.pass_context
@handle_errors
def deliver(ctx, report_ids, lists, dry_run, wait, recipients, data_dir, output_dir, state_dir) -> None:
    """Deliver the published reports to their distribution lists, each content once.

    Sends REPORT_ID (default: every report) by email and copies it to drop folders, as the
    recipients file says. What a list already received is not sent again; what failed before
    is tried again. Exits 1 when a delivery failed. SMTP settings come from EXPORTER_SMTP_*.
    """
    from .runs.pipeline import BuildRequest, run_deliver

    request = BuildRequest(data_dir=data_dir, output_dir=output_dir, ids=report_ids, state_dir=_state_dir(state_dir),
                           wait=wait, lists=lists, recipients=recipients, dry_run=dry_run, deliver=True)
    result = run_deliver(request)
    _print_deliveries(result.deliveries, ctx.find_root().params["quiet"])
    if not result.deliveries and not ctx.find_root().params["quiet"]:
        click.echo("nothing to deliver: no list wants these reports")
    if not result.ok:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@data_dir_option
@schedule_option
@recipients_option
@click.pass_context
@handle_errors
def validate(ctx, report_ids, data_dir, schedule, recipients) -> None:
    """Check report data, the timetable and the recipients, listing every problem.

    Checks REPORT_ID (default: every report). Prints FILE:LINE: field.path: problem for each
    problem and exits 2 when there is one. The timetable (DATA/schedule.yaml) and the recipients
    (DATA/recipients.yaml) are checked when they exist or are named.
    """
    from .core.errors import DataError
    from .runs.pipeline import discover, load_all, select
    from .schedule.timetable import load_timetable

    sources = discover(data_dir)
    problems = []
    loaded = []
    try:
        loaded = load_all(select(sources, report_ids))
    except DataError as exc:
        problems.extend(exc.problems)
    from .delivery.recipients import RECIPIENTS_NAME, load_recipients

    checked, loaded_files = [], {}
    recipients_path = recipients if recipients is not None else data_dir / RECIPIENTS_NAME
    for path, named, loader in ((_schedule_path(schedule, data_dir), schedule, load_timetable),
                                (recipients_path, recipients, load_recipients)):
        if named is None and not path.exists():
            continue
        try:
            loaded_files[loader] = loader(path, [s.id for s in sources])
        except DataError as exc:
            problems.extend(exc.problems)
        checked.append(path)
    if load_timetable in loaded_files:
        problems.extend(_unknown_lists(loaded_files[load_timetable], loaded_files.get(load_recipients)))
    if load_recipients in loaded_files:
        problems.extend(_unknown_variant_lists(loaded, loaded_files[load_recipients]))
    if problems:
        raise DataError(problems)
    quiet = ctx.find_root().params["quiet"]
    for report in loaded:
        for problem in report.warnings:
            _warn(problem)
        if not quiet:
            click.echo(f"{report.source.path}: valid")
    if not quiet:
        for path in checked:
            click.echo(f"{path}: valid")


@cli.command("list")
@data_dir_option
@output_dir_option
@handle_errors
def list_command(data_dir, output_dir) -> None:
    """List the reports found, with their title and when they were last built."""
    from .runs.pipeline import list_reports

    rows = list_reports(data_dir, output_dir)
    if not rows:
        click.echo(f"no reports in {data_dir / 'reports'}")
    for row in rows:
        click.echo(f"{row.id}\t{row.title or row.problem}\t{row.last_build or 'never built'}")


@cli.command()
@click.argument("report_id", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON array.")
@output_dir_option
@_state_dir_option()
@handle_errors
def history(report_id, limit, as_json, output_dir, state_dir) -> None:
    """Show the latest runs, newest first, with each report's outcome.

    With REPORT_ID, only the runs that built or checked that report.
    """
    from .runs.history import History
    from .runs.pipeline import state_dir_for

    from .delivery.ledger import Ledger

    state = state_dir_for(output_dir, _state_dir(state_dir))
    with History(state) as store, Ledger(state) as ledger:
        runs = store.runs(report_id, limit)
        deliveries = {run.run_id: [d for d in ledger.for_run(run.run_id) if report_id in (None, d.report_id)]
                      for run in runs} if store.path.exists() else {}
    if as_json:
        click.echo(json.dumps([{**run.as_json(), "deliveries": [d.as_json() for d in deliveries.get(run.run_id, [])]}
                               for run in runs], indent=2))
        return
    if not runs:
        click.echo("no runs recorded")
    for run in runs:
        ended = run.ended_at or "-"
        trigger = run.trigger + (f" ({run.job_id})" if run.job_id else "")
        catch_up = f", catch-up for {run.catch_up} missed" if run.catch_up else ""
        click.echo(f"{run.run_id}  {trigger}  {run.started_at} -> {ended}  {run.status}{catch_up}")
        if run.error:
            click.echo(f"    error: {run.error.splitlines()[0]}")
        for report in run.reports:
            error = f": {report.error}" if report.error else ""
            click.echo(f"    {report.report_id}: {report.outcome}{error}")
        for d in deliveries.get(run.run_id, []):
            error = f": {d.error}" if d.error else ""
            click.echo(f"    {d.report_id} -> {d.list_id} by {d.channel}: {d.status}{error}")


@cli.command()
@data_dir_option
@output_dir_option
@_state_dir_option()
@schedule_option
@handle_errors
def schedule(data_dir, output_dir, state_dir, schedule) -> None:
    """Run the scheduler in the foreground, rebuilding on the timetable.

    Each run is an `exporter build` with trigger "schedule", logged to stderr and recorded in the
    history. Fire times missed while the service was down are made up for by one catch-up run
    (within the timetable's misfire_grace). SIGTERM or SIGINT: no new runs; a running build stops
    before its next publish; exit 0. A second scheduler on the same state folder exits 75.
    """
    from .schedule.service import ServiceConfig, run_service

    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("exporter").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    run_service(ServiceConfig(_schedule_path(schedule, data_dir), data_dir, output_dir, _state_dir(state_dir)))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@click.option("--count", default=5, show_default=True, type=click.IntRange(min=1, max=1000),
              help="Next fire times to show for each job.")
@data_dir_option
@schedule_option
@handle_errors
def jobs(as_json, count, data_dir, schedule) -> None:
    """List the timetable's jobs and their next fire times.

    Times are in the timetable's time zone; interval jobs count from now, as from a service start.
    """
    from .runs.pipeline import discover
    from .schedule.triggers import fire_times, trigger_for
    from .schedule.timetable import load_timetable

    loaded = load_timetable(_schedule_path(schedule, data_dir), [s.id for s in discover(data_dir)])
    timetable = loaded.timetable
    now = dt.datetime.now(timetable.zone)
    rows = []
    for job in timetable.jobs:
        times = fire_times(trigger_for(job, timetable.zone), now, count)
        rows.append({
            "id": job.id,
            "trigger": f"cron {job.cron}" if job.cron else f"every {job.every}",
            "timezone": timetable.timezone,
            "reports": list(job.report_ids) or "all",
            "formats": list(job.formats or ()) or "default",
            "next": [t.astimezone(timetable.zone).isoformat(timespec="seconds") for t in times],
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        reports = row["reports"] if row["reports"] == "all" else ", ".join(row["reports"])
        formats = row["formats"] if row["formats"] == "default" else ", ".join(row["formats"])
        click.echo(f"{row['id']}: {row['trigger']} ({row['timezone']}); reports: {reports}; formats: {formats}")
        for fire_time in row["next"]:
            click.echo(f"    {fire_time}")


@cli.command()
@data_dir_option
@output_dir_option
@_state_dir_option()
@schedule_option
@handle_errors
def cron(data_dir, output_dir, state_dir, schedule) -> None:
    """Print crontab lines equivalent to the timetable, for the system's cron instead of the service.

    Paths are absolute. CRON_TZ sets the timetable's time zone (cronie and systemd-cron honour
    it); interval jobs get a line when a crontab can express them.
    """
    from .schedule.crontab import crontab_lines
    from .runs.pipeline import discover
    from .schedule.timetable import load_timetable

    loaded = load_timetable(_schedule_path(schedule, data_dir), [s.id for s in discover(data_dir)])
    for line in crontab_lines(loaded.timetable, data_dir=data_dir, output_dir=output_dir,
                              state_dir=_state_dir(state_dir), executable=sys.executable):
        click.echo(line)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the canonical report data format."""
    from .source.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def main(prog_name: str | None = None) -> None:
    try:
        cli.main(prog_name=prog_name or "exporter")
    except KeyboardInterrupt:
        click.echo("Error: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
