"""Golden test: the plain-text dump of the shipped report and the examples, built by the real command line.

A functional test in the docutils manner, with input, expected and output kept apart:

- input: the shipped data, ``data/reports/<id>.yaml``;
- expected: ``tests/golden/<id>.txt``, checked in and reviewed like code;
- output: what ``exporter build -f txt`` writes into a temporary folder (kept by pytest under its
  basetemp for a look after a failure).

On a mismatch the test fails with a unified diff and the command that accepts the new output::

    EXPORTER_ACCEPT_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

which rewrites the golden file from the output; the test then passes. Review the diff before
committing it: the golden file is what a reader of the text dump sees.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ACCEPT_VAR, DATA_DIR, ROOT, accepting_golden

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REPORT_ID = "us-intrathecal-pump-market"
# Each golden input: its data folder (the shipped data, the examples).
DATA_DIRS = {REPORT_ID: DATA_DIR, "sales-pipeline": ROOT / "examples" / "sales-pipeline" / "data"}

ACCEPT_COMMAND = f"{ACCEPT_VAR}=1 .venv/bin/python -m pytest tests/test_golden.py"


def _child_env() -> dict[str, str]:
    """The environment of the build: no fixed build date, no EXPORTER_* settings of the caller."""
    return {key: value for key, value in os.environ.items()
            if key != "SOURCE_DATE_EPOCH" and not key.startswith("EXPORTER_")}


def build_txt(output_dir: Path, report_id: str) -> Path:
    """Build *report_id* to txt with the real CLI, in a child process; return the published file."""
    command = [sys.executable, "-m", "exporter", "-q", "build", "-f", "txt",
               "--data-dir", str(DATA_DIRS[report_id]), "--output-dir", str(output_dir), report_id]
    proc = subprocess.run(command, check=False, cwd=ROOT, env=_child_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"exporter build exited {proc.returncode}\ncommand: {' '.join(command)}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    produced = output_dir / report_id / f"{report_id}.txt"
    assert produced.is_file(), f"exporter build did not publish {produced}; stdout:\n{proc.stdout}"
    return produced


def _lines(data: bytes) -> list[str]:
    """*data* as lines for difflib, split at "\\n" only; a "\\r" or a missing final newline shows."""
    lines = data.decode("utf-8", "replace").replace("\r", "\\r").split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1] + "\n\\ No newline at end of file\n")
    return out


@pytest.mark.parametrize("report_id", list(DATA_DIRS))
def test_text_dump_matches_golden_file(tmp_path: Path, report_id: str) -> None:
    source = DATA_DIRS[report_id] / "reports" / f"{report_id}.yaml"  # input
    expected_path = GOLDEN_DIR / f"{report_id}.txt"      # expected
    output_dir = tmp_path / "output"                     # output
    assert source.is_file(), f"missing input {source}"

    produced = build_txt(output_dir, report_id)
    actual = produced.read_bytes()

    if accepting_golden():
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_bytes(actual)
        return

    if not expected_path.exists():
        pytest.fail(f"no golden file {expected_path.relative_to(ROOT)}; create it from the current "
                    f"output with:\n    {ACCEPT_COMMAND}\nand review it before committing")

    expected = expected_path.read_bytes()
    if actual == expected:
        return
    diff = "".join(difflib.unified_diff(
        _lines(expected), _lines(actual),
        fromfile=f"expected: {expected_path.relative_to(ROOT)}", tofile=f"output: {produced}",
    ))
    pytest.fail(
        f"the text dump of {report_id} differs from its golden file:\n{diff}\n"
        f"If the change is intended, accept the new output with:\n    {ACCEPT_COMMAND}",
        pytrace=False,
    )
