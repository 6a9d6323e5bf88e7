"""The documentation agrees with the code: the README's command-line reference and every command's help.

The "Command-line reference" section of README.md is generated from the real `--help` texts by cog
(https://github.com/nedbat/cog); after changing the command line, run `.venv/bin/cog -r README.md`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import cli

ROOT = Path(__file__).resolve().parent.parent
COG_COMMAND = ".venv/bin/cog -r README.md"

# Collected at import time, so a new command gets its own test case without editing this file.
COMMANDS = sorted(cli.commands)


def test_readme_command_line_reference_is_up_to_date() -> None:
    proc = subprocess.run([sys.executable, "-m", "cogapp", "--check", "--diff", "README.md"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(
            f"README.md is out of date with the code (cog --check exited {proc.returncode}).\n"
            f"Regenerate it with:\n    {COG_COMMAND}\nand commit the result.\n\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
            pytrace=False,
        )


def test_there_are_commands() -> None:
    assert COMMANDS, "exporter.cli.cli has no commands"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="exporter", terminal_width=100)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: exporter {name} "), result.output
    # The first line of the help text (the one `exporter --help` lists the command by) says something.
    help_lines = [line.strip() for line in (cli.commands[name].help or "").strip().splitlines()]
    assert help_lines and help_lines[0], f"`exporter {name}` has no help text"
    assert help_lines[0] in result.output
