"""Tables from SQL queries: real SQLite files and a real PostgreSQL server (started by the tests).

The example's deals (examples/sales-pipeline) are put in a database and the sales-pipeline report
is pointed at it: the deliverables must be the very bytes the CSV gives. Then what goes wrong:
hostile parameter values, writes, unreachable servers, wrong passwords, timeouts, wrong types,
too many rows, each failing its report alone with a clear message that never shows a secret.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
REPORT = "sales-pipeline"
DEALS_CSV = EXAMPLE / "reports" / f"{REPORT}.deals.csv"
SELECT = ('SELECT account, owner, region, stage, amount, probability, close_date AS "Close date" FROM deals '
          "ORDER BY n")
HOSTILE = "'; DROP TABLE deals; --"
SECRET = "s3cret-Pa55word"


def exporter(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exporter", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "SOURCE_DATE_EPOCH": "1790000000", **(env or {})})


def deals() -> list[dict]:
    with DEALS_CSV.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def with_query(tmp_path: Path, url: str, sql: str = SELECT, *, extra: str = "", name: str = "data") -> Path:
    """A copy of the example whose sales-pipeline deals come from *sql* on the database at *url*."""
    data = tmp_path / name
    shutil.copytree(EXAMPLE, data)
    (data / "reports" / f"{REPORT}.deals.csv").unlink()
    # The example's own `crm` (crm-accounts reads it) stays; the test's database is `pipeline`.
    (data / "databases.yaml").write_text(f"databases:\n  crm: {{url: 'sqlite:///crm.sqlite'}}\n"
                                         f"  pipeline: {{url: {json.dumps(url)}{extra}}}\n", encoding="utf-8")
    report = data / "reports" / f"{REPORT}.yaml"
    text = report.read_text(encoding="utf-8")
    source = f"    source:\n      database: pipeline\n      sql: {json.dumps(sql, ensure_ascii=False)}\n"
    report.write_text(text.replace("    title: Open deals\n", "    title: Open deals\n" + source, 1), encoding="utf-8")
    return data


def sqlite_deals(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE deals (n INTEGER, account TEXT, owner TEXT, region TEXT, stage TEXT, amount REAL, "
                   "probability REAL, close_date TEXT)")
        db.executemany("INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(n, d["Account"], d["Owner"], d["Region"], d["Stage"], float(d["Amount"]),
                         float(d["Probability"]), d["Close date"]) for n, d in enumerate(deals())])
    return path


def postgres_deals(postgres, database: str) -> None:
    postgres.run_sql(database, "CREATE TABLE deals (n integer, account text, owner text, region text, stage text, "
                               "amount numeric(12, 2), probability double precision, close_date date)")
    for n, d in enumerate(deals()):
        postgres.run_sql(database, "INSERT INTO deals VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                         [n, d["Account"], d["Owner"], d["Region"], d["Stage"], d["Amount"], float(d["Probability"]),
                          dt.date.fromisoformat(d["Close date"])])


def digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.*")) if p.suffix in (".docx", ".xlsx", ".pdf")}


@pytest.fixture(scope="module")
def from_csv(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("csv")
    result = exporter("build", "--data-dir", str(EXAMPLE), "--output-dir", str(out), REPORT)
    assert result.returncode == 0, result.stderr
    return digests(out)


def test_sqlite_and_postgresql_give_the_very_files_the_csv_gives(tmp_path, from_csv, postgres):
    lite = with_query(tmp_path, f"sqlite:///{sqlite_deals(tmp_path / 'crm.sqlite')}", name="lite")
    database = postgres.create_database("crm_same")
    postgres_deals(postgres, database)
    postgres.create_readonly_user("reporter_same", SECRET, database)
    pg = with_query(tmp_path, "${CRM_URL}", name="pg")
    url = postgres.url(database, user="reporter_same")
    for data, env in ((lite, {}), (pg, {"CRM_URL": url})):
        out = tmp_path / f"out-{data.name}"
        result = exporter("build", "--data-dir", str(data), "--output-dir", str(out), REPORT, env=env)
        assert result.returncode == 0, result.stderr
        assert digests(out) == from_csv, data.name  # both editions, all three formats, byte for byte
        again = exporter("build", "--data-dir", str(data), "--output-dir", str(out), REPORT, env=env)
        assert again.stdout.splitlines()[-1].startswith("summary: 0 built, 2 unchanged"), again.stdout
    # A changed row in the database rebuilds the report; the secret URL is nowhere.
    postgres.run_sql(database, "UPDATE deals SET amount = amount + 1000 WHERE n = 0")
    out = tmp_path / "out-pg"
    changed = exporter("build", "--data-dir", str(pg), "--output-dir", str(out), REPORT, env={"CRM_URL": url})
    assert changed.stdout.startswith(f"{REPORT}: built"), changed.stdout
    book = openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True)
    rows = list(book["Open deals"].iter_rows(min_row=2, max_row=2, values_only=True))
    assert rows[0][4] == float(deals()[0]["Amount"]) + 1000
    history = exporter("history", "--json", "--output-dir", str(out)).stdout
    for text in (changed.stdout + changed.stderr, history):
        assert SECRET not in text and url not in text


def test_the_example_reads_its_crm_with_parameters_and_a_variants_filter(tmp_path):
    out = tmp_path / "out"
    result = exporter("build", "--data-dir", str(EXAMPLE), "--output-dir", str(out), "crm-accounts")
    assert result.returncode == 0, result.stderr
    as_of = dt.date(2026, 11, 27)
    horizon = dt.date(2027, 5, 27)  # SQLite's date(:as_of, '+6 months')
    wanted = [d for d in deals() if float(d["Amount"]) >= 50000 and dt.date.fromisoformat(d["Close date"]) <= horizon]
    assert as_of < horizon and 0 < len([d for d in wanted if d["Region"] == "DACH"]) < len(wanted)
    for set_id, rows in (("crm-accounts", wanted), ("crm-accounts.dach", [d for d in wanted if d["Region"] == "DACH"])):
        book = openpyxl.load_workbook(out / set_id / f"{set_id}.xlsx", read_only=True)
        sheet = book["Deals closing soon"]
        got = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
        expected = [d["Account"] for d in sorted(rows, key=lambda d: (d["Close date"], d["Account"]))]
        assert got == expected, set_id
        facts = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
        assert facts["Deals"] == len(rows) and facts["Amount"] == sum(float(d["Amount"]) for d in rows)
        word = docx.Document(out / set_id / f"{set_id}.docx")
        table = next(t for t in word.tables if t.rows[0].cells[0].text == "Account")
        assert [row.cells[0].text for row in table.rows[1:]] == expected
    # The DACH edition ran its own query (:region bound to "DACH"); the report's own edition bound NULL.
    snapshots = out / ".exporter" / "tables"
    assert sorted(p.name for p in snapshots.iterdir()) == ["crm-accounts", "crm-accounts.dach"]


def test_a_hostile_parameter_is_data_and_the_table_stays(tmp_path, postgres):
    sql = ('SELECT account, owner, :note AS region, stage, amount, probability, close_date AS "Close date" '
           "FROM deals WHERE region <> :note ORDER BY n")
    lite_file = sqlite_deals(tmp_path / "crm.sqlite")
    database = postgres.create_database("crm_hostile")
    postgres_deals(postgres, database)
    for url, name in ((f"sqlite:///{lite_file}", "lite"), (postgres.url(database), "pg")):
        data = with_query(tmp_path, url, sql, name=name)
        report = data / "reports" / f"{REPORT}.yaml"
        text = report.read_text(encoding="utf-8")
        report.write_text(text.replace("    source:\n", f"    params: {{note: {json.dumps(HOSTILE)}}}\n    source:\n", 1),
                          encoding="utf-8")
        out = tmp_path / f"out-{name}"
        result = exporter("build", "-f", "xlsx", "--data-dir", str(data), "--output-dir", str(out), REPORT)
        assert result.returncode == 0, result.stderr
        book = openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True)
        regions = {r[2] for r in book["Open deals"].iter_rows(min_row=2, values_only=True)}
        assert regions == {HOSTILE}  # shown as data, in every row
    with sqlite3.connect(lite_file) as db:
        assert db.execute("SELECT count(*) FROM deals").fetchone()[0] == len(deals())
    assert postgres.run_sql(database, "SELECT count(*) FROM deals")[0][0] == len(deals())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_query_that_writes_is_refused_and_changes_nothing(tmp_path, postgres, backend):
    lite_file = sqlite_deals(tmp_path / "crm.sqlite")
    if backend == "sqlite":
        url, sql = f"sqlite:///{lite_file}", "DELETE FROM deals RETURNING account, owner, region, stage, amount, " \
                                             'probability, close_date AS "Close date"'
    else:
        database = postgres.create_database("crm_write")
        postgres_deals(postgres, database)
        postgres.run_sql(database, "CREATE SEQUENCE counter")
        url = postgres.url(database)  # the superuser: the read-only transaction is what stops it
        # A plain SELECT that writes (a sequence): a server-side cursor would refuse DELETE itself.
        sql = ('SELECT account, owner, region, stage, amount + nextval(\'counter\') AS amount, probability, '
               'close_date AS "Close date" FROM deals')
    data = with_query(tmp_path, url, sql)
    result = exporter("build", "--data-dir", str(data), "--output-dir", str(tmp_path / "out"), REPORT)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{REPORT}: invalid" in result.stdout.splitlines()
    line = next(line for line in result.stderr.splitlines() if "tables[0].source.sql" in line)
    assert "refused the query" in line and ("readonly" in line or "read-only" in line), line
    if backend == "sqlite":
        with sqlite3.connect(lite_file) as db:
            assert db.execute("SELECT count(*) FROM deals").fetchone()[0] == len(deals())
    else:
        assert postgres.run_sql(database, "SELECT count(*) FROM deals")[0][0] == len(deals())
        assert postgres.run_sql(database, "SELECT last_value, is_called FROM counter")[0] == (1, False)


def build_both(tmp_path: Path, data: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Build the copy (with the query report and the CSV-free crm-accounts left as they are) and return the run."""
    return exporter("build", "-f", "pdf", "--data-dir", str(data), "--output-dir", str(tmp_path / "out"), env=env)


def test_an_unreachable_server_fails_that_report_alone(tmp_path, postgres):
    port = postgres.port + 1 if postgres.port < 65000 else postgres.port - 1
    data = with_query(tmp_path, f"postgresql+psycopg://someone:{SECRET}@127.0.0.1:{port}/crm")
    result = build_both(tmp_path, data)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{REPORT}: failed" in lines and any(line.startswith("crm-accounts: built") for line in lines)
    error = next(line for line in result.stderr.splitlines() if REPORT in line)
    assert "table 'deals': cannot reach database 'pipeline' (127.0.0.1): " in error
    assert "refused" in error.lower() or "connect" in error.lower(), error
    assert SECRET not in result.stdout + result.stderr
    history = exporter("history", "--json", "--output-dir", str(tmp_path / "out")).stdout
    assert SECRET not in history and "cannot reach database 'pipeline'" in history


def test_a_wrong_password_is_a_clear_failure_that_keeps_the_password_secret(tmp_path, postgres):
    database = postgres.create_database("crm_password")
    postgres.create_user("reporter_pw", "the-right-one")
    data = with_query(tmp_path, postgres.url(database, user="reporter_pw", password=SECRET))
    result = build_both(tmp_path, data)
    assert result.returncode == 1
    error = next(line for line in result.stderr.splitlines() if REPORT in line)
    assert "cannot reach database 'pipeline' (127.0.0.1)" in error and "password authentication failed" in error
    assert SECRET not in result.stdout + result.stderr
    assert SECRET not in exporter("history", "--json", "--output-dir", str(tmp_path / "out")).stdout


def test_an_unset_environment_variable_is_named(tmp_path):
    data = with_query(tmp_path, "${CRM_URL_NOT_SET}")
    result = build_both(tmp_path, data)
    assert result.returncode == 1
    assert "the environment variable CRM_URL_NOT_SET is not set" in result.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_query_past_its_timeout_is_stopped(tmp_path, postgres, backend):
    if backend == "sqlite":
        url = f"sqlite:///{sqlite_deals(tmp_path / 'crm.sqlite')}"
        slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
                "SELECT 'a', 'b', 'c', 'd', count(*), 0.5, '2026-01-01' FROM c")
    else:
        database = postgres.create_database("crm_timeout")
        url = postgres.url(database)
        slow = "SELECT 'a', 'b', 'c', 'd', 1, 0.5, DATE '2026-01-01' FROM pg_sleep(30)"
    sql = (f'SELECT * FROM ({slow}) AS t(account, owner, region, stage, amount, probability, "Close date")'
           if backend == "postgresql" else
           slow.replace("SELECT 'a'", "SELECT 'a' AS account").replace("'b',", "'b' AS owner,").replace(
               "'c',", "'c' AS region,").replace("'d',", "'d' AS stage,").replace("count(*),", "count(*) AS amount,")
           .replace("0.5,", "0.5 AS probability,").replace("'2026-01-01' FROM", "'2026-01-01' AS \"Close date\" FROM"))
    data = with_query(tmp_path, url, sql, extra=", timeout: 1s")
    result = build_both(tmp_path, data)
    assert result.returncode == 1, result.stdout
    error = next(line for line in result.stderr.splitlines() if REPORT in line)
    assert "the query ran longer than 1 s (timeout of 'pipeline' in databases.yaml)" in error, error


def test_a_value_of_the_wrong_type_is_located(tmp_path):
    lite_file = sqlite_deals(tmp_path / "crm.sqlite")
    with sqlite3.connect(lite_file) as db:
        db.execute("UPDATE deals SET amount = 'call me' WHERE n = 3")
    data = with_query(tmp_path, f"sqlite:///{lite_file}")
    result = build_both(tmp_path, data)
    assert result.returncode == 1
    report = data / "reports" / f"{REPORT}.yaml"
    assert (f"Error: {report}:14: tables[0].columns.Amount: row 4 of the query: column 'Amount': 'call me' (str) "
            "is not a number") in result.stderr.splitlines(), result.stderr
    assert f"{REPORT}: invalid" in result.stdout.splitlines()


def test_columns_that_differ_from_the_declaration_are_located(tmp_path):
    data = with_query(tmp_path, f"sqlite:///{sqlite_deals(tmp_path / 'crm.sqlite')}",
                      "SELECT account, owner, region, stage, amount FROM deals")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert ("tables[0].source: the query's columns are 'account', 'owner', 'region', 'stage', 'amount'; the table "
            "declares 'Account', 'Owner', 'Region', 'Stage', 'Amount', 'Probability', 'Close date'") in result.stderr


@pytest.mark.slow
def test_too_many_rows_are_refused(tmp_path):
    many = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x <= 1000000) "
            "SELECT 'a' AS account, 'b' AS owner, 'c' AS region, 'd' AS stage, x AS amount, 0.5 AS probability, "
            "'2026-01-01' AS \"Close date\" FROM c")
    data = with_query(tmp_path, f"sqlite:///{sqlite_deals(tmp_path / 'crm.sqlite')}", many)
    result = build_both(tmp_path, data)
    assert result.returncode == 1
    assert "tables[0].source: the query returned more than 1,000,000 rows, the limit of a table" in result.stderr


def test_validate_locates_unknown_databases_and_parameters(tmp_path):
    data = with_query(tmp_path, f"sqlite:///{sqlite_deals(tmp_path / 'crm.sqlite')}",
                      SELECT.replace("FROM deals", "FROM deals WHERE region = :regio"))
    report = data / "reports" / f"{REPORT}.yaml"
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert (f"Error: {report}:14: tables[0].source.sql: the query uses :regio, which nothing gives "
            "(given: as_of, region)") in result.stderr.splitlines(), result.stderr
    report.write_text(report.read_text(encoding="utf-8").replace("database: pipeline", "database: warehouse"),
                      encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert (f"Error: {report}:14: tables[0].source.database: no database 'warehouse' in databases.yaml "
            "(databases: crm, pipeline)") in result.stderr.splitlines(), result.stderr
    (data / "databases.yaml").write_text("databases:\n  pipeline: {url: 'not a url', timeout: soon}\n",
                                         encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert f"{data / 'databases.yaml'}:2: databases.pipeline.timeout: 'soon' is not a duration" in result.stderr
    assert f"{data / 'databases.yaml'}:2: databases.pipeline.url: is not a database URL" in result.stderr


def test_params_may_not_hide_the_date_or_a_filter(tmp_path):
    data = with_query(tmp_path, f"sqlite:///{sqlite_deals(tmp_path / 'crm.sqlite')}",
                      SELECT.replace("FROM deals", "FROM deals WHERE (:region IS NULL OR region = :region)"))
    report = data / "reports" / f"{REPORT}.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("    source:\n", "    params: {region: EMEA}\n"
                                                                 "    source:\n", 1), encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert ("tables[0].params: params.region would hide the filter on 'Region', which is bound as :region; "
            "choose another name") in result.stderr
    report.write_text(report.read_text(encoding="utf-8").replace("params: {region: EMEA}", "params: {as_of: 2020-01-01}"),
                      encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert ("tables[0].params: params.as_of would hide the as-of date, which is bound as :as_of; choose another name"
            in result.stderr), result.stderr


def test_two_filter_columns_bound_as_one_name_are_refused(tmp_path):
    from types import SimpleNamespace

    from exporter.source.queries import Located, param_problems

    spec = SimpleNamespace(id="deals", source=SimpleNamespace(sql="SELECT :region"), params={})  # what it reads
    where = Located(tmp_path / "r.yaml", 3, 0, spec)
    problems = param_problems(where, spec, {}, ["Region", "region"])
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'r.yaml'}:3: tables[0].source: two variant filter columns are both bound as :region; rename one"]


@pytest.mark.parametrize("text, may", [
    (b"source: https://example.com/report\n# the source says\ntitle: x\n", False),  # a market report's citation
    (b"tables:\n  - id: deals\n    source: {database: crm, sql: SELECT 1}\n", True),
    (b"tables:\n- source:\n    database: crm\n", True),
    (b"{tables: [{id: a, source: {database: crm, sql: x}}]}\n", True),
    (b"tables:\r\n  - id: a\r\n    source: {database: crm, sql: x}\r\n", True),
    (b"tables: [{id: a,\nsource: {database: crm, sql: x}}]\n", True),  # a flow mapping's entry at column 0
    (b"tables:\n- id: a\n  \"sour\\x63e\": {database: crm, sql: x}\n", True),  # the key spelled with an escape
    (b"keywords: [pumps, devices]\nsource: https://example.com/report  # the citation\n", False),
])
def test_only_a_report_that_may_declare_a_query_is_parsed_again(text, may):
    from exporter.runs.catalog import _may_query

    assert _may_query(text) is may


def test_snapshots_go_when_nothing_builds_from_them(tmp_path):
    # A snapshot holds a CRM's rows: kept only while a report queries them.
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    out = tmp_path / "out"
    snapshots = out / ".exporter" / "tables"
    report = data / "reports" / "crm-accounts.yaml"

    def build() -> list[str]:
        result = exporter("build", "--data-dir", str(data), "--output-dir", str(out), "-f", "txt")
        assert result.returncode == 0, result.stderr
        return sorted(p.name for p in snapshots.iterdir())

    assert build() == ["crm-accounts", "crm-accounts.dach"]
    (snapshots / "notes_kept").mkdir()  # not a set's folder: left alone
    (snapshots / "notes.txt").write_text("a file, though named like a set")  # not a folder: left alone
    # A table the report no longer queries (as a snapshot of an earlier version would lie there): its rows go.
    (snapshots / "crm-accounts" / "crm-accounts.old-deals.csv").write_text("Account\nGone GmbH\n")
    # The DACH edition becomes a Nordics one: the DACH rows go.
    report.write_text(report.read_text(encoding="utf-8").replace("id: dach", "id: nordics")
                      .replace("{Region: DACH}", "{Region: Nordics}"), encoding="utf-8")
    assert build() == ["crm-accounts", "crm-accounts.nordics", "notes.txt", "notes_kept"]
    assert sorted(p.name for p in (snapshots / "crm-accounts").iterdir()) == ["crm-accounts.deals.csv"]
    # The query goes (the table reads a CSV instead): so do the rows of both editions.
    shutil.copy(DEALS_CSV, data / "reports" / "crm-accounts.deals.csv")
    text = report.read_text(encoding="utf-8")
    start, end = text.index("    source:\n"), text.index("    columns:\n")
    text = text[:start] + text[end:]
    text = text.replace("      - {name: Close date, type: date}",
                        "      - {name: Probability, type: number}\n      - {name: Close date, type: date}")
    report.write_text(text, encoding="utf-8")
    assert build() == ["notes.txt", "notes_kept"]
    # A report gone from the catalog takes its rows along (built again first, from its query).
    shutil.copy(EXAMPLE / "reports" / "crm-accounts.yaml", report)
    (data / "reports" / "crm-accounts.deals.csv").unlink()
    assert build() == ["crm-accounts", "crm-accounts.dach", "notes.txt", "notes_kept"]
    report.unlink()
    assert build() == ["notes.txt", "notes_kept"]


def test_a_report_file_gone_before_its_queries_ran_is_its_own_problem(tmp_path):
    """A data file that cannot be read (removed, unreadable) is that report's invalid data, not the build's crash."""
    from exporter.core.errors import DataError
    from exporter.runs.catalog import ReportSource, run_queries

    with pytest.raises(DataError) as raised:
        run_queries(ReportSource.at(tmp_path / "gone.yaml"), dict, tmp_path / "snapshots", {})
    assert "gone.yaml" in str(raised.value) and "cannot read file: No such file or directory" in str(raised.value)
