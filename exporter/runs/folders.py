"""The folders a run writes to, checked before anything is rendered.

Without this check an unwritable output folder surfaced as a bare OS error about a temporary file
(`…/.tmp-h5a9xvil.part: Read-only file system`) after minutes of rendering, and the clear message
was only in the history. Permission bits alone do not tell (root ignores them; a read-only mount or
an immutable folder refuses anyway), so each folder is probed by creating a file in it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from ..core.errors import StateError
from ..core.workspace import Workspace

# What each folder is to a user, and how to point exporter elsewhere.
_OUTPUT = ("output folder", "--output-dir (EXPORTER_OUTPUT_DIR)")
_STATE = ("state folder (run history and lock)", "--state-dir (EXPORTER_STATE_DIR)")


def check_state(workspace: Workspace) -> None:
    """Raise `StateError` when the run history and lock cannot be written (nothing can be recorded then)."""
    _check(workspace.state, *_STATE)


def check_output(workspace: Workspace) -> None:
    """Raise `StateError` when the deliverables cannot be published."""
    _check(workspace.output_dir, *_OUTPUT)


def _check(folder: Path, what: str, option: str) -> None:
    """Raise `StateError` naming *folder* when a file cannot be created in it (or where it would be made)."""
    problem = _probe(folder)
    if problem is not None:
        raise StateError(f"cannot write to the {what} {folder}: {problem}. Give the user running exporter "
                         f"(uid {os.geteuid()}) write access to it, or choose another folder with {option}")


def _probe(folder: Path) -> str | None:
    """What keeps a file from being created in *folder* (or where it would be made), or None."""
    target = folder
    while not target.exists():
        if target.parent == target:
            return "no such folder"
        target = target.parent
    if not target.is_dir():
        return f"{target} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".exporter-probe-"):
            pass
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return "the file system is mounted read-only"
        return exc.strerror or str(exc)
    return None
