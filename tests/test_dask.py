"""Distributed builds: rendering on a real dask.distributed cluster on loopback, publishing at home."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_tables import TABLE_YAML, rows, write_csv

from exporter import __version__
from exporter.core.errors import BuildError
from exporter.runs.executors import check_workers, run_dask

from conftest import DATA_DIR, exporter, free_port, need

SOURCE = DATA_DIR / "reports" / "us-intrathecal-pump-market.yaml"
TITLE = "title: United States Intrathecal Pump Market"
EPOCH = "1767225600"  # 2026-01-01


def digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.*")) if p.suffix in (".docx", ".xlsx", ".pdf")}


def _stop(process: subprocess.Popen) -> None:
    """End a process started in its own session, with everything it started (worker processes)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> str:
    """A Dask scheduler and two single-threaded worker processes on loopback; yield its address.

    The workers run in a folder of their own, without SOURCE_DATE_EPOCH and with no data: all they
    get is the pickled, validated report.
    """
    home = tmp_path_factory.mktemp("dask")
    scheduler_file = home / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    started = []
    try:
        with open(home / "scheduler.log", "w") as log:
            started.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(scheduler_file)],
                cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert started[0].poll() is None, (home / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the Dask scheduler did not start within 60 s"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        # Root workers give up reading files whatever their modes, like workers running as a service
        # user: a file only the coordinator may read is a file the workers cannot see.
        limited = ([need("setpriv"), "--bounding-set", "-dac_override,-dac_read_search", "--"]
                   if os.geteuid() == 0 else [])
        with open(home / "worker.log", "w") as log:
            started.append(subprocess.Popen(
                [*limited, sys.executable, "-m", "dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0", "--death-timeout", "60"],
                cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            _stop(process)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """The shipped data folder and three more reports with their own ids and titles; dask-0 has a data table."""
    data = tmp_path_factory.mktemp("catalog") / "data"
    shutil.copytree(DATA_DIR, data)
    text = SOURCE.read_text(encoding="utf-8")
    for n in range(3):
        variant = text.replace(TITLE, f"title: Dask Market {n}").replace("amount: 5.8", f"amount: {5.8 + n}")
        (data / "reports" / f"dask-{n}.yaml").write_text(variant + (TABLE_YAML if n == 0 else ""), encoding="utf-8")
    write_csv(data / "reports" / "dask-0.shipments.csv", rows(300))
    return data


IDS = ["dask-0", "dask-1", "dask-2", "us-intrathecal-pump-market"]


@pytest.fixture(scope="module")
def builds(cluster, catalog, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """The catalog built locally into local/ and on the cluster into dask/, both with SOURCE_DATE_EPOCH set."""
    home = tmp_path_factory.mktemp("builds")
    # Relative data and output folders, and workers running elsewhere: they must be sent absolute paths.
    shutil.copytree(catalog, home / "data")
    epoch = {"SOURCE_DATE_EPOCH": EPOCH}
    local = exporter("build", "-j", "1", "--output-dir", "local", cwd=home, env=epoch)
    assert local.returncode == 0, local.stderr
    dask = exporter("build", "--executor", "dask", "--scheduler-address", cluster, "--output-dir", "dask",
                    cwd=home, env=epoch)
    return home, local, dask


def without_pdf_id(pdf: bytes) -> bytes:
    return re.sub(rb"/ID \n\[<[0-9a-f]{32}><[0-9a-f]{32}>\]", b"/ID", pdf)


@pytest.mark.slow
def test_a_dask_build_equals_a_local_build_and_is_recorded(builds, tmp_path):
    home, local, dask = builds
    assert dask.returncode == 0, dask.stderr
    # The same validation warnings, and nothing from Dask.
    assert dask.stderr == local.stderr
    lines = dask.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == IDS
    assert lines[-1].startswith(f"summary: {len(IDS)} built, 0 unchanged, 0 failed in ")
    expected = digests(home / "local")
    assert len(expected) == 3 * len(IDS)
    office = {name: digest for name, digest in digests(home / "dask").items() if not name.endswith(".pdf")}
    assert office == {name: digest for name, digest in expected.items() if not name.endswith(".pdf")}
    for report_id in IDS:
        built = (home / "dask" / report_id / f"{report_id}.pdf").read_bytes()
        assert without_pdf_id(built) == without_pdf_id((home / "local" / report_id / f"{report_id}.pdf").read_bytes())

    history = json.loads(exporter("history", "--json", "--output-dir", "dask", cwd=home).stdout)
    assert history[0]["status"] == "ok"
    assert sorted(r["report_id"] for r in history[0]["reports"]) == IDS
    assert {r["outcome"] for r in history[0]["reports"]} == {"built"}
    assert all(f"Dask Market {n}" in (home / "dask" / "index.html").read_text() for n in range(3))

    # Nothing changed: the rebuild skips every report, and so needs no cluster at all.
    again = exporter("build", "--executor", "dask", "--scheduler-address", "tcp://127.0.0.1:9", "--output-dir", "dask",
                     cwd=home, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith(f"summary: 0 built, {len(IDS)} unchanged, 0 failed in ")


@pytest.mark.slow
def test_dask_pdfs_are_byte_identical_to_local_ones(builds):
    home, _, _ = builds
    assert digests(home / "dask") == digests(home / "local")


@pytest.mark.slow
def test_a_report_failing_on_the_cluster_fails_alone(cluster, catalog, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(catalog, data)
    # Valid data the workers cannot read: the coordinator checks the table, the worker streaming
    # it into the workbook is refused (a data folder not shared with the workers fails the same way).
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the workers with fewer rights than the coordinator")
    table = data / "reports" / "dask-0.shipments.csv"
    table.chmod(0o000)
    out = tmp_path / "out"
    done = exporter("build", "--executor", "dask", "--scheduler-address", cluster, "--data-dir", str(data),
                    "--output-dir", str(out))
    assert done.returncode == 1, done.stderr
    assert "dask-0: failed" in done.stdout.splitlines()
    assert f"Error: {data / 'reports' / 'dask-0.yaml'}: xlsx: rendering failed: {table}: cannot read the table again: " \
        in done.stderr, done.stderr
    assert "Permission denied" in done.stderr and "Traceback" not in done.stderr
    others = [i for i in IDS if i != "dask-0"]
    assert done.stdout.splitlines()[-1].startswith(f"summary: {len(others)} built, 0 unchanged, 1 failed in ")
    assert len(digests(out)) == 3 * len(others) and not (out / "dask-0").exists()
    history = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)
    outcomes = {r["report_id"]: r["outcome"] for r in history[0]["reports"]}
    assert outcomes == {**{i: "built" for i in others}, "dask-0": "failed"}


@pytest.mark.slow
def test_a_stop_cancels_the_tasks_on_the_cluster(cluster):
    from distributed import Client

    def slow(n):  # defined here so it is pickled by value: the workers cannot import this module
        import time

        time.sleep(0.3)
        return n * n

    seen = []
    results = []
    for item, result in run_dask(slow, range(30), lambda: bool(seen), cluster, timeout=10):
        results.append((item, result))
        if result is not None:
            seen.append(item)
    # Items never pulled are not yielded (the pipeline reports them as stopped without loading them).
    assert sorted(item for item, _ in results) == list(range(len(results))) and len(results) < 30
    done = [(item, result) for item, result in results if result is not None]
    assert done and all(result == item * item for item, result in done)
    assert len(done) < 10  # two worker threads, a window of six: most were never sent or were cancelled
    with Client(cluster, timeout=10, set_as_default=False) as client:
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            assert time.monotonic() < deadline, "cancelled tasks are still on the scheduler"
            time.sleep(0.1)


@pytest.mark.slow
def test_an_unreachable_scheduler_builds_and_publishes_nothing(catalog, tmp_path):
    out = tmp_path / "out"
    before = exporter("build", "us-intrathecal-pump-market", "-j", "1", "--data-dir", str(catalog),
                      "--output-dir", str(out))
    assert before.returncode == 0, before.stderr
    previous = digests(out)
    manifest = (out / "us-intrathecal-pump-market" / "manifest.json").read_bytes()
    address = f"tcp://127.0.0.1:{free_port()}"
    done = exporter("build", "--force", "--executor", "dask", "--scheduler-address", address,
                    "--data-dir", str(catalog), "--output-dir", str(out), env={"EXPORTER_DASK_TIMEOUT": "1"})
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: cannot reach the Dask scheduler at {address}: ")
    assert done.stderr.endswith("; nothing was built\n") and done.stderr.count("\n") == 1
    assert done.stdout == ""
    assert digests(out) == previous
    assert (out / "us-intrathecal-pump-market" / "manifest.json").read_bytes() == manifest
    assert sorted(p.name for p in out.iterdir()) == [".exporter", "index.html", "us-intrathecal-pump-market"]
    history = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)
    assert history[0]["status"] == "failed" and address in history[0]["error"]


@pytest.mark.parametrize("args, env", [
    (["--executor", "dask"], {}),
    ([], {"EXPORTER_EXECUTOR": "dask"}),
])
def test_dask_without_a_scheduler_address_is_a_usage_error(catalog, tmp_path, args, env):
    env = {**env, "EXPORTER_DASK_SCHEDULER": ""}
    done = exporter("build", *args, "--data-dir", str(catalog), "--output-dir", str(tmp_path / "out"), env=env)
    assert done.returncode == 2
    assert "Error: --executor dask needs --scheduler-address tcp://HOST:PORT" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_malformed_scheduler_address_is_a_usage_error(catalog, tmp_path):
    done = exporter("build", "--executor", "dask", "--scheduler-address", "tcp://scheduler",
                    "--data-dir", str(catalog), "--output-dir", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr == ("Error: --scheduler-address: 'tcp://scheduler' is not a Dask scheduler address "
                           "(like tcp://HOST:8786): missing port number in address 'scheduler'\n")
    assert digests(tmp_path / "out") == {}
    # The same when every report is unchanged and the cluster would not be needed: a typo in a
    # crontab shows the first day, not the day the data changes.
    assert exporter("build", "--data-dir", str(catalog), "--output-dir", str(tmp_path / "out")).returncode == 0
    again = exporter("build", "--executor", "dask", "--scheduler-address", "tcp://scheduler",
                     "--data-dir", str(catalog), "--output-dir", str(tmp_path / "out"))
    assert again.returncode == 2 and again.stderr == done.stderr


def test_without_distributed_the_error_says_what_to_install(catalog, tmp_path):
    code = ("import sys; sys.modules['distributed'] = None; from exporter.cli import main; "
            "sys.argv[0] = 'exporter'; main()")
    done = subprocess.run([sys.executable, "-c", code, "build", "--executor", "dask", "--scheduler-address",
                           "tcp://127.0.0.1:8786", "--data-dir", str(catalog), "--output-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == ("Error: --executor dask needs the distributed package: "
                           "pip install 'exporter[dask]'\n")
    assert digests(tmp_path / "out") == {}


class FakeClient:
    """Answers like a distributed.Client whose workers run the given exporter versions."""

    def __init__(self, versions: dict[str, str | None], nthreads: int = 1):
        self.versions = versions
        self.threads = nthreads

    def wait_for_workers(self, n, timeout):
        if not self.versions:
            raise TimeoutError

    def run(self, function):
        return dict(self.versions)

    def nthreads(self):
        return {worker: self.threads for worker in self.versions}


def test_workers_must_run_the_same_exporter_version():
    assert check_workers(FakeClient({"tcp://a:1": __version__, "tcp://b:1": __version__}, 4), "tcp://s:1", 1) == 8
    with pytest.raises(BuildError) as caught:
        check_workers(FakeClient({"tcp://a:1": __version__, "tcp://b:1": "0.0.1", "tcp://c:1": None}), "tcp://s:1", 1)
    assert str(caught.value) == (
        f"the Dask workers at tcp://s:1 must run exporter {__version__} (pip install 'exporter[dask]=={__version__}'): "
        "tcp://b:1 has exporter 0.0.1, tcp://c:1 has no exporter; nothing was built")
    with pytest.raises(BuildError, match=r"^no Dask worker joined the scheduler at tcp://s:1 within 1 s "):
        check_workers(FakeClient({}), "tcp://s:1", 1)


@pytest.mark.slow
def test_query_tables_run_on_the_coordinator_and_the_workers_read_their_results(cluster, tmp_path):
    """The coordinator runs a report's queries; the workers, which have no database settings, only read the
    results it wrote (as they read CSV tables). The deliverables equal a local build's."""
    example = Path(__file__).resolve().parent.parent / "examples" / "sales-pipeline" / "data"
    epoch = {"SOURCE_DATE_EPOCH": EPOCH}
    local = exporter("build", "-f", "xlsx", "-f", "docx", "-j", "1", "--data-dir", str(example), "--output-dir",
                     str(tmp_path / "local"), "crm-accounts", env=epoch)
    assert local.returncode == 0, local.stderr
    dask = exporter("build", "-f", "xlsx", "-f", "docx", "--executor", "dask", "--scheduler-address", cluster,
                    "--data-dir", str(example), "--output-dir", str(tmp_path / "dask"), "crm-accounts", env=epoch)
    assert dask.returncode == 0, dask.stderr
    assert digests(tmp_path / "dask") == digests(tmp_path / "local")
    assert len(digests(tmp_path / "dask")) == 4  # the report's own set and its DACH edition
