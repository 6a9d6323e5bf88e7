"""The library API: what the command line calls, and what a Python user calls instead of it.

Each function takes a `Workspace` (where things are) and small values, and returns results or
raises an `ExporterError`; none of them prints, exits or reads the wall clock unless given one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .core.errors import BuildError, DataError, Problem
from .core.ids import SetId
from .core.workspace import Workspace
from .runs.build import BuildResult, Delivery, Outcome, Selection, Workers, check_theme_name, run_build, run_deliver
from .runs.catalog import (
    ListedReport,
    LoadedReport,
    discover,
    list_reports,
    load,
    load_all,
    run_queries,
    select,
    start_report,
)
from .runs.history import Run, RunHistory
from .runs.record import Clock, RunContext, utc_now
from .source.databases import load_databases
from .source.themes import THEME_SUFFIX, load_theme, themes_dir

# What a build never uses (distribution lists and the ledger, the timetable and the scheduler, the
# status, the schema) is imported when first used, so that `exporter build` starts without it.
if TYPE_CHECKING:
    from .delivery.ledger import LedgerEntry
    from .delivery.recipients import LoadedRecipients
    from .runs.status import Status
    from .schedule.jobs import JobListing, list_jobs, run_job
    from .schedule.timetable import LoadedTimetable
    from .source.schema import json_schema

_LAZY = {
    "Status": ".runs.status",
    "JobListing": ".schedule.jobs",
    "list_jobs": ".schedule.jobs",
    "run_job": ".schedule.jobs",
    "json_schema": ".source.schema",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Workspace", "Selection", "Workers", "Delivery", "RunContext", "BuildResult", "Outcome", "Validation",
    "RunRecord", "ListedReport", "LoadedReport", "JobListing",
    "build", "deliver", "run_job", "validate", "load", "list_reports", "history", "list_jobs", "crontab",
    "json_schema", "start_report", "status", "Status",
]

T = TypeVar("T")

build = run_build
deliver = run_deliver


@dataclass(frozen=True)
class Validation:
    reports: list[LoadedReport]
    checked: list[Path]  # the timetable and recipients files that were checked too

    @property
    def warnings(self) -> list[Problem]:
        return [w for report in self.reports for w in report.warnings]


def validate(workspace: Workspace, ids: tuple[str, ...] | list[str] = (), *, theme: str | None = None) -> Validation:
    """Check report data, the themes, the timetable and the recipients together; raise one `DataError`
    listing every problem.

    Every theme in DATA/themes is checked, used or not; with *theme*, the reports are checked in that
    theme (as `build --theme` would build them). The timetable and the recipients file are checked
    when they exist or the workspace names them.
    """
    sources = discover(workspace)
    known = [s.id for s in sources]
    problems: list[Problem] = []
    loaded: list[LoadedReport] = []
    if theme is not None:
        check_theme_name(workspace, theme)
        sources = [dataclasses.replace(s, theme=theme) for s in sources]
    with tempfile.TemporaryDirectory(prefix="exporter-validate-") as snapshots:
        queried = []
        databases = functools.cache(lambda: load_databases(workspace.databases, workspace.data_dir))
        for source in select(sources, ids):  # query tables are checked on their results, as a build would
            try:
                queried.append(run_queries(source, databases, Path(snapshots), os.environ))
            except DataError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
            except BuildError as exc:
                problems.append(Problem(source.path, None, "tables", str(exc).removeprefix(f"{source.path}: ")))
        try:
            loaded = load_all(queried)
        except DataError as exc:
            problems.extend(exc.problems)
    themes = sorted(themes_dir(workspace.data_dir).glob(f"*{THEME_SUFFIX}"))
    for path in themes:  # a theme no report names may still be used by build --theme
        try:
            load_theme(path.parent, path.stem)
        except DataError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    checked: list[Path] = []

    def check(path: Path, named: Path | None, loader: Callable[[Path, list[str]], T]) -> T | None:
        """Load *path* when it exists or is named, keeping its problems with the others."""
        if named is None and not path.exists():
            return None
        checked.append(path)
        try:
            return loader(path, known)
        except DataError as exc:
            problems.extend(exc.problems)
            return None

    from .delivery.recipients import load_recipients
    from .schedule.timetable import load_timetable

    check(workspace.databases, None, lambda path, _: load_databases(path, workspace.data_dir))
    timetable = check(workspace.schedule, workspace.schedule_file, load_timetable)
    recipients = check(workspace.recipients, workspace.recipients_file, load_recipients)
    if timetable is not None:
        problems.extend(_unknown_job_lists(timetable, recipients))
    if recipients is not None:
        problems.extend(_unknown_variant_lists(loaded, recipients))
    if problems:
        raise DataError(problems)
    return Validation(loaded, [*checked, *themes])


def _list_names(recipients: LoadedRecipients | None) -> set[str]:
    return {item.id for item in recipients.recipients.lists} if recipients else set()


def _unknown_job_lists(timetable: LoadedTimetable, recipients: LoadedRecipients | None) -> list[Problem]:
    """Problems for timetable jobs naming distribution lists the recipients file lacks."""
    known = _list_names(recipients)
    return [Problem(timetable.path, None, f"jobs[{j}].deliver",
                    f"unknown distribution list {name!r} (known: {', '.join(sorted(known)) or 'none'})")
            for j, job in enumerate(timetable.timetable.jobs) for name in job.deliver_lists or () if name not in known]


def _unknown_variant_lists(loaded: list[LoadedReport], recipients: LoadedRecipients) -> list[Problem]:
    """Problems for report variants naming distribution lists the recipients file lacks."""
    known = _list_names(recipients)
    return [Problem(report.source.path, None, f"variants[{v}].lists[{n}]",
                    f"unknown distribution list {name!r} (known: {', '.join(sorted(known))})")
            for report in loaded for v, variant in enumerate(report.model.variants)
            for n, name in enumerate(variant.lists) if name not in known]


@dataclass(frozen=True)
class RunRecord:
    """A run from the history, with the deliveries it made."""

    run: Run
    deliveries: tuple[LedgerEntry, ...]

    def as_json(self) -> dict:
        return {**self.run.as_json(), "deliveries": [d.as_json() for d in self.deliveries]}


def history(workspace: Workspace, report_id: str | None = None, *, limit: int = 20) -> list[RunRecord]:
    """The latest runs, newest first; with *report_id*, the runs that built or checked it or its variants."""
    from .delivery.ledger import Ledger

    wanted = None if report_id is None else SetId.parse(report_id)
    with RunHistory(workspace.state) as store, Ledger(workspace.state) as ledger:
        runs = store.runs(report_id, limit)
        if not store.path.exists():
            return [RunRecord(run, ()) for run in runs]
        return [RunRecord(run, tuple(d for d in ledger.for_run(run.run_id)
                                     if wanted is None or wanted.covers(SetId.parse(d.report_id))))
                for run in runs]


def crontab(workspace: Workspace, *, executable: str = sys.executable) -> list[str]:
    """Crontab lines that run the timetable's jobs through `exporter run-job`."""
    from .schedule.crontab import crontab_lines
    from .schedule.jobs import load_schedule

    return crontab_lines(load_schedule(workspace), workspace, executable=executable)


def status(workspace: Workspace, *, max_age: dt.timedelta | None = None, clock: Clock = utc_now) -> Status:
    """Each report and timetable job: last run, success and failure, next fire time, failed or stale.

    Reads the run history only (no lock), so it answers while a build runs. Without a timetable,
    reports only; a timetable that cannot be used is reported in the status, not raised.
    """
    from .runs.status import status_of
    from .schedule.jobs import load_schedule
    from .schedule.plan import job_plans, scheduler_state

    now = clock()
    if workspace.schedule_file is None and not workspace.schedule.exists():
        return status_of(workspace, now=now, max_age=max_age)
    scheduler = scheduler_state(workspace.state)
    try:
        timetable = load_schedule(workspace)
    except DataError as exc:
        return status_of(workspace, now=now, scheduler=scheduler, timetable_error=str(exc), max_age=max_age)
    return status_of(workspace, now=now, jobs=job_plans(workspace, timetable, now, scheduler), scheduler=scheduler,
                     max_age=max_age)
