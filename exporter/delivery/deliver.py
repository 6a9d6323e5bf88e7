"""Deliver published sets to distribution lists, by email and drop folder, exactly once per content.

Works from what is published (each report's manifest and files, checked against their hashes), never
from data. The caller holds the run lock, so no build replaces files while they are sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UsageError
from ..core.ids import SetId
from ..core.workspace import Workspace
from ..publish.files import atomic_write
from ..publish.manifest import PublishedSet
from .ledger import Ledger
from .mail import Attachment, PermanentMailError, TemporaryMailError, build_message, message_id_for, send, smtp_settings
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
    set_id: SetId
    manifest: PublishedSet
    files: list[tuple[str, str, Path]]  # (format, name, path)
    content: str


def _published(workspace: Workspace, set_id: SetId, formats: list[str] | None) -> _Published:
    """Return the current set *set_id*, checked against its manifest; raise `ValueError` if unusable."""
    folder = workspace.set_folder(set_id)
    manifest = PublishedSet.read(folder)
    if manifest is None:
        raise ValueError("not published yet: run `exporter build` first")
    problem = manifest.verify(folder, formats)
    if problem:
        raise ValueError(problem)
    wanted = formats or list(manifest.files)
    files = [(fmt, manifest.files[fmt].name, folder / manifest.files[fmt].name) for fmt in wanted]
    key = "\n".join(f"{name} {manifest.files[fmt].sha256}" for fmt, name, _ in files)
    return _Published(set_id, manifest, files, hashlib.sha256(key.encode()).hexdigest())


def deliver(
    *, recipients: LoadedRecipients, lists: list[DistributionList], set_ids: list[SetId], workspace: Workspace,
    ledger: Ledger, run_id: str, env: Mapping[str, str], clock: Callable[[], dt.datetime], dry_run: bool = False,
    sleep=None,
) -> list[DeliveryOutcome]:
    """Deliver every wanted report to every list; return one outcome per report, list and channel."""
    outcomes: list[DeliveryOutcome] = []
    settings = None
    settings_error: str | None = None
    editions = {s: _edition_lists(workspace, s) for s in set_ids}
    known = {item.id for item in recipients.recipients.lists}
    every_list = {item.id for item in lists} == known  # with --list, other lists are not this run's business
    for set_id, names in editions.items() if every_list else ():
        for name in (names or ()):
            if name not in known:
                outcomes.append(DeliveryOutcome(str(set_id), name, "-", "failed", "-",
                                                f"the variant names list {name!r}, which {recipients.path} lacks"))
    for item in lists:
        drop = recipients.drop_folder(item, workspace.output_dir)
        channels = ([("email", ", ".join(item.email))] if item.email else []) + (
            [("drop", str(drop))] if drop is not None else [])
        wanted = [s for s in set_ids if (item.wants(s.report) if editions[s] is None else item.id in (editions[s] or ()))]
        for set_id in wanted:
            report_id = str(set_id)
            try:
                published = _published(workspace, set_id, item.formats)
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
                        assert drop is not None  # the drop channel exists only with a folder
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


def _edition_lists(workspace: Workspace, set_id: SetId) -> list[str] | None:
    """The lists a variant's set goes to (from its manifest); None for a report's own set.

    A variant goes only to the lists it names, so a list taking ``reports: all`` gets each
    report's own edition, not every regional one.
    """
    if not set_id.is_variant:
        return None
    manifest = PublishedSet.read(workspace.set_folder(set_id))
    return list(manifest.variant.lists) if manifest and manifest.variant else []


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
        title=manifest.title or str(published.set_id),
        as_of=manifest.as_of,
        publisher=manifest.publisher,
        headline=manifest.headline,
        attachments=[Attachment(name, fmt, path.read_bytes()) for fmt, name, path in published.files],
        message_id=message_id_for(f"{published.set_id}.{published.content[:32]}.{item.id}"),
        now=clock(),
        language=manifest.language,
    )
    return send(settings, message, sleep=sleep)
