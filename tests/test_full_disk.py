"""A full temporary folder: a real tmpfs with no room left, mounted as TMPDIR in a mount namespace of
the test's own. The Word and Excel renderers need none of it, so their files come out byte for byte
as with room to spare; a workbook too big for memory fails aloud. Never a silently damaged file
(lxml does not report a failed write of a small part: openpyxl's temporary sheet files lost theirs)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from exporter.render import render
from exporter.runs.catalog import ReportSource, load

from conftest import ROOT, SHIPPED

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"

# Runs in the namespace: the temporary folder is chosen while there is room (as by a process started
# before the disk filled), then filled up; each report's DOCX and XLSX go to argv[1], or the error.
SCRIPT = r"""
import sys, tempfile
from pathlib import Path

with Path(tempfile.gettempdir(), "filler").open("wb", buffering=0) as filler:
    try:
        while True:
            filler.write(bytes(4096))
    except OSError:
        pass
import exporter.render.reportlab_speed
from exporter.render import render
from exporter.runs.catalog import ReportSource, load

out = Path(sys.argv[1])
for path in map(Path, sys.argv[2:]):
    job = load(ReportSource.at(path)).job
    for fmt in ("docx", "xlsx"):
        try:
            (out / f"{path.stem}.{fmt}").write_bytes(render(fmt, job))
        except OSError as exc:
            (out / f"{path.stem}.{fmt}.error").write_text(f"{exc.errno} {exc.strerror}")
"""


def render_with_full_tmp(tmp_path: Path, reports: list[Path]) -> Path:
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux)")
    full, out = tmp_path / "full-tmp", tmp_path / "out"
    full.mkdir()
    out.mkdir()
    # As root, a mount namespace; otherwise a user namespace as well, where tmpfs may be mounted too.
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--mount"]
    done = subprocess.run(
        [*namespace, "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"', str(full),
         sys.executable, "-c", SCRIPT, str(out), *map(str, reports)],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(full)}, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "mount" in done.stderr and not list(out.iterdir()):
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return out


def sheet_parts(package: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return {name: len(zf.read(name)) for name in zf.namelist() if "worksheets/sheet" in name}


def test_word_and_excel_files_need_no_temporary_space(tmp_path):
    reports = [SHIPPED, EXAMPLE / "reports" / "sales-pipeline.yaml"]  # a chart's workbook; templates, a data sheet
    out = render_with_full_tmp(tmp_path, reports)
    assert not list(out.glob("*.error")), [p.read_text() for p in out.glob("*.error")]
    for path in reports:
        job = load(ReportSource.at(path)).job
        for fmt in ("docx", "xlsx"):
            assert (out / f"{path.stem}.{fmt}").read_bytes() == render(fmt, job), f"{path.stem}.{fmt}"
    # What the full disk used to cost: the Word chart's "Edit Data" workbook with an empty sheet.
    with zipfile.ZipFile(out / f"{SHIPPED.stem}.docx") as docx:
        embedded = docx.read("word/embeddings/Microsoft_Excel_Worksheet1.xlsx")
    assert sheet_parts(embedded)["xl/worksheets/sheet1.xml"] > 1000


def test_a_workbook_too_big_for_memory_fails_aloud_on_a_full_disk(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    deals = data / "reports" / "sales-pipeline.deals.csv"
    with deals.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    with deals.open("w", encoding="utf-8", newline="") as handle:  # about 1.5 MiB of sheet XML
        csv.writer(handle).writerows([header, *(rows * (6_000 // len(rows)))])
    out = render_with_full_tmp(tmp_path, [data / "reports" / "sales-pipeline.yaml"])
    assert (out / "sales-pipeline.xlsx.error").read_text() == "28 No space left on device"
    assert not (out / "sales-pipeline.xlsx").exists()
