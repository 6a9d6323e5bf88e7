"""Log lines for builds and the scheduler: a UTC timestamp, the level, the run and job ids, the message.

Two formats, chosen with ``configure(fmt=...)``:

``text`` (for people)::

    2026-11-30T07:44:11.123Z INFO run=20261130T074411.123Z-1a2b3c job=nightly exporter.runs: built 3 files

``json`` (for log shippers; one object per line, ``run_id``/``job_id``/``exc_info`` only when there
is one)::

    {"time": "2026-11-30T07:44:11.123Z", "level": "INFO", "logger": "exporter.runs", "message": "built 3 files", "run_id": "20261130T074411.123Z-1a2b3c", "job_id": "nightly"}

The ids come from ``context(run_id=..., job_id=...)``, which is built on contextvars so that
every logger (ours, APScheduler's, libraries') is stamped without passing ids around. A context
is *not* inherited by threads: ``threading.Thread`` and APScheduler's ``ThreadPoolExecutor``
start jobs in an empty context, so a scheduled job function must enter
``context(job_id=...)`` itself. A record logged with ``extra={"job_id": ...}`` keeps its own id,
for code that runs outside any context (such as a scheduler event listener).

APScheduler 3.x logs its own warning for a missed fire time and for a run skipped at
max_instances; the scheduler service reports both events itself ("job X: run skipped: ..."), so
``DropSchedulerDuplicates`` keeps those two APScheduler lines out of the output.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from typing import IO

__all__ = [
    "LOG_FORMATS",
    "ContextFilter",
    "DropSchedulerDuplicates",
    "JsonFormatter",
    "TextFormatter",
    "configure",
    "context",
    "reset_context",
    "set_context",
]

LOG_FORMATS = ("text", "json")

_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("exporter_run_id", default=None)
_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("exporter_job_id", default=None)


def set_context(*, run_id: str | None = None, job_id: str | None = None) -> list[contextvars.Token[str | None]]:
    """Set the ids given (None leaves an id as it is); pass the result to ``reset_context``."""
    tokens = []
    if run_id is not None:
        tokens.append(_run_id.set(run_id))
    if job_id is not None:
        tokens.append(_job_id.set(job_id))
    return tokens


def reset_context(tokens: list[contextvars.Token[str | None]]) -> None:
    for token in reversed(tokens):
        token.var.reset(token)


@contextlib.contextmanager
def context(*, run_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Stamp records logged inside with these ids; an id left None is inherited from outside."""
    tokens = set_context(run_id=run_id, job_id=job_id)
    try:
        yield
    finally:
        reset_context(tokens)


class ContextFilter(logging.Filter):
    """Copy the current ids onto each record as ``record.run_id`` and ``record.job_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        # An id given with extra= wins: it is more specific than the surrounding context.
        for key, var in (("run_id", _run_id), ("job_id", _job_id)):
            if getattr(record, key, None) is None:
                setattr(record, key, var.get())
        return True


# (logger name prefix, format string) as emitted by APScheduler 3.x.
_SCHEDULER_DUPLICATES = {
    # apscheduler/executors/base.py run_job(); ours comes from the EVENT_JOB_MISSED listener.
    ("apscheduler.executors.", 'Run time of job "%s" was missed by %s'),
    # apscheduler/schedulers/base.py _process_jobs(); ours comes from EVENT_JOB_MAX_INSTANCES.
    ("apscheduler.scheduler",
     'Execution of job "%s" skipped: maximum number of running instances reached (%d)'),
}


class DropSchedulerDuplicates(logging.Filter):
    """Drop APScheduler's own missed-run and max-instances warnings; keep its other records."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Match the unformatted msg: the job's repr and the delay vary, the format string does not.
        return not any(
            record.name.startswith(prefix) and record.msg == msg for prefix, msg in _SCHEDULER_DUPLICATES
        )


def _timestamp(record: logging.LogRecord) -> str:
    utc = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname]
        for key, label in (("run_id", "run"), ("job_id", "job")):
            value = getattr(record, key, None)
            if value is not None:
                parts.append(f"{label}={value}")
        parts.append(f"{record.name}: {record.getMessage()}")
        line = " ".join(parts)
        extra = self._traceback(record)
        return f"{line}\n{extra}" if extra else line

    def _traceback(self, record: logging.LogRecord) -> str:
        # Cached on the record the way logging.Formatter does, so other handlers reuse it.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        texts = [record.exc_text or "", self.formatStack(record.stack_info) if record.stack_info else ""]
        return "\n".join(t for t in texts if t)


class JsonFormatter(TextFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run_id", "job_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = str(value)
        traceback = self._traceback(record)
        if traceback:
            entry["exc_info"] = traceback
        # ensure_ascii: a shipper reading the stream in any encoding still gets valid, one-line JSON.
        return json.dumps(entry, ensure_ascii=True)


class _Handler(logging.StreamHandler[IO[str]]):
    """Our handler on the root logger; its class is how configure() finds it to replace it."""


def configure(*, level: int, fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Log records of every logger at *level* and above to *stream* (stderr) in *fmt*.

    Calling it again replaces the handler it installed before; other handlers on the root logger
    (pytest's caplog, for one) are left alone.
    """
    formatters = {"text": TextFormatter, "json": JsonFormatter}
    if fmt not in formatters:
        raise ValueError(f"unknown log format {fmt!r}: expected one of {', '.join(LOG_FORMATS)}")
    # Looked up now, not at import: click's CliRunner and pytest swap sys.stderr per call.
    handler = _Handler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatters[fmt]())
    handler.addFilter(DropSchedulerDuplicates())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    logging.captureWarnings(True)  # Python warnings become log lines too, in the chosen format
    root.setLevel(level)
