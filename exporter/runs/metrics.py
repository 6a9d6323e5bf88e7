"""Prometheus metrics of runs, reports, deliveries and published bytes, computed from the state on disk.

Nothing is counted in memory: cron runs are separate processes, and the textfile written after each
run (for node_exporter's textfile collector) and the scheduler service's ``/metrics`` must say the
same. So every value is read, when it is asked for, from what runs leave behind:

    STATE/history.sqlite: runs, outcomes ──┐
    STATE/history.sqlite: delivery_log ────┼─▶ StateCollector ─▶ STATE/metrics.prom  (after each run)
    OUTPUT/<set>/manifest.json ────────────┘                   └▶ GET /metrics       (the service, per scrape)

The counters are counts of history rows, so they only grow while the history is kept. Label values
are ids only (report and job ids, fixed words), never data text. This lives in `runs` because it
reads the history (runs), the ledger (delivery) and the manifests (publish): the layers below it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..core.errors import UsageError
from ..core.ids import SetId
from ..core.statedb import DB_NAME
from ..core.workspace import Workspace
from ..publish.files import atomic_write
from ..publish.manifest import PublishedSet

log = logging.getLogger(__name__)

# Zero series for these from the start, so that `increase()` sees the first failure of a report.
OUTCOMES = ("built", "unchanged", "failed", "invalid", "stopped")
RUN_STATUSES = ("ok", "failed", "invalid", "stopped", "skipped", "interrupted")
TRIGGERS = ("cli", "cron", "schedule")
CHANNELS = ("email", "drop")
DELIVERY_OUTCOMES = ("sent", "failed")


class StateCollector:
    """A prometheus_client collector reading the workspace's state each time it is collected."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def collect(self) -> Iterator[Metric]:
        readable = GaugeMetricFamily("exporter_state_readable",
                                     "1 when the run history and delivery ledger could be read, else 0.")
        try:
            families = _history_families(self.workspace.state / DB_NAME)
        except sqlite3.Error as exc:
            # A scrape must not end in a traceback: the gauge says it, the log says why.
            log.warning("metrics: cannot read %s: %s", self.workspace.state / DB_NAME, exc)
            families = []
        readable.add_metric([], 1 if families else 0)
        yield readable
        yield from families
        yield _published_bytes(self.workspace.output_dir)


def registry_of(workspace: Workspace) -> CollectorRegistry:
    """A fresh registry holding only the workspace's metrics (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(workspace))
    return registry


def exposition(workspace: Workspace) -> bytes:
    """The workspace's metrics in the Prometheus text format, as they are now."""
    return generate_latest(registry_of(workspace))


def write_textfile(workspace: Workspace) -> Path:
    """Replace the metrics textfile atomically (temp file, fsync, rename): a collector never reads half of it.

    The temp file is hidden and ends in ``.part``, which node_exporter's collector (``*.prom``) skips.
    """
    target = workspace.metrics
    atomic_write(target, exposition(workspace))
    return target


def write_after_run(workspace: Workspace) -> None:
    """Write the textfile after a run; a failure is logged as a warning and never fails the run."""
    try:
        write_textfile(workspace)
    except Exception as exc:  # noqa: BLE001 - metrics are a view of the run, never a reason to fail it
        log.warning("cannot write the metrics file %s: %s", workspace.metrics, exc)


@contextlib.contextmanager
def serving(workspace: Workspace, port: int | None, address: str = "127.0.0.1") -> Iterator[None]:
    """Serve ``/metrics`` on *address*:*port* from a daemon thread for the block (nothing when *port* is None).

    A port that cannot be bound is a `UsageError`: the service cannot start as asked.
    """
    if port is None:
        yield
        return
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, address, registry=registry_of(workspace))
    except OSError as exc:
        raise UsageError(f"--metrics-port {port}: cannot listen on {address}: {exc.strerror or exc}") from exc
    log.info("metrics at http://%s:%d/metrics", address, server.server_port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _history_families(path: Path) -> list[Metric]:
    """Every family read from the history database; empty families when there is none yet."""
    runs = CounterMetricFamily("exporter_runs", "Finished runs by trigger and status (skipped: met the lock, "
                               "a missed fire time or a calendar's closed day; invalid: could not start).", labels=["trigger", "status"])
    job_runs = CounterMetricFamily("exporter_job_runs", "Finished runs of each timetable job by status.",
                                   labels=["job", "status"])
    report_outcomes = CounterMetricFamily("exporter_report_outcomes", "Outcomes of each report (a published set: "
                                          "report or report.variant) over all runs.", labels=["report", "outcome"])
    job_outcomes = CounterMetricFamily("exporter_job_outcomes", "Report outcomes in the runs of each timetable job.",
                                       labels=["job", "outcome"])
    report_success = GaugeMetricFamily("exporter_report_last_success_timestamp_seconds", "End of the last run "
                                       "that built the report or found it unchanged (Unix time).", labels=["report"])
    job_success = GaugeMetricFamily("exporter_job_last_success_timestamp_seconds",
                                    "End of the job's last run with status ok (Unix time).", labels=["job"])
    report_duration = GaugeMetricFamily("exporter_report_last_run_duration_seconds",
                                        "Duration of the last finished run that built or checked the report.",
                                        labels=["report"])
    job_duration = GaugeMetricFamily("exporter_job_last_run_duration_seconds",
                                     "Duration of the job's last finished run (skipped runs left out).", labels=["job"])
    deliveries = CounterMetricFamily("exporter_deliveries", "Deliveries by channel and outcome (a retry that "
                                     "succeeds counts once as failed, once as sent).", labels=["channel", "outcome"])
    families: list[Metric] = [runs, job_runs, report_outcomes, job_outcomes, report_success, job_success,
                              report_duration, job_duration, deliveries]
    if not path.is_file():
        _zeros(runs, TRIGGERS, RUN_STATUSES, {})
        _zeros(deliveries, CHANNELS, DELIVERY_OUTCOMES, {})
        return families
    # Read-only: a scrape never creates the state folder, takes no write lock and cannot change anything.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if {"runs", "outcomes"} <= tables:
            _read_runs(conn, runs, job_runs, report_outcomes, job_outcomes, report_success, job_success,
                       report_duration, job_duration)
        else:
            _zeros(runs, TRIGGERS, RUN_STATUSES, {})
        _zeros(deliveries, CHANNELS, DELIVERY_OUTCOMES, _counts(
            conn, "SELECT channel, status, COUNT(*) FROM delivery_log GROUP BY channel, status")
            if "delivery_log" in tables else {})
    finally:
        conn.close()
    return families


def _read_runs(conn: sqlite3.Connection, runs: CounterMetricFamily, job_runs: CounterMetricFamily,
               report_outcomes: CounterMetricFamily, job_outcomes: CounterMetricFamily,
               report_success: GaugeMetricFamily, job_success: GaugeMetricFamily,
               report_duration: GaugeMetricFamily, job_duration: GaugeMetricFamily) -> None:
    # Finished runs only: a run counted as "running" and then as "ok" would make a counter go down.
    _zeros(runs, TRIGGERS, RUN_STATUSES,
           _counts(conn, "SELECT trigger, status, COUNT(*) FROM runs WHERE status != 'running' GROUP BY 1, 2"))
    _zeros(job_runs, _ids(conn, "SELECT DISTINCT job_id FROM runs WHERE job_id IS NOT NULL"), RUN_STATUSES,
           _counts(conn, "SELECT job_id, status, COUNT(*) FROM runs WHERE job_id IS NOT NULL AND status != 'running' "
                   "GROUP BY job_id, status"))
    _zeros(report_outcomes, _ids(conn, "SELECT DISTINCT report_id FROM outcomes"), OUTCOMES,
           _counts(conn, "SELECT report_id, outcome, COUNT(*) FROM outcomes GROUP BY report_id, outcome"))
    _zeros(job_outcomes, _ids(conn, "SELECT DISTINCT job_id FROM runs WHERE job_id IS NOT NULL"), OUTCOMES,
           _counts(conn, "SELECT r.job_id, o.outcome, COUNT(*) FROM outcomes o JOIN runs r ON r.run_id = o.run_id "
                   "WHERE r.job_id IS NOT NULL GROUP BY r.job_id, o.outcome"))
    # Run ids sort by start time, so MAX(run_id) is the latest run; SQLite takes the bare columns from its row.
    for report, ended, _ in conn.execute(
            "SELECT o.report_id, r.ended_at, MAX(r.run_id) FROM outcomes o JOIN runs r ON r.run_id = o.run_id "
            "WHERE o.outcome IN ('built', 'unchanged') AND r.ended_at IS NOT NULL GROUP BY o.report_id"):
        _add(report_success, report, _timestamp(ended))
    for job, ended, _ in conn.execute(
            "SELECT job_id, ended_at, MAX(run_id) FROM runs WHERE job_id IS NOT NULL AND status = 'ok' "
            "AND ended_at IS NOT NULL GROUP BY job_id"):
        _add(job_success, job, _timestamp(ended))
    # The measured duration where the history keeps one; else the recorded times (whole seconds).
    duration = "r.duration" if "duration" in {row[1] for row in conn.execute("PRAGMA table_info(runs)")} else "NULL"
    for report, measured, started, ended, _ in conn.execute(
            f"SELECT o.report_id, {duration}, r.started_at, r.ended_at, MAX(r.run_id) FROM outcomes o "
            "JOIN runs r ON r.run_id = o.run_id WHERE r.ended_at IS NOT NULL AND r.status != 'running' "
            "GROUP BY o.report_id"):
        _add(report_duration, report, measured if measured is not None else _seconds(started, ended))
    for job, measured, started, ended, _ in conn.execute(
            f"SELECT r.job_id, {duration}, r.started_at, r.ended_at, MAX(r.run_id) FROM runs r "
            "WHERE r.job_id IS NOT NULL AND r.ended_at IS NOT NULL AND r.status NOT IN ('running', 'skipped') "
            "GROUP BY r.job_id"):
        _add(job_duration, job, measured if measured is not None else _seconds(started, ended))


def _published_bytes(output_dir: Path) -> GaugeMetricFamily:
    """The size of each file of each published set, from its manifest (the set sales can download now)."""
    family = GaugeMetricFamily("exporter_report_published_bytes",
                               "Size of each file of the report's current published set, by format.",
                               labels=["report", "format"])
    try:
        folders = sorted(p for p in output_dir.iterdir() if p.is_dir())
    except OSError:  # no output folder yet: nothing is published
        return family
    for folder in folders:
        try:
            SetId.parse(folder.name)  # only set folders; their names are ids, fit to be label values
        except UsageError:
            continue
        published = PublishedSet.read(folder)
        for fmt, entry in sorted(published.files.items()) if published else ():
            size = entry.size
            if size is None:  # a manifest written by hand may lack sizes: the file says
                try:
                    size = (folder / entry.name).stat().st_size
                except OSError:
                    continue
            family.add_metric([folder.name, fmt], size)
    return family


def _counts(conn: sqlite3.Connection, sql: str) -> dict[tuple[str, str], int]:
    return {(str(a), str(b)): n for a, b, n in conn.execute(sql)}


def _ids(conn: sqlite3.Connection, sql: str) -> list[str]:
    return [str(row[0]) for row in conn.execute(sql)]


def _zeros(family: CounterMetricFamily, keys, values: tuple[str, ...], counts: dict[tuple[str, str], int]) -> None:
    """Add every (key, value) pair, zero when not counted, plus pairs counted with a value not listed."""
    pairs = {(k, v): 0 for k in keys for v in values}
    pairs.update(counts)
    for (key, value), count in sorted(pairs.items()):
        family.add_metric([key, value], count)


def _add(family: GaugeMetricFamily, label: str, value: float | None) -> None:
    if value is not None:
        family.add_metric([label], value)


def _timestamp(text: str | None) -> float | None:
    """Unix seconds of an ISO 8601 time from the history (UTC when it has no offset); None if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _seconds(started: str | None, ended: str | None) -> float | None:
    start, end = _timestamp(started), _timestamp(ended)
    return None if start is None or end is None else max(end - start, 0.0)
