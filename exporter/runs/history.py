"""The run history: every run, its trigger, its times and each report's outcome, in SQLite."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..core.ids import SetId
from ..core.statedb import StateDatabase
from .lock import LOCK_NAME, PROC_LOCKS, held

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT PRIMARY KEY,
    trigger    TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    status     TEXT NOT NULL,          -- running | ok | failed | invalid | skipped | stopped | interrupted
    error      TEXT,
    pid        INTEGER,
    job_id     TEXT,                   -- the timetable job of a scheduled run
    catch_up   INTEGER NOT NULL DEFAULT 0, -- fire times missed during downtime that this run makes up for
    duration   REAL,                   -- seconds from start to end
    host       TEXT,                   -- the machine that ran it
    version    TEXT,                   -- the exporter version that ran it
    pid_ns     TEXT                    -- the pid namespace of its pid (a container's own), where Linux tells it
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id    TEXT NOT NULL REFERENCES runs(run_id),
    report_id TEXT NOT NULL,
    outcome   TEXT NOT NULL,           -- built | unchanged | failed
    error     TEXT,
    files     TEXT NOT NULL DEFAULT '{}',  -- JSON: file name -> sha256
    PRIMARY KEY (run_id, report_id)
);
CREATE INDEX IF NOT EXISTS outcomes_report ON outcomes(report_id);
"""


@dataclass(frozen=True)
class ReportOutcome:
    report_id: str
    outcome: str
    error: str | None
    files: dict[str, str]


@dataclass(frozen=True)
class Run:
    run_id: str
    trigger: str
    started_at: str
    ended_at: str | None
    status: str
    error: str | None
    job_id: str | None
    catch_up: int
    reports: tuple[ReportOutcome, ...]
    duration: float | None = None  # seconds; None while running, or for runs recorded before it was kept
    host: str | None = None
    version: str | None = None

    def as_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "job_id": self.job_id,
            "catch_up": self.catch_up,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_seconds": self.duration,
            "host": self.host,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "reports": [
                {"report_id": r.report_id, "outcome": r.outcome, "error": r.error, "files": r.files}
                for r in self.reports
            ],
        }


# Columns added after the first release, with their types: added to an older database when it is opened.
_ADDED_COLUMNS = {"duration": "REAL", "host": "TEXT", "version": "TEXT", "pid_ns": "TEXT"}


class RunHistory(StateDatabase):
    """The run history."""

    schema = _SCHEMA
    purpose = "run history"

    def migrate(self, conn: sqlite3.Connection) -> None:
        present = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in present:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")  # fixed names, never data

    def start(self, run_id: str, trigger: str, started_at: str, *, job_id: str | None = None,
              catch_up: int = 0) -> None:
        """Record that a run started; mark runs that never finished as interrupted.

        Called while holding the run lock, so a run still marked running belongs to a dead process.
        """
        with self._db() as conn:
            conn.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            conn.execute(
                "INSERT INTO runs (run_id, trigger, started_at, status, pid, job_id, catch_up, host, version, pid_ns) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (run_id, trigger, started_at, os.getpid(), job_id, catch_up, _HOST, __version__, PID_NS),
            )

    def skipped(self, run_id: str, trigger: str, at: str, reason: str, *, job_id: str | None = None,
                catch_up: int = 0, status: str = "skipped") -> None:
        """Record a run that did not happen (lock taken, fire time missed, job not startable), so none is lost."""
        with self._db() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, trigger, started_at, ended_at, status, error, pid, job_id, catch_up, "
                "duration, host, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (run_id, trigger, at, at, status, reason, os.getpid(), job_id, catch_up, _HOST, __version__),
            )

    def fail_latest_of(self, pid: int, ended_at: str, reason: str) -> str | None:
        """Mark the latest run of process *pid* as failed (it was stopped); return its run id (None: no such run)."""
        with self._db() as conn:
            row = conn.execute("SELECT run_id FROM runs WHERE pid = ? AND status IN ('running', 'stopped') "
                               "ORDER BY started_at DESC, run_id DESC LIMIT 1", (pid,)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE runs SET status = 'failed', ended_at = COALESCE(ended_at, ?), error = ? "
                         "WHERE run_id = ?", (ended_at, reason, row[0]))
            return row[0]

    def record(self, run_id: str, outcome: ReportOutcome) -> None:
        self.record_many(run_id, [outcome])

    def record_many(self, run_id: str, outcomes: list[ReportOutcome]) -> None:
        """Record outcomes in one transaction (one disk sync for a catalog's unchanged reports)."""
        rows = [(run_id, o.report_id, o.outcome, o.error, json.dumps(o.files, sort_keys=True)) for o in outcomes]
        with self._db() as conn:
            with conn:  # BEGIN ... COMMIT
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT OR REPLACE INTO outcomes (run_id, report_id, outcome, error, files) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )

    def finish(self, run_id: str, ended_at: str, status: str, error: str | None = None, *,
               duration: float | None = None) -> None:
        with self._db() as conn:
            conn.execute(
                "UPDATE runs SET ended_at = ?, status = ?, error = ?, duration = ? WHERE run_id = ?",
                (ended_at, status, error, None if duration is None else round(duration, 3), run_id),
            )

    def runs(self, report_id: str | None = None, limit: int = 20) -> list[Run]:
        """Return the latest runs, newest first; with *report_id*, only runs that touched it or its variants."""
        if not self.path.exists():
            return []
        matching, wanted = _matching(report_id) if report_id is not None else ("1", ())
        with self._db() as conn:
            if report_id is None:
                rows = conn.execute(
                    f"SELECT {_RUN_COLUMNS} FROM runs "
                    "ORDER BY started_at DESC, run_id DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT DISTINCT {_RUN_COLUMNS_R} FROM runs r "
                    f"JOIN outcomes o ON o.run_id = r.run_id WHERE {matching} "
                    "ORDER BY r.started_at DESC, r.run_id DESC LIMIT ?",
                    (*wanted, limit),
                ).fetchall()
            result = []
            for run_id, trigger, started, ended, status, error, job_id, catch_up, duration, host, version, pid, \
                    pid_ns in rows:
                if status == "running" and (why := process_gone(pid, host, pid_ns, self.path.parent)):
                    status, error = "interrupted", why  # as `exporter status` judges it; the next run records it
                outcomes = tuple(
                    ReportOutcome(rid, outcome, err, json.loads(files))
                    for rid, outcome, err, files in conn.execute(
                        f"SELECT report_id, outcome, error, files FROM outcomes WHERE run_id = ? AND {matching} "
                        "ORDER BY report_id", (run_id, *wanted))
                )
                result.append(Run(run_id, trigger, started, ended, status, error, job_id, catch_up, outcomes,
                                  duration, host, version))
            return result


_RUN_COLUMNS = ("run_id, trigger, started_at, ended_at, status, error, job_id, catch_up, duration, host, version, pid, "
                "pid_ns")
_RUN_COLUMNS_R = ", ".join(f"r.{c.strip()}" for c in _RUN_COLUMNS.split(","))
_HOST = socket.gethostname()


def _pid_namespace() -> str | None:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:  # not Linux
        return None


PID_NS = _pid_namespace()  # a pid means this process only within this namespace (a container has its own)


def _matching(report_id: str) -> tuple[str, tuple[str, ...]]:
    """The SQL condition (fixed text, bound values) on an outcome's set id for `SetId.covers`.

    A variant's set matches itself; a report's own set matches itself and its variants' sets.
    """
    set_id = SetId.parse(report_id)
    if set_id.is_variant:
        return "report_id = ?", (report_id,)
    # Ids are validated, so they hold no GLOB characters.
    return "(report_id = ? OR report_id GLOB ?)", (report_id, str(set_id.with_variant("*")))


def process_gone(pid: int | None, host: str | None, pid_ns: str | None, state: Path,
                 locks: Path = PROC_LOCKS) -> str | None:
    """Why a run the history has as running has ended without saying so; None while it may still run.

    The next run marks such a run interrupted; until then, a run killed outright (SIGKILL, the
    kernel out of memory) would look running. Told only for a run of this machine and this pid
    namespace (a container with the host's name still has its own pids, and the kernel's lock table
    hides its locks), and only when both its process is gone and nobody holds the run lock in
    *state* (the lock is dropped however a process dies).
    """
    if not pid or host != _HOST or pid_ns is None or pid_ns != PID_NS:
        return None
    try:
        os.kill(pid, 0)  # first: cheaper than reading the kernel's lock table, and a running build answers it
    except ProcessLookupError:
        pass
    except OSError:  # another user's process of that pid
        return None
    else:
        return None
    if held(state / LOCK_NAME, locks)[0] is not False:
        return None
    return (f"its process (pid {pid}) ended without finishing the run: killed (SIGKILL, out of memory) "
            "or crashed; the next run marks it interrupted")
