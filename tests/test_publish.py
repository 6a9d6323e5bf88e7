"""Publishing guarantees, shown with real processes and files: atomic sets, reproducible bytes,
incremental rebuilds, history versions, one run at a time, and write failures that lose nothing."""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import DATA_DIR, exporter, need

REPORT_ID = "us-intrathecal-pump-market"
FORMATS = ("docx", "xlsx", "pdf")


def start(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "exporter", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, **kwargs,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under *folder* with its hash and mtime in nanoseconds."""
    return {
        str(p.relative_to(folder)): (digest(p), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def assert_set_consistent(folder: Path) -> None:
    """Each deliverable opens; a manifest, when present, agrees with the files beside it."""
    for path in folder.glob(f"{REPORT_ID}.*"):
        if path.suffix == ".docx":
            assert docx.Document(str(path)).core_properties.title
        elif path.suffix == ".xlsx":
            assert openpyxl.load_workbook(path, read_only=True).sheetnames
        elif path.suffix == ".pdf":
            subprocess.run([need("qpdf"), "--check", str(path)], check=True, capture_output=True)
    assert not [p for p in folder.iterdir() if p.name.startswith(f"{REPORT_ID}.") and p.suffix not in
                (".docx", ".xlsx", ".pdf")], "a temporary file is visible under a deliverable's name"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"].values():
            path = folder / entry["name"]
            assert path.stat().st_size == entry["size"]
            assert digest(path) == entry["sha256"], f"{path.name} disagrees with the manifest"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> Path:
    """One full build, shared by tests that only read it."""
    out = tmp_path_factory.mktemp("first") / "out"
    done = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_build_publishes_a_set_with_a_manifest(first_build):
    folder = first_build / REPORT_ID
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(FORMATS)
    for fmt in FORMATS:
        entry = manifest["files"][fmt]
        assert entry["name"] == f"{REPORT_ID}.{fmt}"
        assert entry["sha256"] == digest(folder / entry["name"])
    assert manifest["inputs"]["data_sha256"] == digest(DATA_DIR / "reports" / f"{REPORT_ID}.yaml")
    assert manifest["inputs"]["exporter_version"]
    assert {"python-docx", "openpyxl", "reportlab"} <= set(manifest["inputs"]["libraries"])
    assert manifest["as_of"] == "2026-11-23"
    assert manifest["run_id"] and manifest["report_id"] == REPORT_ID
    (version,) = (folder / "history").iterdir()
    assert version.name == manifest["run_id"]
    assert {p.name: digest(p) for p in version.iterdir()} == {
        **{f"{REPORT_ID}.{f}": manifest["files"][f]["sha256"] for f in FORMATS},
        "manifest.json": digest(folder / "manifest.json"),
    }


def test_two_builds_a_second_apart_are_byte_identical(tmp_path, first_build):
    time.sleep(1)
    second = tmp_path / "second"
    done = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(second))
    assert done.returncode == 0, done.stderr
    for fmt in FORMATS:
        name = f"{REPORT_ID}/{REPORT_ID}.{fmt}"
        assert digest(first_build / name) == digest(second / name), fmt


def test_source_date_epoch_sets_the_dates(tmp_path, first_build):
    epoch = 1700000000  # 2023-11-14T22:13:20Z
    out = tmp_path / "sde"
    done = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out),
                    env={"SOURCE_DATE_EPOCH": str(epoch)})
    assert done.returncode == 0, done.stderr
    folder = out / REPORT_ID
    for fmt in FORMATS:
        assert digest(folder / f"{REPORT_ID}.{fmt}") != digest(first_build / REPORT_ID / f"{REPORT_ID}.{fmt}")
    props = docx.Document(str(folder / f"{REPORT_ID}.docx")).core_properties
    assert props.created.replace(tzinfo=None).isoformat() == "2023-11-14T22:13:20"
    assert openpyxl.load_workbook(folder / f"{REPORT_ID}.xlsx").properties.created.isoformat().startswith(
        "2023-11-14T22:13:20")
    info = subprocess.run([need("pdfinfo"), "-isodates", str(folder / f"{REPORT_ID}.pdf")],
                          capture_output=True, text=True, check=True).stdout
    assert "2023-11-14T22:13:20" in info
    with zipfile.ZipFile(folder / f"{REPORT_ID}.docx") as package:
        assert {i.date_time[:3] for i in package.infolist()} == {(2023, 11, 14)}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["inputs"]["options"]["source_date_epoch"] == epoch


def test_bad_source_date_epoch_is_a_usage_error(out):
    done = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out), env={"SOURCE_DATE_EPOCH": "soon"})
    assert done.returncode == 2
    assert done.stderr == "Error: SOURCE_DATE_EPOCH must be a whole number of seconds, not 'soon'\n"


def test_noop_rebuild_touches_no_file(out):
    assert exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
    folder = out / REPORT_ID
    before = snapshot(folder)
    time.sleep(0.05)
    done = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{REPORT_ID}: unchanged\n"
    assert snapshot(folder) == before
    forced = exporter("build", "--force", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
    assert forced.stdout.startswith(f"{REPORT_ID}: built: ")
    after = snapshot(folder)
    for fmt in FORMATS:  # same bytes, but written anew
        name = f"{REPORT_ID}.{fmt}"
        assert after[name][0] == before[name][0] and after[name][1] != before[name][1]


def test_changed_data_a_tampered_file_or_other_formats_rebuild(tmp_path, out):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    args = ("build", "--data-dir", str(data), "--output-dir", str(out))
    assert exporter(*args).returncode == 0
    folder = out / REPORT_ID
    (folder / f"{REPORT_ID}.pdf").write_bytes(b"edited by hand")
    assert exporter(*args).stdout.startswith(f"{REPORT_ID}: built")
    assert_set_consistent(folder)
    source = data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace("- name: Flowonix", "- name: Flowonix Medical"))
    assert exporter(*args).stdout.startswith(f"{REPORT_ID}: built")
    assert exporter(*args).stdout == f"{REPORT_ID}: unchanged\n"
    only_pdf = exporter(*args, "-f", "pdf")
    assert only_pdf.stdout == f"{REPORT_ID}: built: {folder / (REPORT_ID + '.pdf')}\n"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert list(manifest["files"]) == ["pdf"]
    assert sorted(p.name for p in folder.glob(f"{REPORT_ID}.*")) == [f"{REPORT_ID}.pdf"]


def test_history_keeps_the_last_n_sets(out):
    run_ids = []
    for _ in range(4):
        done = exporter("build", "--force", "--keep", "2", "-f", "txt", "--data-dir", str(DATA_DIR),
                        "--output-dir", str(out))
        assert done.returncode == 0, done.stderr
        run_ids.append(json.loads((out / REPORT_ID / "manifest.json").read_text())["run_id"])
    kept = sorted(p.name for p in (out / REPORT_ID / "history").iterdir())
    assert kept == sorted(run_ids[-2:])
    assert digest(out / REPORT_ID / "history" / run_ids[-1] / "manifest.json") == digest(
        out / REPORT_ID / "manifest.json")


def test_leftover_temporary_files_are_removed_at_next_start(out):
    assert exporter("build", "-f", "txt", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
    folder = out / REPORT_ID
    (folder / ".tmp-abc.part").write_bytes(b"half")
    (folder / "history" / ".tmp-xyz").mkdir()
    assert exporter("build", "-f", "txt", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
    assert not (folder / ".tmp-abc.part").exists()
    assert not (folder / "history" / ".tmp-xyz").exists()
    (folder / ".tmp-def.part").write_bytes(b"half")
    assert exporter("build", "-f", "txt", "--force", "--data-dir", str(DATA_DIR), "--output-dir",
                    str(out)).returncode == 0
    assert not (folder / ".tmp-def.part").exists()


def test_history_json_lists_runs_with_outcomes(tmp_path, out):
    state = tmp_path / "state"
    common = ("--data-dir", str(DATA_DIR), "--output-dir", str(out))
    assert exporter("--state-dir", str(state), "build", "-f", "txt", *common).returncode == 0
    assert exporter("build", "-f", "txt", *common, env={"EXPORTER_STATE_DIR": str(state)}).returncode == 0
    broken = tmp_path / "broken"
    shutil.copytree(DATA_DIR, broken)
    path = broken / "reports" / f"{REPORT_ID}.yaml"
    path.write_text(path.read_text().replace("amount: 3.5", "amount: -1"))
    assert exporter("build", "--state-dir", str(state), "-f", "txt", "--data-dir", str(broken),
                    "--output-dir", str(out)).returncode == 1
    done = exporter("history", "--json", "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    assert [r["status"] for r in runs] == ["failed", "ok", "ok"]
    assert [r["trigger"] for r in runs] == ["cli"] * 3
    assert runs[0]["reports"][0]["outcome"] == "invalid"
    assert "figures.base.size.amount" in runs[0]["reports"][0]["error"]
    assert [r["reports"][0]["outcome"] for r in runs[1:]] == ["unchanged", "built"]
    built = runs[2]["reports"][0]
    assert built["files"] == {f"{REPORT_ID}.txt": digest(out / REPORT_ID / f"{REPORT_ID}.txt")}
    assert all(r["started_at"] <= r["ended_at"] for r in runs)
    one = json.loads(exporter("history", REPORT_ID, "--json", "--limit", "1", "--state-dir", str(state)).stdout)
    assert len(one) == 1 and one[0]["run_id"] == runs[0]["run_id"]
    text = exporter("history", "--state-dir", str(state)).stdout
    assert f"{REPORT_ID}: unchanged" in text and "invalid" in text


def test_concurrent_builds_one_builds_the_others_exit_75(tmp_path, out):
    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    source = DATA_DIR / "reports" / f"{REPORT_ID}.yaml"
    for n in range(30):  # many reports keep the winner busy for seconds while the others start
        shutil.copy(source, data / "reports" / f"report-{n}.yaml")
    procs = [start("build", "--force", "--data-dir", str(data), "--output-dir", str(out)) for _ in range(4)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 75, 75, 75], results
    for code, stdout, stderr in results:
        if code == 75:
            assert stdout == ""
            assert stderr.startswith("Error: another exporter run (pid ")
            assert "try again later" in stderr


def test_concurrent_builds_with_wait_all_succeed(tmp_path, out):
    procs = [start("build", "--wait", "60", "-f", "pdf", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
             for _ in range(3)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    outcomes = sorted(stdout.split(":")[1].strip() for _, stdout, _ in results)
    assert outcomes == ["built", "unchanged", "unchanged"]


def test_lock_is_released_when_the_holder_is_killed(out):
    holder = start("build", "--force", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
    lock = out / ".exporter" / "lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.02)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    done = exporter("build", "-f", "txt", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    runs = json.loads(exporter("history", "--json", "--output-dir", str(out)).stdout)
    assert runs[0]["status"] == "ok"
    assert all(r["status"] == "interrupted" for r in runs[1:])


def _wait_for_publishing(folder: Path, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Return as soon as the build starts writing its set (a temporary file appears)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(entry.name.startswith(".tmp-") for entry in os.scandir(folder)):
            return
        history = folder / "history"
        if history.is_dir() and any(entry.name.startswith(".tmp-") for entry in os.scandir(history)):
            return
        time.sleep(0.0005)


@pytest.mark.slow
def test_sigkill_at_random_points_never_leaves_a_broken_set(tmp_path, out):
    """Kill builds anywhere: half at a random time, half within the publishing window itself."""
    rng = random.Random(20261123)
    assert exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
    folder = out / REPORT_ID
    # The shortest of three builds: a kill timed from a slow one may come after the next has ended.
    timings = []
    for _ in range(3):
        t0 = time.monotonic()
        assert exporter("build", "--force", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
        timings.append(time.monotonic() - t0)
    full = min(timings)
    kills = []
    for n in range(24):
        proc = start("build", "--force", "--keep", "3", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
        if n % 2:
            _wait_for_publishing(folder, proc)
            time.sleep(rng.uniform(0, 0.03))
        else:
            time.sleep(rng.uniform(0.3 * full, 0.95 * full))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        kills.append((code, (folder / "manifest.json").exists()))
        assert_set_consistent(folder)
    assert sum(code == -signal.SIGKILL for code, _ in kills) >= 20, kills
    done = exporter("build", "--data-dir", str(DATA_DIR), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert_set_consistent(folder)
    assert json.loads((folder / "manifest.json").read_text())["run_id"]
    assert not list(folder.rglob(".tmp-*"))
    print("exit code, manifest present after the kill:", kills)


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    # Deliverables are larger than this, the run-history database is not: the deliverables' writes fail.
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


def test_a_full_disk_leaves_the_old_set_intact(tmp_path, out):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    assert exporter("build", "--data-dir", str(data), "--output-dir", str(out)).returncode == 0
    folder = out / REPORT_ID
    before = snapshot(folder)
    source = data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace("- name: Flowonix", "- name: Flowonix Medical"))
    done = exporter("build", "--data-dir", str(data), "--output-dir", str(out), preexec_fn=_limit_file_size)
    assert done.returncode == 1
    assert done.stdout == f"{REPORT_ID}: failed\n"
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: ") and "File too large" in line and "previous set is unchanged" in line
    assert snapshot(folder) == before
    assert not list(folder.rglob(".tmp-*"))


def test_a_read_only_folder_leaves_the_old_set_intact(tmp_path, out):
    assert exporter("build", "-f", "txt", "--data-dir", str(DATA_DIR), "--output-dir", str(out)).returncode == 0
    folder = out / REPORT_ID
    before = snapshot(folder)
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    source = data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace("- name: Flowonix", "- name: Flowonix Medical"))
    command = [sys.executable, "-m", "exporter", "build", "-f", "txt", "--data-dir", str(data),
               "--output-dir", str(out)]
    if os.geteuid() == 0:  # root ignores file modes unless it drops the capability to do so
        command = [need("setpriv"), "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    folder.chmod(0o555)
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"Error: {folder}") and "Permission denied" in line, line
    assert "previous set is unchanged" in line
    assert snapshot(folder) == before


def test_a_manifest_missing_a_files_entry_is_rebuilt(tmp_path):
    """A damaged manifest (an entry lost its name) must not make the set look current."""
    import json

    from click.testing import CliRunner

    from exporter.cli import cli

    out = tmp_path / "out"
    args = ["build", "-f", "txt", "-f", "pdf", "--data-dir", str(DATA_DIR), "--output-dir", str(out)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    manifest_path = out / REPORT_ID / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]["pdf"]["name"]
    manifest_path.write_text(json.dumps(manifest))
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert f"{REPORT_ID}: built" in again.stdout
    assert json.loads(manifest_path.read_text())["files"]["pdf"]["name"] == f"{REPORT_ID}.pdf"
