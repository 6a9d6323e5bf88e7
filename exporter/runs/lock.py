"""One run at a time: an exclusive `flock` on a file in the state directory.

The kernel drops a `flock` when its process dies, however it dies, so a crashed run never leaves
a stale lock behind and there is no lock file to clean up. (The `filelock` package was considered;
its 4.x releases fall back to a "soft" lock file where flock is missing, which a dead process does
leave behind, so the few lines here are the stricter choice.)
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import LockBusy

LOCK_NAME = "lock"
SCHEDULER_LOCK_NAME = "scheduler.lock"
PROC_LOCKS = Path("/proc/locks")


@contextmanager
def exclusive_run(
    state_dir: Path, *, wait: float = 0.0, poll: float = 0.1, name: str = LOCK_NAME, what: str = "exporter run"
) -> Iterator[None]:
    """Hold the lock *name* in *state_dir* for the block; wait up to *wait* seconds for it.

    Raise `LockBusy` when another process still holds it after that.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    if not holder:  # the holder has the lock but has not written its pid yet
                        time.sleep(poll)
                        holder = _read_holder(fd)
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise LockBusy(
                        f"another {what}{holder} holds the lock {path}{waited}; try again later"
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def held(path: Path, locks: Path = PROC_LOCKS) -> tuple[bool | None, int | None]:
    """Whether a process holds a flock on the file *path*, and its pid when the kernel says it, without
    trying the lock (that would, for an instant, make a run or service starting then exit 75).

    Linux lists every flock in /proc/locks with the holder's pid and the file's device and inode.
    (None, None) when it cannot be told (no such table: not Linux).
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return False, None
    except OSError:
        return None, None
    try:
        table = locks.read_text()
    except OSError:
        return None, None
    key = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    for line in table.splitlines():
        # "1: FLOCK  ADVISORY  WRITE 4140 fe:00:2770638 0 EOF"; a waiter's line has "->" after the number.
        fields = line.split()
        if "->" not in fields and len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key:
            return True, int(fields[4]) if fields[4].isdigit() and fields[4] != "0" else None
    return False, None
