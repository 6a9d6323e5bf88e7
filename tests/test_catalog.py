"""Catalogs: every report builds in one run, rendered in parallel worker processes, published by one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from conftest import DATA_DIR, exporter

SOURCE = DATA_DIR / "reports" / "us-intrathecal-pump-market.yaml"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """Five reports with different names and figures."""
    data = tmp_path_factory.mktemp("catalog") / "data"
    (data / "reports").mkdir(parents=True)
    text = SOURCE.read_text(encoding="utf-8")
    for n in range(5):
        variant = text.replace("title: United States Intrathecal Pump Market",
                               f"title: Catalog Market {n}").replace("amount: 5.8", f"amount: {5.8 + n}")
        (data / "reports" / f"market-{n}.yaml").write_text(variant, encoding="utf-8")
    return data


def digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.*")) if p.suffix in (".docx", ".xlsx", ".pdf")}


def differing_parts(one: Path, other: Path) -> dict[str, list[str]]:
    """The files that differ between two output folders, with the differing parts of each package
    (so that a failure says where to look; no parts listed: the same parts, zipped differently)."""
    mine, theirs = digests(one), digests(other)
    found = {}
    for name in sorted(mine.keys() | theirs.keys()):
        if mine.get(name) == theirs.get(name):
            continue
        parts: list[str] = []
        if name.endswith((".docx", ".xlsx")) and name in mine and name in theirs:
            try:
                with zipfile.ZipFile(one / name) as a, zipfile.ZipFile(other / name) as b:
                    for n in sorted({*a.namelist(), *b.namelist()}):
                        try:
                            if n not in a.namelist() or n not in b.namelist() or a.read(n) != b.read(n):
                                parts.append(n)
                        except (zipfile.BadZipFile, zlib.error) as exc:  # a part that does not inflate (to its CRC)
                            parts.append(f"{n}: {exc}")
            except zipfile.BadZipFile as exc:  # not a zip at all
                parts.append(f"(package: {exc})")
        found[name] = parts
    return found


def test_parallel_build_equals_the_serial_one(catalog, tmp_path):
    serial = exporter("build", "--jobs", "1", "--data-dir", str(catalog), "--output-dir", str(tmp_path / "serial"))
    parallel = exporter("build", "--jobs", "2", "--data-dir", str(catalog), "--output-dir", str(tmp_path / "parallel"))
    assert serial.returncode == 0, serial.stderr
    assert parallel.returncode == 0, parallel.stderr
    assert len(digests(tmp_path / "serial")) == 15
    assert digests(tmp_path / "serial") == digests(tmp_path / "parallel"), \
        differing_parts(tmp_path / "serial", tmp_path / "parallel")
    lines = parallel.stdout.splitlines()
    assert sorted(line.split(":")[0] for line in lines[:-1]) == [f"market-{n}" for n in range(5)]
    assert lines[-1].startswith("summary: 5 built, 0 unchanged, 0 failed in ")
    history = json.loads(exporter("history", "--json", "--output-dir", str(tmp_path / "parallel")).stdout)
    assert sorted(r["report_id"] for r in history[0]["reports"]) == [f"market-{n}" for n in range(5)]
    assert {r["outcome"] for r in history[0]["reports"]} == {"built"}
    page = (tmp_path / "parallel" / "index.html").read_text()
    assert all(f"Catalog Market {n}" in page for n in range(5))


def test_a_catalog_rebuild_reports_unchanged_and_quiet_prints_nothing(catalog, tmp_path):
    out = tmp_path / "out"
    assert exporter("build", "-j", "2", "--data-dir", str(catalog), "--output-dir", str(out)).returncode == 0
    again = exporter("build", "-j", "2", "--data-dir", str(catalog), "--output-dir", str(out))
    assert again.stdout.splitlines()[-1].startswith("summary: 0 built, 5 unchanged, 0 failed in ")
    quiet = exporter("-q", "build", "-j", "2", "--force", "--data-dir", str(catalog), "--output-dir", str(out))
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_one_invalid_report_fails_alone_and_the_others_build(catalog, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(catalog, data)
    out = tmp_path / "out"
    assert exporter("build", "-j", "2", "--data-dir", str(data), "--output-dir", str(out)).returncode == 0
    before = digests(out)
    broken, changed = data / "reports" / "market-3.yaml", data / "reports" / "market-1.yaml"
    broken.write_text(broken.read_text().replace("amount: 3.5", "amount: -1"))
    changed.write_text(changed.read_text().replace("title: Catalog Market 1", "title: Catalog Market One"))
    done = exporter("build", "-j", "2", "--data-dir", str(data), "--output-dir", str(out))
    assert done.returncode == 1
    # The broken file's located problem, as `validate` gives it; no traceback.
    assert f"Error: {broken}:23: figures.base.size.amount: Input should be greater than 0\n" in done.stderr
    assert "Traceback" not in done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines()[:-1])
    assert lines["market-3"] == "invalid" and lines["market-1"].startswith("built: ")
    assert {lines[f"market-{n}"] for n in (0, 2, 4)} == {"unchanged"}
    assert done.stdout.splitlines()[-1].startswith("summary: 1 built, 3 unchanged, 0 failed, 1 invalid in ")
    after = digests(out)
    assert {k: v for k, v in after.items() if k.startswith("market-3/")} == \
        {k: v for k, v in before.items() if k.startswith("market-3/")}  # what sales has stays
    assert "Catalog Market One" in (out / "index.html").read_text()
    run = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)[0]
    assert run["status"] == "failed"
    outcome = {r["report_id"]: r for r in run["reports"]}["market-3"]
    assert outcome["outcome"] == "invalid" and str(broken) in outcome["error"]
    # validate still refuses the catalog as a whole.
    assert exporter("validate", "--data-dir", str(data)).returncode == 2


def test_one_failing_report_does_not_stop_the_others(catalog, tmp_path):
    """A report that cannot be published fails alone; the others are built and the exit code says so."""
    data = tmp_path / "data"
    shutil.copytree(catalog, data)
    out = tmp_path / "out"
    # A file where one report's folder belongs: publishing (in the coordinating process) fails for it only.
    blocked = out / "market-2"
    out.mkdir()
    blocked.write_text("a file where the report's folder belongs")
    done = exporter("build", "-j", "2", "--data-dir", str(data), "--output-dir", str(out))
    assert done.returncode == 1
    assert "market-2: failed" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("summary: 4 built, 0 unchanged, 1 failed in ")
    assert len(digests(out)) == 12


def test_progress_is_shown_on_a_terminal_only(catalog, tmp_path):
    import pty

    out = tmp_path / "out"
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "exporter", "build", "-j", "2", "--data-dir", str(catalog),
                             "--output-dir", str(out)], stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    stdout, _ = proc.communicate(timeout=120)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"5/5" in seen and b"[####" in seen
    assert b"5/5" not in stdout  # the bar goes to the terminal, not into the output


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_stop_reports_every_report_not_built_as_stopped(catalog, tmp_path, jobs):
    import exporter as library

    done: list[str] = []
    run = library.RunContext(progress=lambda n, total, report_id: done.append(report_id),
                              should_stop=lambda: bool(done))
    result = library.build(library.Workspace(catalog, tmp_path / "out"), library.Selection(formats=("txt",)),
                            run=run, workers=library.Workers(jobs=jobs))
    statuses = {o.report_id: o.status for o in result.outcomes}
    assert sorted(statuses) == [f"market-{n}" for n in range(5)]
    assert list(statuses.values()).count("built") >= 1 and "stopped" in statuses.values()
    assert set(statuses.values()) <= {"built", "stopped"}
    history = json.loads(exporter("history", "--json", "--output-dir", str(tmp_path / "out")).stdout)
    assert {r["report_id"]: r["outcome"] for r in history[0]["reports"]} == statuses
    assert history[0]["status"] == "stopped"
