"""systemd integration of the scheduler service: the notify protocol read from a socket the test binds.

The service runs as a real process with NOTIFY_SOCKET and WATCHDOG_USEC set, as systemd would start a
Type=notify unit with WatchdogSec=; the test reads the datagrams systemd would get.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from exporter.schedule.systemd import Notifier

from conftest import DATA_DIR

REPORT_ID = "us-intrathecal-pump-market"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR|DEBUG|CRITICAL) ")


class Socket:
    """A unix datagram socket standing in for systemd's notify socket; collects what arrives."""

    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def wait_for(self, condition, timeout: float = 60) -> list[str]:
        """Receive until *condition(messages)* holds; return the messages so far."""
        deadline = time.monotonic() + timeout
        while not condition(self.messages):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received: {self.notices()}")
            try:
                self.messages.append(self.sock.recv(65536).decode("utf-8"))
            except TimeoutError:
                pass
        return self.messages

    def notices(self) -> list[str]:
        """The messages other than watchdog pings, in order."""
        return [m for m in self.messages if m != "WATCHDOG=1"]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def short_dir():
    """A folder with a short path: a unix socket path may not exceed 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="sd-"))
    yield path
    shutil.rmtree(path)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


class Service:
    """`exporter schedule` in a child process, under the environment systemd would give it."""

    def __init__(self, tmp_path: Path, schedule: Path, data: Path, env: dict[str, str]):
        self.out = tmp_path / "out"
        self.log = tmp_path / "service.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "exporter", "schedule", "--schedule", str(schedule), "--data-dir", str(data),
                 "--output-dir", str(self.out)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, **env})

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stored_jobs(self) -> list[str]:
        with sqlite3.connect(self.out / ".exporter" / "jobs.sqlite") as db:
            return sorted(row[0] for row in db.execute("SELECT id FROM apscheduler_jobs"))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def services():
    started: list[Service] = []
    yield started
    for service in started:
        service.kill()


QUICK = "timezone: UTC\njobs:\n  - id: quick\n    every: 1s\n    formats: [txt]\n"


def test_ready_status_watchdog_and_stopping_reach_the_notify_socket(tmp_path, short_dir, data, services):
    systemd = Socket(str(short_dir / "notify"))
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(QUICK, encoding="utf-8")
    service = Service(tmp_path, schedule, data, {"NOTIFY_SOCKET": str(short_dir / "notify"),
                                                 "WATCHDOG_USEC": "400000"})
    services.append(service)

    systemd.wait_for(lambda ms: any("last run: quick done" in m for m in ms))
    systemd.wait_for(lambda ms: ms.count("WATCHDOG=1") >= 3)
    assert service.stop() == 0
    systemd.wait_for(lambda ms: any(m.startswith("STOPPING=1") for m in ms))
    systemd.close()

    notices = systemd.notices()
    assert notices[0] == "READY=1\nSTATUS=1 job(s); no run yet"  # ready before anything else is said
    status = next(m for m in notices if "last run" in m)
    assert re.fullmatch(r"STATUS=1 job\(s\); last run: quick done at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(exit 0\)",
                        status), status
    stopping = next(m for m in notices if m.startswith("STOPPING=1"))
    assert stopping.startswith("STATUS=1 job(s); last run: quick ", len("STOPPING=1\n"))
    assert stopping.endswith("; stopping: waiting for the running build")
    # A run that ends after SIGTERM is reported, still as stopping.
    assert all(m.endswith("; stopping: waiting for the running build") for m in notices[notices.index(stopping):])
    assert systemd.messages.index("WATCHDOG=1") > 0  # pings come after READY=1
    stderr = service.stderr()
    assert "job quick: run done (exit 0)" in stderr
    # Every line of the service and of its runs carries its UTC time and level.
    assert all(LOG_LINE.match(line) for line in stderr.splitlines()), stderr
    assert (service.out / REPORT_ID / f"{REPORT_ID}.txt").is_file()


def test_sighup_reloads_the_timetable_and_a_broken_one_keeps_the_jobs(tmp_path, short_dir, data, services):
    systemd = Socket(str(short_dir / "notify"))
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(QUICK, encoding="utf-8")
    service = Service(tmp_path, schedule, data, {"NOTIFY_SOCKET": str(short_dir / "notify"),
                                                 "WATCHDOG_USEC": "400000"})
    services.append(service)
    systemd.wait_for(lambda ms: "READY=1\nSTATUS=1 job(s); no run yet" in ms)
    assert service.stored_jobs() == ["quick"]

    # A job added to the timetable is scheduled by SIGHUP, without a restart.
    schedule.write_text(QUICK + "  - id: weekly\n    cron: \"0 6 * * 1\"\n    formats: [pdf]\n", encoding="utf-8")
    service.proc.send_signal(signal.SIGHUP)
    systemd.wait_for(lambda ms: any(m.startswith("READY=1\nSTATUS=2 job(s)") for m in ms))
    reloading = next(i for i, m in enumerate(systemd.messages) if m.startswith("RELOADING=1\nMONOTONIC_USEC="))
    assert any(m.startswith("READY=1\nSTATUS=2 job(s)") for m in systemd.messages[reloading:])
    assert service.stored_jobs() == ["quick", "weekly"]
    assert re.search(r"INFO exporter.schedule.service: job weekly: added, next run at \d{4}-\d\d-\d\dT06:00:00\+00:00",
                     service.stderr())

    # A broken timetable on SIGHUP: its located errors are logged, the service and its jobs go on.
    schedule.write_text(QUICK + "  - id: weekly\n    cron: \"0 6 * * 1\"\n  - id: typo\n    every: soon\n",
                        encoding="utf-8")
    seen = len(systemd.messages)
    service.proc.send_signal(signal.SIGHUP)
    systemd.wait_for(lambda ms: any("timetable reload failed; jobs unchanged" in m for m in ms[seen:]))
    broken = len(systemd.messages)
    # Still alive and healthy: pings go on, and the next run of `quick` reads the broken timetable and fails.
    systemd.wait_for(lambda ms: "WATCHDOG=1" in ms[broken:] and any("last run: quick invalid data" in m
                                                                    for m in ms[broken:]))
    assert service.proc.poll() is None
    assert service.stored_jobs() == ["quick", "weekly"]
    assert service.stop() == 0
    systemd.close()

    stderr = service.stderr()
    assert f"ERROR exporter.schedule.service: {schedule}:9: jobs[2].every: 'soon' is not a duration" in stderr
    assert "ERROR exporter.schedule.service: timetable not reloaded (1 problem(s)): the jobs run on as they were" \
        in stderr
    assert "ERROR job=quick exporter.schedule.service: job quick: run invalid data (exit 2)" in stderr
    assert "Traceback" not in stderr


def test_without_notify_socket_nothing_is_sent_and_the_service_runs_as_before(tmp_path, data, services):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(QUICK, encoding="utf-8")
    env = {"WATCHDOG_USEC": "400000"}  # a watchdog without a socket: nothing to ping
    service = Service(tmp_path, schedule, data, env)
    services.append(service)
    deadline = time.monotonic() + 60
    while "job quick: run done" not in service.stderr():
        assert time.monotonic() < deadline and service.proc.poll() is None, service.stderr()
        time.sleep(0.1)
    assert service.stop() == 0
    assert "systemd" not in service.stderr()


def test_an_abstract_socket_is_named_with_an_at_sign():
    name = f"exporter-test-{uuid.uuid4().hex}"
    systemd = Socket("\0" + name)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
    notifier.ready("2 job(s)\nsecond line")  # a status stays one line: a newline would start an assignment
    notifier.watchdog()
    systemd.wait_for(lambda ms: len(ms) >= 2)
    systemd.close()
    assert systemd.messages == ["READY=1\nSTATUS=2 job(s) second line", "WATCHDOG=1"]


def test_watchdog_interval_is_for_this_process_only(caplog):
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000"}, pid=7).watchdog_seconds == 30
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"},
                    pid=7).watchdog_seconds == 30
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="exporter.schedule.systemd"):
        assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"},
                        pid=7).watchdog_seconds is None
    # Said, since systemd would kill a service that never pings.
    assert caplog.messages[0].startswith("WATCHDOG_PID is 8, not this process (7): no watchdog pings")
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "0"}).watchdog_seconds is None
    assert Notifier({"NOTIFY_SOCKET": "/x"}).watchdog_seconds is None
    assert not Notifier({}).enabled


def test_systemd_variables_are_taken_out_of_the_environment_for_the_runs():
    environ = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid()),
               "PATH": "/usr/bin"}
    notifier = Notifier.take_from(environ)
    assert notifier.address == "/run/systemd/notify" and notifier.watchdog_seconds == 1
    assert environ == {"PATH": "/usr/bin"}


def test_a_notice_that_cannot_be_sent_is_logged_once_and_not_fatal(short_dir, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(short_dir / "nobody-listens")})
    with caplog.at_level(logging.DEBUG, logger="exporter.schedule.systemd"):
        notifier.ready("1 job(s)")
        notifier.watchdog()
        notifier.watchdog()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"systemd notice not sent to NOTIFY_SOCKET {short_dir / 'nobody-listens'}: No such file or directory"]
    # Sending works again: a later failure is said again.
    systemd = Socket(str(short_dir / "nobody-listens"))
    notifier.watchdog()
    systemd.wait_for(lambda ms: ms == ["WATCHDOG=1"])
    systemd.close()
    (short_dir / "nobody-listens").unlink()
    with caplog.at_level(logging.DEBUG, logger="exporter.schedule.systemd"):
        notifier.watchdog()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


@pytest.mark.skipif(shutil.which("systemd-notify") is None, reason="systemd-notify is not installed")
@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_the_datagrams_are_those_systemd_notify_sends(short_dir, kind):
    """systemd's own client, pointed at sockets the test binds, sends what the Notifier sends."""
    if kind == "path":
        ours_name, theirs_name = str(short_dir / "ours"), str(short_dir / "theirs")
        ours, theirs = Socket(ours_name), Socket(theirs_name)
    else:
        ours_name, theirs_name = f"@exporter-ours-{uuid.uuid4().hex}", f"@exporter-theirs-{uuid.uuid4().hex}"
        ours, theirs = Socket("\0" + ours_name[1:]), Socket("\0" + theirs_name[1:])
    notifier = Notifier({"NOTIFY_SOCKET": ours_name})
    notifier.ready("2 job(s); no run yet")
    notifier.watchdog()
    notifier.stopping("2 job(s); stopping")
    # --no-block: systemd-notify would otherwise wait for systemd to answer a BARRIER=1 it sends after.
    for args in (["--ready", "--status=2 job(s); no run yet"], ["WATCHDOG=1"], ["STOPPING=1", "STATUS=2 job(s); stopping"]):
        subprocess.run(["systemd-notify", "--no-block", *args], env={**os.environ, "NOTIFY_SOCKET": theirs_name},
                       check=True)
    ours.wait_for(lambda ms: len(ms) == 3)
    theirs.wait_for(lambda ms: len(ms) == 3)
    ours.close()
    theirs.close()
    assert ours.messages == theirs.messages == ["READY=1\nSTATUS=2 job(s); no run yet", "WATCHDOG=1",
                                                "STOPPING=1\nSTATUS=2 job(s); stopping"]


def test_the_watchdog_pings_from_the_scheduler_loop_only_while_healthy(short_dir):
    from apscheduler.schedulers.background import BackgroundScheduler

    from exporter.schedule.systemd import add_watchdog

    systemd = Socket(str(short_dir / "notify"))
    notifier = Notifier({"NOTIFY_SOCKET": str(short_dir / "notify"), "WATCHDOG_USEC": "200000"})
    checks: list[bool] = []

    def healthy() -> bool:  # unhealthy for the first three checks
        checks.append(len(checks) >= 3)
        return checks[-1]

    scheduler = BackgroundScheduler(timezone="UTC")
    add_watchdog(scheduler, notifier, healthy)
    scheduler.start()
    try:
        systemd.wait_for(lambda ms: len(ms) >= 1)
        assert checks[:4] == [False, False, False, True]  # the three unhealthy checks sent nothing
        systemd.wait_for(lambda ms: len(ms) >= 3)
    finally:
        scheduler.shutdown()
        systemd.close()
    assert set(systemd.messages) == {"WATCHDOG=1"}


def test_an_unreadable_job_store_makes_the_service_unhealthy(tmp_path, monkeypatch, caplog):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from exporter.schedule import service

    good = SQLAlchemyJobStore(url=f"sqlite:///{tmp_path / 'good.sqlite'}")
    good.jobs_t.create(good.engine)
    monkeypatch.setattr(service._RUNS, "store", good)
    assert service._healthy() is True
    (tmp_path / "bad.sqlite").write_bytes(b"not a database\n" * 1000)
    monkeypatch.setattr(service._RUNS, "store", SQLAlchemyJobStore(url=f"sqlite:///{tmp_path / 'bad.sqlite'}"))
    with caplog.at_level(logging.ERROR, logger="exporter.schedule.service"):
        assert service._healthy() is False
    assert caplog.messages == ["the job store does not answer: no watchdog ping, so systemd restarts the service"]
    assert "file is not a database" in caplog.text
