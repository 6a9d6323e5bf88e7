"""Prometheus metrics: the textfile real runs write and the service's endpoint, parsed back with prometheus_client."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.core.workspace import Workspace
from exporter.runs.metrics import exposition

from conftest import DATA_DIR, ScheduleService, free_port

REPORT_ID = "us-intrathecal-pump-market"
OUTCOMES = ("built", "unchanged", "failed", "invalid", "stopped")


def exporter(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    # No SMTP settings or metrics file from the outer environment: each test says what it wants.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTER_")}
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, **kwargs)


def metrics(text: str) -> dict[str, dict[tuple, float]]:
    """Family name -> {(sample name, sorted labels): value}, as Prometheus would read the text."""
    return {family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
            for family in text_string_to_metric_families(text)}


def value(parsed: dict, family: str, sample: str | None = None, **labels: str) -> float | None:
    return parsed[family].get((sample or family, tuple(sorted(labels.items()))))


def history(out: Path) -> list[dict]:
    done = exporter("history", "--json", "--limit", "500", "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # newest first


def unix(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_a_build_writes_the_textfile_from_the_history_and_the_manifests(tmp_path, data):
    out = tmp_path / "out"
    (data / "reports" / "broken.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    first = exporter("build", "-f", "txt", "-f", "xlsx", "--data-dir", str(data), "--output-dir", str(out))
    assert first.returncode == 1, first.stderr  # the broken report fails alone
    (data / "reports" / "broken.yaml").unlink()
    second = exporter("build", "-f", "txt", "-f", "xlsx", "--data-dir", str(data), "--output-dir", str(out))
    assert second.returncode == 0, second.stderr

    parsed = metrics((out / ".exporter" / "metrics.prom").read_text(encoding="utf-8"))
    runs = history(out)
    assert [r["status"] for r in runs] == ["ok", "failed"]
    assert value(parsed, "exporter_runs", "exporter_runs_total", trigger="cli", status="ok") == 1
    assert value(parsed, "exporter_runs", "exporter_runs_total", trigger="cli", status="failed") == 1
    assert value(parsed, "exporter_runs", "exporter_runs_total", trigger="cron", status="ok") == 0
    counts = {o: value(parsed, "exporter_report_outcomes", "exporter_report_outcomes_total", report=REPORT_ID,
                       outcome=o) for o in OUTCOMES}
    assert counts == {"built": 1, "unchanged": 1, "failed": 0, "invalid": 0, "stopped": 0}
    assert value(parsed, "exporter_report_outcomes", "exporter_report_outcomes_total", report="broken",
                 outcome="invalid") == 1
    # The last success is the end of the latest run, as the history has it; the broken report never succeeded.
    success = parsed["exporter_report_last_success_timestamp_seconds"]
    assert success == {("exporter_report_last_success_timestamp_seconds", (("report", REPORT_ID),)):
                       unix(runs[0]["ended_at"])}
    duration = value(parsed, "exporter_report_last_run_duration_seconds", report=REPORT_ID)
    assert duration == pytest.approx(runs[0]["duration_seconds"])
    assert value(parsed, "exporter_report_last_run_duration_seconds", report="broken") == pytest.approx(
        runs[1]["duration_seconds"])
    # The bytes published are the sizes of the files sales can download now.
    folder = out / REPORT_ID
    assert parsed["exporter_report_published_bytes"] == {
        ("exporter_report_published_bytes", (("format", fmt), ("report", REPORT_ID))):
            (folder / f"{REPORT_ID}.{fmt}").stat().st_size
        for fmt in ("txt", "xlsx")
    }
    assert value(parsed, "exporter_state_readable") == 1
    assert set(parsed["exporter_deliveries"].values()) == {0}  # nothing delivered, but the series exist
    assert not [p.name for p in (out / ".exporter").iterdir() if p.name.startswith(".")]  # no temp file left


def test_the_textfile_is_replaced_whole_at_the_named_place(tmp_path, data):
    out, textfiles = tmp_path / "out", tmp_path / "textfile_collector"
    target = textfiles / "exporter.prom"
    built = exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out),
                     "--metrics-file", str(target))
    assert built.returncode == 0, built.stderr
    assert not (out / ".exporter" / "metrics.prom").exists()  # only where it was asked for
    before = target.stat().st_ino
    with target.open(encoding="utf-8") as old:
        # The variable does as the option; the file is replaced by a rename, never rewritten in place.
        again = exporter("build", "-f", "txt", "--force", "--data-dir", str(data), "--output-dir", str(out),
                         env={"EXPORTER_METRICS_FILE": str(target)})
        assert again.returncode == 0, again.stderr
        assert value(metrics(old.read()), "exporter_report_outcomes", "exporter_report_outcomes_total",
                     report=REPORT_ID, outcome="built") == 1  # the old file, complete, as a reader holding it sees it
    assert target.stat().st_ino != before
    assert value(metrics(target.read_text(encoding="utf-8")), "exporter_report_outcomes",
                 "exporter_report_outcomes_total", report=REPORT_ID, outcome="built") == 2
    assert sorted(p.name for p in textfiles.iterdir()) == ["exporter.prom"]  # no temp file left behind


def test_deliveries_are_counted_by_channel_and_outcome(tmp_path, data):
    out = tmp_path / "out"
    (data / "recipients.yaml").write_text(
        "lists:\n  - id: sales-na\n    name: Sales North America\n    email: [na@example.com]\n"
        f"    drop_folder: {tmp_path / 'share'}\n    formats: [txt]\n", encoding="utf-8")
    # No SMTP settings: the email fails, the drop folder gets its copy.
    first = exporter("build", "-f", "txt", "--deliver", "--data-dir", str(data), "--output-dir", str(out))
    assert first.returncode == 1, first.stderr
    again = exporter("deliver", "--data-dir", str(data), "--output-dir", str(out))
    assert again.returncode == 1, again.stderr  # the email is tried again; the drop copy is not sent twice
    parsed = metrics((out / ".exporter" / "metrics.prom").read_text(encoding="utf-8"))
    assert parsed["exporter_deliveries"] == {
        ("exporter_deliveries_total", (("channel", "drop"), ("outcome", "failed"))): 0,
        ("exporter_deliveries_total", (("channel", "drop"), ("outcome", "sent"))): 1,
        ("exporter_deliveries_total", (("channel", "email"), ("outcome", "failed"))): 2,
        ("exporter_deliveries_total", (("channel", "email"), ("outcome", "sent"))): 0,
    }
    assert value(parsed, "exporter_runs", "exporter_runs_total", trigger="cli", status="failed") == 2


def test_a_metrics_file_that_cannot_be_written_is_a_warning_not_a_failure(tmp_path, data):
    out = tmp_path / "out"
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    done = exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out),
                    "--metrics-file", str(tmp_path / "a-file" / "metrics.prom"))
    assert done.returncode == 0, done.stderr
    assert "WARNING" in done.stderr and f"cannot write the metrics file {tmp_path / 'a-file' / 'metrics.prom'}" \
        in done.stderr
    assert [r["status"] for r in history(out)] == ["ok"]


def scrape(port: int, timeout: float = 60) -> str:
    """GET /metrics, waiting for the service to listen."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                assert response.status == 200
                return response.read().decode("utf-8")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def services():
    """Start `exporter schedule` without SMTP settings or a metrics file from the outer environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXPORTER_")}
    return lambda *args: ScheduleService(*args, env=clean)


def test_the_service_serves_what_each_run_writes(tmp_path, data, services):
    out = tmp_path / "out"
    (data / "schedule.yaml").write_text("timezone: UTC\njobs:\n  - id: yearly\n    cron: \"0 0 1 1 *\"\n"
                                        "    formats: [txt]\n", encoding="utf-8")
    # A run as a crontab line makes it: the textfile is written by that process, not the service.
    done = exporter("run-job", "yearly", "--trigger", "cron", "--data-dir", str(data), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    port = free_port()
    service = services("--data-dir", str(data), "--output-dir", str(out), "--metrics-port", str(port))
    served = metrics(scrape(port))
    textfile = metrics((out / ".exporter" / "metrics.prom").read_text(encoding="utf-8"))
    assert served == textfile
    [run] = history(out)
    assert value(served, "exporter_job_runs", "exporter_job_runs_total", job="yearly", status="ok") == 1
    assert value(served, "exporter_runs", "exporter_runs_total", trigger="cron", status="ok") == 1
    assert value(served, "exporter_job_last_success_timestamp_seconds", job="yearly") == unix(run["ended_at"])
    assert value(served, "exporter_job_last_run_duration_seconds", job="yearly") == pytest.approx(
        run["duration_seconds"])
    assert value(served, "exporter_job_outcomes", "exporter_job_outcomes_total", job="yearly", outcome="built") == 1
    code, stderr = service.stop()
    assert code == 0, stderr
    assert f"metrics at http://127.0.0.1:{port}/metrics" in stderr


def test_scheduled_runs_write_the_named_textfile(tmp_path, data, services):
    out, target = tmp_path / "out", tmp_path / "collector" / "exporter.prom"
    (data / "schedule.yaml").write_text("timezone: UTC\njobs:\n  - id: quick\n    every: 2s\n    formats: [txt]\n",
                                        encoding="utf-8")
    port = free_port()
    service = services("--data-dir", str(data), "--output-dir", str(out), "--metrics-port", str(port),
                       "--metrics-file", str(target))
    deadline = time.monotonic() + 60
    while (value(metrics(scrape(port)), "exporter_job_runs", "exporter_job_runs_total", job="quick", status="ok")
           or 0) < 2:
        assert time.monotonic() < deadline, "no two scheduled runs"
        time.sleep(0.2)
    code, stderr = service.stop()
    assert code == 0, stderr
    # Every run (and every skipped fire time) rewrote the textfile, so it says what the state says now.
    written = metrics(target.read_text(encoding="utf-8"))
    assert written == metrics(exposition(Workspace(data, out)).decode("utf-8"))
    assert not (out / ".exporter" / "metrics.prom").exists()
    ok = [r for r in history(out) if r["status"] == "ok"]
    assert value(written, "exporter_job_last_success_timestamp_seconds", job="quick") == unix(ok[0]["ended_at"])
    assert value(written, "exporter_job_outcomes", "exporter_job_outcomes_total", job="quick", outcome="built") == 1
    assert value(written, "exporter_job_outcomes", "exporter_job_outcomes_total", job="quick",
                 outcome="unchanged") == len(ok) - 1


def test_a_metrics_port_in_use_stops_the_service_at_start(tmp_path, data, services):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = services("--data-dir", str(data), "--output-dir", str(tmp_path / "out"), "--metrics-port", str(port))
        _, stderr = service.proc.communicate(timeout=60)
    assert service.proc.returncode == 2
    assert f"Error: --metrics-port {port}: cannot listen on 127.0.0.1: Address already in use" in stderr
    assert "Traceback" not in stderr


def test_crontab_lines_carry_the_metrics_file(tmp_path, data):
    target = tmp_path / "collector" / "exporter.prom"
    done = exporter("cron", "--data-dir", str(data), "--output-dir", str(tmp_path / "out"),
                    env={"EXPORTER_METRICS_FILE": str(target)})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if " run-job " in line and not line.startswith("#")]
    assert lines and all(f"--metrics-file {target} " in line for line in lines)


def test_a_run_that_meets_the_lock_is_counted_as_skipped(tmp_path, data):
    out = tmp_path / "out"
    hold = ("import sys; from pathlib import Path; from exporter.runs.lock import exclusive_run\n"
            "with exclusive_run(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()")
    with subprocess.Popen([sys.executable, "-c", hold, str(out / ".exporter")], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout.readline() == "held\n"
        done = exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out))
        holder.stdin.close()
    assert done.returncode == 75, done.stderr
    parsed = metrics((out / ".exporter" / "metrics.prom").read_text(encoding="utf-8"))
    assert value(parsed, "exporter_runs", "exporter_runs_total", trigger="cli", status="skipped") == 1
    assert parsed["exporter_report_published_bytes"] == {}


def test_an_unreadable_history_says_so_and_still_gives_the_bytes(tmp_path, data):
    out = tmp_path / "out"
    assert exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out)).returncode == 0
    (out / ".exporter" / "history.sqlite").write_bytes(b"not a database" * 100)
    parsed = metrics(exposition(Workspace(data, out)).decode("utf-8"))
    assert value(parsed, "exporter_state_readable") == 0
    assert "exporter_runs" not in parsed
    assert value(parsed, "exporter_report_published_bytes", report=REPORT_ID, format="txt") == (
        out / REPORT_ID / f"{REPORT_ID}.txt").stat().st_size
