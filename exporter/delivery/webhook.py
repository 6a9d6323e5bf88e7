"""Webhook delivery: one short message per set to Microsoft Teams, Slack, or any HTTP endpoint.

A list names its webhook in `recipients.yaml`::

    webhook: {url: "${SALES_TEAMS_WEBHOOK}", style: teams}   # teams | slack | json

A Teams or Slack webhook URL *is* the secret (whoever has it can post), so the URL may come from the
environment: ``${NAME}`` (the whole URL, or any part of it) is read when the message is sent, and an
unset variable fails that channel for good. Messages, the history and ``--dry-run`` name the host
only, never the URL. Only http and https URLs without a user or password are accepted; redirects
are not followed (a 3xx is a permanent failure); proxies come from the usual ``https_proxy`` /
``no_proxy`` variables.

The message carries the summary (title, edition, as-of date, headline, key figures, the files with
their sizes) and, when ``EXPORTER_PUBLIC_URL`` is set (`links.py`), links to the set's folder and
the index page; never the files themselves. Every string from the report is escaped for its
format: JSON encoding for all; Teams text goes in ``TextRun`` elements, which Adaptive Cards never
read as markdown; Slack ``mrkdwn`` text has ``&``, ``<`` and ``>`` escaped and ``verbatim`` set, so
neither mentions nor links can be injected.

Style ``json`` sends this document (``version`` 1; new fields may be added, none removed)::

    {"type": "exporter.set.published", "version": 1,
     "delivery_id": "<set-id>.<content[:32]>.<list-id>",   # the same for a re-send: deduplicate on it
     "list_id": "sales-na", "report_id": "pump-market", "set_id": "pump-market.dach",
     "variant": "dach" | null, "edition": "DACH edition" | null,
     "title": "...", "as_of": "2026-11-23", "publisher": "...", "headline": "...", "language": "de-DE" | "",
     "built_at": "2026-11-30T11:47:43+00:00",
     "figures": [{"label": "...", "text": "..."}],
     "content_sha256": "<sha256 over the files' names and hashes>",
     "files": [{"format": "pdf", "name": "pump-market.pdf", "media_type": "application/pdf",
                "size": 86979, "sha256": "<hex>", "url": "https://.../pump-market/pump-market.pdf" | null}],
     "links": {"folder": "https://.../pump-market/" | null, "index": "https://.../index.html" | null}}

Every request carries ``X-Exporter-Delivery: <delivery_id>``. When a secret is set
(``EXPORTER_WEBHOOK_SECRET``, or the list's own ``secret_env: NAME``), a json webhook's request also
carries ``X-Exporter-Timestamp: <unix seconds>`` and ``X-Exporter-Signature: sha256=<hex>``, the
HMAC-SHA256 under the secret of ``<timestamp>.<raw body>``. A receiver recomputes it over the raw
bytes, compares in constant time, and refuses a timestamp more than a few minutes old (a replay).

Refused connections, timeouts, 408, 429 and 5xx replies are retried with exponential backoff
(``EXPORTER_WEBHOOK_ATTEMPTS``, ``EXPORTER_WEBHOOK_BACKOFF``); a ``Retry-After`` is honoured up to
`MAX_RETRY_AFTER` seconds, and a longer one ends the attempts (the next ``deliver`` tries again).
Other 4xx and 3xx replies fail at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr, model_validator

from .. import __version__
from ..core.env import env_number
from ..core.errors import UsageError
from ..core.formats import FORMATS
from ..core.messages import DEFAULT_LANGUAGE, Words, locale_name
from ..core.numbers import long_date
from ..core.web import NoRedirects, error_text
from .channel import Parcel, PermanentDeliveryError, TemporaryDeliveryError, retried
from .links import Links, links_for

SECRET_ENV = "EXPORTER_WEBHOOK_SECRET"
MAX_RETRY_AFTER = 120  # seconds: a server asking for a longer pause is tried again by the next deliver
MAX_REPLY = 64 * 1024  # bytes of a reply read (its first line explains a refusal)
STYLES = ("teams", "slack", "json")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INDEX_TITLE = "Published reports"  # the index page's own title (publish/index_page.py)


def url_problem(url: str) -> str | None:
    """What is wrong with *url* as a webhook address, or None; the text never repeats the URL."""
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        return "must be one URL without spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "may not hold a user or password (put a secret in the environment: ${NAME})"
    try:
        parts.port  # noqa: B018 -- raises for a port that is not a number in range
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    return None


def _url(value: str) -> str:
    if _ENV_REFERENCE.search(value):  # checked when it is used, with the environment's values
        return value
    problem = url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError("must be the name of an environment variable (letters, digits and '_')")
    return value


if TYPE_CHECKING:
    Style = str
else:
    Style = Literal[STYLES]


class WebhookSpec(BaseModel):
    """A list's ``webhook:`` as `recipients.yaml` declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[StrictStr, AfterValidator(_url)]
    style: Style
    secret_env: Annotated[StrictStr, AfterValidator(_env_name)] | None = None

    @model_validator(mode="after")
    def _signing(self):
        if self.secret_env is not None and self.style != "json":
            raise ValueError("secret_env signs json webhooks only (Teams and Slack check no signature)")
        return self

    def __repr__(self) -> str:  # never show the URL
        return f"WebhookSpec(style={self.style!r})"

    __str__ = __repr__


class PermanentWebhookError(PermanentDeliveryError):
    """The endpoint refused for good (4xx other than 408/429, a redirect), or the webhook is misconfigured."""


class TemporaryWebhookError(TemporaryDeliveryError):
    """Worth another try: refused connection, timeout, 408, 429, 5xx (after the pause a Retry-After asks for)."""


@dataclass(frozen=True)
class WebhookSettings:
    timeout: float  # seconds per connection and read
    attempts: int
    backoff: float  # seconds before the first retry; doubles each time


def webhook_settings(env: Mapping[str, str]) -> WebhookSettings:
    """Read the webhook settings from *env*; raise `UsageError` naming the variable at fault."""

    def number(name: str, default: str, kind: Callable[[str], float] = float) -> float:
        return env_number(env, name, default, kind)

    timeout = number("EXPORTER_WEBHOOK_TIMEOUT", "10")
    if timeout == 0:
        raise UsageError("EXPORTER_WEBHOOK_TIMEOUT must be more than 0")
    return WebhookSettings(timeout=timeout, attempts=max(1, int(number("EXPORTER_WEBHOOK_ATTEMPTS", "5", int))),
                           backoff=number("EXPORTER_WEBHOOK_BACKOFF", "2"))


def resolve_url(spec: WebhookSpec, env: Mapping[str, str]) -> str:
    """The URL with its ``${NAME}`` parts filled in; raise `PermanentWebhookError` (never showing it)."""

    def value(match: re.Match) -> str:
        if not env.get(match[1]):
            raise PermanentWebhookError(f"the environment variable {match[1]} is not set (the webhook's URL)")
        return env[match[1]]

    url = _ENV_REFERENCE.sub(value, spec.url)
    problem = url_problem(url)
    if problem:
        where = ", ".join(dict.fromkeys(_ENV_REFERENCE.findall(spec.url))) or "recipients file"
        raise PermanentWebhookError(f"the webhook URL (from {where}) {problem}")
    return url


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def target(spec: WebhookSpec, env: Mapping[str, str]) -> str:
    """How outcomes and the history name the webhook: its style and host, never the URL."""
    try:
        return f"{spec.style} at {_host(resolve_url(spec, env))}"
    except PermanentWebhookError:
        names = ", ".join(f"${{{n}}}" for n in dict.fromkeys(_ENV_REFERENCE.findall(spec.url)))
        return f"{spec.style} at {names or 'an invalid URL'}"


# -- the message ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Summary:
    """What every style says, from the manifest only."""

    title: str
    edition: str | None
    as_of_line: str  # "As of November 23, 2026 · Publisher", in the edition's language
    headline: str
    figures: list[tuple[str, str]]  # (label, text)
    files: list[dict[str, Any]]
    links: Links | None
    open_label: str


def _summary(parcel: Parcel, links: Links | None) -> _Summary:
    manifest = parcel.manifest
    words = Words(manifest.language or DEFAULT_LANGUAGE)
    as_of = manifest.as_of
    if manifest.language and as_of:
        try:
            as_of = long_date(dt.date.fromisoformat(as_of), locale_name(manifest.language))
        except ValueError:
            pass
    figures = []
    for entry in (manifest.summary.get("figures") or []) if isinstance(manifest.summary, dict) else []:
        if isinstance(entry, dict) and isinstance(entry.get("label"), str) and isinstance(entry.get("text"), str):
            figures.append((entry["label"], entry["text"]))
    files = []
    for fmt, name, _ in parcel.files:
        entry = manifest.files[fmt]
        files.append({"format": fmt, "name": name, "media_type": FORMATS[fmt].mime_type if fmt in FORMATS else None,
                      "size": entry.size, "sha256": entry.sha256,
                      "url": f"{links.folder}{quote(name)}" if links else None})
    return _Summary(
        title=parcel.title,
        edition=manifest.variant.name if manifest.variant and manifest.variant.name else None,
        as_of_line=words("mail_as_of", date=as_of, publisher=manifest.publisher),
        headline=manifest.headline,
        figures=figures,
        files=files,
        links=links,
        open_label=words("mail_open"),
    )


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _file_line(f: dict[str, Any]) -> str:
    label = FORMATS[f["format"]].label if f["format"] in FORMATS else f["format"]
    return f"{label}: {f['name']} ({_size(f['size'])})"


def json_payload(parcel: Parcel, list_id: str, links: Links | None) -> dict[str, Any]:
    """The documented JSON document of style ``json`` (see the module's docstring)."""
    s = _summary(parcel, links)
    manifest = parcel.manifest
    return {
        "type": "exporter.set.published",
        "version": 1,
        "delivery_id": delivery_id(parcel, list_id),
        "list_id": list_id,
        "report_id": parcel.set_id.report,
        "set_id": str(parcel.set_id),
        "variant": parcel.set_id.variant,
        "edition": s.edition,
        "title": s.title,
        "as_of": manifest.as_of,
        "publisher": manifest.publisher,
        "headline": s.headline,
        "language": manifest.language,
        "built_at": manifest.built_at,
        "figures": [{"label": label, "text": text} for label, text in s.figures],
        "content_sha256": parcel.content,
        "files": s.files,
        "links": {"folder": links.folder if links else None, "index": links.index if links else None},
    }


def _plain(text: str) -> str:
    """Text for an Adaptive Card ``TextRun`` (never markdown); ``{{`` would start a DATE()/TIME() function."""
    return text.replace("{{", "{\u200b{")


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": _plain(text), **style}


def _block(*runs: dict[str, Any], **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **style}


def teams_payload(parcel: Parcel, list_id: str, links: Links | None) -> dict[str, Any]:
    """A message a Teams Workflows webhook ("When a Teams webhook request is received") posts as a card."""
    s = _summary(parcel, links)
    body: list[dict[str, Any]] = [_block(_run(s.title, size="Large", weight="Bolder"))]
    if s.edition:
        body.append(_block(_run(s.edition, weight="Bolder")))
    body.append(_block(_run(s.as_of_line, isSubtle=True), spacing="None"))
    if s.headline:
        body.append(_block(_run(s.headline)))
    for label, text in s.figures:
        body.append(_block(_run(f"{label}: ", weight="Bolder"), _run(text), spacing="Small"))
    for n, f in enumerate(s.files):
        body.append(_block(_run(_file_line(f), isSubtle=True), spacing="Medium" if n == 0 else "None"))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if links:
        card["actions"] = [{"type": "Action.OpenUrl", "title": s.open_label, "url": links.folder},
                           {"type": "Action.OpenUrl", "title": _INDEX_TITLE, "url": links.index}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def slack_escape(text: str) -> str:
    """Text for Slack ``mrkdwn``: the three characters Slack reads as markup become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    if len(text) > 3000:  # Slack's limit for a text object; never cut inside an entity ("&amp;")
        text = text[:2999]
        amp = text.rfind("&")
        if amp != -1 and ";" not in text[amp:]:
            text = text[:amp]
        text += "…"
    # verbatim: no automatic links, channel names or mentions from the text
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def slack_payload(parcel: Parcel, list_id: str, links: Links | None) -> dict[str, Any]:
    """An incoming-webhook message: a ``text`` fallback (notifications) and Block Kit ``blocks``.

    Texts are cut before escaping so that no section passes Slack's 3,000 characters (a longer one
    is refused with a 400, which would fail the list for good).
    """
    s = _summary(parcel, links)

    def e(text: str, limit: int = 400) -> str:
        return slack_escape(_cut(text, limit))

    heading = f"*{e(s.title)}*" + (f"\n{e(s.edition)}" if s.edition else "") + f"\n{e(s.as_of_line)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(heading)}]
    if s.headline:
        blocks.append({"type": "section", "text": _mrkdwn(e(s.headline, 2000))})
    if s.figures:
        blocks.append({"type": "section", "text": _mrkdwn("\n".join(f"*{e(label, 100)}:* {e(text, 100)}"
                                                                     for label, text in s.figures[:10]))})
    if s.files:
        blocks.append({"type": "context", "elements": [_mrkdwn(e(_file_line(f))) for f in s.files[:10]]})
    if links:
        blocks.append({"type": "section", "text": _mrkdwn(
            f"<{slack_escape(links.folder)}|{e(s.open_label)}> · <{slack_escape(links.index)}|{_INDEX_TITLE}>")})
    fallback = f"{s.title} ({s.as_of_line})" + (f": {s.headline}" if s.headline else "")
    return {"text": e(fallback, 3000), "blocks": blocks}


PAYLOADS: dict[str, Callable[[Parcel, str, Links | None], dict[str, Any]]] = {
    "teams": teams_payload, "slack": slack_payload, "json": json_payload,
}


def delivery_id(parcel: Parcel, list_id: str) -> str:
    """Stable per content and list: a re-send after a crash carries the same id."""
    return f"{parcel.set_id}.{parcel.content[:32]}.{list_id}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Exporter-Signature`` value: HMAC-SHA256 of ``<timestamp>.<body>`` under *secret*."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


# -- sending -------------------------------------------------------------------------------------------


def send(parcel: Parcel, spec: WebhookSpec, list_id: str, env: Mapping[str, str],
         clock: Callable[[], dt.datetime], sleep: Callable[[float], None] | None = None) -> int:
    """Post the list's message for *parcel*, retrying temporary failures; return the attempts made.

    Raise `PermanentWebhookError`, or `TemporaryWebhookError` once the attempts are used up.
    """
    try:
        settings = webhook_settings(env)
        links = links_for(parcel.set_id, env)
    except UsageError as exc:
        raise PermanentWebhookError(str(exc)) from None
    url = resolve_url(spec, env)
    secret = None
    if spec.secret_env is not None:
        secret = env.get(spec.secret_env)
        if not secret:
            raise PermanentWebhookError(f"the environment variable {spec.secret_env} is not set "
                                        "(the secret that signs this list's webhook)")
    elif spec.style == "json":
        secret = env.get(SECRET_ENV) or None
    body = json.dumps(PAYLOADS[spec.style](parcel, list_id, links), ensure_ascii=False).encode("utf-8")
    def once() -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": f"exporter/{__version__}",
                   "X-Exporter-Delivery": delivery_id(parcel, list_id)}
        if secret:
            timestamp = int(clock().timestamp())  # each attempt signs afresh: a retry is not stale
            headers["X-Exporter-Timestamp"] = str(timestamp)
            headers["X-Exporter-Signature"] = signature(secret, timestamp, body)
        _post_once(url, body, headers, settings.timeout, clock, [secret] if secret else [])

    return retried(once, attempts=settings.attempts, backoff=settings.backoff, sleep=sleep)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(NoRedirects(), urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def _post_once(url: str, body: bytes, headers: dict[str, str], timeout: float,
               clock: Callable[[], dt.datetime], secrets: list[str]) -> None:
    host = _host(url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener().open(request, timeout=timeout) as response:
            response.read(MAX_REPLY)
    except urllib.error.HTTPError as exc:
        code, reason = exc.code, _reply_text(exc.reason if isinstance(exc.reason, str) else "", url, secrets)
        try:
            detail = _reply_text(exc.read(MAX_REPLY).decode("utf-8", "replace"), url, secrets)
        except (OSError, http.client.HTTPException):
            detail = ""
        finally:
            exc.close()
        said = f"{host} answered {code} {reason}".rstrip() + (f": {detail}" if detail and detail != reason else "")
        if code in (408, 429) or 500 <= code < 600:
            pause = _retry_after(exc.headers.get("Retry-After") if exc.headers else None, clock)
            if pause is not None and pause > MAX_RETRY_AFTER:
                raise TemporaryWebhookError(f"{said} (asked to wait {pause:.0f} s, more than {MAX_RETRY_AFTER}: "
                                            "the next deliver tries again)", give_up=True) from None
            raise TemporaryWebhookError(said, retry_after=pause) from None
        if 300 <= code < 400:
            raise PermanentWebhookError(f"{host} answered {code} {reason}: redirects are not followed; "
                                        "give the webhook's final URL") from None
        raise PermanentWebhookError(said) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLCertVerificationError):
            raise PermanentWebhookError(f"{host}: the server's certificate is not trusted: "
                                        f"{exc.reason.verify_message}") from None
        raise TemporaryWebhookError(f"cannot reach {host}: {error_text(exc.reason)}") from None
    except TimeoutError:
        raise TemporaryWebhookError(f"{host}: no reply within {timeout:g} s (EXPORTER_WEBHOOK_TIMEOUT)") from None
    except (ConnectionError, http.client.HTTPException) as exc:
        raise TemporaryWebhookError(f"{host}: connection lost: {error_text(exc)}") from None
    except ValueError:  # http.client's own checks of a URL or header: its message would repeat the URL
        raise PermanentWebhookError(f"{host}: the webhook URL cannot be sent as it is") from None
    except OSError as exc:
        raise TemporaryWebhookError(f"cannot reach {host}: {error_text(exc)}") from None


def _retry_after(value: str | None, clock: Callable[[], dt.datetime]) -> float | None:
    """Seconds a ``Retry-After`` asks for (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - clock()).total_seconds())


def _reply_text(text: str, url: str, secrets: list[str]) -> str:
    """A reply's first words for a message: one line, short, without the URL's path or any secret.

    Some servers echo the request ("Cannot POST /services/T0/B0/XXXX"), and a webhook's path is its token.
    """
    parts = urlsplit(url)
    hidden = [url, f"{parts.path}?{parts.query}", parts.path, parts.query, *secrets]
    hidden += [piece for piece in re.split(r"[/?&=;]", f"{parts.path}?{parts.query}") if len(piece) >= 6]
    for piece in sorted((p for p in hidden if p), key=len, reverse=True):
        text = text.replace(piece, "…")
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= 200 else text[:199] + "…"
