"""The house's shape: dependencies point one way, the public API is what it says, old job stores restore."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import exporter

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_dependencies_point_one_way():
    # In a process of its own: import-linter reconfigures logging (disabling existing loggers).
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                           "sys.exit(lint_imports(config_filename='setup.cfg'))"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken." in done.stdout


def test_public_api_names():
    assert sorted(exporter.__all__) == sorted([
        "__version__",
        "Workspace", "Selection", "Workers", "Delivery", "RunContext", "BuildResult", "Outcome", "Validation",
        "RunRecord", "ListedReport", "LoadedReport", "JobListing",
        "ExporterError", "DataError", "UsageError", "BuildError", "LockBusy", "StateError", "Problem",
        "build", "deliver", "run_job", "validate", "load", "list_reports", "history", "list_jobs", "crontab",
        "json_schema", "start_report",
    ])
    for name in exporter.__all__:
        assert getattr(exporter, name) is not None
    with pytest.raises(AttributeError):
        exporter.no_such_name  # noqa: B018


def test_the_library_api_builds_and_validates(tmp_path):
    workspace = exporter.Workspace(data_dir=ROOT / "data", output_dir=tmp_path / "out")
    checked = exporter.validate(workspace)
    assert [r.source.id for r in checked.reports] == ["us-intrathecal-pump-market"]
    result = exporter.build(workspace, exporter.Selection(formats=("txt",)))
    assert [(o.report_id, o.status) for o in result.outcomes] == [("us-intrathecal-pump-market", "built")]
    text = (tmp_path / "out" / "us-intrathecal-pump-market" / "us-intrathecal-pump-market.txt").read_text()
    assert "United States Intrathecal Pump Market" in text
    [record] = exporter.history(workspace)
    assert record.run.run_id == result.run_id and record.run.status == "ok"


def test_a_job_store_written_before_the_package_move_restores(tmp_path):
    """tests/fixtures/legacy-jobs.sqlite was written by exporter at commit bad10ed (before the move)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from exporter.schedule.service import JOB_FUNCTION, job_store, sync_jobs
    from exporter.schedule.timetable import load_timetable

    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(FIXTURES / "legacy-jobs.sqlite", state / "jobs.sqlite")
    with sqlite3.connect(state / "jobs.sqlite") as db:
        before = dict(db.execute("SELECT id, next_run_time FROM apscheduler_jobs"))
    # The places the fixture's jobs were stored with: the jobs are the same jobs.
    workspace = exporter.Workspace(Path("/srv/exporter/data"), Path("/srv/exporter/output"),
                                   state_dir=Path("/srv/exporter/output/.exporter"),
                                   schedule_file=FIXTURES / "legacy-schedule.yaml")
    timetable = load_timetable(FIXTURES / "legacy-schedule.yaml", ["us-intrathecal-pump-market"]).timetable
    store = job_store(exporter.Workspace(tmp_path, tmp_path, state_dir=state))
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=timetable.zone)
    now = dt.datetime.fromtimestamp(min(before.values()) - 60, timetable.zone)
    sync_jobs(scheduler, store, workspace, timetable, now)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(jobs) == ["hourly-pdf", "weekday-morning"]
        morning = jobs["weekday-morning"]
        assert morning.func_ref == JOB_FUNCTION
        assert morning.next_run_time.timestamp() == before["weekday-morning"]  # kept, not recomputed
        assert type(morning.trigger).__module__ == "exporter.schedule.triggers"
        assert morning.kwargs["schedule"] == str(FIXTURES / "legacy-schedule.yaml")
        # The interval job now fires on the clock, like its crontab line: replaced by a cron trigger.
        assert jobs["hourly-pdf"].func_ref == JOB_FUNCTION
        assert jobs["hourly-pdf"].next_run_time.minute == 0 and jobs["hourly-pdf"].next_run_time.second == 0
    finally:
        scheduler.shutdown(wait=False)
    # What is stored now names only the new paths.
    with sqlite3.connect(state / "jobs.sqlite") as db:
        states = [row[0] for row in db.execute("SELECT job_state FROM apscheduler_jobs")]
    assert all(b"exporter.service" not in s and b"exporter.triggers" not in s for s in states)


def test_the_command_line_starts_without_the_heavy_libraries():
    """`exporter --help` and the CLI module import no pydantic, renderers or scheduler (start-up stays cheap)."""
    heavy = ("pydantic", "docx", "openpyxl", "reportlab", "apscheduler", "sqlalchemy", "yaml", "exporter.api")
    done = subprocess.run([sys.executable, "-c", "import sys, exporter.cli; print(' '.join(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert not [name for name in heavy if name in loaded]
