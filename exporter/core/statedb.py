"""The state folder's SQLite database (run history, delivery ledger): one file, opened on first use."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StateError

DB_NAME = "history.sqlite"


class StateDatabase:
    """A connection to the state folder's SQLite database, opened on first use, one per run."""

    schema = ""
    purpose = "state"

    def __init__(self, state_dir: Path):
        self.path = state_dir / DB_NAME
        self._conn: sqlite3.Connection | None = None

    def migrate(self, conn: sqlite3.Connection) -> None:
        """Bring a database made by an older exporter up to `schema` (which only creates what is missing)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """Yield the open database; turn any SQLite or file error into a `StateError`."""
        try:
            if self._conn is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                self._conn.executescript(self.schema)
                self.migrate(self._conn)
            yield self._conn
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StateError(f"{self.path}: cannot use the {self.purpose}: {exc}") from exc
