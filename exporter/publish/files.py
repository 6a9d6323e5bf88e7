"""Publish deliverables so that a reader never sees a half-written file or a mixed set.

A file is written under a hidden temporary name in its target folder, flushed and fsynced, then
renamed over the old one with `os.replace` (atomic on POSIX), and the folder is fsynced so the
rename survives a crash. A set (all formats of one report) is published as a unit:

1. every file is written to a temporary name first; any failure removes them, the old set stays;
2. a copy of the set goes to ``history/<run-id>/`` (written as a hidden folder, then renamed; the
   files are hard links to the new files, which are never written again, only replaced);
3. the old manifest is removed, the files are renamed into place, the new manifest is written
   last. Old files are hard-linked aside first, so a failure here puts the old set back.

A crash in step 3 can leave new and old files side by side, each complete, but never a
manifest that disagrees with them; with no manifest the next run rebuilds the set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .manifest import MANIFEST_NAME, PublishedSet

TEMP_PREFIX = ".tmp-"
KEPT_DIR = "history"  # OUTPUT/<set>/history/<run-id>/: the sets kept from earlier runs


def atomic_write(target: Path, data: bytes) -> None:
    """Replace *target* with *data* atomically; leave the old file in place on failure."""
    temp = write_temp(target.parent, data)
    try:
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_temp(directory: Path, data: bytes) -> Path:
    """Write *data* to a new hidden temporary file in *directory*, fsynced; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_path(path: Path) -> None:
    """Remove the file, link or folder (with what it holds) at *path*, if there is one; a link's target stays."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files and folders an interrupted run left in *folder*."""
    removed = []
    for parent in (folder, folder / KEPT_DIR):
        if not parent.is_dir():
            continue
        for path in parent.glob(TEMP_PREFIX + "*"):
            remove_path(path)
            removed.append(path)
    return removed


def publish_set(folder: Path, files: dict[str, bytes], manifest: PublishedSet, *, version: str,
                keep: int) -> list[Path]:
    """Publish *files* (name -> bytes) and *manifest* in *folder* as one set; return the paths.

    Files of the folder that belong to no set (other formats of an older set) are removed;
    they stay in the history.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest_bytes = manifest.to_bytes()
    temps: dict[str, Path] = {}
    try:
        for name, data in files.items():
            temps[name] = write_temp(folder, data)
        if keep > 0:
            _write_version(folder / KEPT_DIR, version, {MANIFEST_NAME: manifest_bytes}, linked=temps)
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise
    _switch(folder, temps, manifest_bytes)
    prune_kept(folder / KEPT_DIR, keep)
    return [folder / name for name in files]


def _switch(folder: Path, temps: dict[str, Path], manifest_bytes: bytes) -> None:
    manifest_path = folder / MANIFEST_NAME
    old_manifest = manifest_path.read_bytes() if manifest_path.exists() else None
    stale = [p for p in _published_names(old_manifest) if p not in temps]
    backups: dict[str, Path] = {}
    placed: list[str] = []
    try:
        for name in [*temps, *stale]:
            if (folder / name).exists():
                backups[name] = _keep_aside(folder / name)
        manifest_path.unlink(missing_ok=True)
        fsync_dir(folder)
        for name, temp in temps.items():
            os.replace(temp, folder / name)
            placed.append(name)
        for name in stale:
            (folder / name).unlink(missing_ok=True)
        fsync_dir(folder)
        atomic_write(manifest_path, manifest_bytes)
    except BaseException:
        for name in placed:
            if name not in backups:
                (folder / name).unlink(missing_ok=True)
        for name, backup in backups.items():
            os.replace(backup, folder / name)
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        if old_manifest is not None:
            atomic_write(manifest_path, old_manifest)
        raise
    for backup in backups.values():
        backup.unlink(missing_ok=True)


def _keep_aside(path: Path) -> Path:
    """Link (or, where links are unsupported, copy) *path* to a hidden backup name."""
    backup = path.with_name(f"{TEMP_PREFIX}old-{path.name}")
    backup.unlink(missing_ok=True)
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)
    return backup


def _published_names(manifest_bytes: bytes | None) -> list[str]:
    published = PublishedSet.from_bytes(manifest_bytes) if manifest_bytes is not None else None
    return [entry.name for entry in published.files.values()] if published else []


def _write_version(history: Path, version: str, files: dict[str, bytes], *, linked: dict[str, Path]) -> None:
    """Keep a copy of the set in ``history/<version>/``: *files* written there, and the *linked* ones
    (name -> a file already written and fsynced, the set's temporary file) hard-linked there.

    A link is as durable as a copy once the staging folder is fsynced (the data was fsynced through
    the temporary file, and it is the same inode), and it saves writing and fsyncing every file a
    second time. It stays the kept version: exporter never writes into a published file, it
    replaces it by a rename, so the kept link keeps the old contents. Where links are refused,
    the file is copied.
    """
    history.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=history))
    try:
        for name, source in linked.items():
            try:
                os.link(source, staging / name)
            except OSError:
                files = {name: source.read_bytes(), **files}
        for name, data in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(staging / name, 0o644)
        os.chmod(staging, 0o755)
        fsync_dir(staging)
        os.replace(staging, history / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(history)


def kept_sets(history: Path) -> list[Path]:
    """Return the kept sets in *history*, oldest first (names sort by time)."""
    if not history.is_dir():
        return []
    return sorted(p for p in history.iterdir() if p.is_dir() and not p.name.startswith("."))


def prune_kept(history: Path, keep: int) -> None:
    """Keep the newest *keep* sets in *history*, remove the rest."""
    kept = kept_sets(history)
    for old in kept[: max(len(kept) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)
