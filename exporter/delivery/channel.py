"""What every delivery channel (email, drop folder, webhook, SFTP) shares: the set it sends and how it fails.

A channel's sender takes the list's settings for it and a `Parcel` (one published set, checked
against its manifest) and returns the attempts it made; it raises `TemporaryDeliveryError` once its
retries are used up on something that may pass (a timeout, a refused connection, a 5xx),
`PermanentDeliveryError` for what will not (a 4xx, a refused login, a changed host key), or
`OSError` for a local file problem. The ledger (`ledger.py`) records each outcome; a failed channel
is tried again, alone, by the next `deliver`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tenacity import Retrying, stop_after_attempt, wait_exponential

from ..core.ids import SetId
from ..publish.manifest import PublishedSet


class DeliveryError(Exception):
    """A channel could not deliver."""

    attempts: int = 1  # set by the sender when it gives up


class TemporaryDeliveryError(DeliveryError):
    """A failure worth retrying later: a timeout, a dropped or refused connection, a 5xx or 4xx-temporary reply."""


class PermanentDeliveryError(DeliveryError):
    """The other side refused for good, or the parcel cannot be sent as it is."""


def retried(once: Callable[[], None], *, retry, attempts: int, backoff: float,
            sleep: Callable[[float], None] | None = None, wait=None) -> int:
    """Call *once* until it returns, while *retry* (a tenacity condition) says its error may pass, at most
    *attempts* times, waiting exponentially from *backoff* seconds (or as *wait* says); return the
    attempts made. The `DeliveryError` that ends it carries them too (`attempts`)."""
    retrying = Retrying(retry=retry, stop=stop_after_attempt(attempts), reraise=True, sleep=sleep or time.sleep,
                        wait=wait or wait_exponential(multiplier=backoff, max=300))
    try:
        for attempt in retrying:
            with attempt:
                once()
    except DeliveryError as exc:
        exc.attempts = retrying.statistics.get("attempt_number", 1)
        raise
    return retrying.statistics.get("attempt_number", 1)


@dataclass(frozen=True)
class Parcel:
    """One published set as a channel sends it."""

    set_id: SetId
    manifest: PublishedSet
    files: list[tuple[str, str, Path]]  # (format, file name, path)
    content: str  # sha256 over the files' names and hashes: the ledger's key, and a stable message id

    @property
    def title(self) -> str:
        return self.manifest.title or str(self.set_id)
