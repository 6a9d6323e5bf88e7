"""The manifest of a published set: what was built from what, and the hash of every file.

`manifest.json` is written last, after every file of the set is in place, and removed before the
first file of a new set replaces an old one, so a manifest never disagrees with the files beside it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
# isal: it deflates the PDF's streams and the Word and Excel packages, so its version shapes their bytes too.
LIBRARIES = ("python-docx", "openpyxl", "reportlab", "isal", "matplotlib", "pydantic", "PyYAML", "babel", "fonttools")


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
    themes: tuple[tuple[str, str], ...] = ()  # (path in the themes folder, sha256) of its files
    theme: str | None = None  # a build's --theme

    def as_json(self) -> dict[str, Any]:
        inputs = {
            "data_sha256": self.data_sha256,
            "exporter_version": __version__,
            "libraries": library_versions(),
            "formats": list(self.formats),
            "options": {"source_date_epoch": self.source_date_epoch, **({"theme": self.theme} if self.theme else {})},
        }
        if self.tables:
            inputs["tables"] = dict(self.tables)
        if self.variant:
            inputs["variant"] = self.variant
        if self.themes:
            inputs["themes"] = dict(self.themes)
        return inputs


@dataclass(frozen=True)
class FileEntry:
    name: str
    size: int | None  # None when a manifest written by hand or damaged does not say
    sha256: str


@dataclass(frozen=True)
class VariantInfo:
    id: str
    name: str
    lists: tuple[str, ...]


@dataclass(frozen=True)
class PublishedSet:
    """What ``manifest.json`` says of a published set; the only reader and writer of that file.

    Reading is lenient (a damaged or older manifest gives empty fields, never an exception), so the
    index page and delivery can describe what is there; `verify` says whether the files can be trusted.
    """

    set_id: str
    title: str = ""
    publisher: str = ""
    headline: str = ""
    run_id: str = ""
    built_at: str = ""
    as_of: str = ""
    data_file: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)  # format -> file
    variant: VariantInfo | None = None  # a variant's set: which variant, and its lists
    variants: tuple[str, ...] = ()  # a report's own set: its variants' ids
    language: str = ""  # the edition's language (BCP 47) when the report declares one: the mail's words
    summary: dict[str, Any] = field(default_factory=dict)  # key figures, tables, first chart (publish.summary)

    @classmethod
    def new(cls, *, set_id: str, title: str, publisher: str, headline: str, run_id: str, built_at: str,
            as_of: str, data_file: Path, inputs: Inputs, files: dict[str, tuple[str, bytes]],
            variant: VariantInfo | None = None, variants: tuple[str, ...] | list[str] = (),
            language: str = "", summary: dict[str, Any] | None = None) -> PublishedSet:
        """Describe a set about to be published; *files* maps format name to (file name, bytes)."""
        return cls(set_id, title, publisher, headline, run_id, built_at, as_of, str(data_file), inputs.as_json(),
                   {fmt: FileEntry(name, len(data), sha256(data)) for fmt, (name, data) in files.items()},
                   variant, tuple(variants), language, summary or {})

    @classmethod
    def read(cls, folder: Path) -> PublishedSet | None:
        """Return the set published in *folder*, or None when it has no readable manifest."""
        try:
            return cls.from_bytes((folder / MANIFEST_NAME).read_bytes())
        except OSError:
            return None

    @classmethod
    def from_bytes(cls, data: bytes) -> PublishedSet | None:
        """Read a manifest's bytes; None when they are not a JSON object."""
        try:
            raw = json.loads(data)
        except ValueError:
            return None
        return cls.from_json(raw) if isinstance(raw, dict) else None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PublishedSet:
        def text(key: str, where: dict[str, Any] = raw) -> str:
            value = where.get(key)
            return value if isinstance(value, str) else ""

        files = {}
        for fmt, entry in (raw["files"].items() if isinstance(raw.get("files"), dict) else ()):
            if isinstance(entry, dict) and text("name", entry):
                size = entry.get("size")
                ok = isinstance(size, int) and not isinstance(size, bool) and size >= 0
                files[str(fmt)] = FileEntry(entry["name"], size if ok else None, text("sha256", entry))
        variant = raw.get("variant")
        info = None
        if isinstance(variant, dict):
            lists = variant.get("lists")
            info = VariantInfo(text("id", variant), text("name", variant),
                               tuple(n for n in lists if isinstance(n, str)) if isinstance(lists, list) else ())
        variants = raw.get("variants")
        return cls(
            text("report_id"), text("title"), text("publisher"), text("headline"), text("run_id"), text("built_at"),
            text("as_of"), text("data_file"), raw["inputs"] if isinstance(raw.get("inputs"), dict) else {}, files,
            info, tuple(v for v in variants if isinstance(v, str)) if isinstance(variants, list) else (),
            _language(text("language")),
            raw["summary"] if isinstance(raw.get("summary"), dict) else {},
        )

    def as_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.variant:
            extra["variant"] = {"id": self.variant.id, "name": self.variant.name, "lists": list(self.variant.lists)}
        if self.variants:
            extra["variants"] = list(self.variants)
        if self.language:
            extra["language"] = self.language
        if self.summary:
            extra["summary"] = self.summary
        return {
            **extra,
            "manifest_version": MANIFEST_VERSION,
            "report_id": self.set_id,
            "title": self.title,
            "publisher": self.publisher,
            "headline": self.headline,
            "run_id": self.run_id,
            "built_at": self.built_at,
            "as_of": self.as_of,
            "data_file": self.data_file,
            "inputs": self.inputs,
            "files": {fmt: {"name": f.name, "size": f.size, "sha256": f.sha256} for fmt, f in self.files.items()},
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n").encode("utf-8")

    def built_from(self, inputs: Inputs) -> bool:
        return self.inputs == inputs.as_json()

    def verify(self, folder: Path, formats: list[str] | tuple[str, ...] | None = None) -> str | None:
        """Check the files of *formats* (default: all) against their sizes and hashes; return a problem or None."""
        wanted = list(formats or self.files)
        missing = [f for f in wanted if f not in self.files]
        if missing:
            return f"format(s) {', '.join(missing)} not in the published set: build them first"
        for fmt in wanted:
            entry, path = self.files[fmt], folder / self.files[fmt].name
            try:
                if path.stat().st_size != entry.size or file_sha256(path) != entry.sha256:
                    return f"{path} does not match its manifest: rebuild with `exporter build --force`"
            except OSError:
                return f"{path} does not match its manifest: rebuild with `exporter build --force`"
        return None

    def hashes(self) -> dict[str, str]:
        """File name -> sha256 of every file of the set."""
        return {f.name: f.sha256 for f in self.files.values()}


def is_current(folder: Path, inputs: Inputs) -> bool:
    """Tell whether *folder* holds a set built from *inputs* whose files still match their hashes."""
    published = PublishedSet.read(folder)
    # Every format built must be listed: a damaged entry is dropped on reading, and must not pass for current.
    return (published is not None and published.built_from(inputs) and set(published.files) == set(inputs.formats)
            and published.verify(folder) is None)


def _language(value: str) -> str:
    """*value* if Babel knows it as a locale, else "" (a damaged manifest must not break delivery)."""
    if not value:
        return ""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value, sep="-")
    except (ValueError, UnknownLocaleError):
        return ""
    return value
