"""The command line: a thin layer over `exporter.pipeline`.

Each command parses its options, calls one library function and turns library errors into exit
codes: 0 ok, 1 a build failed, 2 usage error or invalid data, 75 another run holds the lock.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_FAILED, DataError, ExporterError
from .formats import FORMATS

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
def cli(verbose: int, quiet: bool) -> None:
    """Build Word, Excel and PDF market reports from canonical data.

    Exit codes: 0 ok, 1 a build failed, 2 usage error or invalid data.
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
@data_dir_option
@output_dir_option
@click.pass_context
@handle_errors
def build(ctx, report_ids, formats, data_dir, output_dir) -> None:
    """Build the deliverables of REPORT_ID (default: every report).

    Writes OUTPUT/<id>/<id>.<format>. Invalid data publishes nothing and exits 2; a report that
    fails to render or publish exits 1 after the others are built.
    """
    from .pipeline import build as run_build

    result = run_build(data_dir, output_dir, report_ids, formats)
    for problem in result.warnings:
        _warn(problem)
    quiet = ctx.find_root().params["quiet"]
    for outcome in result.outcomes:
        if outcome.status == "failed":
            click.echo(f"Error: {outcome.error}", err=True)
        elif not quiet:
            names = ", ".join(str(p) for p in outcome.files)
            click.echo(f"{outcome.report_id}: {outcome.status}: {names}")
    if not result.ok:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("report_ids", nargs=-1, metavar="[REPORT_ID]...")
@data_dir_option
@click.pass_context
@handle_errors
def validate(ctx, report_ids, data_dir) -> None:
    """Check the data of REPORT_ID (default: every report) and list every problem.

    Prints FILE:LINE: field.path: problem for each problem and exits 2 when there is one.
    """
    from .pipeline import discover, load_all, select

    loaded = load_all(select(discover(data_dir), report_ids))
    for report in loaded:
        for problem in report.warnings:
            _warn(problem)
        if not ctx.find_root().params["quiet"]:
            click.echo(f"{report.source.path}: valid")


@cli.command("list")
@data_dir_option
@output_dir_option
@handle_errors
def list_command(data_dir, output_dir) -> None:
    """List the reports found, with their title and when they were last built."""
    from .pipeline import list_reports

    rows = list_reports(data_dir, output_dir)
    if not rows:
        click.echo(f"no reports in {data_dir / 'reports'}")
    for row in rows:
        built = row.last_build.strftime("%Y-%m-%d %H:%M UTC") if row.last_build else "never built"
        click.echo(f"{row.id}\t{row.title or row.problem}\t{built}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the canonical report data format."""
    from .schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def main(prog_name: str | None = None) -> None:
    try:
        cli.main(prog_name=prog_name or "exporter")
    except KeyboardInterrupt:
        click.echo("Error: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
