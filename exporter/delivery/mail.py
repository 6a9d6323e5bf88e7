"""Email delivery over SMTP: settings from the environment, one message per list and report.

The password is read only from the environment and never logged. Every header value from data
goes through `header_text`, so CR/LF in a title can never start a new header. Temporary failures
(4xx replies, dropped connections, timeouts) are retried with exponential backoff, within a bound;
permanent ones (5xx) fail at once.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from ..core.env import env_number
from ..core.errors import UsageError
from ..core.formats import FORMATS
from ..core.messages import Words
from .channel import PermanentDeliveryError, TemporaryDeliveryError, retried
from .mailbody import CHART_ID, Body


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str  # none | starttls | ssl
    user: str | None
    password: str | None
    sender: str
    timeout: float
    max_bytes: int
    attempts: int
    backoff: float  # seconds before the first retry; doubles each time

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, tls={self.tls!r}, user={self.user!r})"


def smtp_settings(env: Mapping[str, str]) -> SmtpSettings:
    """Read the SMTP settings from *env*; raise `UsageError` naming the variable at fault."""
    host = env.get("EXPORTER_SMTP_HOST", "").strip()
    if not host:
        raise UsageError("email is not configured: set EXPORTER_SMTP_HOST (and EXPORTER_SMTP_FROM)")
    tls = env.get("EXPORTER_SMTP_TLS", "starttls").strip().lower()
    if tls not in ("none", "starttls", "ssl"):
        raise UsageError(f"EXPORTER_SMTP_TLS must be none, starttls or ssl, not {tls!r}")
    sender = env.get("EXPORTER_SMTP_FROM", "").strip()
    if not sender:
        raise UsageError("EXPORTER_SMTP_FROM is not set: the sender address is required")
    if "\r" in sender or "\n" in sender:
        raise UsageError("EXPORTER_SMTP_FROM must be one line")

    def number(name: str, default: str, kind=int):
        return env_number(env, name, default, kind)

    return SmtpSettings(
        host=host,
        port=number("EXPORTER_SMTP_PORT", {"none": "25", "starttls": "587", "ssl": "465"}[tls]),
        tls=tls,
        user=env.get("EXPORTER_SMTP_USER") or None,
        password=env.get("EXPORTER_SMTP_PASSWORD") or None,
        sender=sender,
        timeout=number("EXPORTER_SMTP_TIMEOUT", "30", float),
        max_bytes=number("EXPORTER_SMTP_MAX_BYTES", str(20 * 1024 * 1024)),
        attempts=max(1, number("EXPORTER_SMTP_ATTEMPTS", "5")),
        backoff=number("EXPORTER_SMTP_BACKOFF", "2", float),
    )


def header_text(value: str) -> str:
    """Flatten *value* to one line: CR, LF and other control characters become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


@dataclass(frozen=True)
class Attachment:
    name: str
    fmt: str
    data: bytes


class PermanentMailError(PermanentDeliveryError):
    """The server refused for good (5xx), or the message cannot be sent as it is."""


class TemporaryMailError(TemporaryDeliveryError):
    """A failure worth retrying: a 4xx reply, a dropped connection, a timeout."""


def build_message(
    *, settings: SmtpSettings, to: list[str], title: str, as_of: str, body: Body, attachments: list[Attachment],
    message_id: str, now: dt.datetime, words: Words, bcc: bool = False,
) -> EmailMessage:
    """Compose one message: the body as plain text and HTML (with its chart inline), the deliverables attached.

    *as_of* is the date as the body writes it (in the edition's language). With *bcc*, the To header
    names no one ("undisclosed-recipients:;") and the addresses go in the envelope only (see `send`).
    """
    total = sum(len(a.data) for a in attachments)
    if total > settings.max_bytes:
        raise PermanentMailError(
            f"attachments are {total} bytes, over the limit of {settings.max_bytes} (EXPORTER_SMTP_MAX_BYTES)"
        )
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = "undisclosed-recipients:;" if bcc else ", ".join(to)
    message["Subject"] = header_text(words("mail_subject", title=title, date=as_of))
    message["Date"] = format_datetime(now)
    # Stable per report content and list: a re-send after a crash carries the same id, so mail systems
    # and readers can recognise the duplicate.
    message["Message-ID"] = message_id
    message.set_content(body.text)
    # The chart's Content-ID is unique to the message; only the template's own attribute names it
    # (text from the data is escaped, so it cannot hold that attribute).
    cid = f"{CHART_ID}.{message_id.strip('<>')}"
    message.add_alternative(body.html.replace(f'src="cid:{CHART_ID}"', f'src="cid:{cid}"'), subtype="html")
    if body.chart_png is not None:
        html_part = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
        html_part.add_related(body.chart_png, maintype="image", subtype="png", cid=f"<{cid}>",
                              filename="chart.png", disposition="inline")
    for attachment in attachments:
        maintype, subtype = FORMATS[attachment.fmt].mime_parts
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name)
    return message


def message_id_for(key: str, domain: str = "exporter.invalid") -> str:
    return f"<{key}@{domain}>"


def send(settings: SmtpSettings, message: EmailMessage, *, sleep=None, to: list[str] | None = None) -> int:
    """Send *message* (to the envelope addresses *to*; default: its To header), retrying temporary failures;
    return the attempts made.

    Raise `PermanentMailError`, or `TemporaryMailError` once the attempts are used up.
    """
    return retried(lambda: _send_once(settings, message, to), attempts=settings.attempts, backoff=settings.backoff,
                   sleep=sleep)


def size_text(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _send_once(settings: SmtpSettings, message: EmailMessage, to: list[str] | None = None) -> None:
    client: smtplib.SMTP
    try:
        if settings.tls == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message, to_addrs=to)
            if refused:
                raise PermanentMailError("refused recipients: " + ", ".join(
                    f"{address} ({code} {text.decode(errors='replace')})" for address, (code, text) in refused.items()))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        detail = "; ".join(f"{a}: {c} {t.decode(errors='replace')}" for a, (c, t) in exc.recipients.items())
        if all(400 <= c < 500 for c in codes):
            raise TemporaryMailError(f"recipients refused for now: {detail}") from exc
        raise PermanentMailError(f"recipients refused: {detail}") from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            raise TemporaryMailError(f"{exc.smtp_code} {text}") from exc
        raise PermanentMailError(f"{exc.smtp_code} {text}") from exc
    except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
        raise TemporaryMailError(f"connection lost: {exc}") from exc
    except smtplib.SMTPException as exc:  # before OSError, which it subclasses
        raise PermanentMailError(str(exc)) from exc
    except OSError as exc:  # refused connection, unreachable host, TLS handshake
        raise TemporaryMailError(f"cannot reach {settings.host}:{settings.port}: {exc}") from exc
