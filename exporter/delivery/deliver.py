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
from ..core.messages import DEFAULT_LANGUAGE, Words, locale_name
from ..core.numbers import long_date
from ..core.workspace import Workspace
from ..publish.files import atomic_write
from ..publish.manifest import PublishedSet
from . import webhook as webhooks
from .channel import DeliveryError, Parcel, TemporaryDeliveryError
from .ledger import Ledger
from .links import links_for
from .mail import (
    Attachment,
    PermanentMailError,
    SmtpSettings,
    build_message,
    header_text,
    message_id_for,
    send,
    size_text,
    smtp_settings,
)
from .mailbody import compose
from .recipients import DistributionList, LoadedRecipients, SftpTarget

log = logging.getLogger(__name__)


@dataclass
class DeliveryOutcome:
    report_id: str
    list_id: str
    channel: str  # email | drop | webhook | sftp
    status: str  # sent | unchanged | failed | planned
    target: str
    error: str | None = None
    attempts: int = 0


def _published(workspace: Workspace, set_id: SetId, formats: list[str] | None) -> Parcel:
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
    return Parcel(set_id, manifest, files, hashlib.sha256(key.encode()).hexdigest())


@dataclass(frozen=True)
class Route:
    """One channel of one list: how it is named in outcomes and the history, and how a parcel goes out."""

    channel: str  # email | drop | webhook | sftp
    target: str  # what people reading the history see (addresses, a folder, a host): never a secret
    send: Callable[[Parcel], int]  # returns the attempts made; raises DeliveryError or OSError


@dataclass
class _Context:
    """What the senders of one `deliver` share: the environment, the clock, SMTP settings read once."""

    workspace: Workspace
    recipients: LoadedRecipients
    env: Mapping[str, str]
    clock: Callable[[], dt.datetime]
    sleep: Callable[[float], None] | None
    ledger: Ledger
    smtp: SmtpSettings | None = None
    smtp_error: str | None = None

    def smtp_settings(self) -> SmtpSettings:
        if self.smtp is None and self.smtp_error is None:
            try:
                self.smtp = smtp_settings(self.env)
            except UsageError as exc:
                self.smtp_error = str(exc)
        if self.smtp_error is not None:
            raise PermanentMailError(self.smtp_error)
        assert self.smtp is not None
        return self.smtp


def _routes(item: DistributionList, context: _Context) -> list[Route]:
    """The channels of list *item*, in the order they are tried."""
    routes = []
    if item.email:
        routes.append(Route("email", ", ".join(item.email) + (" (Bcc)" if item.bcc else ""),
                            lambda parcel: _email(parcel, item, context)))
    drop = context.recipients.drop_folder(item, context.workspace.output_dir)
    if drop is not None:
        routes.append(Route("drop", str(drop), lambda parcel: _drop(parcel, drop)))
    if item.sftp is not None:
        target = item.sftp
        routes.append(Route("sftp", target.url(), lambda parcel: _sftp(parcel, target, context)))
    if item.webhook is not None:
        hook = item.webhook  # the target names the host only: the URL is a secret
        routes.append(Route("webhook", webhooks.target(hook, context.env), lambda parcel: webhooks.send(
            parcel, hook, item.id, context.env, context.clock, context.sleep)))
    return routes


def deliver(
    *, recipients: LoadedRecipients, lists: list[DistributionList], set_ids: list[SetId], workspace: Workspace,
    ledger: Ledger, run_id: str, env: Mapping[str, str], clock: Callable[[], dt.datetime], dry_run: bool = False,
    sleep=None,
) -> list[DeliveryOutcome]:
    """Deliver every wanted report to every list; return one outcome per report, list and channel."""
    outcomes: list[DeliveryOutcome] = []
    context = _Context(workspace, recipients, env, clock, sleep, ledger)
    editions = {s: _edition_lists(workspace, s) for s in set_ids}
    known = {item.id for item in recipients.recipients.lists}
    every_list = {item.id for item in lists} == known  # with --list, other lists are not this run's business
    for set_id, names in editions.items() if every_list else ():
        for name in (names or ()):
            if name not in known:
                outcomes.append(DeliveryOutcome(str(set_id), name, "-", "failed", "-",
                                                f"the variant names list {name!r}, which {recipients.path} lacks"))
    for item in lists:
        routes = _routes(item, context)
        wanted = [s for s in set_ids if (item.wants(s.report) if editions[s] is None else item.id in (editions[s] or ()))]
        for set_id in wanted:
            report_id = str(set_id)
            try:
                parcel = _published(workspace, set_id, item.formats)
            except ValueError as exc:
                outcomes += [DeliveryOutcome(report_id, item.id, r.channel, "failed", r.target, str(exc)) for r in routes]
                continue
            for route in routes:
                outcome = DeliveryOutcome(report_id, item.id, route.channel, "planned", route.target)
                outcomes.append(outcome)
                if ledger.status(report_id, parcel.content, item.id, route.channel) == "sent":
                    outcome.status = "unchanged"
                    continue
                if dry_run:
                    continue
                now = clock().isoformat(timespec="seconds")
                ledger.mark(report_id, parcel.content, item.id, route.channel, "sending", at=now, run_id=run_id,
                            target=route.target)
                try:
                    outcome.attempts = route.send(parcel)
                except (DeliveryError, OSError, UsageError) as exc:
                    outcome.status, outcome.error = "failed", _describe(exc)
                    outcome.attempts = getattr(exc, "attempts", 1) or 1
                except Exception as exc:  # a bug in one channel must fail that channel, never stop the others
                    log.debug("%s: %s: %s", report_id, item.id, route.channel, exc_info=True)
                    outcome.status, outcome.error = "failed", f"{route.channel} failed: {type(exc).__name__}"
                    outcome.attempts = 1
                else:
                    outcome.status = "sent"
                    outcome.attempts = outcome.attempts or 1
                sent = {"as_of": parcel.manifest.as_of, **parcel.manifest.summary} if outcome.status == "sent" else None
                ledger.mark(report_id, parcel.content, item.id, route.channel, outcome.status,
                            at=clock().isoformat(timespec="seconds"), run_id=run_id, target=route.target,
                            attempts=outcome.attempts, error=outcome.error, summary=sent)
                log.debug("%s: %s: %s: %s", report_id, item.id, route.channel, outcome.status)
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
    if isinstance(exc, OSError) and not isinstance(exc, DeliveryError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, TemporaryDeliveryError):
        return f"gave up after {exc.attempts} attempts: {exc}" if exc.attempts > 1 else str(exc)
    return str(exc)


def _sftp(published: Parcel, target: SftpTarget, context: _Context) -> int:
    from . import sftp  # asyncssh is imported only when a list has an SFTP target

    return sftp.upload(published, target, sftp.sftp_settings(context.env), sleep=context.sleep)


def _drop(published: Parcel, folder: Path) -> int:
    for _, name, path in published.files:
        atomic_write(folder / name, path.read_bytes())
    return 1


def _email(parcel: Parcel, item: DistributionList, context: _Context) -> int:
    settings = context.smtp_settings()
    manifest = parcel.manifest
    language = manifest.language
    words = Words(language or DEFAULT_LANGUAGE)

    def shown(date: str) -> str:  # the edition's way of writing a date; ISO without a language
        try:
            return long_date(dt.date.fromisoformat(date), locale_name(language)) if language else date
        except ValueError:
            return date

    previous = context.ledger.last_sent_summary(str(parcel.set_id), item.id, "email", parcel.content)
    files = [(fmt, name, path.read_bytes()) for fmt, name, path in parcel.files]
    body = compose(
        title=header_text(parcel.title), edition=manifest.variant.name if manifest.variant else "",
        as_of=shown(manifest.as_of), publisher=header_text(manifest.publisher), headline=manifest.headline,
        summary=manifest.summary, previous=previous, previous_as_of=shown(str((previous or {}).get("as_of", ""))),
        attachments=[(name, size_text(len(data))) for _, name, data in files],
        links=links_for(parcel.set_id, context.env), words=words, accent=str(manifest.summary.get("accent", "")),
    )
    message = build_message(
        settings=settings, to=list(item.email), title=parcel.title, as_of=shown(manifest.as_of), body=body,
        attachments=[Attachment(name, fmt, data) for fmt, name, data in files],
        message_id=message_id_for(f"{parcel.set_id}.{parcel.content[:32]}.{item.id}"), now=context.clock(),
        words=words, bcc=item.bcc,
    )
    return send(settings, message, sleep=context.sleep, to=list(item.email))
