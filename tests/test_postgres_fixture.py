"""The throwaway PostgreSQL server of the tests (tests/postgres.py): reachable through SQLAlchemy, password-protected,
read-only roles really read-only, and gone after the session."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest
import sqlalchemy as sa
from postgres import running_server


@pytest.fixture
def engines():
    """SQLAlchemy engines a test makes, disposed after it (their pooled connections would outlive it)."""
    made: list[sa.Engine] = []

    def make(url: str) -> sa.Engine:
        engine = sa.create_engine(url)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def test_sqlalchemy_round_trip(postgres, engines):
    database = postgres.create_database("round_trip")
    engine = engines(postgres.url(database))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE deals (region text NOT NULL, amount numeric(12, 2) NOT NULL)"))
        conn.execute(sa.text("INSERT INTO deals VALUES (:region, :amount)"),
                     [{"region": "West", "amount": 1200.5}, {"region": "East", "amount": 800},
                      {"region": "West", "amount": 99.5}])
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT region, sum(amount) FROM deals WHERE region = :region GROUP BY region"),
                            {"region": "West"}).all()
    assert [tuple(row) for row in rows] == [("West", 1300)]
    assert engine.dialect.driver == "psycopg"
    # run_sql sees the same data, with server-side parameters.
    assert postgres.run_sql(database, "SELECT count(*) FROM deals WHERE amount > %s", [100]) == [(2,)]


def test_listens_on_loopback_only(postgres):
    settings = dict(postgres.run_sql("postgres", "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                                     [["listen_addresses", "port", "fsync", "password_encryption"]]))
    assert settings == {"listen_addresses": "127.0.0.1", "port": str(postgres.port), "fsync": "off",
                        "password_encryption": "scram-sha-256"}
    assert postgres.host == "127.0.0.1"


def test_wrong_password_is_refused(postgres, engines):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        postgres.connect(password="not-the-password")
    # Through SQLAlchemy, the same error is wrapped, with psycopg's as its cause.
    engine = engines(postgres.url("postgres", password="not-the-password"))
    with pytest.raises(sa.exc.OperationalError) as caught:
        engine.connect()
    assert isinstance(caught.value.orig, psycopg.OperationalError)
    # And a role made by the fixture needs its own password.
    postgres.create_user("wrong_pw_user", "right horse battery")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        postgres.connect(user="wrong_pw_user", password="right horse")
    with postgres.connect(user="wrong_pw_user") as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("wrong_pw_user",)


def test_read_only_role_reads_but_cannot_write(postgres, engines):
    database = postgres.create_database()
    postgres.run_sql(database, "CREATE TABLE before (id int); INSERT INTO before VALUES (1)")
    postgres.create_readonly_user("reader", "reader pw", database)
    postgres.run_sql(database, "CREATE TABLE after (id int); INSERT INTO after VALUES (2)")

    engine = engines(postgres.url(database, user="reader"))
    with engine.connect() as conn:
        # Tables made before and after the role are readable.
        assert conn.execute(sa.text("SELECT id FROM before")).scalar_one() == 1
        assert conn.execute(sa.text("SELECT id FROM after")).scalar_one() == 2
    for statement in ("INSERT INTO before VALUES (3)", "UPDATE after SET id = 4", "DELETE FROM before",
                      "CREATE TABLE mine (id int)"):
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as caught:
            conn.execute(sa.text(statement))
        assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege), statement
    assert postgres.run_sql(database, "SELECT id FROM before UNION ALL SELECT id FROM after ORDER BY 1") == [(1,), (2,)]


def test_server_is_stopped_and_removed_even_when_the_block_fails():
    with pytest.raises(RuntimeError, match="a test failed"), running_server() as server:
        pid = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
        folder, port = server.folder, server.port
        assert server.run_sql("postgres", "SELECT 1") == [(1,)]
        raise RuntimeError("a test failed")
    assert not folder.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the server still accepts connections"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    # The stopped postmaster may linger a moment as a zombie until its new parent (init) reaps it.
    with open(f"/proc/{pid}/stat") as stat:
        assert stat.read().rsplit(")", 1)[1].split()[0] == "Z", "the postmaster is still running"
