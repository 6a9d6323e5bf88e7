"""Deliver published sets to distribution lists, by email and drop folder, exactly once per content.

Works from what is published (each report's manifest and files, checked against their hashes), never
from data. The caller holds the run lock, so no build replaces files while they are sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..core.errors import UsageError
from .ledger import Ledger
from .mail import (
    Attachment, PermanentMailError, TemporaryMailError, build_message, message_id_for, send, smtp_settings,
)
from ..publish.manifest import file_sha256, read_manifest
from ..publish.files import atomic_write
from .recipients import DistributionList, LoadedRecipients

log = logging.getLogger(__name__)


@dataclass
class DeliveryOutcome:
    report_id: str
    list_id: str
    channel: str  # email | drop
    status: str  # sent | unchanged | failed | planned
    target: str
    error: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class _Published:
    report_id: str
    manifest: dict
    files: list[tuple[str, str, Path]]  # (format, name, path)
    content: str


def _published(output_dir: Path, report_id: str, formats: list[str] | None) -> _Published:
    """Return the current set of *report_id*, checked against its manifest; raise `ValueError` if unusable."""
    folder = output_dir / report_id
    manifest = read_manifest(folder)
    if manifest is None:
        raise ValueError("not published yet: run `exporter build` first")
    wanted = formats or list(manifest["files"])
    missing = [f for f in wanted if f not in manifest["files"]]
    if missing:
        raise ValueError(f"format(s) {', '.join(missing)} not in the published set: build them first")
    files = []
    for fmt in wanted:
        entry = manifest["files"][fmt]
        path = folder / entry["name"]
        if not path.is_file() or path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
            raise ValueError(f"{path} does not match its manifest: rebuild with `exporter build --force`")
        files.append((fmt, entry["name"], path))
    key = "\n".join(f"{name} {manifest['files'][fmt]['sha256']}" for fmt, name, _ in files)
    return _Published(report_id, manifest, files, hashlib.sha256(key.encode()).hexdigest())


def deliver(
    *, recipients: LoadedRecipients, lists: list[DistributionList], report_ids: list[str], output_dir: Path,
    ledger: Ledger, run_id: str, env: Mapping[str, str], clock: Callable[[], dt.datetime], dry_run: bool = False,
    sleep=None,
) -> list[DeliveryOutcome]:
    """Deliver every wanted report to every list; return one outcome per report, list and channel."""
    outcomes: list[DeliveryOutcome] = []
    settings = None
    settings_error: str | None = None
    editions = {r: _edition_lists(output_dir, r) for r in report_ids}
    known = {item.id for item in recipients.recipients.lists}
    every_list = {item.id for item in lists} == known  # with --list, other lists are not this run's business
    for report_id, names in editions.items() if every_list else ():
        for name in (names or ()):
            if name not in known:
                outcomes.append(DeliveryOutcome(report_id, name, "-", "failed", "-",
                                                f"the variant names list {name!r}, which {recipients.path} lacks"))
    for item in lists:
        drop = recipients.drop_folder(item, output_dir)
        channels = ([("email", ", ".join(item.email))] if item.email else []) + (
            [("drop", str(drop))] if drop is not None else [])
        wanted = [r for r in report_ids if (item.wants(r) if editions[r] is None else item.id in editions[r])]
        for report_id in wanted:
            try:
                published = _published(output_dir, report_id, item.formats)
            except ValueError as exc:
                outcomes += [DeliveryOutcome(report_id, item.id, ch, "failed", target, str(exc)) for ch, target in channels]
                continue
            for channel, target in channels:
                outcome = DeliveryOutcome(report_id, item.id, channel, "planned", target)
                outcomes.append(outcome)
                if ledger.status(report_id, published.content, item.id, channel) == "sent":
                    outcome.status = "unchanged"
                    continue
                if dry_run:
                    continue
                now = clock().isoformat(timespec="seconds")
                ledger.mark(report_id, published.content, item.id, channel, "sending", at=now, run_id=run_id,
                            target=target)
                if channel == "email" and settings is None and settings_error is None:
                    try:
                        settings = smtp_settings(env)
                    except UsageError as exc:
                        settings_error = str(exc)
                try:
                    if channel == "drop":
                        _drop(published, drop)
                    elif settings_error:
                        raise PermanentMailError(settings_error)
                    else:
                        outcome.attempts = _email(published, item, settings, clock, sleep)
                except (PermanentMailError, TemporaryMailError, OSError) as exc:
                    outcome.status, outcome.error = "failed", _describe(exc)
                    outcome.attempts = outcome.attempts or getattr(exc, "attempts", 1)
                else:
                    outcome.status = "sent"
                    outcome.attempts = outcome.attempts or 1
                ledger.mark(report_id, published.content, item.id, channel, outcome.status,
                            at=clock().isoformat(timespec="seconds"), run_id=run_id, target=target,
                            attempts=outcome.attempts, error=outcome.error)
                log.debug("%s: %s: %s: %s", report_id, item.id, channel, outcome.status)
    return outcomes


def _edition_lists(output_dir: Path, report_id: str) -> list[str] | None:
    """The lists a variant's set goes to (from its manifest); None for a report's own set.

    A variant goes only to the lists it names, so a list taking ``reports: all`` gets each
    report's own edition, not every regional one.
    """
    if "." not in report_id:
        return None
    manifest = read_manifest(output_dir / report_id) or {}
    variant = manifest.get("variant")
    return list(variant.get("lists", [])) if isinstance(variant, dict) else []


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, (PermanentMailError, TemporaryMailError)):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, TemporaryMailError):
        return f"gave up after retries: {exc}"
    return str(exc)


def _drop(published: _Published, folder: Path) -> None:
    for _, name, path in published.files:
        atomic_write(folder / name, path.read_bytes())


def _email(published: _Published, item: DistributionList, settings, clock, sleep) -> int:
    manifest = published.manifest
    message = build_message(
        settings=settings,
        to=list(item.email),
        title=manifest.get("title", published.report_id),
        as_of=manifest.get("as_of", ""),
        publisher=manifest.get("publisher", ""),
        headline=manifest.get("headline", ""),
        attachments=[Attachment(name, fmt, path.read_bytes()) for fmt, name, path in published.files],
        message_id=message_id_for(f"{published.report_id}.{published.content[:32]}.{item.id}"),
        now=clock(),
    )
    return send(settings, message, sleep=sleep)
