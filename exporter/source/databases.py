"""Databases that query tables read from: `DATA/databases.yaml`, by name, with SQLAlchemy URLs.

    databases:
      crm: {url: "sqlite:///crm.sqlite"}                 # relative to the data folder
      warehouse: {url: "${WAREHOUSE_URL}", timeout: 2m}   # the whole URL from the environment

A URL may take any part from the environment as `${NAME}` (a password, or the whole URL), read
when the database is opened, so secrets stay out of the data folder. Messages name a database by
its name and host only: a URL, which may hold a password, never reaches a log, the history or an
error. Access is read-only: a SQLite file is opened read-only; PostgreSQL runs every query in a
read-only transaction with a statement timeout. Other dialects work when their driver is
installed, without those guards (give them a read-only user).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field, StrictStr

from ..core.errors import BuildError, DataError, Problem
from ..core.model import Id, Line, _Strict
from .reader import read_yaml
from .validate import parse_model

DEFAULT_TIMEOUT = 60  # seconds a query may run
CONNECT_TIMEOUT = 10  # seconds to reach a server
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"^([1-9][0-9]*)([smh])$")


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration: give a number and a unit (s, m or h), e.g. 30s")
    return value


class DatabaseSpec(_Strict):
    url: Annotated[Line, Field(description=(
        "A SQLAlchemy URL; ${NAME} parts come from the environment. sqlite:///FILE is relative to the data folder."))]
    timeout: Annotated[StrictStr | None, Field(description="How long a query may run: 30s, 2m (default 60s).")] = None

    def timeout_seconds(self) -> int:
        if self.timeout is None:
            return DEFAULT_TIMEOUT
        match = _DURATION.match(_duration(self.timeout))
        assert match is not None
        return int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]


class DatabasesFile(_Strict):
    databases: dict[Id, DatabaseSpec]


@dataclass(frozen=True)
class Database:
    """One database as declared: its name, URL (with ${NAME} references unresolved) and timeout."""

    name: str
    url: str
    timeout: int
    data_dir: Path
    where: str  # FILE:LINE of its declaration, for messages

    def describe(self) -> str:
        """How messages name it: the name and the host or file, never the URL."""
        try:
            parsed = _parse(self.resolved_url(os.environ))
        except BuildError:
            return f"database {self.name!r}"
        place = parsed.host or (Path(parsed.database).name if parsed.database else "")
        return f"database {self.name!r} ({place})" if place else f"database {self.name!r}"

    def resolved_url(self, env: Mapping[str, str]) -> str:
        def value(match: re.Match) -> str:
            name = match[1]
            if name not in env:
                raise BuildError(f"database {self.name!r} ({self.where}): the environment variable {name} is not set")
            return env[name]

        return _ENV_REFERENCE.sub(value, self.url)


def load_databases(path: Path, data_dir: Path) -> dict[str, Database]:
    """Read and check DATA/databases.yaml; raise `DataError` listing every problem. No file: no databases."""
    if not path.exists():
        return {}
    doc = read_yaml(path)
    spec = parse_model(doc, DatabasesFile)
    problems: list[Problem] = []
    for name, database in spec.databases.items():
        where = ("databases", name)
        if database.timeout is not None:
            try:
                _duration(database.timeout)
            except ValueError as exc:
                problems.append(Problem(path, doc.line_of((*where, "timeout")), f"databases.{name}.timeout", str(exc)))
        if not _ENV_REFERENCE.search(database.url):  # a URL with references is checked when it is used
            try:
                _parse(database.url)
            except BuildError as exc:
                problems.append(Problem(path, doc.line_of((*where, "url")), f"databases.{name}.url", str(exc)))
    if problems:
        raise DataError(problems)
    return {name: Database(name, d.url, d.timeout_seconds(), data_dir, f"{path}:{doc.line_of(('databases', name))}")
            for name, d in spec.databases.items()}


def _parse(url: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        # The text is not repeated: it may hold a password.
        raise BuildError("is not a database URL (dialect+driver://user:password@host:port/database, "
                         "or sqlite:///file.sqlite)") from None


def engine_for(database: Database, env: Mapping[str, str]):
    """A SQLAlchemy engine for *database*: read-only where the dialect allows, with its timeout.

    Raise `BuildError` (naming the database, never its URL) when the URL is unusable or its driver
    is not installed.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    resolved = database.resolved_url(env)  # an unset variable: its error names the database already
    try:
        url = _parse(resolved)
    except BuildError as exc:
        origin = ", as its environment references give it" if _ENV_REFERENCE.search(database.url) else ""
        raise BuildError(f"{database.describe()}: the URL{origin} {exc}") from None
    backend = url.get_backend_name()
    connect_args: dict = {}
    if backend == "sqlite":
        file = url.database or ""
        if not file or file == ":memory:":
            raise BuildError(f"{database.describe()}: give a SQLite file (sqlite:///crm.sqlite)")
        path = Path(file) if Path(file).is_absolute() else database.data_dir / file
        if not path.is_file():
            raise BuildError(f"{database.describe()}: no such SQLite file: {path}")
        # Read-only at the file: a query cannot change it, and no journal is written beside it.
        url = url.set(database=f"file:{path.resolve().as_posix()}?mode=ro", query={"uri": "true"})
    elif backend == "postgresql":
        timeout_ms = database.timeout * 1000
        connect_args = {"connect_timeout": CONNECT_TIMEOUT,
                        "options": f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}"}
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except ImportError as exc:
        raise BuildError(f"{database.describe()}: the driver for {url.drivername} is not installed ({exc.name}): "
                         "pip install it beside exporter (PostgreSQL: pip install 'exporter[postgres]')") from None
    except Exception as exc:  # noqa: BLE001 -- SQLAlchemy raises several kinds for a bad URL; its text may hold it
        raise BuildError(f"{database.describe()}: cannot use its URL ({type(exc).__name__})") from None
    if backend == "sqlite":
        _sqlite_deadline(engine, database.timeout)
    return engine


def _sqlite_deadline(engine, seconds: int) -> None:
    """Interrupt a SQLite query that runs longer than *seconds* (SQLite has no statement timeout)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record) -> None:
        deadline = time.monotonic() + seconds
        dbapi_connection.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
