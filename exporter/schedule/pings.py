"""Pings to a health-check service: a scheduled run says when it starts and how it ended.

Two conventions, chosen by the URL's host:

- healthchecks.io (and any other host, e.g. a self-hosted Healthchecks): ``URL/start``, ``URL``
  (success), ``URL/fail``; a POST body (a short summary of the run) shows in the check's log.
- Cronitor (``cronitor.link``): ``URL?state=run|complete|fail`` with ``message=`` the summary.

A ping never fails a run and never holds it back for long: a short timeout, a few attempts, then a
warning in the log. The URL usually holds a secret token, so neither logs nor errors ever show it,
only its host; ``${NAME}`` takes it from the environment, out of the data folder.
"""

from __future__ import annotations

import http.client
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.web import NoRedirects, error_text

log = logging.getLogger(__name__)

ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
EVENTS = ("start", "success", "fail")
MAX_BODY = 10_000  # healthchecks.io keeps the first 10 kB of a body by default (hosted: 100 kB)
MAX_MESSAGE = 250  # Cronitor's message goes in the query string
_CRONITOR_STATE = {"start": "run", "success": "complete", "fail": "fail"}


def url_problem(value: str) -> str | None:
    """Say what is wrong with a ping URL, never repeating it (it may hold a token); None when it is fine."""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL, or ${VARIABLE} naming one in the environment"
    if not parts.hostname:
        return "has no host name"
    if parts.username or parts.password:
        return "must not hold a user name or password (healthchecks.io and Cronitor put the token in the path)"
    if parts.fragment or any(ch.isspace() or not ch.isprintable() or not ch.isascii() for ch in value):
        return "must not hold spaces, control or non-ASCII characters, or a #fragment"
    return None


def check_setting(value: str) -> str:
    """Validate a ``healthcheck_url`` of the timetable: a URL, or ``${NAME}`` read at each run."""
    if ENV_REFERENCE.match(value):
        return value
    problem = url_problem(value)
    if problem:
        raise ValueError(f"{problem} (the value is not shown: it may hold a token)")
    return value


@dataclass(frozen=True)
class PingSettings:
    timeout: float  # seconds per attempt
    attempts: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PingSettings:
        """EXPORTER_PING_TIMEOUT (default 5 s) and EXPORTER_PING_ATTEMPTS (default 3); bad values fall back."""
        def number(name: str, default: float, low: float, high: float) -> float:
            try:
                value = float(env.get(name, default))
            except ValueError:
                log.warning("%s is not a number: using %g", name, default)
                return default
            return min(max(value, low), high)

        return cls(number("EXPORTER_PING_TIMEOUT", 5.0, 0.1, 60.0), int(number("EXPORTER_PING_ATTEMPTS", 3, 1, 10)))


def resolve(setting: str, env: Mapping[str, str]) -> str | None:
    """The URL a setting stands for at this run; None (with a warning) when ``${NAME}`` is unset or bad."""
    match = ENV_REFERENCE.match(setting)
    if match is None:
        return setting
    url = env.get(match.group(1), "").strip()
    problem = "is not set" if not url else url_problem(url)
    if problem:
        log.warning("health-check ping not sent: the variable %s named by healthcheck_url %s", match.group(1), problem)
        return None
    return url


def host_of(url: str) -> str:
    """What the logs may say about a ping URL: its host only."""
    return urllib.parse.urlsplit(url).hostname or "?"


def request_for(url: str, event: str, summary: str = "") -> tuple[str, bytes]:
    """The URL to request for *event* (start, success or fail) in the convention of *url*'s host, and its body."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if host == "cronitor.link" or host.endswith(".cronitor.link"):
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("state", "message")]
        query.append(("state", _CRONITOR_STATE[event]))
        if summary:
            query.append(("message", summary[:MAX_MESSAGE]))
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))), b""
    suffix = {"start": "/start", "success": "", "fail": "/fail"}[event]
    return (urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix)),
            summary.encode("utf-8", "replace")[:MAX_BODY])


class _Retry(Exception):
    """A failure worth another attempt: no answer, a timeout, a 5xx or 429 reply."""


class _GiveUp(Exception):
    """A reply that another attempt would not change (4xx: a wrong or deleted check)."""


def ping(setting: str | None, event: str, env: Mapping[str, str], *, body: str = "") -> bool:
    """Send *event* for the check *setting* names; return whether it was received. Never raises.

    *body* is a short summary of the run: the POST body for healthchecks.io, the message for Cronitor.
    """
    if not setting:
        return False
    url = resolve(setting, env)
    if url is None:
        return False
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    settings = PingSettings.from_env(env)
    target, data = request_for(url, event, body)
    retrying = Retrying(retry=retry_if_exception_type(_Retry), stop=stop_after_attempt(settings.attempts),
                        wait=wait_exponential(multiplier=0.5, max=4), reraise=True)
    try:
        for attempt in retrying:
            with attempt:
                _send(target, data, settings.timeout)
    except (_Retry, _GiveUp) as exc:
        tries = retrying.statistics.get("attempt_number", 1)
        log.warning("health-check ping %s to %s not received after %d attempt(s): %s; the run goes on",
                    event, host_of(url), tries, exc)
        return False
    log.debug("health-check ping %s sent to %s", event, host_of(url))
    return True


_OPENER = urllib.request.build_opener(NoRedirects)


def _send(url: str, data: bytes, timeout: float) -> None:
    """One request; every error becomes `_Retry` or `_GiveUp` with a message free of the URL."""
    request = urllib.request.Request(url, data=data or None, method="POST" if data else "GET",
                                     headers={"Content-Type": "text/plain; charset=utf-8",
                                              "User-Agent": "exporter"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        error = f"HTTP {exc.code} {exc.reason}"
        if exc.code >= 500 or exc.code == 429:
            raise _Retry(error) from None
        raise _GiveUp(error) from None
    except urllib.error.URLError as exc:
        raise _Retry(f"cannot connect: {error_text(exc.reason)}") from None
    except (TimeoutError, OSError) as exc:  # a read that times out after the connection was made
        raise _Retry(error_text(exc)) from None
    except http.client.HTTPException as exc:  # a garbled reply; its text may quote the URL
        raise _Retry(f"bad reply ({type(exc).__name__})") from None
    except ValueError as exc:  # a URL urllib cannot send (InvalidURL, UnicodeEncodeError): its text quotes it
        raise _GiveUp(f"cannot send to this URL ({type(exc).__name__})") from None

