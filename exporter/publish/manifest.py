"""The manifest of a published set: what was built from what, and the hash of every file.

`manifest.json` is written last, after every file of the set is in place, and removed before the
first file of a new set replaces an old one, so a manifest never disagrees with the files beside it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
LIBRARIES = ("python-docx", "openpyxl", "reportlab", "matplotlib", "pydantic", "PyYAML")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Return the versions of the libraries that shape the output bytes."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class Inputs:
    """Everything that decides a set's bytes; equal inputs give an identical set."""

    data_sha256: str
    formats: tuple[str, ...]
    source_date_epoch: int | None
    tables: tuple[tuple[str, str], ...] = ()  # (CSV file name, sha256) of the report's table files
    variant: str | None = None

    def as_json(self) -> dict[str, Any]:
        inputs = {
            "data_sha256": self.data_sha256,
            "exporter_version": __version__,
            "libraries": library_versions(),
            "formats": list(self.formats),
            "options": {"source_date_epoch": self.source_date_epoch},
        }
        if self.tables:
            inputs["tables"] = dict(self.tables)
        if self.variant:
            inputs["variant"] = self.variant
        return inputs


def make_manifest(
    *, report_id: str, title: str, publisher: str, headline: str, run_id: str, built_at: str, as_of: str, data_file: Path, inputs: Inputs,
    files: dict[str, tuple[str, bytes]], variant: dict[str, Any] | None = None, variants: list[str] = (),
) -> dict[str, Any]:
    """Describe a set; *files* maps format name to (file name, bytes).

    A variant's set names its variant (id, name, lists); a report's own set lists its variants' ids.
    """
    extra: dict[str, Any] = {}
    if variant:
        extra["variant"] = variant
    if variants:
        extra["variants"] = list(variants)
    return {
        **extra,
        "manifest_version": MANIFEST_VERSION,
        "report_id": report_id,
        "title": title,
        "publisher": publisher,
        "headline": headline,
        "run_id": run_id,
        "built_at": built_at,
        "as_of": as_of,
        "data_file": str(data_file),
        "inputs": inputs.as_json(),
        "files": {
            fmt: {"name": name, "size": len(data), "sha256": sha256(data)} for fmt, (name, data) in files.items()
        },
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """Return the manifest in *folder*, or None when there is none or it cannot be read."""
    try:
        return json.loads((folder / MANIFEST_NAME).read_bytes())
    except (OSError, ValueError):
        return None


def is_current(folder: Path, inputs: Inputs) -> bool:
    """Tell whether *folder* holds a set built from *inputs* whose files still match their hashes."""
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("inputs") != inputs.as_json():
        return False
    try:
        for entry in manifest["files"].values():
            path = folder / entry["name"]
            if path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
                return False
    except (OSError, KeyError, TypeError):
        return False
    return True


def dumps(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
