"""Health-check pings of scheduled runs, received by a real HTTP server on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exporter.runs.lock import exclusive_run
from exporter.schedule.pings import request_for

from conftest import DATA_DIR, TOKEN, ScheduleService, exporter

REPORT_ID = "us-intrathecal-pump-market"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def run_job(tmp_path: Path, data: Path, schedule: str, job: str = "nightly", **env: str):
    (tmp_path / "s.yaml").write_text(schedule, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "exporter", "run-job", job, "--trigger", "cron", "--data-dir", str(data),
         "--output-dir", str(tmp_path / "out"), "--schedule", str(tmp_path / "s.yaml")],
        capture_output=True, text=True, env={**os.environ, "EXPORTER_PING_TIMEOUT": "0.5", **env})


def job_pinging(url: str) -> str:
    return f"timezone: UTC\njobs:\n  - id: nightly\n    cron: \"0 2 * * *\"\n    formats: [txt]\n" \
           f"    healthcheck_url: {url}\n"


def break_report(data: Path) -> None:
    path = data / "reports" / f"{REPORT_ID}.yaml"
    path.write_text(path.read_text().replace("as_of: 2026-11-23", "as_of: someday"))


def test_a_run_pings_start_then_success(tmp_path, data, hc):
    done = run_job(tmp_path, data, job_pinging(hc.url))
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["/start", "(success)"]
    (start_method, _, start_body), (method, _, body) = hc.requests
    assert start_method == "GET" and start_body == ""
    assert method == "POST" and body.startswith("run ") and body.endswith(": ok: built 1, unchanged 0")
    assert TOKEN not in done.stderr


def test_a_failed_run_pings_fail_with_a_summary(tmp_path, data, hc):
    break_report(data)
    # The timetable's own check, for every job without one.
    schedule = f"timezone: UTC\nhealthcheck_url: {hc.url}\njobs:\n  - id: nightly\n    every: 1h\n    formats: [txt]\n"
    done = run_job(tmp_path, data, schedule)
    assert done.returncode == 1, done.stderr
    assert hc.paths() == ["/start", "/fail"]
    method, _, body = hc.requests[1]
    assert method == "POST"
    assert "1 failure(s)" in body.splitlines()[0]
    assert f"{REPORT_ID}: " in body and "as_of" in body and f"{REPORT_ID}.yaml:9" in body


def test_a_job_ping_url_wins_over_the_timetable_s(tmp_path, data, hc):
    schedule = f"timezone: UTC\nhealthcheck_url: http://127.0.0.1:9/never\njobs:\n  - id: nightly\n    every: 1h\n" \
               f"    formats: [txt]\n    healthcheck_url: {hc.url}\n"
    done = run_job(tmp_path, data, schedule)
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["/start", "(success)"]


def test_a_ping_answered_500_is_tried_again(tmp_path, data, hc):
    hc.script = ["500", "500"]
    done = run_job(tmp_path, data, job_pinging(hc.url))
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["/start", "/start", "/start", "(success)"]
    assert "health-check ping" not in done.stderr  # the third attempt went through: nothing to warn of


def test_a_ping_that_never_gets_through_is_a_warning_not_a_failure(tmp_path, data):
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = run_job(tmp_path, data, job_pinging(f"http://127.0.0.1:{port}/ping/{TOKEN}"))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 2, done.stderr
    assert "health-check ping start to 127.0.0.1 not received after 3 attempt(s): cannot connect" in warnings[0]
    assert "health-check ping success to 127.0.0.1 not received after 3 attempt(s)" in warnings[1]
    assert TOKEN not in done.stderr
    assert (tmp_path / "out" / REPORT_ID / f"{REPORT_ID}.txt").exists()


def test_a_server_that_does_not_answer_is_given_up_after_the_timeout(tmp_path, data, hc):
    hc.script = ["hang", "hang"]
    done = run_job(tmp_path, data, job_pinging(hc.url), EXPORTER_PING_TIMEOUT="0.3", EXPORTER_PING_ATTEMPTS="2")
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["/start", "/start", "(success)"]
    assert "health-check ping start to 127.0.0.1 not received after 2 attempt(s): timed out" in done.stderr


def test_the_url_may_come_from_the_environment(tmp_path, data, hc):
    schedule = job_pinging("${HC_URL}")
    done = run_job(tmp_path, data, schedule, HC_URL=hc.url)
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["/start", "(success)"]
    unset = run_job(tmp_path, data, schedule)
    assert unset.returncode == 0, unset.stderr
    assert "the variable HC_URL named by healthcheck_url is not set" in unset.stderr
    assert len(hc.requests) == 2


def test_a_run_meeting_the_lock_is_not_a_failure(tmp_path, data, hc):
    with exclusive_run(tmp_path / "out" / ".exporter"):
        done = run_job(tmp_path, data, job_pinging(hc.url))
    assert done.returncode == 75, done.stderr
    assert hc.paths() == ["/start", "(success)"]
    assert hc.requests[1][2].startswith("skipped: another exporter run")


def test_a_broken_timetable_still_pings_fail(tmp_path, data, hc):
    schedule = job_pinging(hc.url).replace("timezone: UTC", "timezone: Mars/Olympus")
    done = run_job(tmp_path, data, schedule)
    assert done.returncode == 2, done.stderr
    assert hc.paths() == ["/fail"]
    assert "unknown time zone 'Mars/Olympus'" in hc.requests[0][2]


def test_validate_checks_ping_urls_without_showing_them(tmp_path, data):
    (tmp_path / "s.yaml").write_text(
        "timezone: UTC\nhealthcheck_url: ftp://hc.example.com/secret-1\njobs:\n  - id: a\n    every: 1h\n"
        "    healthcheck_url: https://user:secret-2@hc.example.com/x\n  - id: b\n    every: 1h\n"
        "    healthcheck_url: ${not a name}\n")
    done = subprocess.run([sys.executable, "-m", "exporter", "validate", "--data-dir", str(data),
                           "--schedule", str(tmp_path / "s.yaml")], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    where = tmp_path / "s.yaml"
    assert lines == [
        f"Error: {where}:2: healthcheck_url: must be an http:// or https:// URL, or ${{VARIABLE}} naming one in the "
        "environment (the value is not shown: it may hold a token)",
        f"Error: {where}:6: jobs[0].healthcheck_url: must not hold a user name or password (healthchecks.io and "
        "Cronitor put the token in the path) (the value is not shown: it may hold a token)",
        f"Error: {where}:9: jobs[1].healthcheck_url: must be an http:// or https:// URL, or ${{VARIABLE}} naming one "
        "in the environment (the value is not shown: it may hold a token)",
    ]


@pytest.mark.parametrize(("url", "event", "expected"), [
    ("https://hc-ping.com/abc", "start", "https://hc-ping.com/abc/start"),
    ("https://hc-ping.com/abc/", "fail", "https://hc-ping.com/abc/fail"),
    ("https://hc-ping.com/abc", "success", "https://hc-ping.com/abc"),
    ("https://cronitor.link/p/KEY/nightly", "start", "https://cronitor.link/p/KEY/nightly?state=run"),
    ("https://cronitor.link/p/KEY/nightly?env=prod", "success",
     "https://cronitor.link/p/KEY/nightly?env=prod&state=complete&message=done"),
    ("https://cronitor.link/p/KEY/nightly", "fail", "https://cronitor.link/p/KEY/nightly?state=fail&message=done"),
])
def test_each_service_s_convention(url, event, expected):
    target, body = request_for(url, event, "done" if event != "start" else "")
    assert target == expected
    assert body == (b"done" if "hc-ping" in url and event != "start" else b"")


def calendar_job(url: str, cron: str, closed: str = "") -> str:
    return (f"timezone: UTC\nmisfire_grace: 1h\ncalendars:\n  desk: {{weekend: [], closed: [{closed}]}}\n"
            f"jobs:\n  - id: nightly\n    cron: \"{cron}\"\n    calendar: desk\n    formats: [txt]\n"
            f"    healthcheck_url: {url}\n")


def test_a_closed_day_on_the_cron_path_pings_success_saying_so(tmp_path, data, hc):
    # A check scheduled like the crontab line expects its ping on a holiday too.
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    days = ", ".join((today + dt.timedelta(days=n)).isoformat() for n in (-1, 0, 1))  # whenever midnight falls
    done = run_job(tmp_path, data, calendar_job(hc.url, "* * * * *", closed=days))
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["(success)"]  # no start: nothing was started
    method, _, body = hc.requests[0]
    assert method == "POST" and body.startswith("run ") and ": skipped: closed" in body
    assert not (tmp_path / "out" / REPORT_ID).exists()


@pytest.mark.slow
def test_a_closed_day_in_the_service_pings_success_as_the_cron_path_does(tmp_path, data, hc):
    """The service's own trigger fires nothing on a closed day; its closed-day watcher, at the times of
    the job's crontab line, records the skipped run and pings the check as a success, as the line does."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    days = ", ".join((today + dt.timedelta(days=n)).isoformat() for n in (-1, 0, 1))  # whenever midnight falls
    (tmp_path / "s.yaml").write_text(calendar_job(hc.url, "* * * * *", closed=days), encoding="utf-8")
    out = tmp_path / "out"
    service = ScheduleService("--data-dir", str(data), "--output-dir", str(out), "--schedule", str(tmp_path / "s.yaml"),
                              env={**os.environ, "EXPORTER_PING_TIMEOUT": "0.5"})
    try:
        deadline = time.monotonic() + 90  # the next minute, and the service's start
        while not hc.requests and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        code, stderr = service.stop()
    assert code == 0, stderr
    assert hc.paths()[:1] == ["(success)"], (hc.requests, stderr)  # no start: nothing was started
    method, _, body = hc.requests[0]
    assert method == "POST" and body.startswith("run ") and ": skipped: closed" in body
    runs = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)
    assert runs[0]["status"] == "skipped" and runs[0]["trigger"] == "schedule" and runs[0]["job_id"] == "nightly"
    assert runs[0]["error"].startswith("closed: ") and body.startswith(f"run {runs[0]['run_id']}: skipped: closed")
    assert not (out / REPORT_ID).exists()


def test_the_closed_day_watcher_handles_each_line_time_since_its_last_run_by_the_loaded_timetable(
        tmp_path, data, hc, monkeypatch):
    """A watcher kept waiting handles every line time it missed, once; it judges by the timetable the
    service loaded, not by the file as edited since (the job fires by what was loaded too)."""
    import datetime as dt

    from exporter.core.workspace import Workspace
    from exporter.schedule import service
    from exporter.schedule.jobs import load_schedule

    schedule = tmp_path / "s.yaml"
    schedule.write_text(calendar_job(hc.url, "0 6 * * *", closed="2026-12-24, 2026-12-25"), encoding="utf-8")
    out = tmp_path / "out"
    workspace = Workspace(data, out, schedule_file=schedule)
    timetable = load_schedule(workspace)
    watcher = service._ClosedDayWatcher(workspace, timetable, timetable.jobs[0],
                                        since=dt.datetime(2026, 12, 23, 12, tzinfo=dt.UTC))
    schedule.write_text("jobs: [not a timetable\n", encoding="utf-8")  # broken since it was loaded
    monkeypatch.setenv("EXPORTER_PING_TIMEOUT", "0.5")
    monkeypatch.setattr(service._RUNS, "clock", lambda: dt.datetime(2026, 12, 26, 12, tzinfo=dt.UTC))
    watcher()
    watcher()  # nothing new since the first call
    assert hc.paths() == ["(success)", "(success)"]
    runs = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)
    assert [(r["status"], r["trigger"], r["error"][:7]) for r in runs] == [("skipped", "schedule", "closed:")] * 2
    bodies = sorted(body for _, _, body in hc.requests)
    assert [b.split(": skipped: ")[0] for b in bodies] == sorted(f"run {r['run_id']}" for r in runs)
    assert "2026-12-26T06:00" in runs[0]["error"]  # the next fire time: the 26th is open


def test_a_fire_time_lost_to_a_late_start_pings_fail(tmp_path, data, hc):
    import datetime as dt

    fired = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)  # cron started the line 10 minutes late
    done = run_job(tmp_path, data, calendar_job(hc.url, f"{fired.minute} {fired.hour} * * *"))
    assert done.returncode == 0, done.stderr
    assert hc.paths() == ["/fail"]
    body = hc.requests[0][2]
    assert body.startswith("run ") and ": skipped: started " in body and " min after the fire time " in body
    assert "run it with `exporter run-job nightly`" in body  # the way to build what was lost, for this job
