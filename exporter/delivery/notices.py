"""Failure notices: the owners of a scheduled job or report are mailed once per failure episode.

An episode of a (job, report) pair starts at its first failed run and ends at its next success.
The first failed run mails the owners the errors and what sales still has (the last good set and
its date); later failed runs of the same episode stay quiet, however often the job fires; the
first success mails one "recovered" notice. The episodes live in the state database, so cron
runs (one process each) and the service's runs share them.

A notice is marked sent only once the SMTP server took it: with mail down, the next failed run
tries again. A notice never fails a run: problems are logged as warnings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from ..core.errors import ExporterError, UsageError
from ..core.ids import SetId
from ..core.statedb import StateDatabase
from ..core.workspace import Workspace
from ..publish.manifest import PublishedSet
from .mail import PermanentMailError, SmtpSettings, TemporaryMailError, header_text, message_id_for, send, smtp_settings

log = logging.getLogger(__name__)

MAX_ERROR_LINES = 40  # a notice is read by a person: the run's history has every line

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notice_episodes (
    job_id       TEXT NOT NULL,
    report_id    TEXT NOT NULL,   -- a set id, or '' for the job as a whole (it could not run)
    since        TEXT NOT NULL,   -- when the first failed run of the episode ended
    run_id       TEXT,            -- the latest failed run
    error        TEXT NOT NULL,   -- its errors
    notified_at  TEXT,            -- when the owners were mailed; NULL: not yet (no owners, mail down)
    PRIMARY KEY (job_id, report_id)
);
"""


@dataclass(frozen=True)
class Check:
    """How one report of a job, or the job as a whole, fared in a run, and who hears of it."""

    job_id: str
    report_id: str  # a set id; "" for the job as a whole
    error: str | None  # None: it worked
    owners: tuple[str, ...]
    sets: tuple[str, ...]  # the set ids whose last good set a notice names
    # A job-level failure's own subject and first sentence; None: it could not run (the usual case).
    subject: str | None = None
    lead: str | None = None


@dataclass(frozen=True)
class Episode:
    since: str
    run_id: str | None
    error: str
    notified_at: str | None


class Episodes(StateDatabase):
    """The open failure episodes, in the state folder's database."""

    schema = _SCHEMA
    purpose = "failure notices"

    def get(self, job_id: str, report_id: str) -> Episode | None:
        with self._db() as conn:
            row = conn.execute("SELECT since, run_id, error, notified_at FROM notice_episodes "
                               "WHERE job_id = ? AND report_id = ?", (job_id, report_id)).fetchone()
        return Episode(*row) if row else None

    def failed(self, job_id: str, report_id: str, *, at: str, run_id: str | None, error: str) -> Episode:
        """Record a failed run: it opens an episode, or is the latest of the open one."""
        with self._db() as conn:
            conn.execute(
                "INSERT INTO notice_episodes (job_id, report_id, since, run_id, error) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (job_id, report_id) DO UPDATE SET run_id = excluded.run_id, error = excluded.error",
                (job_id, report_id, at, run_id, error))
        episode = self.get(job_id, report_id)
        assert episode is not None
        return episode

    def notified(self, job_id: str, report_id: str, at: str) -> None:
        with self._db() as conn:
            conn.execute("UPDATE notice_episodes SET notified_at = ? WHERE job_id = ? AND report_id = ?",
                         (at, job_id, report_id))

    def end(self, job_id: str, report_id: str) -> None:
        """The episode is over: the next failure opens a new one (and mails again)."""
        with self._db() as conn:
            conn.execute("DELETE FROM notice_episodes WHERE job_id = ? AND report_id = ?", (job_id, report_id))


def send_notices(workspace: Workspace, checks: list[Check], *, run_id: str | None, env: Mapping[str, str],
                 now: dt.datetime) -> None:
    """Open, continue or end the episodes of *checks*, mailing the owners where one starts or ends.

    Never raises: a notice that cannot be sent is a warning, tried again at the next run.
    """
    at = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    mailer = _Mailer(env, now)
    try:
        with Episodes(workspace.state) as episodes:
            for check in checks:
                if check.error is not None:
                    episode = episodes.failed(check.job_id, check.report_id, at=at, run_id=run_id, error=check.error)
                    if episode.notified_at is None and mailer.send(
                            check, failure_message(workspace, check, episode, run_id=run_id)):
                        episodes.notified(check.job_id, check.report_id, at)
                    continue
                episode = episodes.get(check.job_id, check.report_id)
                if episode is None:
                    continue
                if episode.notified_at is None or not check.owners or mailer.send(
                        check, recovery_message(workspace, check, episode, run_id=run_id, at=at)):
                    episodes.end(check.job_id, check.report_id)
    except ExporterError as exc:  # the state database cannot be used
        log.warning("failure notices: %s", exc)


class _Mailer:
    """Sends notices with the delivery's SMTP settings, read once and only when there is a notice to send."""

    def __init__(self, env: Mapping[str, str], now: dt.datetime):
        self.env, self.now = env, now
        self._settings: SmtpSettings | None = None
        self._unusable: str | None = None

    def send(self, check: Check, content: tuple[str, str, str]) -> bool:
        """Mail *content* (subject, body, message-id key) to the check's owners; tell whether it went."""
        if not check.owners:
            return False
        what = check.report_id or f"job {check.job_id}"
        if self._settings is None and self._unusable is None:
            try:
                self._settings = smtp_settings(self.env)
            except UsageError as exc:
                self._unusable = str(exc)
        if self._settings is None:
            log.warning("notice about %s not sent to its %d owner(s): %s", what, len(check.owners), self._unusable)
            return False
        subject, body, key = content
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = ", ".join(check.owners)
        message["Subject"] = header_text(subject)
        message["Date"] = format_datetime(self.now)
        message["Message-ID"] = message_id_for(key)  # a re-send of the same notice is recognisably the same
        message.set_content(body)
        try:
            # Two attempts at most: a notice must not hold a run back for the delivery's long backoff, and
            # a server that is down stays down for the other notices of this run (tried again next run).
            send(dataclasses.replace(self._settings, attempts=min(self._settings.attempts, 2)), message)
        except (PermanentMailError, TemporaryMailError) as exc:
            log.warning("notice about %s not sent (tried again at the next run): %s", what, exc)
            if isinstance(exc, TemporaryMailError):
                self._unusable = f"the mail server did not answer: {exc}"
                self._settings = None
            return False
        log.info("notice about %s sent to %s", what, ", ".join(check.owners))
        return True


def failure_message(workspace: Workspace, check: Check, episode: Episode, *,
                    run_id: str | None) -> tuple[str, str, str]:
    """Subject, plain-text body and message-id key of the notice that opens an episode."""
    if check.report_id:
        subject = f"exporter: report {check.report_id} failed in job {check.job_id}"
        lead = (f"The scheduled job {check.job_id} could not build the report {check.report_id}. "
                "Its previous files stay published.")
    else:
        subject = check.subject or f"exporter: job {check.job_id} could not run"
        lead = check.lead or f"The scheduled job {check.job_id} could not run: none of its reports was built or delivered."
    body = "\n".join([
        _wrap(lead), "",
        *_facts(check, run_id, failing_since=episode.since),
        "", "What went wrong:", _indent(_shorten(episode.error)),
        "", "What sales still has:", *last_good_sets(workspace, check.sets),
        "", _wrap("This is the only notice for this failure: later failed runs stay quiet, and one notice follows "
                  "when it works again. `exporter history -v` shows every run."),
    ])
    return subject, body + "\n", _key("failed", check, episode)


def recovery_message(workspace: Workspace, check: Check, episode: Episode, *, run_id: str | None,
                     at: str) -> tuple[str, str, str]:
    """Subject, plain-text body and message-id key of the notice that ends an episode."""
    if check.report_id:
        subject = f"exporter: report {check.report_id} recovered in job {check.job_id}"
        lead = f"The report {check.report_id} builds again in the scheduled job {check.job_id}"
    else:
        subject = f"exporter: job {check.job_id} runs again"
        lead = f"The scheduled job {check.job_id} runs again"
    body = "\n".join([
        _wrap(f"{lead}: it failed from {episode.since} until this run at {at}."), "",
        *_facts(check, run_id),
        "", "The last error was:", _indent(_shorten(episode.error)),
        "", "What sales has now:", *last_good_sets(workspace, check.sets),
    ])
    return subject, body + "\n", _key("recovered", check, episode)


def last_good_sets(workspace: Workspace, set_ids: tuple[str, ...]) -> list[str]:
    """One line per set: when the files sales can open were built and what date their data is as of."""
    lines = []
    for set_id in set_ids:
        try:
            folder = workspace.set_folder(SetId.parse(set_id))
        except UsageError:
            continue
        published = PublishedSet.read(folder)
        if published is None or not published.built_at:
            lines.append(f"  {set_id}: nothing published yet")
        else:
            as_of = f", data as of {published.as_of}" if published.as_of else ""
            lines.append(f"  {set_id}: the set built {published.built_at}{as_of}, in {folder.resolve()}")
    return lines or ["  (no report named)"]


def _facts(check: Check, run_id: str | None, *, failing_since: str | None = None) -> list[str]:
    facts = [("Report", check.report_id or "(the job as a whole)"), ("Job", check.job_id),
             ("Run", run_id or "(none: it did not start)"), ("Host", socket.gethostname())]
    if failing_since:
        facts.append(("Failing since", failing_since))
    return [f"{name + ':':15}{value}" for name, value in facts]


def _shorten(error: str) -> str:
    lines = error.splitlines() or [error]
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[:MAX_ERROR_LINES], f"... and {len(lines) - MAX_ERROR_LINES} more lines (exporter history -v)"]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, 78, break_long_words=False, break_on_hyphens=False)


def _key(kind: str, check: Check, episode: Episode) -> str:
    stamp = re.sub(r"[^0-9]", "", episode.since)
    return f"notice.{kind}.{check.job_id}.{check.report_id or 'job'}.{stamp}"
