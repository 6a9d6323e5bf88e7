"""The delivery ledger: what was delivered to whom, keyed so that each content goes out once.

A delivery is keyed by report, content sha256 (of the files delivered), recipient list and
channel. It is marked ``sending`` before it goes out and ``sent`` after. A crash between the two
leaves ``sending``; the next run sends it again: delivery is at-least-once, never silently lost.
A re-sent email carries the same Message-ID, so mail systems and readers can tell the duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ..core.statedb import StateDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    report_id   TEXT NOT NULL,
    content     TEXT NOT NULL,     -- sha256 over the delivered files' names and hashes
    list_id     TEXT NOT NULL,
    channel     TEXT NOT NULL,     -- email | drop
    status      TEXT NOT NULL,     -- sending | sent | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    run_id      TEXT,              -- the run that last tried it
    target      TEXT,              -- addresses or folder, for people reading the history
    updated_at  TEXT NOT NULL,
    summary     TEXT,              -- JSON: the set's as-of date and summary when sent (what the next mail compares)
    PRIMARY KEY (report_id, content, list_id, channel)
);
-- Every outcome of every run, for the history (the ledger above keeps only the latest state).
CREATE TABLE IF NOT EXISTS delivery_log (
    run_id     TEXT NOT NULL,
    report_id  TEXT NOT NULL,
    content    TEXT NOT NULL,
    list_id    TEXT NOT NULL,
    channel    TEXT NOT NULL,
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    error      TEXT,
    target     TEXT,
    at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_log_run ON delivery_log(run_id);
"""


@dataclass(frozen=True)
class LedgerEntry:
    report_id: str
    content: str
    list_id: str
    channel: str
    status: str
    attempts: int
    error: str | None
    run_id: str | None
    target: str | None
    updated_at: str

    def as_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Ledger(StateDatabase):
    """The deliveries table, in the state folder's history database."""

    schema = _SCHEMA
    purpose = "delivery ledger"

    def migrate(self, conn: sqlite3.Connection) -> None:
        if "summary" not in {row[1] for row in conn.execute("PRAGMA table_info(deliveries)")}:
            conn.execute("ALTER TABLE deliveries ADD COLUMN summary TEXT")

    def last_sent_summary(self, report_id: str, list_id: str, channel: str, other_than: str) -> dict | None:
        """What the set last sent to *list_id* by *channel* said (its as-of date and summary), if another was sent."""
        with self._db() as conn:
            row = conn.execute(
                "SELECT summary FROM deliveries WHERE report_id = ? AND list_id = ? AND channel = ? "
                "AND status = 'sent' AND content <> ? AND summary IS NOT NULL ORDER BY updated_at DESC, rowid DESC "
                "LIMIT 1", (report_id, list_id, channel, other_than),
            ).fetchone()
        try:
            found = json.loads(row[0]) if row else None
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    def status(self, report_id: str, content: str, list_id: str, channel: str) -> str | None:
        with self._db() as conn:
            row = conn.execute(
                "SELECT status FROM deliveries WHERE report_id = ? AND content = ? AND list_id = ? AND channel = ?",
                (report_id, content, list_id, channel),
            ).fetchone()
        return row[0] if row else None

    def mark(self, report_id: str, content: str, list_id: str, channel: str, status: str, *, at: str,
             run_id: str, target: str, attempts: int = 0, error: str | None = None,
             summary: dict | None = None) -> None:
        with self._db() as conn:
            conn.execute(
                "INSERT INTO deliveries (report_id, content, list_id, channel, status, attempts, error, run_id, "
                "target, updated_at, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (report_id, content, list_id, channel) DO UPDATE SET status = excluded.status, "
                "attempts = deliveries.attempts + excluded.attempts, error = excluded.error, "
                "run_id = excluded.run_id, target = excluded.target, updated_at = excluded.updated_at, "
                "summary = COALESCE(excluded.summary, deliveries.summary)",
                (report_id, content, list_id, channel, status, attempts, error, run_id, target, at,
                 json.dumps(summary, sort_keys=True) if summary is not None else None),
            )
            if status != "sending":
                conn.execute(
                    "INSERT INTO delivery_log (run_id, report_id, content, list_id, channel, status, attempts, error, "
                    "target, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, report_id, content, list_id, channel, status, attempts, error, target, at),
                )

    def for_run(self, run_id: str) -> list[LedgerEntry]:
        """Return what run *run_id* delivered or failed to deliver."""
        with self._db() as conn:
            rows = conn.execute(
                "SELECT report_id, content, list_id, channel, status, attempts, error, run_id, target, at "
                "FROM delivery_log WHERE run_id = ? ORDER BY report_id, list_id, channel", (run_id,),
            ).fetchall()
        return [LedgerEntry(*row) for row in rows]
