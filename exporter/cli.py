"""The command line: a thin layer over `exporter.api`.

Each command parses its options, makes one library call and prints the result; `handle_errors`
turns library errors into exit codes in one place: 0 ok, 1 a build or delivery failed, 2 usage
error or invalid data, 75 another run holds the lock.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from . import __version__
from .core import logs
from .core.errors import EXIT_FAILED, DataError, ExporterError
from .core.formats import FORMATS
from .core.workspace import Workspace

log = logging.getLogger("exporter")


def _path_option(name: str, envvar: str, help: str, *, default: str | None = None, folder: bool = True):
    return click.option(
        f"--{name}", envvar=envvar, show_envvar=True, default=default, show_default=default is not None,
        type=click.Path(file_okay=not folder, dir_okay=folder, path_type=Path), help=help,
    )


_WORKSPACE_OPTIONS = {
    "data_dir": _path_option("data-dir", "EXPORTER_DATA_DIR", "Folder holding reports/<id>.yaml.", default="data"),
    "output_dir": _path_option("output-dir", "EXPORTER_OUTPUT_DIR", "Folder the deliverables go to.",
                               default="output"),
    "state_dir": _path_option("state-dir", "EXPORTER_STATE_DIR",
                              "Folder for the run history and the lock.  [default: OUTPUT/.exporter]"),
    "schedule": _path_option("schedule", "EXPORTER_SCHEDULE", "The timetable.  [default: DATA/schedule.yaml]",
                             folder=False),
    "recipients": _path_option("recipients", "EXPORTER_RECIPIENTS",
                               "The distribution lists.  [default: DATA/recipients.yaml]", folder=False),
    "metrics_file": _path_option("metrics-file", "EXPORTER_METRICS_FILE",
                                 "Prometheus metrics rewritten after each run, for node_exporter's textfile "
                                 "collector (name it *.prom).  [default: STATE/metrics.prom]", folder=False),
}


def workspace_options(*names: str):
    """Add the location options *names* and pass the command one `Workspace` made of them."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            given = {name: kwargs.pop(name, None) for name in _WORKSPACE_OPTIONS}
            root = click.get_current_context().find_root().params
            workspace = Workspace(
                data_dir=given["data_dir"] or Path("data"), output_dir=given["output_dir"] or Path("output"),
                state_dir=given["state_dir"] or root.get("state_dir"), schedule_file=given["schedule"],
                recipients_file=given["recipients"], metrics_file=given["metrics_file"],
            )
            return func(*args, workspace=workspace, **kwargs)

        for name in reversed(names):
            wrapper = _WORKSPACE_OPTIONS[name](wrapper)
        return wrapper

    return decorate


list_option = click.option(
    "--list", "lists", multiple=True, metavar="NAME",
    help="Deliver to this distribution list only; repeat for several. Default: every list.",
)
wait_option = click.option(
    "--wait", default=0.0, type=click.FloatRange(min=0), metavar="SECONDS",
    help="Wait this long for another run to finish instead of exiting 75 at once.",
)


def _quiet() -> bool:
    return bool(click.get_current_context().find_root().params.get("quiet"))


def _warn(problem) -> None:
    if not _quiet():
        click.echo(f"Warning: {problem}", err=True)


def handle_errors(func):
    """Turn exporter errors into one clear line each on stderr and the matching exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        verbose = click.get_current_context().find_root().params.get("verbose", 0)
        try:
            return func(*args, **kwargs)
        except DataError as exc:
            _errors([str(problem) for problem in exc.problems])
            sys.exit(exc.exit_code)
        except ExporterError as exc:
            if verbose:
                log.exception("details")
            _errors([str(exc)])
            sys.exit(exc.exit_code)
        except OSError as exc:
            if verbose:
                log.exception("details")
            where = f"{exc.filename}: " if exc.filename else ""
            _errors([f"{where}{exc.strerror or exc}"])
            sys.exit(EXIT_FAILED)

    return wrapper


def _errors(lines: list[str]) -> None:
    ctx = click.get_current_context()
    as_log = ctx.meta.get("exporter.log_context")
    for line in lines:
        if as_log is not None:
            with logs.context(**as_log):
                log.error("%s", line)
        else:
            click.echo(f"Error: {line}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="exporter")
@click.option("-v", "--verbose", count=True, help="Say more; -v also shows tracebacks of errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("--log-format", type=click.Choice(logs.LOG_FORMATS), default="text", show_default=True,
              envvar="EXPORTER_LOG_FORMAT", show_envvar=True,
              help="Log lines as text, or as one JSON object per line for log shippers.")
@_WORKSPACE_OPTIONS["state_dir"]
def cli(verbose: int, quiet: bool, log_format: str, state_dir: Path | None) -> None:
    """Build Word, Excel and PDF reports from report data (YAML and CSV).

    Exit codes: 0 ok, 1 a build failed, 2 usage error or invalid data,
    75 another run holds the lock (try again later).
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    # Our own records at the chosen level; other libraries' (APScheduler's too) only when they warn, unless -vv.
    logs.configure(level=logging.DEBUG if verbose > 1 else logging.WARNING, fmt=log_format)
    logging.getLogger("exporter").setLevel(level)


def _stop_on_signal() -> threading.Event:
    """SIGTERM (a service stopping, a deadline) or Ctrl-C ends the run at the next safe point: never mid-publish.

    The run is then recorded as stopped, as for SIGTERM. A second Ctrl-C interrupts at once.
    """
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        if signum == signal.SIGINT:
            if stop.is_set():
                raise KeyboardInterrupt
            click.echo("\nstopping before the next report is published (Ctrl-C again to interrupt at once)", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


formats_option = click.option(
    "-f", "--format", "formats", multiple=True, type=click.Choice(sorted(FORMATS)),
    help="Format to build; repeat for several. Default: docx, xlsx and pdf.",
)
keep_option = click.option(
    "--keep", default=5, show_default=True, type=click.IntRange(min=0),
    help="Published sets to keep in OUTPUT/<id>/history/ (0 keeps none).",
)


def workers_options(func):
    @click.option("-j", "--jobs", default=os.cpu_count() or 1, show_default="the number of CPUs",
                  type=click.IntRange(min=1), help="Reports rendered in parallel worker processes.")
    @click.option("--executor", default="local", show_default=True, envvar="EXPORTER_EXECUTOR", show_envvar=True,
                  type=click.Choice(["local", "dask"]),
                  help="Render on this machine (--jobs processes) or on the Dask cluster at --scheduler-address.")
    @click.option("--scheduler-address", default=None, envvar="EXPORTER_DASK_SCHEDULER", show_envvar=True,
                  metavar="tcp://HOST:PORT", help="The Dask scheduler that --executor dask sends the rendering to.")
    @functools.wraps(func)
    def wrapper(*args, jobs, executor, scheduler_address, **kwargs):
        from .api import Workers

        if executor == "dask" and not scheduler_address:
            raise click.UsageError("--executor dask needs --scheduler-address tcp://HOST:PORT "
                                   "(or EXPORTER_DASK_SCHEDULER)")
        return func(*args, workers=Workers(executor, jobs, scheduler_address if executor == "dask" else None),
                    **kwargs)

    return wrapper


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@formats_option
@click.option("--force", is_flag=True, help="Rebuild even when nothing changed.")
@click.option("--theme", metavar="NAME", help="The look of every report built: DATA/themes/NAME.yaml, over the one "
              "a report names.")
@workers_options
@keep_option
@wait_option
@click.option("--deliver", "deliver_after", is_flag=True, help="Deliver the reports to their lists after building.")
@list_option
@workspace_options("data_dir", "output_dir", "state_dir", "recipients", "metrics_file")
@handle_errors
def build(report_ids, formats, force, theme, workers, keep, wait, workspace, deliver_after, lists) -> None:
    """Build the deliverables of REPORT_ID (default: every report).

    Publishes OUTPUT/<id>/<id>.<format> and OUTPUT/<id>/manifest.json as one set, and one set
    OUTPUT/<id>.<variant>/ per variant the report declares. A set whose data (the YAML, its
    <id>.<table>.csv files and DATA/themes/), formats and exporter version match its manifest is skipped
    ("unchanged") and no file is touched. An invalid report file, or a report that fails to render
    or publish, keeps its previous sets and exits 1 after the others are built. Ends with one line
    per set: built, unchanged, failed, invalid or stopped. Ctrl-C or SIGTERM stops before the next
    publish.
    """
    from . import api
    from .console import echo_build, progress_bar

    run = api.RunContext(wait=wait, should_stop=_stop_on_signal().is_set,
                         progress=progress_bar() if not _quiet() and sys.stderr.isatty() else None)
    result = api.build(workspace, api.Selection(report_ids, formats, force, theme),
                       run=run, workers=workers, keep=keep,
                       delivery=api.Delivery(lists) if deliver_after else None)
    echo_build(result, quiet=_quiet(), clear_progress=run.progress is not None)
    if not result.ok:
        sys.exit(EXIT_FAILED)


@cli.command("run-job")
@click.argument("job_id")
@click.option("--trigger", type=click.Choice(["cli", "cron", "schedule"]), default="cli", show_default=True,
              help="What started the run, for the history: a person, a crontab line or the scheduler service.")
@click.option("--catch-up", default=0, type=click.IntRange(min=0), metavar="N",
              help="Fire times missed during downtime that this run makes up for (recorded in the history).")
@workers_options
@keep_option
@wait_option
@workspace_options("data_dir", "output_dir", "state_dir", "schedule", "recipients", "metrics_file")
@click.pass_context
@handle_errors
def run_job(ctx, job_id, trigger, catch_up, workers, keep, wait, workspace) -> None:
    """Run the timetable job JOB_ID now, as the scheduler would.

    Builds the job's reports and formats and delivers them as the timetable says; the crontab lines
    of `exporter cron` and the scheduler service both run jobs this way. Output is log lines
    (timestamp, level, run and job ids; see --log-format). Exit codes as for build.

    With --trigger cron, a job with a calendar or a business day runs only at its fire times: on a
    day its calendar closes, the run is recorded as skipped with the reason and exits 0, as does a
    start at any other time (recording nothing).
    """
    from . import api
    from .console import log_outcomes
    from .schedule.jobs import JobSkipped

    ctx.meta["exporter.log_context"] = {"job_id": job_id}  # errors as log lines too: for logs and cron mail
    run = api.RunContext(trigger=trigger, catch_up=catch_up, wait=wait, should_stop=_stop_on_signal().is_set)
    with logs.context(job_id=job_id):
        result = api.run_job(workspace, job_id, run=run, workers=workers, keep=keep)
        if isinstance(result, JobSkipped):  # a closed day or no fire time: said in the log, nothing built
            return
        with logs.context(run_id=result.run_id):
            log_outcomes(result, quiet=_quiet())
    if not result.ok:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@list_option
@click.option("--dry-run", is_flag=True, help="Print what would go where; send and record nothing.")
@wait_option
@workspace_options("recipients", "data_dir", "output_dir", "state_dir", "metrics_file")
@handle_errors
def deliver(report_ids, lists, dry_run, wait, workspace) -> None:
    """Deliver the published reports to their distribution lists, each content once.

    Sends REPORT_ID (default: every report) by email and copies it to drop folders, as the
    recipients file says. What a list already received is not sent again; what failed before
    is tried again. Exits 1 when a delivery failed. SMTP settings come from EXPORTER_SMTP_*.
    """
    from . import api
    from .console import echo_deliveries

    result = api.deliver(workspace, report_ids, delivery=api.Delivery(lists, dry_run), run=api.RunContext(wait=wait))
    echo_deliveries(result.deliveries, _quiet())
    if not result.deliveries and not _quiet():
        click.echo("nothing to deliver: no list wants these reports")
    if not result.ok:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@click.option("--theme", metavar="NAME", help="Check the reports in DATA/themes/NAME.yaml, as build --theme would "
              "build them.")
@workspace_options("data_dir", "schedule", "recipients")
@handle_errors
def validate(report_ids, theme, workspace) -> None:
    """Check report data, the themes, the timetable and the recipients, listing every problem.

    Checks REPORT_ID (default: every report) and every theme in DATA/themes/. Prints
    FILE:LINE: field.path: problem for each problem and exits 2 when there is one. The timetable
    (DATA/schedule.yaml) and the recipients (DATA/recipients.yaml) are checked when they exist or
    are named.
    """
    from . import api

    checked = api.validate(workspace, report_ids, theme=theme)
    for problem in checked.warnings:
        _warn(problem)
    if not _quiet():
        for path in [report.source.path for report in checked.reports] + checked.checked:
            click.echo(f"{path}: valid")


@cli.command()
@click.argument("report_id")
@click.option("--kind", type=click.Choice(["document", "market"]), default="document", show_default=True,
              help="document: sections of blocks fed from data tables; market: a market study's figures and texts.")
@workspace_options("data_dir")
@handle_errors
def new(report_id, kind, workspace) -> None:
    """Start a report: write a commented starter DATA/reports/REPORT_ID.yaml that builds as it is.

    The document kind also gets an example table, REPORT_ID.deals.csv. Existing files are never
    replaced. Edit the files, then run `exporter validate` and `exporter build REPORT_ID`.
    """
    from . import api

    for path in api.start_report(workspace, report_id, kind):
        if not _quiet():
            click.echo(f"wrote {path}")


@cli.command("list")
@workspace_options("data_dir", "output_dir")
@handle_errors
def list_command(workspace) -> None:
    """List the reports found, with their title and when they were last built."""
    from . import api

    rows = api.list_reports(workspace)
    if not rows:
        click.echo(f"no reports in {workspace.reports_dir}")
    for row in rows:
        click.echo(f"{row.id}\t{row.title or row.problem}\t{row.last_build or 'never built'}")


@cli.command()
@click.argument("report_id", required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON array.")
@click.option("-v", "--verbose", is_flag=True, help="Show errors whole, and the host and version of each run.")
@workspace_options("output_dir", "state_dir")
@handle_errors
def history(report_id, limit, as_json, verbose, workspace) -> None:
    """Show the latest runs, newest first, with each report's outcome, duration and errors.

    With REPORT_ID, only the runs that built or checked that report. An error of several lines (an
    invalid report's problems) shows its first line; -v shows it whole. --json has everything.
    """
    from . import api
    from .console import echo_history

    records = api.history(workspace, report_id, limit=limit)
    if as_json:
        click.echo(json.dumps([record.as_json() for record in records], indent=2))
    else:
        echo_history(records, verbose=verbose or bool(click.get_current_context().find_root().params.get("verbose")))


def _duration(ctx, param, value: str | None):
    """A duration as the timetable writes them (30m, 6h, 1d), as a timedelta."""
    import datetime as dt

    from .schedule.timetable import seconds

    if value is None:
        return None
    try:
        return dt.timedelta(seconds=seconds(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration: give a number and a unit (s, m, h or d), "
                                 "e.g. 30m, 6h, 1d") from None


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.option("--max-age", callback=_duration, metavar="DURATION",
              help="Also stale: a report or job with no success within this long (30m, 6h, 1d).")
@workspace_options("data_dir", "output_dir", "state_dir", "schedule")
@handle_errors
def status(as_json, max_age, workspace) -> None:
    """Say whether every report and timetable job is healthy; exit 1 when one failed last or is stale.

    For each report and job: the last run, the last success, the last failure with its error, the
    next fire time (the running scheduler's, else the timetable's) and whether it is stale: a fire
    time passed, plus the timetable's misfire_grace and run_deadline, with no success since; or no
    success within --max-age. The first line is a summary in the shape of a Nagios/Icinga check
    (EXPORTER OK - … / EXPORTER CRITICAL - …); the detail follows. Reads the run history only,
    without the run lock: it answers while a build runs.
    """
    from . import api
    from .core.errors import StateError

    try:
        result = api.status(workspace, max_age=max_age)
    except StateError as exc:  # still one summary line first, for the check that runs us
        summary = f"EXPORTER CRITICAL - {exc}"
        click.echo(json.dumps({"healthy": False, "summary": summary}) if as_json else summary)
        sys.exit(EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo("\n".join([result.summary(), *result.lines()]))
    if not result.healthy:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("--metrics-port", type=click.IntRange(0, 65535), envvar="EXPORTER_METRICS_PORT", show_envvar=True,
              metavar="PORT", help="Serve Prometheus metrics on http://ADDRESS:PORT/metrics (0: any free port, "
              "logged). Default: not served.")
@click.option("--metrics-address", default="127.0.0.1", show_default=True, envvar="EXPORTER_METRICS_ADDRESS",
              show_envvar=True, metavar="ADDRESS", help="Where --metrics-port listens; 0.0.0.0 for every interface.")
@workspace_options("data_dir", "output_dir", "state_dir", "schedule", "recipients", "metrics_file")
@handle_errors
def schedule(metrics_port, metrics_address, workspace) -> None:
    """Run the scheduler in the foreground, rebuilding on the timetable.

    Each run is an `exporter run-job` with trigger "schedule", logged to stderr and recorded in the
    history. Fire times missed while the service was down are made up for by one catch-up run
    (within the timetable's misfire_grace). SIGTERM or SIGINT: no new runs; a running build stops
    before its next publish; exit 0. A second scheduler on the same state folder exits 75.
    SIGHUP re-reads the timetable and updates the jobs (a broken one is logged and the jobs stay).
    Under systemd (Type=notify) it reports READY, STATUS with the last run, and WATCHDOG pings.
    With --metrics-port it serves the Prometheus metrics that each run writes to --metrics-file.
    """
    from .schedule.service import run_service

    root = click.get_current_context().find_root().params
    run_service(workspace, child_options=["--log-format", root["log_format"], *(["-q"] if root["quiet"] else [])],
                metrics_port=metrics_port, metrics_address=metrics_address)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@click.option("--count", default=5, show_default=True, type=click.IntRange(min=1, max=1000),
              help="Next fire times to show for each job.")
@workspace_options("data_dir", "schedule")
@handle_errors
def jobs(as_json, count, workspace) -> None:
    """List the timetable's jobs and their next fire times.

    Times are in the timetable's time zone, with each job's business calendar applied (holidays
    skipped or moved, business days counted). Intervals that divide the hour or the day fire on the
    clock (:00, :15, …) as their crontab lines do; other intervals count from now, as from a service start.
    """
    from . import api
    from .console import echo_jobs

    listed = api.list_jobs(workspace, count=count)
    if as_json:
        click.echo(json.dumps([job.as_json() for job in listed], indent=2))
    else:
        echo_jobs(listed)


@cli.command()
@workspace_options("data_dir", "output_dir", "state_dir", "schedule", "recipients", "metrics_file")
@handle_errors
def cron(workspace) -> None:
    """Print crontab lines equivalent to the timetable, for the system's cron instead of the service.

    Each line runs `exporter run-job JOB_ID` with absolute paths, so a job builds and delivers the
    same from cron as from the service. CRON_TZ sets the timetable's time zone (cronie and
    systemd-cron honour it); interval jobs get a line when a crontab can express them. A job with a
    business calendar gets a line for every day it may fire; run-job builds only at its fire times.
    """
    from . import api

    for line in api.crontab(workspace):
        click.echo(line)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of report data files (market and document kinds)."""
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
