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
from openpyxl import load_workbook

from exporter.core.document import Chart
from exporter.render import render, xlsx
from exporter.render.nativechart import data_table
from exporter.runs.catalog import ReportSource, load

from conftest import ROOT, SHIPPED

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
ROW_XML_BYTES = 300  # about what a row of the example's deals takes in the sheet's XML (more, in fact)

# Runs in the namespace: the temporary folder is chosen while there is room (as by a process started
# before the disk filled), then filled up; each report's DOCX and XLSX go to argv[1], or the error.
SCRIPT = r"""
import os, sys, tempfile
from pathlib import Path

full = os.environ["TMPDIR"]
assert tempfile.gettempdir() == full, tempfile.gettempdir()
with Path(full, "filler").open("wb", buffering=0) as filler:
    try:
        while True:
            filler.write(bytes(4096))
    except OSError:
        pass
assert os.statvfs(full).f_bavail == 0, "the temporary folder is not full"
import exporter.render.reportlab_speed
from exporter.render import render, xlsx
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


def namespace_with_tmpfs(folder: Path) -> list[str]:
    """The command prefix that runs a command in a mount namespace with a 64 KiB tmpfs at *folder*:
    as root, a mount namespace; otherwise (or as a root without CAP_SYS_ADMIN, as in many containers)
    in a user namespace too, where a tmpfs may be mounted. Skip the test where neither works."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux)")
    mount = ["sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"', str(folder)]
    tried = []
    for namespace in (["unshare", "--mount", "--propagation", "private"],
                      ["unshare", "--map-root-user", "--mount", "--propagation", "private"]):
        if namespace[1] == "--mount" and os.geteuid() != 0:
            continue
        probe = subprocess.run([*namespace, *mount, "true"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return [*namespace, *mount]
        tried.append(probe.stderr.strip())
    pytest.skip(f"cannot mount a tmpfs in a namespace here: {tried}")


def render_with_full_tmp(tmp_path: Path, reports: list[Path]) -> Path:
    full, out = tmp_path / "full-tmp", tmp_path / "out"
    full.mkdir()
    out.mkdir()
    done = subprocess.run(
        [*namespace_with_tmpfs(full), sys.executable, "-c", SCRIPT, str(out), *map(str, reports)],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(full)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list(full.iterdir()), "the filler was written outside the tmpfs"
    return out


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
    sheet = load_workbook(io.BytesIO(embedded))["Sheet1"]
    first_chart = next(b for _, b in load(ReportSource.at(SHIPPED)).job.document.blocks() if isinstance(b, Chart))
    header, rows = data_table(first_chart)
    assert [c.value for c in sheet[1]] == list(header)
    # The values as the workbook stores them: 16 significant digits.
    assert [tuple(pytest.approx(c.value, rel=1e-15) if isinstance(c.value, float) else c.value for c in row)
            for row in sheet.iter_rows(min_row=2)] == [tuple(r) for r in rows]


def test_a_workbook_bigger_than_its_memory_spool_fails_aloud_on_a_full_disk(tmp_path):
    """Past `xlsx.SPOOL_BYTES` the package is spooled to a temporary file: on a full disk the write
    fails with ENOSPC, and the render with it (a build reports it and keeps the previous set)."""
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    deals = data / "reports" / "sales-pipeline.deals.csv"
    with deals.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    copies = 2 * xlsx.SPOOL_BYTES // (len(rows) * ROW_XML_BYTES) + 1
    with deals.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *(rows * copies)])
    report = data / "reports" / "sales-pipeline.yaml"
    with zipfile.ZipFile(io.BytesIO(render("xlsx", load(ReportSource.at(report)).job))) as book:
        deals_sheet = max(book.infolist(), key=lambda entry: entry.file_size)
        assert deals_sheet.file_size > 2 * xlsx.SPOOL_BYTES  # it spills, with room to spare
    out = render_with_full_tmp(tmp_path, [report])
    assert (out / "sales-pipeline.xlsx.error").read_text() == "28 No space left on device"
    assert not (out / "sales-pipeline.xlsx").exists()
