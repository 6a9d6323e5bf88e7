"""`exporter status`: reports and jobs built for real, judged from the run history; the service's job store read."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import exporter.api as api
from exporter.core.workspace import Workspace
from exporter.runs.history import PID_NS

from conftest import DATA_DIR, ScheduleService, exporter

REPORT = "us-intrathecal-pump-market"
HOLD_THE_LOCK = ("import sys; from pathlib import Path; from exporter.runs.lock import exclusive_run\n"
                 "with exclusive_run(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The shipped report and a copy of it, without a timetable."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    (target / "schedule.yaml").unlink()
    shutil.copy(target / "reports" / f"{REPORT}.yaml", target / "reports" / "second.yaml")
    return target


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def places(data: Path, out: Path) -> list[str]:
    return ["--data-dir", str(data), "--output-dir", str(out)]


def status(data: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return exporter("status", *options, *places(data, out))


def status_json(data: Path, out: Path, *options: str) -> tuple[int, dict]:
    done = status(data, out, "--json", *options)
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


def by_id(items: list[dict]) -> dict[str, dict]:
    return {item["id"]: item for item in items}


def last_run_id(out: Path) -> str:
    done = exporter("history", "--json", "--limit", "1", "--output-dir", str(out))
    return json.loads(done.stdout)[0]["run_id"]


def break_reports(data: Path, out: Path) -> None:
    """One report that cannot be published (a file where its folder goes), one invalid."""
    shutil.copy(data / "reports" / f"{REPORT}.yaml", data / "reports" / "blocked.yaml")
    out.mkdir(exist_ok=True)
    (out / "blocked").write_text("a file where the report's folder belongs")
    bad = data / "reports" / "bad.yaml"
    bad.write_text((data / "reports" / f"{REPORT}.yaml").read_text().replace("amount: 3.5", "amount: -1"))


def write_timetable(data: Path, body: str) -> None:
    (data / "schedule.yaml").write_text(body, encoding="utf-8")


def test_a_healthy_catalog_exits_0_with_an_ok_summary_then_the_detail(data, out):
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    run_id = last_run_id(out)
    done = status(data, out)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "EXPORTER OK - 2 reports healthy | reports=2 reports_failed=0 reports_stale=0"
    assert f"report {REPORT}: ok" in lines and "report second: ok" in lines
    assert any(line.startswith("    last success:") and f"built (run {run_id})" in line for line in lines)
    assert not any(line.startswith("scheduler:") for line in lines)  # no timetable: reports only

    code, shown = status_json(data, out)
    assert code == 0 and shown["healthy"] is True and shown["jobs"] is None and shown["scheduler"] is None
    assert shown["summary"] == lines[0]
    report = by_id(shown["reports"])[REPORT]
    assert report["state"] == "ok" and report["last_failure"] is None and report["stale"] == []
    assert report["last_run"] == report["last_success"]
    assert report["last_success"]["run_id"] == run_id and report["last_success"]["result"] == "built"
    assert report["next_fire"] is None


def test_a_failed_and_an_invalid_report_exit_1_naming_them_with_their_errors(data, out):
    break_reports(data, out)
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 1
    done = status(data, out)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == ("EXPORTER CRITICAL - 2 reports failed: bad, blocked | reports=4 reports_failed=2 "
                        "reports_stale=0")
    assert "report bad: FAILED" in lines and "report blocked: FAILED" in lines and "report second: ok" in lines
    located = f"        {data / 'reports' / 'bad.yaml'}:"
    assert any(line.startswith(located) and "figures.base.size.amount" in line for line in lines)

    code, shown = status_json(data, out)
    reports = by_id(shown["reports"])
    assert code == 1 and shown["healthy"] is False
    assert reports["bad"]["state"] == "failed" and reports["bad"]["last_failure"]["result"] == "invalid"
    assert "figures.base.size.amount" in reports["bad"]["last_failure"]["error"]
    assert reports["blocked"]["last_failure"]["result"] == "failed" and reports["blocked"]["last_success"] is None
    assert reports[REPORT]["state"] == "ok"

    # Mended and rebuilt: healthy again; the last failure stays on record.
    (out / "blocked").unlink()
    (data / "reports" / "bad.yaml").unlink()
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    code, shown = status_json(data, out)
    blocked = by_id(shown["reports"])["blocked"]
    assert code == 0 and blocked["state"] == "ok" and blocked["last_failure"]["result"] == "failed"
    assert "bad" not in by_id(shown["reports"])  # gone from the catalog, gone from the status


def test_max_age_makes_a_report_never_built_stale(data, out):
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    shutil.copy(data / "reports" / f"{REPORT}.yaml", data / "reports" / "newcomer.yaml")
    done = status(data, out)
    assert done.returncode == 0 and "report newcomer: never run" in done.stdout.splitlines()
    done = status(data, out, "--max-age", "1d")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith("EXPORTER CRITICAL - 1 report stale: newcomer | ")
    assert "    stale:        never succeeded (--max-age 1d)" in done.stdout.splitlines()
    code, shown = status_json(data, out, "--max-age", "6h")
    assert code == 1 and shown["max_age_seconds"] == 6 * 3600
    assert by_id(shown["reports"])["newcomer"]["stale"] == ["never succeeded (--max-age 6h)"]
    assert by_id(shown["reports"])[REPORT]["stale"] == []


def test_max_age_through_the_library_with_a_clock(data, out):
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    workspace = Workspace(data, out)
    built = api.status(workspace).reports[0].last_success.at
    fresh = api.status(workspace, max_age=dt.timedelta(hours=6), clock=lambda: built + dt.timedelta(hours=5))
    assert fresh.healthy and fresh.summary().startswith("EXPORTER OK - 2 reports healthy | ")
    later = api.status(workspace, max_age=dt.timedelta(hours=6),
                       clock=lambda: built + dt.timedelta(days=1, hours=2, minutes=30))
    assert not later.healthy
    assert later.summary().startswith(f"EXPORTER CRITICAL - 2 reports stale: second, {REPORT} | ")
    assert later.reports[1].id == REPORT and later.reports[1].stale == ("last success 1d 2h ago, over --max-age 6h",)


@pytest.mark.parametrize("value", ["10x", "0m", "1.5h", ""])
def test_a_bad_max_age_is_a_usage_error(data, out, value):
    done = status(data, out, "--max-age", value)
    assert done.returncode == 2
    assert f"Invalid value for '--max-age': {value!r} is not a duration" in done.stderr


def test_no_reports_folder_is_a_usage_error(tmp_path, out):
    done = status(tmp_path / "nowhere", out)
    assert done.returncode == 2 and done.stderr.startswith("Error: no reports folder: ")


def test_variants_are_listed_until_a_build_without_them(data, out):
    source = data / "reports" / f"{REPORT}.yaml"
    plain = source.read_text()
    source.write_text(plain + "variants:\n  - id: east\n    name: East edition\n    lists: []\n")
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    code, shown = status_json(data, out)
    assert code == 0 and [r["id"] for r in shown["reports"]] == ["second", REPORT, f"{REPORT}.east"]
    source.write_text(plain)
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    code, shown = status_json(data, out)
    assert [r["id"] for r in shown["reports"]] == ["second", REPORT]


TIMETABLE = """timezone: UTC
misfire_grace: 1h
run_deadline: 30m
jobs:
  - id: morning
    cron: "0 6 * * *"
    reports: [second]
    formats: [txt]
  - id: blocked-job
    cron: "0 7 * * *"
    reports: [blocked]
    formats: [txt]
"""


def test_jobs_failed_last_are_critical_and_a_skipped_run_does_not_clear_it(data, out):
    break_reports(data, out)
    (data / "reports" / "bad.yaml").unlink()
    write_timetable(data, TIMETABLE)
    assert exporter("run-job", "morning", "--trigger", "cron", *places(data, out)).returncode == 0
    assert exporter("run-job", "blocked-job", "--trigger", "cron", *places(data, out)).returncode == 1
    failed_run = last_run_id(out)
    # A later run that meets the lock is skipped: the job still failed last.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(out / ".exporter")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert exporter("run-job", "blocked-job", "--trigger", "cron", *places(data, out)).returncode == 75
        done = status(data, out)  # answers while another run holds the lock
    finally:
        holder.communicate("")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == ("EXPORTER CRITICAL - 1 report failed: blocked; 1 job failed: blocked-job | reports=3 "
                        "reports_failed=1 reports_stale=0 jobs=2 jobs_failed=1 jobs_stale=0")
    assert lines[1] == "scheduler: not running (next fire times from the timetable)"
    assert "job blocked-job (cron 0 7 * * *): FAILED" in lines and "job morning (cron 0 6 * * *): ok" in lines

    code, shown = status_json(data, out)
    jobs = by_id(shown["jobs"])
    blocked = jobs["blocked-job"]
    assert blocked["last_run"]["result"] == "skipped" and "holds the lock" in blocked["last_run"]["error"]
    assert blocked["last_failure"]["run_id"] == failed_run and blocked["last_failure"]["result"] == "failed"
    assert blocked["last_failure"]["error"].startswith("blocked: ")  # the failed report's own error
    assert jobs["morning"]["last_success"]["result"] == "ok"
    # Next fire times as the timetable says (no service running), the same as `exporter jobs` lists.
    listed = {job["id"]: job["next"][0] for job in json.loads(
        exporter("jobs", "--json", "--data-dir", str(data)).stdout)}
    assert {i: j["next_fire"] for i, j in jobs.items()} == listed
    assert {j["next_fire_from"] for j in jobs.values()} == {"timetable"}
    reports = by_id(shown["reports"])
    assert reports["second"]["jobs"] == ["morning"] and reports["second"]["next_fire"] == listed["morning"]
    assert reports[REPORT]["jobs"] == [] and reports[REPORT]["next_fire"] is None


def test_a_job_is_stale_once_a_fire_time_and_its_grace_pass_without_success(data, out):
    write_timetable(data, TIMETABLE.split("  - id: blocked-job")[0])
    assert exporter("run-job", "morning", "--trigger", "cron", *places(data, out)).returncode == 0
    workspace = Workspace(data, out)
    started = api.status(workspace).jobs[0].last_success.at
    day = started.replace(hour=6, minute=0, second=0, microsecond=0)
    due = day if day > started else day + dt.timedelta(days=1)  # the first 06:00 after the run
    grace = dt.timedelta(hours=1, minutes=30)  # misfire_grace 1h + run_deadline 30m

    ok = api.status(workspace, clock=lambda: due + grace - dt.timedelta(seconds=1))
    assert ok.healthy, ok.lines()
    late = api.status(workspace, clock=lambda: due + grace)
    assert not late.healthy
    assert late.summary() == ("EXPORTER CRITICAL - 1 report stale: second; 1 job stale: morning | reports=2 "
                              "reports_failed=0 reports_stale=1 jobs=1 jobs_failed=0 jobs_stale=1")
    reason = f"no success since {due.isoformat()} (job morning; misfire_grace and run_deadline of 1h 30m passed)"
    assert late.jobs[0].stale == (reason,) and late.jobs[0].state == "stale"
    assert late.as_json()["jobs"][0]["stale"] == [reason]
    # The next fire time moves on with the clock.
    assert late.jobs[0].next_fire == due + dt.timedelta(days=1)


def test_an_unusable_timetable_is_critical_with_its_located_problem(data, out):
    assert exporter("build", "-f", "txt", *places(data, out)).returncode == 0
    write_timetable(data, "timezone: UTC\njobs:\n  - id: x\n    cron: '0 6 * * *'\n    reports: [nosuch]\n")
    done = status(data, out)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("EXPORTER CRITICAL - timetable invalid | reports=2 ")
    assert "timetable: invalid" in lines
    assert f"    {data / 'schedule.yaml'}:5: jobs[0].reports[0]: unknown report id 'nosuch' " \
           f"(known: second, {REPORT})" in lines


def test_an_unreadable_history_still_gives_a_summary_line(data, out):
    (out / ".exporter").mkdir(parents=True)
    (out / ".exporter" / "history.sqlite").write_text("not a database, " * 100)
    done = status(data, out)
    assert done.returncode == 1
    assert done.stdout.startswith("EXPORTER CRITICAL - ")
    assert "history.sqlite: cannot read the run history: file is not a database" in done.stdout


def stored_next_run(out: Path, job_id: str) -> float | None:
    path = out / ".exporter" / "jobs.sqlite"
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT next_run_time FROM apscheduler_jobs WHERE id = ?", (job_id,)).fetchone()
    except sqlite3.OperationalError:  # the table is not created yet
        return None
    return None if row is None else row[0]


def wait_until(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_the_next_fire_time_comes_from_the_running_services_job_store(data, out):
    # An interval cron cannot express counts from the service's start: only the job store knows when it fires.
    write_timetable(data, "timezone: Europe/Berlin\njobs:\n  - id: odd\n    every: 7h\n    formats: [txt]\n")
    service = ScheduleService(*places(data, out))
    try:
        stored = wait_until(lambda: stored_next_run(out, "odd"))
        code, shown = status_json(data, out)
        assert code == 0, shown
        assert shown["scheduler"] == {"running": True, "pid": service.proc.pid}
        job = by_id(shown["jobs"])["odd"]
        assert job["next_fire_from"] == "job store"
        assert dt.datetime.fromisoformat(job["next_fire"]).timestamp() == int(stored)
        assert job["next_fire"].endswith("+01:00") or job["next_fire"].endswith("+02:00")  # Berlin time
        assert by_id(shown["reports"])[REPORT]["next_fire_from"] == "job store"
        assert status(data, out).stdout.splitlines()[1] == f"scheduler: running (pid {service.proc.pid})"
        code, stderr = service.stop()
        assert code == 0, stderr
    finally:
        service.kill()
    code, shown = status_json(data, out)
    assert shown["scheduler"] == {"running": False, "pid": None}
    job = by_id(shown["jobs"])["odd"]
    assert job["next_fire_from"] == "timetable"


def test_the_scheduler_is_seen_in_the_kernels_lock_table_without_taking_its_lock(tmp_path):
    from exporter.runs.lock import SCHEDULER_LOCK_NAME, exclusive_run
    from exporter.schedule.plan import scheduler_state

    state = tmp_path / "state"
    assert scheduler_state(state).running is False  # no lock file: no service ever ran here
    with exclusive_run(state, name=SCHEDULER_LOCK_NAME):
        seen = scheduler_state(state)
        assert (seen.running, seen.pid) == (True, os.getpid())
        assert scheduler_state(state, locks=tmp_path / "no-lock-table").running is None  # not Linux: cannot tell
    assert scheduler_state(state).running is False  # the file stays, the lock is gone


DIE_WHILE_RENDERING = """import os, signal, sys
import exporter.render.native as native
native.render = lambda job: os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer would
from exporter.cli import main
sys.argv = ["exporter", "run-job", "morning", "--trigger", "cron", "-j", "1", *sys.argv[1:]]
main()
"""


def test_a_run_whose_process_was_killed_is_a_failure_at_once_not_running(data, out):
    write_timetable(data, TIMETABLE.split("  - id: blocked-job")[0])
    killed = subprocess.run([sys.executable, "-c", DIE_WHILE_RENDERING, *places(data, out)], capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    row = sqlite3.connect(out / ".exporter" / "history.sqlite").execute(
        "SELECT status, pid FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    assert row[0] == "running"  # the history still says so

    done = status(data, out)
    assert done.returncode == 1, done.stdout
    assert done.stdout.splitlines()[0].startswith("EXPORTER CRITICAL - 1 job failed: morning")
    code, shown = status_json(data, out)
    morning = by_id(shown["jobs"])["morning"]
    assert morning["last_run"] == morning["last_failure"]
    assert morning["last_failure"]["result"] == "interrupted"
    assert morning["last_failure"]["error"].startswith(f"its process (pid {row[1]}) ended without finishing the run")
    # `exporter history` judges it the same way.
    shown_run = json.loads(exporter("history", "--json", "--limit", "1", "--output-dir", str(out)).stdout)[0]
    assert shown_run["status"] == "interrupted" and shown_run["error"] == morning["last_failure"]["error"]

    # A run recorded in another pid namespace (a container with this host's name) is never judged from here.
    with sqlite3.connect(out / ".exporter" / "history.sqlite") as db:
        db.execute("UPDATE runs SET pid_ns = 'another' WHERE status = 'running'")
    assert by_id(status_json(data, out)[1]["jobs"])["morning"]["last_run"]["result"] == "running"
    with sqlite3.connect(out / ".exporter" / "history.sqlite") as db:
        db.execute("UPDATE runs SET pid_ns = ? WHERE status = 'running'", (PID_NS,))

    # While the lock is held (a run going on), a running row is never judged dead from the pid alone.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(out / ".exporter")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        code, shown = status_json(data, out)
    finally:
        holder.communicate("")
    assert by_id(shown["jobs"])["morning"]["last_run"]["result"] == "running"

    # The next run marks it interrupted in the history, and succeeds.
    assert exporter("run-job", "morning", "--trigger", "cron", *places(data, out)).returncode == 0
    code, shown = status_json(data, out)
    assert code == 0 and by_id(shown["jobs"])["morning"]["state"] == "ok"
