"""Write deliverables so that a reader never sees a half-written file.

Each file is written under a hidden temporary name in its target directory, flushed and fsynced,
then renamed over the old one with `os.replace` (atomic on POSIX); the directory is fsynced so the
rename survives a crash. On any error the temporary file is removed and the old file stays.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def atomic_write(target: Path, data: bytes) -> None:
    """Replace *target* with *data* atomically; leave the old file in place on failure."""
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_temp_files(directory: Path) -> list[Path]:
    """Remove temporary files a crashed run left in *directory*; return what was removed."""
    removed = []
    if directory.is_dir():
        for path in directory.glob(TEMP_PREFIX + "*"):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
