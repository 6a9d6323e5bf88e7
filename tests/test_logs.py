"""exporter.core.logs: timestamps, levels, run/job ids, JSON lines and APScheduler's duplicates."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import threading

import pytest

from exporter.core import logs

TEXT_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<level>[A-Z]+)"
    r"(?: run=(?P<run>\S+))?(?: job=(?P<job>\S+))? (?P<logger>[\w.]+): (?P<message>.*)$"
)
RUN_ID = "20261130T074411.123Z-1a2b3c"

log = logging.getLogger("exporter.runs")


@pytest.fixture(autouse=True)
def restore_logging():
    """Leave the root logger as we found it: configure() changes its handlers and level."""
    root, ours = logging.getLogger(), logging.getLogger("exporter")
    handlers, level, our_level = root.handlers[:], root.level, ours.level
    ours.setLevel(logging.NOTSET)  # the CLI, run in process by other tests, sets it
    yield
    ours.setLevel(our_level)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def json_lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in lines(out)]


def our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]


def test_text_line_carries_time_level_ids_logger_and_message(out):
    logs.configure(level=logging.INFO, stream=out)
    before = dt.datetime.now(dt.UTC)
    with logs.context(run_id=RUN_ID, job_id="nightly"):
        log.info("built %d files", 3)
    after = dt.datetime.now(dt.UTC)

    [line] = lines(out)
    match = TEXT_LINE.match(line)
    assert match, line
    assert match["level"] == "INFO"
    assert match["run"] == RUN_ID
    assert match["job"] == "nightly"
    assert match["logger"] == "exporter.runs"
    assert match["message"] == "built 3 files"
    stamp = dt.datetime.fromisoformat(match["time"])
    assert before - dt.timedelta(milliseconds=1) <= stamp <= after  # UTC, not local time


def test_text_timestamp_is_utc_with_milliseconds():
    record = logging.makeLogRecord({"name": "exporter", "levelname": "WARNING", "msg": "m",
                                    "created": 1796024651.123})
    assert logs.TextFormatter().format(record) == "2026-11-30T07:44:11.123Z WARNING exporter: m"


def test_text_line_omits_ids_outside_a_context(out):
    logs.configure(level=logging.INFO, stream=out)
    log.warning("no run yet")
    [line] = lines(out)
    assert "run=" not in line and "job=" not in line
    assert TEXT_LINE.match(line)["message"] == "no run yet"


def test_text_appends_the_traceback(out):
    logs.configure(level=logging.INFO, stream=out)
    try:
        raise RuntimeError("disk full")
    except RuntimeError:
        log.exception("build failed")
    first, *rest = lines(out)
    assert TEXT_LINE.match(first)["message"] == "build failed"
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: disk full"


def test_json_line_carries_the_fields(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    with logs.context(run_id=RUN_ID, job_id="nightly"):
        log.info("built %d files", 3)
    [entry] = json_lines(out)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
    assert entry == {"level": "INFO", "logger": "exporter.runs", "message": "built 3 files",
                     "run_id": RUN_ID, "job_id": "nightly"}


def test_json_omits_ids_outside_a_context(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    log.info("hello")
    [entry] = json_lines(out)
    assert set(entry) == {"time", "level", "logger", "message"}


def test_json_keeps_newlines_quotes_and_tracebacks_in_one_line(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    message = 'cell "A1"\nsays \\ and \u00e9 and \u2028'
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        log.exception("%s", message)
    log.info("next")
    first, second = json_lines(out)  # exactly two lines: nothing leaked onto a line of its own
    assert first["message"] == message
    assert first["level"] == "ERROR"
    assert first["exc_info"].startswith("Traceback (most recent call last):")
    assert first["exc_info"].endswith("ValueError: bad\nvalue")
    assert second["message"] == "next" and "exc_info" not in second


def test_context_nests_and_restores(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    with logs.context(job_id="nightly"):
        log.info("outer")
        with logs.context(run_id=RUN_ID):
            log.info("inherits the job")
            with logs.context(job_id="weekly"):
                log.info("overrides the job")
            log.info("job restored")
        log.info("run restored")
    log.info("outside")
    ids = [(e.get("run_id"), e.get("job_id")) for e in json_lines(out)]
    assert ids == [
        (None, "nightly"),
        (RUN_ID, "nightly"),
        (RUN_ID, "weekly"),
        (RUN_ID, "nightly"),
        (None, "nightly"),
        (None, None),
    ]


def test_context_is_restored_after_an_exception(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    with pytest.raises(RuntimeError), logs.context(run_id=RUN_ID):
        raise RuntimeError
    log.info("after")
    assert "run_id" not in json_lines(out)[0]


def test_set_and_reset_context(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    tokens = logs.set_context(run_id=RUN_ID)
    log.info("inside")
    logs.reset_context(tokens)
    log.info("outside")
    assert [e.get("run_id") for e in json_lines(out)] == [RUN_ID, None]


def test_extra_id_wins_over_the_context(out):
    logs.configure(level=logging.INFO, fmt="json", stream=out)
    with logs.context(run_id=RUN_ID, job_id="nightly"):
        log.warning("job %s: run skipped", "weekly", extra={"job_id": "weekly"})
    [entry] = json_lines(out)
    assert (entry["run_id"], entry["job_id"]) == (RUN_ID, "weekly")


def test_ids_stamp_every_logger(out):
    logs.configure(level=logging.INFO, stream=out)
    with logs.context(run_id=RUN_ID):
        logging.getLogger("apscheduler.scheduler").warning("from apscheduler")
        logging.getLogger("sqlalchemy.engine").warning("from a library")
    assert [TEXT_LINE.match(line)["run"] for line in lines(out)] == [RUN_ID, RUN_ID]


def test_a_plain_thread_does_not_inherit_the_context(out):
    """The documented pitfall: a job thread must enter context() itself."""
    logs.configure(level=logging.INFO, fmt="json", stream=out)

    def job():
        log.info("bare")
        with logs.context(job_id="nightly"):
            log.info("own context")

    with logs.context(run_id=RUN_ID):
        thread = threading.Thread(target=job)
        thread.start()
        thread.join()
    assert [(e.get("run_id"), e.get("job_id")) for e in json_lines(out)] == [(None, None), (None, "nightly")]


def test_level_filters(out):
    logs.configure(level=logging.WARNING, stream=out)
    log.info("hidden")
    log.warning("shown")
    assert [TEXT_LINE.match(line)["message"] for line in lines(out)] == ["shown"]


def test_configure_twice_replaces_its_handler(out):
    first = io.StringIO()
    logs.configure(level=logging.INFO, stream=first)
    logs.configure(level=logging.DEBUG, fmt="json", stream=out)
    assert len(our_handlers()) == 1
    log.debug("once")
    assert first.getvalue() == ""
    assert [e["message"] for e in json_lines(out)] == ["once"]


def test_configure_defaults_to_stderr_at_call_time(capsys):
    logs.configure(level=logging.INFO)
    log.info("to stderr")
    assert TEXT_LINE.match(capsys.readouterr().err.strip())["message"] == "to stderr"


def test_configure_leaves_caplog_working(out, caplog):
    logs.configure(level=logging.INFO, stream=out)
    log.info("seen by both")
    assert [r.getMessage() for r in caplog.records] == ["seen by both"]
    assert len(lines(out)) == 1


def test_unknown_format_raises_and_keeps_the_handler(out):
    logs.configure(level=logging.INFO, stream=out)
    with pytest.raises(ValueError, match="yaml"):
        logs.configure(level=logging.INFO, fmt="yaml")
    assert our_handlers()[0].stream is out
    assert logs.LOG_FORMATS == ("text", "json")


# APScheduler's duplicates, produced by APScheduler's own code paths.

def _noop() -> None:
    pass


def _fail() -> None:
    raise RuntimeError("job broke")


@pytest.fixture
def scheduler():
    """A real APScheduler whose job processing is driven by the test, in the test's thread."""
    from apscheduler.executors.debug import DebugExecutor
    from apscheduler.schedulers.base import BaseScheduler

    class ManualScheduler(BaseScheduler):
        def wakeup(self):
            pass  # the test calls _process_jobs() itself

        def shutdown(self, wait=True):
            super().shutdown(wait)

    # DebugExecutor runs jobs through apscheduler.executors.base.run_job, like the thread pool.
    sched = ManualScheduler(timezone=dt.UTC, executors={"default": DebugExecutor()})
    yield sched
    if sched.running:
        sched.shutdown()


def test_drops_apschedulers_missed_and_max_instances_warnings(out, caplog, scheduler):
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

    logs.configure(level=logging.INFO, stream=out)
    service = logging.getLogger("exporter.schedule.service")
    scheduler.add_listener(lambda event: service.warning("job %s: run skipped", event.job_id,
                                                         extra={"job_id": event.job_id}),
                           EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    scheduler.add_job(_noop, "date", run_date=past, id="missed", misfire_grace_time=1)
    scheduler.add_job(_noop, "date", run_date=past, id="busy", max_instances=1, misfire_grace_time=None)
    scheduler.add_job(_fail, "date", run_date=past, id="broken", misfire_grace_time=None)
    scheduler.start()
    scheduler._lookup_executor("default")._instances["busy"] = 1  # a run of "busy" is still going
    with caplog.at_level(logging.INFO):
        scheduler._process_jobs()

    # APScheduler did log both duplicates (so a changed message would fail here, not pass silently) ...
    emitted = {(r.name, r.msg) for r in caplog.records}
    assert ("apscheduler.executors.default", 'Run time of job "%s" was missed by %s') in emitted
    assert ("apscheduler.scheduler",
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)') in emitted
    # ... but our stream has one line per event: ours.
    text = out.getvalue()
    assert "was missed by" not in text
    assert "maximum number of running instances" not in text
    matches = [TEXT_LINE.match(line) for line in lines(out) if TEXT_LINE.match(line)]
    skipped = sorted((m["job"], m["message"]) for m in matches if m["logger"] == "exporter.schedule.service")
    assert skipped == [("busy", "job busy: run skipped"), ("missed", "job missed: run skipped")]
    # Every other APScheduler record is kept, such as a job's exception.
    assert any(m["logger"] == "apscheduler.executors.default" and m["message"].startswith('Job "_fail ')
               and m["message"].endswith('" raised an exception') for m in matches)
    assert "RuntimeError: job broke" in text


def test_keeps_other_apscheduler_warnings_and_our_lookalikes(out):
    logs.configure(level=logging.INFO, stream=out)
    logging.getLogger("apscheduler.scheduler").warning("Error getting due jobs from job store %r: %s",
                                                       "default", "database is locked")
    logging.getLogger("apscheduler.executors.default").warning('Run time of job "%s" was missed by %s',
                                                               "nightly", "0:01:00")
    # The same words from a logger that is not APScheduler's are not a duplicate.
    logging.getLogger("exporter.schedule.service").warning('Run time of job "%s" was missed by %s',
                                                           "nightly", "0:01:00")
    messages = [(m["logger"], m["message"]) for m in map(TEXT_LINE.match, lines(out))]
    assert messages == [
        ("apscheduler.scheduler", "Error getting due jobs from job store 'default': database is locked"),
        ("exporter.schedule.service", 'Run time of job "nightly" was missed by 0:01:00'),
    ]
