"""A throwaway PostgreSQL server on loopback, for the tests of SQL sources.

`running_server()` runs `initdb` into a fresh folder under /tmp and `pg_ctl start`s the server on a free TCP port
of 127.0.0.1 (no other address; its Unix socket stays inside the folder), with password (SCRAM) authentication on
TCP for a superuser that initdb creates, and fsync off. The `postgres` fixture in conftest.py is this, for the
session. On leaving, the server is stopped with `pg_ctl stop -m immediate` (the postmaster is killed if that fails)
and the folder removed, whatever happened in between.

PostgreSQL refuses to run as root. When the tests run as root (CI does, and so does this machine), initdb, pg_ctl and
the server run as `nobody` through `setpriv`, and the folder is theirs; that is why it is not under pytest's
tmp_path, which is root's alone (0700). Run as anyone else, they run as that user.

The binaries are Debian's (`/usr/lib/postgresql/<version>/bin`, the newest version; `bash .ci/run` installs them),
else those `pg_config --bindir` names, else the `initdb` on PATH.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections
UNPRIVILEGED = "nobody"
SUPERUSER = "postgres"

# Appended to postgresql.conf; the port is given on the command line, as it may change between attempts.
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 32MB
log_min_messages = warning
"""


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl and postgres; fail (not skip) when there is none."""
    candidates: list[Path] = []
    versions = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    candidates += sorted((p.parent for p in versions), key=lambda p: _version(p.parent.name), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    pytest.fail("the PostgreSQL server (initdb, pg_ctl) is not installed: run `bash .ci/run` (it installs the test tools)")


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A running server: where it listens, its superuser, and helpers to set up databases and roles.

    `url()` gives SQLAlchemy URLs (`postgresql+psycopg://`); `run_sql()` runs SQL as the superuser through psycopg,
    in autocommit mode (CREATE DATABASE cannot run in a transaction). Roles are cluster-wide: give each test's roles
    names of their own.
    """

    def __init__(self, bindir: Path, folder: Path, port: int, password: str, run_as: list[str]) -> None:
        self.bindir = bindir
        self.folder = folder
        self.data_dir = folder / "data"
        self.log_file = folder / "server.log"
        self.host = "127.0.0.1"
        self.port = port
        self.superuser = SUPERUSER
        self.password = password
        self._run_as = run_as
        self._passwords: dict[str, str] = {SUPERUSER: password}
        self._names = itertools.count(1)

    def __repr__(self) -> str:
        return f"<PostgresServer {self.host}:{self.port} in {self.folder}>"

    def url(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        """A SQLAlchemy URL for *database* as *user* (the superuser by default).

        Without *password*, the password of the superuser or of a role made by `create_user` is used.
        """
        from sqlalchemy import URL

        user = user or self.superuser
        if password is None:
            password = self._passwords.get(user)
        url = URL.create("postgresql+psycopg", username=user, password=password, host=self.host, port=self.port,
                         database=database)
        return url.render_as_string(hide_password=False)

    def connect(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> Any:
        """A psycopg connection in autocommit mode (close it, or use it in a `with` block)."""
        import psycopg

        user = user or self.superuser
        if password is None:
            password = self._passwords.get(user)
        return psycopg.connect(host=self.host, port=self.port, dbname=database, user=user, password=password,
                               autocommit=True, connect_timeout=10)

    def run_sql(self, database: str, sql: Any, params: Sequence[Any] | dict[str, Any] | None = None,
                ) -> list[tuple] | None:
        """Run *sql* on *database* as the superuser; return the rows of the (last) result, or None when it has none.

        *params* are bound server-side (`%s` or `%(name)s` placeholders). Without them, *sql* may hold several
        statements separated by semicolons.
        """
        with self.connect(database) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description is not None else None

    def create_database(self, name: str | None = None, owner: str | None = None) -> str:
        """Create a database (a fresh name when none is given) and return its name."""
        from psycopg import sql

        name = name or f"db{next(self._names)}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner:
            statement = sql.SQL("{} OWNER {}").format(statement, sql.Identifier(owner))
        self.run_sql("postgres", statement)
        return name

    def create_user(self, name: str, password: str) -> str:
        """Create a login role with *password* (stored as SCRAM) and no privileges; return its name."""
        from psycopg import sql

        self.run_sql("postgres", sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                                  sql.Literal(password)))
        self._passwords[name] = password
        return name

    def create_readonly_user(self, name: str, password: str, database: str, schema: str = "public") -> str:
        """Create a login role that may only read *schema* of *database*: SELECT on its tables, now and later.

        Later means tables the superuser creates afterwards (default privileges). The role gets no INSERT, UPDATE,
        DELETE or CREATE anywhere; since PostgreSQL 15 the public schema grants no CREATE to everyone.
        """
        from psycopg import sql

        self.create_user(name, password)
        role, schema_id = sql.Identifier(name), sql.Identifier(schema)
        self.run_sql("postgres", sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role))
        for statement in ("GRANT USAGE ON SCHEMA {schema} TO {role}",
                          "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
                          "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}"):
            self.run_sql(database, sql.SQL(statement).format(schema=schema_id, role=role))
        return name

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    # -- life cycle -------------------------------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        for name in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE", "PGOPTIONS"):
            env.pop(name, None)
        return subprocess.run([*self._run_as, *args], capture_output=True, text=True, cwd=self.folder, env=env,
                              timeout=timeout)

    def init(self) -> None:
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._own(pwfile)
        out = self._run(str(self.bindir / "initdb"), "-D", str(self.data_dir), f"--username={self.superuser}",
                        f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                        "--encoding=UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS.format(socket_dir=self.folder))

    def start(self, attempts: int = 3) -> None:
        """pg_ctl start on a free port; another port when a process took this one in between."""
        for attempt in range(attempts):
            out = self._run(str(self.bindir / "pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                            "-w", "-t", str(START_TIMEOUT), "-o", f"-p {self.port}", timeout=START_TIMEOUT + 30)
            if out.returncode == 0:
                return
            log = self.log()
            if "could not bind" in log and attempt + 1 < attempts:
                self.port = free_port()
                continue
            raise RuntimeError(f"pg_ctl start failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n{log}")

    def stop(self) -> None:
        """Stop the server at once (no checkpoint: the data is thrown away) and remove the folder."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                out = self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate",
                                "-w", "-t", "30", timeout=60)
                if out.returncode != 0:
                    self._kill_postmaster()
        except (OSError, subprocess.TimeoutExpired):
            self._kill_postmaster()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        # Its children notice the postmaster is gone and exit on their own.
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)

    def _own(self, path: Path) -> None:
        if self._run_as:
            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(path, user.pw_uid, user.pw_gid)


def _run_as() -> list[str]:
    """The command prefix that drops root to an unprivileged user; empty when not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("the tests run as root and PostgreSQL refuses root: setpriv (util-linux) is needed to run it as "
                    f"{UNPRIVILEGED}")
    user = pwd.getpwnam(UNPRIVILEGED)
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and remove its files on leaving, whatever happened."""
    try:
        import psycopg  # noqa: F401  (the helpers need it; say so before starting anything)
    except ImportError:
        pytest.fail("psycopg is not installed: run `bash .ci/run` (it installs the test extra, psycopg[binary])")
    bindir = find_bindir()
    run_as = _run_as()
    # Under /tmp, not the (possibly private) TMPDIR, when the server runs as another user who must reach it.
    folder = Path(tempfile.mkdtemp(prefix="exporter-pg-", dir="/tmp" if run_as else None))
    server = PostgresServer(bindir, folder, free_port(), secrets.token_urlsafe(18), run_as)
    try:
        server._own(folder)
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
