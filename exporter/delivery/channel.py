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

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ..core.ids import SetId
from ..publish.manifest import PublishedSet


class DeliveryError(Exception):
    """A channel could not deliver."""

    attempts: int = 1  # set by the sender when it gives up


class TemporaryDeliveryError(DeliveryError):
    """A failure worth retrying later: a timeout, a dropped or refused connection, a 5xx or 4xx-temporary reply.

    *retry_after*: the pause the other side asked for (seconds), instead of the exponential one;
    *give_up*: not worth retrying within this send (the pause asked for is longer than we wait), only
    at the next `deliver`.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, give_up: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.give_up = give_up


class PermanentDeliveryError(DeliveryError):
    """The other side refused for good, or the parcel cannot be sent as it is."""


def retried(once: Callable[[], None], *, attempts: int, backoff: float,
            sleep: Callable[[float], None] | None = None) -> int:
    """Call *once* until it returns, while its error is a `TemporaryDeliveryError` that does not give up, at
    most *attempts* times, waiting as the error asks (`retry_after`) or exponentially from *backoff*
    seconds; return the attempts made. The `DeliveryError` that ends it carries them too (`attempts`)."""
    exponential = wait_exponential(multiplier=backoff, max=300)

    def wait(state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TemporaryDeliveryError) and exc.retry_after is not None:
            return exc.retry_after
        return exponential(state)

    retrying = Retrying(retry=retry_if_exception(_may_pass), stop=stop_after_attempt(attempts), reraise=True,
                        sleep=sleep or time.sleep, wait=wait)
    try:
        for attempt in retrying:
            with attempt:
                once()
    except DeliveryError as exc:
        exc.attempts = retrying.statistics.get("attempt_number", 1)
        raise
    return retrying.statistics.get("attempt_number", 1)


def _may_pass(exc: BaseException) -> bool:
    return isinstance(exc, TemporaryDeliveryError) and not exc.give_up


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
