"""Failure notices of scheduled runs, received by a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from conftest import DATA_DIR

REPORT_ID = "us-intrathecal-pump-market"


class Inbox:
    """Keeps every message the server accepts; ``refuse`` answers the next DATA commands with 550."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return "550 5.7.1 rejected"
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            self.messages.append((sorted(envelope.rcpt_tos), message))
        return "250 OK"

    def take(self) -> list[tuple[list[str], str, str]]:
        """The messages received since the last call: (recipients, subject, plain-text body)."""
        with self.lock:
            taken, self.messages = self.messages, []
        return [(rcpts, m["Subject"], m.get_body(("plain",)).get_content().replace("\r\n", "\n")) for rcpts, m in taken]


@pytest.fixture
def inbox():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


class Site:
    def __init__(self, tmp_path: Path, inbox: Inbox):
        self.data = tmp_path / "data"
        shutil.copytree(DATA_DIR, self.data)
        self.out = tmp_path / "out"
        self.schedule = tmp_path / "s.yaml"
        self.report = self.data / "reports" / f"{REPORT_ID}.yaml"
        self.good = self.report.read_text()
        self.env = {**os.environ, "EXPORTER_SMTP_HOST": "127.0.0.1", "EXPORTER_SMTP_PORT": str(inbox.port),
                    "EXPORTER_SMTP_TLS": "none", "EXPORTER_SMTP_FROM": "exporter@example.com",
                    "EXPORTER_SMTP_ATTEMPTS": "1", "EXPORTER_SMTP_TIMEOUT": "10"}

    def timetable(self, body: str) -> None:
        self.schedule.write_text(body, encoding="utf-8")

    def run_job(self, job: str = "nightly") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "exporter", "run-job", job, "--trigger", "cron", "--data-dir", str(self.data),
             "--output-dir", str(self.out), "--schedule", str(self.schedule)],
            capture_output=True, text=True, env=self.env)

    def break_report(self) -> None:
        self.report.write_text(self.good.replace("as_of: 2026-11-23", "as_of: someday"))

    def mend_report(self) -> None:
        self.report.write_text(self.good)

    def manifest(self) -> dict:
        return json.loads((self.out / REPORT_ID / "manifest.json").read_text())


@pytest.fixture
def site(tmp_path, inbox) -> Site:
    site = Site(tmp_path, inbox)
    site.timetable("timezone: UTC\nowners: [ops@example.com]\njobs:\n  - id: nightly\n    cron: \"0 2 * * *\"\n"
                   "    formats: [txt]\n    owners: [sales-ops@example.com]\n")
    return site


def test_a_failure_is_told_once_and_its_recovery_once(site, inbox):
    site.good += "owners: [analyst@example.com]\n"  # the report's own, with the timetable's and the job's
    site.mend_report()
    assert site.run_job().returncode == 0
    assert inbox.take() == []  # nothing to tell
    built = site.manifest()["built_at"]

    site.break_report()
    first = site.run_job()
    assert first.returncode == 1, first.stderr
    second = site.run_job()
    assert second.returncode == 1, second.stderr
    [(rcpts, subject, body)] = inbox.take()  # two failed runs, one notice
    assert rcpts == ["analyst@example.com", "ops@example.com", "sales-ops@example.com"]
    assert subject == f"exporter: report {REPORT_ID} failed in job nightly"
    assert f"could not build the report {REPORT_ID}. Its previous files stay published." in " ".join(body.split())
    assert "Job:           nightly" in body and f"Report:        {REPORT_ID}" in body
    assert f"{site.report}:9: as_of:" in body  # the error, located
    assert f"  {REPORT_ID}: the set built {built}, data as of 2026-11-23, in {site.out.resolve() / REPORT_ID}" in body

    site.mend_report()
    assert site.run_job().returncode == 0
    [(rcpts, subject, body)] = inbox.take()
    assert rcpts == ["analyst@example.com", "ops@example.com", "sales-ops@example.com"]
    assert subject == f"exporter: report {REPORT_ID} recovered in job nightly"
    assert f"{site.report}:9: as_of:" in body  # the last error
    assert f"the set built {site.manifest()['built_at']}" in body
    assert site.run_job().returncode == 0
    assert inbox.take() == []  # recovered once

    site.break_report()  # a new episode: told again
    assert site.run_job().returncode == 1
    [(_, subject, _)] = inbox.take()
    assert subject == f"exporter: report {REPORT_ID} failed in job nightly"


def test_a_notice_the_server_refused_is_sent_at_the_next_failed_run(site, inbox):
    site.break_report()
    inbox.refuse = 1
    done = site.run_job()
    assert done.returncode == 1
    assert inbox.take() == []
    assert f"notice about {REPORT_ID} not sent (tried again at the next run): 550" in done.stderr
    assert site.run_job().returncode == 1
    [(_, subject, body)] = inbox.take()
    assert subject == f"exporter: report {REPORT_ID} failed in job nightly"
    assert f"  {REPORT_ID}: nothing published yet" in body


def test_a_job_that_cannot_run_is_told_once(site, inbox):
    site.run_job()
    site.timetable(site.schedule.read_text().replace("timezone: UTC", "timezone: Mars/Olympus"))
    for _ in range(2):
        done = site.run_job()
        assert done.returncode == 2, done.stderr
    [(rcpts, subject, body)] = inbox.take()
    assert rcpts == ["ops@example.com", "sales-ops@example.com"]  # what of the broken timetable is still valid
    assert subject == "exporter: job nightly could not run"
    assert "unknown time zone 'Mars/Olympus'" in body
    assert f"  {REPORT_ID}: the set built {site.manifest()['built_at']}, data as of 2026-11-23" in body

    site.timetable(site.schedule.read_text().replace("Mars/Olympus", "UTC"))
    assert site.run_job().returncode == 0
    [(_, subject, _)] = inbox.take()
    assert subject == "exporter: job nightly runs again"


def test_without_email_settings_a_failure_is_a_warning(site, inbox):
    del site.env["EXPORTER_SMTP_HOST"]
    site.break_report()
    done = site.run_job()
    assert done.returncode == 1  # as without owners: the notice changes nothing in the run
    assert f"notice about {REPORT_ID} not sent to its 2 owner(s): email is not configured" in done.stderr


def test_validate_checks_owners(site):
    site.timetable("timezone: UTC\nowners: [ops]\njobs:\n  - id: nightly\n    every: 1h\n    owners: [a@b]\n")
    site.report.write_text(site.good.replace("as_of: 2026-11-23", "owners: Ops <ops@example.com>\nas_of: 2026-11-23"))
    done = subprocess.run([sys.executable, "-m", "exporter", "validate", "--data-dir", str(site.data),
                           "--schedule", str(site.schedule)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"Error: {site.report}:9: owners: Input should be a valid list",
        f"Error: {site.schedule}:2: owners[0]: 'ops' is not a plain email address (name@example.com)",
        f"Error: {site.schedule}:6: jobs[0].owners[0]: 'a@b' is not a plain email address (name@example.com)",
    ]


def test_a_run_stopped_at_its_deadline_tells_the_owners_what_stays_published(site, inbox):
    # The service stops the run and tells it (schedule/service.py): the stopped child cannot.
    import datetime as dt

    from exporter.core.workspace import Workspace
    from exporter.runs.record import RunContext
    from exporter.schedule.jobs import alerts_for
    from exporter.schedule.watch import Watch

    shutil.copy(site.report, site.data / "reports" / "other.yaml")  # not the job's: not in its notice
    site.timetable("timezone: UTC\nowners: [ops@example.com]\njobs:\n  - id: nightly\n    cron: \"0 2 * * *\"\n"
                   f"    reports: [{REPORT_ID}]\n    formats: [txt]\n")
    assert site.run_job().returncode == 0
    workspace = Workspace(site.data, site.out, schedule_file=site.schedule)
    run = RunContext(trigger="schedule", env=site.env, clock=lambda: dt.datetime(2026, 11, 30, 2, 30, tzinfo=dt.UTC))
    Watch(workspace, "nightly", run, alerts_for(workspace, "nightly")).stopped_at_deadline(
        "20261130T020000.000Z-abcdef", "stopped: the run deadline of 3600 s was exceeded")
    [(rcpts, subject, body)] = inbox.take()
    assert rcpts == ["ops@example.com"]
    assert subject == "exporter: job nightly stopped at its run deadline"
    text = " ".join(body.split())
    assert "ran past its run deadline and was stopped. The reports it published before stay published" in text
    assert "could not run" not in text and "none of its reports" not in text
    assert "stopped: the run deadline of 3600 s was exceeded" in body and "20261130T020000.000Z-abcdef" in body
    assert f"  {REPORT_ID}: the set built " in body and "other" not in body.split("What sales still has:")[1]
