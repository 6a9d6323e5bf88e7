"""The command line, through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from exporter import __version__
from exporter.cli import cli
from exporter.source.reader import read_yaml

from conftest import DATA_DIR, ROOT, SHIPPED, shipped_data

REPORT_ID = "us-intrathecal-pump-market"


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped data that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def published(output_dir: Path) -> list[Path]:
    """Every file a reader could see in *output_dir* (the state folder is not for readers)."""
    if not output_dir.exists():
        return []
    return sorted(p for p in output_dir.rglob("*") if p.is_file() and ".exporter" not in p.parts)


def break_file(data_dir: Path, old: str, new: str) -> Path:
    path = data_dir / "reports" / f"{REPORT_ID}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_every_command_has_help():
    for name, command in cli.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0, name
        first_line = command.help.strip().splitlines()[0]
        assert " ".join(first_line.split()) in " ".join(result.output.split()), name


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"exporter, version {__version__}"


def test_validate_shipped_data():
    result = run("validate", "--data-dir", str(DATA_DIR))
    assert result.exit_code == 0
    assert result.stdout == f"{SHIPPED}: valid\n{DATA_DIR / 'schedule.yaml'}: valid\n{DATA_DIR / 'recipients.yaml'}: valid\n"
    assert result.stderr == ""


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("    - name: Flowonix", "    - name: Flowonix\n      ceo: Someone", "companies.entries[0].ceo: unknown field"),
        ("amount: 3.5", "amount: -3.5", "figures.base.size.amount: Input should be greater than 0"),
        ("year: 2022", 'year: "2022"', "figures.base.year: Input should be a valid integer"),
        ("title: United States Intrathecal Pump Market\n", "", "title: missing required field"),
        ("  entries:\n    - name: Flowonix", "  entries:\n    - name: {Flowonix", "(document): invalid YAML"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "build"])
def test_broken_data_is_refused_and_publishes_nothing(tmp_path, data_dir, command, old, new, expected):
    path = break_file(data_dir, old, new)
    output_dir = tmp_path / "out"
    args = [command, "--data-dir", str(data_dir)] + (["--output-dir", str(output_dir)] if command == "build" else [])
    result = run(*args)
    assert result.exit_code == (2 if command == "validate" else 1)  # build: that report fails, alone
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {path}:")
    assert expected in lines[0]
    line_number = int(lines[0].split(":")[2])
    assert 1 <= line_number <= len(path.read_text().splitlines())
    assert "Traceback" not in result.output
    assert published(output_dir) == []


def test_invalid_data_in_one_report_publishes_only_the_valid_ones(tmp_path, data_dir):
    second = data_dir / "reports" / "second-report.yaml"
    second.write_text(SHIPPED.read_text(encoding="utf-8").replace("amount: 5.8", "amount: -1"), encoding="utf-8")
    output_dir = tmp_path / "out"
    result = run("build", "-f", "txt", "--data-dir", str(data_dir), "--output-dir", str(output_dir))
    assert result.exit_code == 1
    assert f"Error: {second}:" in result.stderr
    assert "second-report: invalid" in result.stdout.splitlines()
    assert (output_dir / REPORT_ID / f"{REPORT_ID}.txt").is_file()
    assert not (output_dir / "second-report").exists()


def test_build_writes_deliverables_and_says_so(tmp_path):
    output_dir = tmp_path / "out"
    result = run("build", "-f", "txt", "--data-dir", str(DATA_DIR), "--output-dir", str(output_dir))
    assert result.exit_code == 0, result.output
    target = output_dir / REPORT_ID / f"{REPORT_ID}.txt"
    assert result.stdout == f"{REPORT_ID}: built: {target}\n"
    text = target.read_text(encoding="utf-8")
    assert "United States Intrathecal Pump Market" in text and "Tricumed GmbH" in text


def test_directories_from_environment(tmp_path):
    output_dir = tmp_path / "env-out"
    env = {"EXPORTER_DATA_DIR": str(DATA_DIR), "EXPORTER_OUTPUT_DIR": str(output_dir)}
    result = run("-q", "build", "-f", "txt", env=env)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert (output_dir / REPORT_ID / f"{REPORT_ID}.txt").is_file()
    listed = run("list", env=env)
    assert listed.exit_code == 0
    id_, title, built = listed.stdout.rstrip("\n").split("\t")
    assert (id_, title) == (REPORT_ID, "United States Intrathecal Pump Market")
    manifest = json.loads((output_dir / REPORT_ID / "manifest.json").read_text())
    assert built == manifest["built_at"]


def test_list_before_any_build(tmp_path):
    result = run("list", "--data-dir", str(DATA_DIR), "--output-dir", str(tmp_path / "none"))
    assert result.exit_code == 0
    assert result.stdout == f"{REPORT_ID}\tUnited States Intrathecal Pump Market\tnever built\n"


def test_unknown_report_id_and_format_are_usage_errors(tmp_path):
    result = run("build", "nope", "--data-dir", str(DATA_DIR), "--output-dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"Error: unknown report id 'nope' (known: {REPORT_ID})\n"
    result = run("build", "-f", "odt", "--data-dir", str(DATA_DIR), "--output-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "Invalid value for '-f' / '--format': 'odt' is not one of" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_data_dir_is_a_usage_error(tmp_path):
    result = run("validate", "--data-dir", str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert result.stderr == f"Error: no reports folder: {tmp_path / 'missing' / 'reports'} does not exist\n"


def test_bad_file_name_is_rejected(data_dir):
    bad = data_dir / "reports" / "Bad Name.yaml"
    bad.write_text("title: x\n")
    result = run("validate", "--data-dir", str(data_dir))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: (document): the file name is not a valid report id")


def test_cagr_warning_is_shown_but_valid(data_dir):
    path = break_file(data_dir, "percent: 6.5", "percent: 12")
    result = run("validate", "--data-dir", str(data_dir))
    assert result.exit_code == 0
    assert result.stderr.startswith(f"Warning: {path}:")
    assert "stated CAGR 12%" in result.stderr and "6.52% implied" in result.stderr
    assert run("-q", "validate", "--data-dir", str(data_dir)).stderr == ""


def test_schema_is_json_schema_that_accepts_the_shipped_data():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    data = shipped_data()
    data["as_of"] = data["as_of"].isoformat()  # JSON has no dates
    jsonschema.Draft202012Validator(schema).validate(data)
    data["unknown"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(data)
    # The document kind: the example validates, a block of an unknown kind does not.
    example = read_yaml(ROOT / "examples" / "sales-pipeline" / "data" / "reports" / "sales-pipeline.yaml").data
    example["as_of"] = example["as_of"].isoformat()
    jsonschema.Draft202012Validator(schema).validate(example)
    example["sections"][0]["blocks"].append({"slides": ["x"]})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(example)


def test_render_failure_exits_1_names_the_report_and_keeps_going(tmp_path, data_dir, monkeypatch):
    """A renderer that crashes fails its report with one line; no traceback without -v."""
    import exporter.render.native as native

    def broken(job):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(native, "render", broken)
    result = run("build", "-f", "txt", "--data-dir", str(data_dir), "--output-dir", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {data_dir / 'reports' / (REPORT_ID + '.yaml')}: txt: rendering failed: disk on fire\n"
    )
    assert not (tmp_path / "o" / REPORT_ID / f"{REPORT_ID}.txt").exists()


@pytest.mark.parametrize("entry", ["module", "script"])
def test_python_m_and_console_script_in_a_real_process(tmp_path, entry):
    """Run the installed command from another folder, as cron would."""
    if entry == "module":
        command = [sys.executable, "-m", "exporter"]
    else:
        script = Path(sys.executable).parent / "exporter"
        assert script.is_file(), "the package is not installed: pip install -e ."
        command = [str(script)]
    env = {**os.environ, "EXPORTER_OUTPUT_DIR": str(tmp_path / "o")}
    done = subprocess.run(
        command + ["build", "-f", "txt", "--data-dir", str(DATA_DIR)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / REPORT_ID / f"{REPORT_ID}.txt").is_file()
    done = subprocess.run(command + ["validate", "--data-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"Error: no reports folder: {tmp_path / 'none' / 'reports'} does not exist\n"
