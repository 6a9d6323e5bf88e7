"""exporter: turn canonical report data into Word, Excel and PDF deliverables, on a timetable.

The library API (the command line is a thin layer over it)::

    import exporter

    workspace = exporter.Workspace(data_dir=Path("data"), output_dir=Path("output"))
    exporter.validate(workspace)                                   # raises DataError listing every problem
    result = exporter.build(workspace, exporter.Selection(formats=("pdf",)))
    for outcome in result.outcomes:
        print(outcome.report_id, outcome.status, outcome.files)

Names are imported on first use, so ``import exporter`` (and the CLI's start) stays cheap.

Subpackages, in the order the data flows (each may import only those before it)::

    core      the types every stage shares: errors, model, document, formats, ids, workspace, logs
    source    reading and checking source data: YAML with lines, validation, CSV tables, glyphs
    layout    a report's model laid out as a format-neutral Document
    render    Document -> bytes, one module per format
    publish   atomic sets with a manifest, kept versions, the index page
    delivery  distribution lists, the delivery ledger, email and drop folders
    runs      the catalog, builds as recorded runs under the lock, worker processes
    schedule  the timetable, triggers, the scheduler service, crontab lines, run-job
    api       the library functions above, as one flat module; cli and console print them
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "Workspace", "Selection", "Workers", "Delivery", "RunContext", "BuildResult", "Outcome", "Validation",
    "RunRecord", "ListedReport", "LoadedReport", "JobListing",
    "ExporterError", "DataError", "UsageError", "BuildError", "LockBusy", "StateError", "Problem",
    "build", "deliver", "run_job", "validate", "load", "list_reports", "history", "list_jobs", "crontab",
    "json_schema", "start_report",
]

_ERRORS = {"ExporterError", "DataError", "UsageError", "BuildError", "LockBusy", "StateError", "Problem"}

if TYPE_CHECKING:
    from .api import (
        BuildResult,
        Delivery,
        JobListing,
        ListedReport,
        LoadedReport,
        Outcome,
        RunContext,
        RunRecord,
        Selection,
        Validation,
        Workers,
        Workspace,
        build,
        crontab,
        deliver,
        history,
        json_schema,
        list_jobs,
        list_reports,
        load,
        run_job,
        start_report,
        validate,
    )
    from .core.errors import BuildError, DataError, ExporterError, LockBusy, Problem, StateError, UsageError


def __getattr__(name: str) -> Any:
    if name in _ERRORS:
        return getattr(importlib.import_module(".core.errors", __name__), name)
    if name in __all__:
        return getattr(importlib.import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
