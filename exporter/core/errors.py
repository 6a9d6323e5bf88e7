"""Exceptions raised by exporter, each carrying the exit code the CLI gives it.

    ExporterError                 exit 1 unless a subclass says otherwise
     ├── DataError                exit 2: a data file is unreadable or invalid (lists every problem)
     ├── UsageError               exit 2: an unknown report id, format or option value
     ├── BuildError               exit 1: rendering or publishing a report failed
     ├── StateError               exit 1: the run history in the state folder cannot be used
     └── LockBusy                 exit 75 (EX_TEMPFAIL): another run holds the lock; try later

Third-party exceptions are mapped to these at the boundary (``raise BuildError(...) from exc``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75


@dataclass(frozen=True)
class Problem:
    """One problem in a data file, located by line and field path."""

    file: Path
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.path or '(document)'}: {self.message}"


class ExporterError(Exception):
    exit_code = EXIT_FAILED


class DataError(ExporterError):
    """One or more data files are invalid; ``problems`` lists every problem found."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(ExporterError):
    exit_code = EXIT_USAGE


class BuildError(ExporterError):
    exit_code = EXIT_FAILED


class StateError(ExporterError):
    exit_code = EXIT_FAILED


class LockBusy(ExporterError):
    exit_code = EXIT_TEMPFAIL
