"""A run as ops see it: one at a time (the run lock), and recorded in the run history."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from ..core import logs
from ..core.errors import DataError, LockBusy, StateError
from ..core.workspace import Workspace
from .history import RunHistory
from .lock import exclusive_run

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Progress = Callable[[int, int, str], None]  # (done, total, set id) after each set


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def never() -> bool:
    return False


@dataclass(frozen=True)
class RunContext:
    """Who started a run and what it is given: time and environment are injected for repeatable runs."""

    trigger: str = "cli"  # cli | schedule | cron
    job_id: str | None = None  # the timetable job of a scheduled run
    catch_up: int = 0  # fire times missed during downtime that this run makes up for
    wait: float = 0.0  # seconds to wait for another run's lock
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = utc_now
    should_stop: Callable[[], bool] = never  # checked before each report and before publishing
    progress: Progress | None = None


def new_run_id(now: dt.datetime) -> str:
    """Return a run id that sorts by time: ``20261123T060000.123Z-1a2b3c``."""
    utc = now.astimezone(dt.UTC)
    return f"{utc:%Y%m%dT%H%M%S}.{utc.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def iso(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat(timespec="seconds")


class Recordable(Protocol):
    @property
    def status(self) -> str:
        """The run's status in the history: ok, failed or stopped."""
        ...


R = TypeVar("R", bound=Recordable)


def recorded(state: Path, run: RunContext, body: Callable[[RunHistory, str], R], *,
             metrics: Workspace | None = None) -> R:
    """Run *body* holding the run lock, recorded in the history; a run meeting the lock is recorded as skipped.

    With *metrics*, that workspace's metrics textfile is rewritten once the run is in the history,
    whatever its end; a failure to write it is a warning, never the run's failure.
    """
    try:
        try:
            with exclusive_run(state, wait=run.wait):
                return _locked(state, run, body)
        except LockBusy as exc:  # only acquiring the lock raises it
            # Recorded without the lock: it only adds a row, and SQLite serialises writers itself.
            with RunHistory(state) as history:
                now = run.clock()
                history.skipped(new_run_id(now), run.trigger, iso(now), str(exc), job_id=run.job_id,
                                catch_up=run.catch_up)
            raise
    finally:
        if metrics is not None:
            from .metrics import write_after_run  # prometheus_client is loaded only when a run ends

            write_after_run(metrics)


def _locked(state: Path, run: RunContext, body: Callable[[RunHistory, str], R]) -> R:
    with RunHistory(state) as history:
        started = run.clock()
        run_id = new_run_id(started)
        history.start(run_id, run.trigger, iso(started), job_id=run.job_id, catch_up=run.catch_up)
        with logs.context(run_id=run_id):
            clock = time.monotonic()

            def finish(status: str, error: str | None = None) -> None:
                history.finish(run_id, iso(run.clock()), status, error, duration=time.monotonic() - clock)

            try:
                result = body(history, run_id)
            except DataError as exc:
                finish("invalid", str(exc))
                raise
            except BaseException as exc:
                try:
                    finish("failed", str(exc) or type(exc).__name__)
                except StateError:
                    log.debug("cannot record the failed run", exc_info=True)
                raise
            finish(result.status, getattr(result, "error", None))
        return result
