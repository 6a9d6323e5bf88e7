"""Runs that go wrong say so: Ctrl-C stops a build as SIGTERM does, unwritable folders are named
before anything is rendered, and the history tells how long a run took, where, and its errors whole.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import exporter as exporter_package

from conftest import DATA_DIR, ROOT

REPORT = "us-intrathecal-pump-market"
NOBODY = 65534


def exporter(*args: str, env: dict | None = None, user: int | None = None) -> subprocess.CompletedProcess:
    prefix = []
    if user is not None:
        prefix = [shutil.which("setpriv") or "setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    return subprocess.run([*prefix, sys.executable, "-m", "exporter", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def history(out: Path, *args: str) -> list[dict]:
    return json.loads(exporter("history", "--json", "--output-dir", str(out), *args).stdout)


def copies(data: Path, count: int) -> None:
    source = data / "reports" / f"{REPORT}.yaml"
    for n in range(count):
        shutil.copy(source, data / "reports" / f"copy-{n}.yaml")


def test_ctrl_c_stops_the_build_as_sigterm_does(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(DATA_DIR, data)
    copies(data, 12)
    process = subprocess.Popen([sys.executable, "-m", "exporter", "build", "-j", "1", "-f", "pdf", "--data-dir",
                                str(data), "--output-dir", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/manifest.json")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends the foreground process group
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "stopping before the next report is published" in stderr
    assert "Aborted!" not in stderr and "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    run = history(out)[0]
    assert run["status"] == "stopped"
    outcomes = {r["outcome"] for r in run["reports"]}
    assert "built" in outcomes and "stopped" in outcomes and "failed" not in outcomes
    assert ": stopped" in stdout


@pytest.fixture
def shared(tmp_path):
    """A folder another user can read (pytest's own tmp folders are private to this user), and a way in for that user
    to the checkout and its .venv: a clone in a private folder (mktemp -d is 0700) gets search permission on its
    folders for the duration of the test, as a deployment would give the service's user."""
    base = Path(tempfile.mkdtemp(prefix="exporter-perm-"))
    base.chmod(0o755)
    shutil.copytree(DATA_DIR, base / "data")
    opened = []
    if os.geteuid() == 0:
        for folder in (*reversed(Path(sys.prefix).resolve().parents), *reversed(ROOT.resolve().parents), ROOT):
            mode = folder.stat().st_mode
            if not mode & 0o001:
                folder.chmod(mode | 0o001)
                opened.append((folder, mode))
    try:
        yield base
    finally:
        for folder, mode in reversed(opened):
            folder.chmod(mode)
        shutil.rmtree(base, ignore_errors=True)


def as_another_user(base: Path) -> tuple[int | None, dict]:
    """Run as a user who does not own *base* (nobody, when the tests run as root: root writes anywhere)."""
    env = {**os.environ, "HOME": str(base), "PYTHONDONTWRITEBYTECODE": "1"}
    if os.geteuid() == 0:
        return NOBODY, env
    return None, env


def test_an_unwritable_output_folder_is_named_before_anything_is_rendered(shared):
    user, env = as_another_user(shared)
    out, state = shared / "out", shared / "state"
    out.mkdir(mode=0o755)
    state.mkdir()
    state.chmod(0o777)
    if user is None:
        out.chmod(0o555)
    result = exporter("build", "--data-dir", str(shared / "data"), "--output-dir", str(out), "--state-dir",
                      str(state), env=env, user=user)
    assert result.returncode == 1
    uid = user if user is not None else os.geteuid()
    assert result.stderr == (f"Error: cannot write to the output folder {out}: Permission denied. Give the user "
                             f"running exporter (uid {uid}) write access to it, or choose another folder with "
                             "--output-dir (EXPORTER_OUTPUT_DIR)\n")
    assert list(out.iterdir()) == []
    runs = json.loads(exporter("history", "--json", "--state-dir", str(state)).stdout)
    assert runs[0]["status"] == "failed" and runs[0]["error"].startswith("cannot write to the output folder")


def test_an_unwritable_state_folder_is_named(shared):
    user, env = as_another_user(shared)
    out = shared / "out"
    out.mkdir()
    out.chmod(0o777)
    (out / ".exporter").mkdir(mode=0o755)
    if user is None:
        (out / ".exporter").chmod(0o555)
    result = exporter("build", "--data-dir", str(shared / "data"), "--output-dir", str(out), env=env, user=user)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: cannot write to the state folder (run history and lock) "
                                    f"{out / '.exporter'}: Permission denied. Give the user running exporter")
    assert "--state-dir (EXPORTER_STATE_DIR)" in result.stderr
    assert not (out / REPORT).exists()


def test_an_output_folder_inside_a_file_is_named(tmp_path):
    (tmp_path / "shared").write_text("a file where a folder was meant to be mounted")
    out = tmp_path / "shared" / "out"
    result = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out), "--state-dir",
                      str(tmp_path / "state"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: cannot write to the output folder {out}: "
                                    f"{tmp_path / 'shared'} is not a folder.")


def test_history_tells_duration_host_version_and_errors_whole(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(DATA_DIR, data)
    assert exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out)).returncode == 0
    run = history(out)[0]
    assert isinstance(run["duration_seconds"], float) and run["duration_seconds"] > 0
    assert run["host"] == socket.gethostname() and run["version"] == exporter_package.__version__
    report = data / "reports" / f"{REPORT}.yaml"
    report.write_text(report.read_text().replace("amount: 3.5", "amount: -1").replace("amount: 5.8", "amount: -2"))
    assert exporter("build", "-f", "txt", "--data-dir", str(data), "--output-dir", str(out)).returncode == 1
    short = exporter("history", "--limit", "1", "--output-dir", str(out)).stdout
    first, *rest = short.splitlines()
    assert first.endswith(" s)  failed") and "cli  " in first
    assert rest == [f"    {REPORT}: invalid: {report}:23: figures.base.size.amount: Input should be greater than 0"
                    " (and 1 more lines: history -v)"]
    whole = exporter("history", "-v", "--limit", "1", "--output-dir", str(out)).stdout.splitlines()
    assert whole[1] == f"    on {socket.gethostname()}, exporter {exporter_package.__version__}"
    assert whole[2].endswith("figures.base.size.amount: Input should be greater than 0")
    assert whole[3].startswith(f"        {report}:") and "Input should be greater than 0" in whole[3]


def test_a_history_of_an_older_exporter_is_read_and_extended(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    with sqlite3.connect(state / "history.sqlite") as conn:  # the runs table as the first release made it
        conn.executescript(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, trigger TEXT NOT NULL, started_at TEXT NOT NULL, "
            "ended_at TEXT, status TEXT NOT NULL, error TEXT, pid INTEGER, job_id TEXT, "
            "catch_up INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO runs VALUES ('20260101T000000.000Z-aaaaaa', 'cli', '2026-01-01T00:00:00+00:00', "
            "'2026-01-01T00:00:05+00:00', 'ok', NULL, 1, NULL, 0);")
    out = tmp_path / "out"
    assert exporter("build", "-f", "txt", "--data-dir", str(DATA_DIR), "--output-dir", str(out), "--state-dir",
                    str(state)).returncode == 0
    runs = json.loads(exporter("history", "--json", "--state-dir", str(state)).stdout)
    assert [r["host"] for r in runs] == [socket.gethostname(), None]
    assert runs[1]["duration_seconds"] is None and runs[1]["status"] == "ok"
