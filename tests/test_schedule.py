"""The scheduler with a real APScheduler and real triggers of a few seconds, in real processes."""

from __future__ import annotations

import collections
import datetime as dt
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from exporter.cli import cli
from exporter.schedule.timetable import JobSpec
from exporter.schedule.triggers import fire_times, trigger_for

from conftest import DATA_DIR, ScheduleService, exporter

REPORT_ID = "us-intrathecal-pump-market"


def Service(schedule: Path, data: Path, out: Path) -> ScheduleService:  # noqa: N802 -- read as the thing it starts
    return ScheduleService("--schedule", str(schedule), "--data-dir", str(data), "--output-dir", str(out))


def history(out: Path) -> list[dict]:
    done = exporter("history", "--json", "--limit", "500", "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    return list(reversed(json.loads(done.stdout)))  # oldest first


def wait_until(condition, timeout: float = 60, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("timed out waiting")


def write_timetable(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


# Copies of the report that make a build last some seconds (about 70 ms a report here), long enough
# for what a test does while it runs: a build of 6 once took that long, and now ends too soon.
SLOW_BUILD = 40


def many_reports(data: Path, count: int = SLOW_BUILD) -> None:
    """Add *count* copies of the report, so that a build takes a few seconds."""
    source = data / "reports" / f"{REPORT_ID}.yaml"
    for n in range(count):
        shutil.copy(source, data / "reports" / f"copy-{n}.yaml")


def test_scheduled_runs_fire_and_are_recorded(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: Europe/Berlin\njobs:\n"
                               "  - id: quick\n    every: 2s\n    formats: [txt]\n")
    out = tmp_path / "out"
    service = Service(schedule, data, out)
    wait_until(lambda: len([r for r in history(out) if r["status"] == "ok"]) >= 2 if out.exists() else False)
    code, stderr = service.stop()
    assert code == 0, stderr
    runs = history(out)
    assert all(r["trigger"] == "schedule" and r["job_id"] == "quick" for r in runs)
    assert runs[0]["reports"][0]["outcome"] == "built" and runs[1]["reports"][0]["outcome"] == "unchanged"
    assert (out / REPORT_ID / f"{REPORT_ID}.txt").is_file()
    assert "job quick: run started" in stderr and "SIGTERM received" in stderr
    starts = [dt.datetime.fromisoformat(r["started_at"]) for r in runs]
    assert all(1 <= (b - a).total_seconds() <= 4 for a, b in zip(starts, starts[1:])), starts


def test_restart_after_downtime_makes_up_once(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: America/New_York\njobs:\n"
                               "  - id: quick\n    every: 2s\n    formats: [txt]\n")
    out = tmp_path / "out"

    def runs():  # a run that found the previous one still going is recorded as skipped: leave those out
        return [r for r in history(out) if r["status"] != "skipped"]

    service = Service(schedule, data, out)
    wait_until(lambda: out.exists() and len(runs()) >= 1)
    assert service.stop()[0] == 0
    before = len(runs())
    time.sleep(7)  # several fire times pass while the service is down
    service = Service(schedule, data, out)
    wait_until(lambda: len(runs()) >= before + 3)
    code, stderr = service.stop()
    assert code == 0, stderr
    after = runs()[before:]
    catch_ups = [r for r in after if r["catch_up"]]
    assert len(catch_ups) == 1, after
    assert catch_ups[0] is after[0]  # the first run after the restart
    assert catch_ups[0]["catch_up"] >= 2
    assert "one catch-up run follows" in stderr


# Another run, holding the run lock until its stdin closes (a build would end as soon as it can).
HOLD_THE_LOCK = ("import sys; from pathlib import Path; from exporter.runs.lock import exclusive_run\n"
                 "with exclusive_run(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()")


def test_scheduled_run_meeting_the_lock_is_recorded_as_skipped(tmp_path, data):
    out = tmp_path / "out"
    blocker = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(out / ".exporter")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert blocker.stdout.readline().strip() == "held"
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: quick\n    every: 1s\n"
                               "    formats: [txt]\n")
    service = Service(schedule, data, out)
    # Two runs that met the lock: the service had handled (and logged) the end of the first before the second began.
    wait_until(lambda: out.exists() and sum(r["status"] == "skipped" and "another exporter run (pid" in (r["error"] or "")
                                            for r in history(out)) >= 2)
    blocker.stdin.close()
    assert blocker.wait(timeout=120) == 0
    code, stderr = service.stop()
    assert code == 0, stderr
    # Fires that come while a run of the job is still starting are skipped too, for another reason.
    met_the_lock = [r for r in history(out) if r["status"] == "skipped" and "another exporter run (pid" in r["error"]]
    assert met_the_lock, history(out)
    assert all(r["trigger"] == "schedule" and r["job_id"] == "quick" for r in met_the_lock)
    assert "skipped: another run holds the lock" in stderr


def test_cron_style_build_during_a_scheduled_build_exits_75(tmp_path, data):
    many_reports(data)
    out = tmp_path / "out"
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: slow\n    every: 1s\n")
    service = Service(schedule, data, out)
    wait_until(lambda: out.exists() and any(r["status"] == "running" for r in history(out)))
    done = exporter("build", "--data-dir", str(data), "--output-dir", str(out))
    code, stderr = service.stop()
    assert done.returncode == 75, done.stderr
    assert done.stderr.startswith("Error: another exporter run (pid ")
    assert code == 0, stderr


def assert_all_sets_consistent(out: Path) -> None:
    for folder in out.iterdir():
        if folder.name.startswith("."):
            continue
        assert not list(folder.rglob(".tmp-*")), folder
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            assert not list(folder.glob("*.*")), f"{folder}: files without a manifest"
            continue
        manifest = json.loads(manifest_path.read_text())
        names = {e["name"] for e in manifest["files"].values()}
        assert {p.name for p in folder.iterdir() if p.is_file()} == names | {"manifest.json"}
        for entry in manifest["files"].values():
            assert (folder / entry["name"]).stat().st_size == entry["size"]


def test_sigterm_during_a_build_exits_0_and_publishes_nothing_partial(tmp_path, data):
    many_reports(data)
    out = tmp_path / "out"
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: slow\n    every: 1s\n")
    service = Service(schedule, data, out)
    # Wait until the build has published some reports and not others, then stop the service.
    wait_until(lambda: len(list(out.glob("*/manifest.json"))) >= 2)
    code, stderr = service.stop(timeout=60)
    assert code == 0, stderr
    assert_all_sets_consistent(out)
    # While the build ran, each later fire time was recorded as skipped (the job was still going).
    runs = [r for r in history(out) if r["status"] != "skipped"]
    assert runs[-1]["status"] == "stopped", runs[-1]
    outcomes = collections.Counter(r["outcome"] for r in runs[-1]["reports"])
    assert outcomes["built"] >= 2 and outcomes["stopped"] >= 1, outcomes
    published = len(list(out.glob("*/manifest.json")))
    assert published == outcomes["built"]


def test_sigint_stops_the_service_too(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: quick\n    every: 1h\n")
    service = Service(schedule, data, tmp_path / "out")
    wait_until(lambda: (tmp_path / "out" / ".exporter" / "jobs.sqlite").exists())
    time.sleep(0.5)
    code, stderr = service.stop(signal.SIGINT)
    assert code == 0, stderr
    assert "SIGINT received" in stderr


def test_a_run_past_its_deadline_is_stopped_and_recorded_as_failed(tmp_path, data):
    from conftest import HealthChecks

    many_reports(data)
    out = tmp_path / "out"
    checks = HealthChecks()
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\nrun_deadline: 1s\n"
                               f"healthcheck_url: {checks.url}\njobs:\n"
                               "  - id: slow\n    every: 2s\n    formats: [docx, pdf]\n")
    service = Service(schedule, data, out)
    try:
        wait_until(lambda: out.exists() and any(r["status"] == "failed" for r in history(out)), timeout=90)
        # The stopped run could not ping: the service pings its failure for it.
        wait_until(lambda: any(path.endswith("/fail") for _, path, _ in checks.requests), timeout=30)
    finally:
        code, stderr = service.stop()
        checks.stop()
    fails = [body for _, path, body in checks.requests if path.endswith("/fail")]
    assert fails[0].startswith("run ") and fails[0].endswith(": stopped: the run deadline of 1 s was exceeded")
    assert fails[0].removeprefix("run ").split(":")[0] in {r["run_id"] for r in history(out)}
    assert code == 0, stderr
    failed = [r for r in history(out) if r["status"] == "failed"]
    assert failed[0]["error"] == "stopped: the run deadline of 1 s was exceeded"
    assert failed[0]["ended_at"] is not None
    assert "still running after the 1 s deadline" in stderr
    assert_all_sets_consistent(out)


def test_a_second_scheduler_on_the_same_state_exits_75(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: quick\n    every: 1h\n")
    out = tmp_path / "out"
    service = Service(schedule, data, out)
    wait_until(lambda: (out / ".exporter" / "scheduler.lock").exists())
    done = exporter("schedule", "--schedule", str(schedule), "--data-dir", str(data), "--output-dir", str(out))
    assert service.stop()[0] == 0
    assert done.returncode == 75
    assert done.stderr.startswith("Error: another exporter scheduler (pid ")


def test_jobs_removed_from_the_timetable_leave_the_store(tmp_path, data):
    out = tmp_path / "out"
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: one\n    every: 1h\n"
                               "  - id: two\n    every: 2h\n")
    service = Service(schedule, data, out)
    wait_until(lambda: (out / ".exporter" / "jobs.sqlite").exists())
    time.sleep(0.5)
    assert service.stop()[0] == 0

    def stored():
        with sqlite3.connect(out / ".exporter" / "jobs.sqlite") as db:
            return dict(db.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall())

    first = stored()
    assert sorted(first) == ["one", "two"]
    write_timetable(schedule, "timezone: UTC\njobs:\n  - id: two\n    every: 2h\n  - id: three\n    every: 3h\n")
    service = Service(schedule, data, out)
    wait_until(lambda: "three" in stored())
    code, stderr = service.stop()
    assert code == 0, stderr
    second = stored()
    assert sorted(second) == ["three", "two"]
    assert second["two"] == first["two"]  # unchanged job keeps its next run time
    assert "job one: removed" in stderr


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney"])
@pytest.mark.parametrize("cron", ["0 6 * * *", "30 1 * * *", "30 2 * * *", "0 3 * * *"])
def test_daily_jobs_fire_once_per_local_day_across_dst(zone, cron):
    tz = ZoneInfo(zone)
    start = dt.datetime(2026, 1, 1, tzinfo=tz)
    times = fire_times(trigger_for(JobSpec(id="daily", cron=cron), tz), start, 365)
    utc = [t.astimezone(dt.UTC) for t in times]
    assert all(a < b for a, b in zip(utc, utc[1:])), "fire times must strictly increase"
    days = collections.Counter(t.astimezone(tz).date() for t in times)
    assert set(days.values()) == {1}
    assert sorted(days) == [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    # Both changes of the year are inside the range: offsets of both kinds occur.
    assert len({t.utcoffset() for t in times}) == 2


def test_hourly_jobs_follow_real_hours_across_dst():
    tz = ZoneInfo("America/New_York")
    times = fire_times(trigger_for(JobSpec(id="hourly", cron="0 * * * *"), tz), dt.datetime(2026, 1, 1, tzinfo=tz),
                       24 * 365)
    utc = [t.astimezone(dt.UTC) for t in times]
    assert {b - a for a, b in zip(utc, utc[1:])} == {dt.timedelta(hours=1)}
    days = collections.Counter(t.astimezone(tz).date() for t in times)
    assert days[dt.date(2026, 3, 8)] == 23 and days[dt.date(2026, 11, 1)] == 25


BROKEN = """timezone: Mars/Olympus
misfire_grace: soon
jobs:
  - id: ok
    cron: "0 25 * * *"
  - id: both
    cron: "0 6 * * *"
    every: 1h
  - id: reports
    every: 1h
    reports: [no-such-report]
"""


@pytest.mark.parametrize("command", ["validate", "schedule", "jobs", "cron"])
def test_a_broken_timetable_exits_2_with_file_line_messages(tmp_path, data, command):
    schedule = write_timetable(tmp_path / "broken.yaml", BROKEN)
    result = CliRunner().invoke(cli, [command, "--schedule", str(schedule), "--data-dir", str(data)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines == [
        f"Error: {schedule}:1: timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)",
        f"Error: {schedule}:2: misfire_grace: 'soon' is not a duration: give a number and a unit (s, m, h or d), "
        "e.g. 15m",
        f"Error: {schedule}:5: jobs[0].cron: bad cron expression '0 25 * * *': Error validating expression '25': "
        "the last value (25) is higher than the maximum value (23)",
        f"Error: {schedule}:6: jobs[1]: give exactly one of cron, every or business_day",
    ]
    assert "Traceback" not in result.output


def test_an_unknown_report_in_the_timetable_is_an_error(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: a\n    every: 1h\n"
                               "    reports: [us-intrathecal-pump-market, nope]\n")
    result = CliRunner().invoke(cli, ["validate", "--schedule", str(schedule), "--data-dir", str(data)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {schedule}:5: jobs[0].reports[1]: unknown report id 'nope' "
                             f"(known: {REPORT_ID})\n")


def test_jobs_lists_next_fire_times_in_the_timetable_zone():
    result = CliRunner().invoke(cli, ["jobs", "--json", "--count", "3", "--data-dir", str(DATA_DIR)])
    assert result.exit_code == 0, result.output
    jobs = {job["id"]: job for job in json.loads(result.stdout)}
    morning = jobs["weekday-morning"]
    assert morning["trigger"] == "cron 0 6 * * 1-5" and morning["timezone"] == "America/New_York"
    times = [dt.datetime.fromisoformat(t) for t in morning["next"]]
    assert len(times) == 3 and all(a < b for a, b in zip(times, times[1:]))
    for t in times:
        assert (t.hour, t.minute) == (6, 0) and t.weekday() < 5
        assert t.utcoffset() == t.astimezone(ZoneInfo("America/New_York")).utcoffset()
    hourly = [dt.datetime.fromisoformat(t) for t in jobs["hourly-pdf"]["next"]]
    assert [b - a for a, b in zip(hourly, hourly[1:])] == [dt.timedelta(hours=1)] * 2
    text = CliRunner().invoke(cli, ["jobs", "--data-dir", str(DATA_DIR)]).stdout
    assert text.startswith("weekday-morning: cron 0 6 * * 1-5 (America/New_York); reports: all; formats: docx, xlsx, pdf\n")


def test_cron_prints_crontab_lines_with_absolute_paths(tmp_path):
    result = CliRunner().invoke(cli, ["cron", "--data-dir", str(DATA_DIR), "--output-dir", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert lines[0] == "CRON_TZ=America/New_York"
    morning, hourly, month_open = lines[1:]
    # A line names the job; what it builds comes from the timetable when it runs.
    assert morning == (f"0 6 * * 1-5 {sys.executable} -m exporter -q run-job weekday-morning --trigger cron "
                       f"--data-dir {DATA_DIR} --output-dir {tmp_path / 'o'} --schedule {DATA_DIR / 'schedule.yaml'}"
                       "  # weekday-morning")
    assert hourly.startswith("0 * * * * ") and " run-job hourly-pdf " in hourly
    # The first business day: a line on every weekday; run-job builds only on the one that is its fire time.
    assert month_open.startswith("0 7 * * 1-5 ") and " run-job month-open " in month_open
    # The line runs as cron would run it: through sh, from another folder.
    command = morning.split(" ", 5)[5].rsplit("  # ", 1)[0]
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for fmt in ("docx", "xlsx", "pdf"):
        assert (tmp_path / "o" / REPORT_ID / f"{REPORT_ID}.{fmt}").is_file()
    [run] = history(tmp_path / "o")
    assert (run["trigger"], run["job_id"], run["status"]) == ("cron", "weekday-morning", "ok")


DELIVERING = """timezone: Europe/Berlin
jobs:
  - id: to-the-share
    {when}
    reports: [us-intrathecal-pump-market]
    formats: [pdf, txt]
    deliver: [share]
"""


def drop_folder_recipients(data: Path, tmp_path: Path) -> Path:
    share = tmp_path / "share"
    (data / "recipients.yaml").write_text(
        f"lists:\n  - id: share\n    name: The share\n    drop_folder: {share}\n    reports: all\n    formats: [pdf]\n", encoding="utf-8")
    return share


def test_a_job_with_deliver_delivers_from_a_crontab_line(tmp_path, data):
    share = drop_folder_recipients(data, tmp_path)
    schedule = write_timetable(tmp_path / "s.yaml", DELIVERING.format(when='cron: "0 7 * * *"'))
    out = tmp_path / "out"
    lines = exporter("cron", "--data-dir", str(data), "--output-dir", str(out), "--schedule", str(schedule)).stdout
    [line] = [line for line in lines.splitlines() if line.startswith("0 7 * * * ")]
    done = subprocess.run(["sh", "-c", line.split(" ", 5)[5]], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in share.iterdir()) == [f"{REPORT_ID}.pdf"]
    assert (share / f"{REPORT_ID}.pdf").read_bytes() == (out / REPORT_ID / f"{REPORT_ID}.pdf").read_bytes()
    [run] = history(out)
    assert (run["trigger"], run["job_id"]) == ("cron", "to-the-share")
    assert [(d["list_id"], d["channel"], d["status"]) for d in run["deliveries"]] == [("share", "drop", "sent")]
    # Run again: nothing new to send, nothing sent twice.
    copied = (share / f"{REPORT_ID}.pdf").stat().st_mtime_ns
    again = subprocess.run(["sh", "-c", line.split(" ", 5)[5]], capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [len(r["deliveries"]) for r in history(out)] == [1, 0]
    assert (share / f"{REPORT_ID}.pdf").stat().st_mtime_ns == copied


def test_a_job_with_deliver_delivers_from_the_service(tmp_path, data):
    share = drop_folder_recipients(data, tmp_path)
    schedule = write_timetable(tmp_path / "s.yaml", DELIVERING.format(when="every: 2s"))
    out = tmp_path / "out"
    service = Service(schedule, data, out)
    wait_until(lambda: (share / f"{REPORT_ID}.pdf").is_file())
    wait_until(lambda: any(r["deliveries"] for r in history(out)))
    code, stderr = service.stop()
    assert code == 0, stderr
    sent = [d for r in history(out) for d in r["deliveries"]]
    assert sent[0]["list_id"] == "share" and sent[0]["status"] == "sent"
    assert all(d["status"] in ("sent", "unchanged") for d in sent)
    assert all(r["trigger"] == "schedule" and r["job_id"] == "to-the-share" for r in history(out))


def test_run_job_logs_carry_time_level_run_and_job_ids_as_json(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", DELIVERING.format(when="every: 1h").replace(
        "    deliver: [share]\n", ""))
    out = tmp_path / "out"
    done = exporter("--log-format", "json", "run-job", "to-the-share", "--data-dir", str(data), "--output-dir",
                    str(out), "--schedule", str(schedule))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    records = [json.loads(line) for line in done.stderr.splitlines()]
    [run] = history(out)
    built = [r for r in records if r["message"].startswith(f"{REPORT_ID}: built: ")]
    assert len(built) == 1 and built[0]["level"] == "INFO"
    assert all(r["job_id"] == "to-the-share" and r["time"].endswith("Z") for r in records)
    summary = [r for r in records if r["message"].startswith("summary: 1 built")]
    assert [r["run_id"] for r in built + summary] == [run["run_id"]] * 2
    unknown = exporter("run-job", "nope", "--data-dir", str(data), "--output-dir", str(out), "--schedule",
                       str(schedule))
    assert unknown.returncode == 2
    assert unknown.stderr.endswith(f"ERROR job=nope exporter: {schedule}: no job 'nope' (jobs: to-the-share)\n")


def test_intervals_cron_cannot_express_are_said_so(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: odd\n    every: 7m\n"
                               "  - id: quarter\n    every: 15m\n")
    result = CliRunner().invoke(cli, ["cron", "--schedule", str(schedule), "--data-dir", str(data)])
    assert "# odd: every 7m has no crontab equivalent; run `exporter schedule` for it" in result.stdout
    assert any(line.startswith("*/15 * * * * ") for line in result.stdout.splitlines())


def test_a_scheduled_job_delivers_after_its_build(tmp_path, data):
    share = tmp_path / "share"
    (data / "recipients.yaml").write_text(f"lists:\n  - id: desk\n    name: Sales desk\n    drop_folder: {share}\n")
    schedule = write_timetable(tmp_path / "s.yaml", "timezone: UTC\njobs:\n  - id: quick\n    every: 2s\n"
                               "    formats: [pdf]\n    deliver: [desk]\n")
    out = tmp_path / "out"
    service = Service(schedule, data, out)
    wait_until(lambda: (share / f"{REPORT_ID}.pdf").exists(), timeout=60)
    wait_until(lambda: any(r["deliveries"] for r in history(out)))
    code, stderr = service.stop()
    assert code == 0, stderr
    (delivered,) = [r for r in history(out) if r["deliveries"]]
    assert delivered["trigger"] == "schedule"
    assert [(d["list_id"], d["channel"], d["status"]) for d in delivered["deliveries"]] == [("desk", "drop", "sent")]
    assert (share / f"{REPORT_ID}.pdf").read_bytes() == (out / REPORT_ID / f"{REPORT_ID}.pdf").read_bytes()


def test_a_job_that_cannot_start_is_recorded_as_invalid(tmp_path, data):
    schedule = write_timetable(tmp_path / "s.yaml", DELIVERING.format(when="every: 1h").replace(
        "    deliver: [share]\n", ""))
    out = tmp_path / "out"
    gone = exporter("-q", "run-job", "removed-job", "--trigger", "schedule", "--data-dir", str(data),
                    "--output-dir", str(out), "--schedule", str(schedule))
    assert gone.returncode == 2
    by_hand = exporter("-q", "run-job", "to-the-share", "--data-dir", str(data), "--output-dir", str(out),
                       "--schedule", str(schedule))
    assert by_hand.returncode == 0, by_hand.stderr
    assert by_hand.stdout == "" and by_hand.stderr == ""  # -q: nothing for cron to mail
    invalid, manual = history(out)
    assert (invalid["trigger"], invalid["job_id"], invalid["status"]) == ("schedule", "removed-job", "invalid")
    assert invalid["error"] == f"{schedule}: no job 'removed-job' (jobs: to-the-share)"
    assert (manual["trigger"], manual["job_id"], manual["status"]) == ("cli", "to-the-share", "ok")
