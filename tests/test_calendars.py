"""Business calendars: the trigger, the `jobs` listing, the service's job store and the cron path agree.

Every check runs on a fixed clock over 2026 and 2027 (Thanksgiving, Christmas and a closed Christmas
Eve, New Year on a Friday and observed on a Friday, month ends on weekends, both DST changes) against
an oracle built from the `holidays` package and plain date arithmetic, not from the code under test.
The cron path is checked by simulating a cron daemon (cronie's rules at DST changes) that runs the
crontab lines of `exporter cron`, and asking `run-job`'s decision at each start.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings, strategies as st

import exporter
from exporter.cli import cli
from exporter.runs.record import RunContext
from exporter.schedule.calendars import BusinessCalendar
from exporter.schedule.jobs import JobSkipped, list_jobs, run_job
from exporter.schedule.timetable import JobSpec, load_timetable
from exporter.schedule.triggers import (
    BusinessDayTrigger,
    CalendarCronTrigger,
    CrontabTrigger,
    OncePerWallTimeCronTrigger,
    cron_decision,
    crontab_expression,
    fire_times,
    trigger_for,
)

from conftest import DATA_DIR

ZONE = ZoneInfo("America/New_York")
START = dt.datetime(2026, 1, 1, tzinfo=ZONE)
END = dt.datetime(2028, 1, 1, tzinfo=ZONE)
YEARS = range(2025, 2029)

TIMETABLE = """\
timezone: America/New_York
calendars:
  us-ny: {country: US, subdivision: NY, closed: [2026-12-24]}
  nyse: {financial: NYSE}
  every-day: {weekend: []}
jobs:
  - id: weekday-skip
    cron: "0 6 * * 1-5"
    calendar: us-ny
    formats: [txt]
  - id: weekday-next
    cron: "0 6 * * 1-5"
    calendar: us-ny
    on_holiday: next
    formats: [txt]
  - id: the-25th-previous
    cron: "0 7 25 * *"
    calendar: us-ny
    on_holiday: previous
    formats: [txt]
  - id: the-1st-next
    cron: "15 8 1 * *"
    calendar: nyse
    on_holiday: next
    formats: [txt]
  - id: market-hours
    cron: "0 9-16 * * 1-5"
    calendar: nyse
    formats: [txt]
  - id: night-next
    cron: "30 2 * * *"
    calendar: nyse
    on_holiday: next
    formats: [txt]
  - id: repeated-hour
    cron: "30 1 * * *"
    calendar: us-ny
    formats: [txt]
  - id: month-open
    business_day: 1
    at: "07:00"
    calendar: us-ny
    formats: [txt]
  - id: month-end
    business_day: -1
    at: "17:30"
    calendar: nyse
    formats: [txt]
  - id: third-weekday
    business_day: 3
    at: "06:45"
    formats: [txt]
  - id: spring-gap
    business_day: 8
    at: "02:30"
    calendar: every-day
    formats: [txt]
  - id: autumn-repeat
    business_day: 1
    at: "01:30"
    calendar: every-day
    formats: [txt]
"""

# The oracle's closed days: straight from the holidays package, plus the timetable's own.
US_NY = set(holidays.country_holidays("US", subdiv="NY", years=YEARS)) | {dt.date(2026, 12, 24)}
NYSE = set(holidays.financial_holidays("NYSE", years=YEARS))
CLOSED = {"us-ny": US_NY, "nyse": NYSE, "every-day": set(), None: set()}
WEEKEND = {"us-ny": {5, 6}, "nyse": {5, 6}, "every-day": set(), None: {5, 6}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("calendars")
    data = root / "data"
    shutil.copytree(DATA_DIR, data)
    (data / "schedule.yaml").write_text(TIMETABLE, encoding="utf-8")
    return exporter.Workspace(data_dir=data, output_dir=root / "out")


@pytest.fixture(scope="module")
def timetable(site):
    return load_timetable(site.schedule).timetable


@pytest.fixture(scope="module")
def listed(site):
    """The `jobs` listing from the start of 2026: every fire time of the two years."""
    return {job.id: job for job in list_jobs(site, count=4200, clock=lambda: START)}


def trigger_of(timetable, job_id: str):
    job = next(j for j in timetable.jobs if j.id == job_id)
    return trigger_for(job, timetable.zone, calendar=timetable.calendar_of(job))


def utc(times) -> list[dt.datetime]:
    return [t.astimezone(dt.UTC) for t in times]


def walk(trigger, start=START, end=END) -> list[dt.datetime]:
    """Every fire time from *start* to *end*, as the service asks for them (from the previous one)."""
    times = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        times.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return times


def wall(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """A local wall time as APScheduler gives it: a time in the spring gap keeps its name, fold 0."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def days_between(start: dt.date, end: dt.date):
    day = start
    while day < end:
        yield day
        day += dt.timedelta(days=1)


# --- the oracle -----------------------------------------------------------------------------------

def cron_matches(expression: str, when: dt.datetime) -> bool:
    """Cron's own rule for one wall time (fields of numbers, ranges, lists and steps)."""
    return compiled(expression)(when)


@functools.cache
def compiled(expression: str):
    minute, hour, dom, month, dow = expression.split()
    minutes, hours, days, months = _values(minute, 0, 59), _values(hour, 0, 23), _values(dom, 1, 31), \
        _values(month, 1, 12)
    weekdays = {d % 7 for d in _values(dow, 0, 7)}  # cron's numbers: 0 and 7 are Sunday
    either = not dom.startswith("*") and not dow.startswith("*")  # then a day matching either field fires

    def matches(when: dt.datetime) -> bool:
        if when.minute not in minutes or when.hour not in hours or when.month not in months:
            return False
        day_ok, weekday_ok = when.day in days, (when.weekday() + 1) % 7 in weekdays
        return (day_ok or weekday_ok) if either else (day_ok and weekday_ok)

    return matches


def _values(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        first, last = (low, high) if base == "*" else (int(base.split("-")[0]), int(base.split("-")[-1]))
        values.update(range(first, last + 1, int(step or 1)))
    return values


def raw_walls(expression: str, start=START, end=END) -> list[dt.datetime]:
    """The wall times a crontab expression names, day by day (a DST day's wall times included as named),
    but of the times the spring gap skips only the first: the service runs the job once for them,
    right after the change (``0,45 2 * * *`` at 03:00, not at 03:45 too). Cron may start its line once
    per skipped time, all at 03:00; the cron path is not checked on DST days below."""
    minute, hour = expression.split()[:2]
    times = []
    for day in days_between(start.date() - dt.timedelta(days=20), end.date() + dt.timedelta(days=20)):
        gap_met = False
        for h in sorted(_values(hour, 0, 23)):
            for m in sorted(_values(minute, 0, 59)):
                when = wall(day, h, m)
                if not cron_matches(expression, when):
                    continue
                skipped = when.astimezone(dt.UTC).astimezone(ZONE).replace(tzinfo=None) != when.replace(tzinfo=None)
                if skipped and gap_met:
                    continue
                gap_met = gap_met or skipped
                times.append(when)
    return times


def business(day: dt.date, calendar: str | None) -> bool:
    return day.weekday() not in WEEKEND[calendar] and day not in CLOSED[calendar]


def expected_cron(expression: str, calendar: str, rule: str, start=START, end=END) -> list[dt.datetime]:
    fires = set()
    for when in raw_walls(expression, start, end):
        day = when.date()
        if day not in CLOSED[calendar]:
            fires.add(when.astimezone(dt.UTC))
        elif rule != "skip":
            step = dt.timedelta(days=1 if rule == "next" else -1)
            target = day + step
            while not business(target, calendar):
                target += step
            fires.add(wall(target, when.hour, when.minute).astimezone(dt.UTC))
    return sorted(f for f in fires if start <= f < end)


def nth_business_days(n: int, calendar: str | None, closed: bool = True) -> list[dt.date]:
    found = []
    for year in (2025, 2026, 2027, 2028):
        for month in range(1, 13):
            first = dt.date(year, month, 1)
            following = dt.date(year + (month == 12), month % 12 + 1, 1)
            days = [d for d in days_between(first, following)
                    if d.weekday() not in WEEKEND[calendar] and (not closed or d not in CLOSED[calendar])]
            if len(days) >= abs(n):
                found.append(days[n - 1 if n > 0 else n])
    return found


def expected_business_day(n: int, at: str, calendar: str | None, start=START, end=END) -> list[dt.datetime]:
    hour, minute = map(int, at.split(":"))
    fires = [wall(day, hour, minute).astimezone(dt.UTC) for day in nth_business_days(n, calendar)]
    return [f for f in fires if start <= f < end]


def expected(job: JobSpec, start=START, end=END) -> list[dt.datetime]:
    if job.business_day is not None:
        return expected_business_day(job.business_day, job.at, job.calendar, start, end)
    return expected_cron(job.cron, job.calendar, job.holiday_rule, start, end)


# --- the trigger against the oracle ---------------------------------------------------------------

def test_every_job_fires_as_the_oracle_says_over_two_years(timetable):
    for job in timetable.jobs:
        assert utc(walk(trigger_of(timetable, job.id))) == expected(job), job.id


def local(times) -> set[tuple]:
    return {(t.astimezone(ZONE).date(), t.astimezone(ZONE).strftime("%H:%M")) for t in times}


def test_the_holidays_of_the_year(timetable):
    def on(job_id, day):
        return {hm for d, hm in local(walk(trigger_of(timetable, job_id))) if d == day}

    thanksgiving, friday = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
    assert on("weekday-skip", thanksgiving) == set() and on("weekday-skip", friday) == {"06:00"}
    assert on("weekday-next", thanksgiving) == set() and on("weekday-next", friday) == {"06:00"}  # once
    # Christmas Eve is closed by the timetable, Christmas by law: the 25th moves back to the 23rd.
    assert on("the-25th-previous", dt.date(2026, 12, 23)) == {"07:00"}
    assert on("the-25th-previous", dt.date(2026, 12, 24)) == on("the-25th-previous", dt.date(2026, 12, 25)) == set()
    # New Year 2026 is a Thursday; 2027's a Friday, so the first business day is Monday the 4th.
    assert on("month-open", dt.date(2026, 1, 2)) == {"07:00"}
    assert on("month-open", dt.date(2027, 1, 4)) == {"07:00"}
    assert on("the-1st-next", dt.date(2027, 1, 4)) == {"08:15"}
    # Good Friday closes NYSE, not New York State.
    assert on("market-hours", dt.date(2026, 4, 3)) == set()
    assert on("weekday-skip", dt.date(2026, 4, 3)) == {"06:00"}
    # Month ends on weekends: January 2026 ends on a Saturday, May 2026 on a Sunday (the 29th is Friday).
    ends = {d for d, _ in local(walk(trigger_of(timetable, "month-end")))}
    assert dt.date(2026, 1, 30) in ends and dt.date(2026, 5, 29) in ends
    # NYSE does not close on Friday 31 December 2027 for a Saturday New Year; New York State does.
    assert dt.date(2027, 12, 31) in ends and dt.date(2027, 12, 31) in US_NY


def test_both_dst_changes(timetable):
    spring, autumn = dt.date(2026, 3, 8), dt.date(2026, 11, 1)
    gap = [t for t in walk(trigger_of(timetable, "spring-gap")) if t.astimezone(ZONE).date() == spring]
    assert len(gap) == 1 and gap[0].astimezone(dt.UTC) == dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)
    nights = [t for t in walk(trigger_of(timetable, "night-next")) if t.astimezone(ZONE).date() == spring]
    assert utc(nights) == utc(gap)  # the daily 02:30 job too: once, as APScheduler puts a time in the gap
    repeat = [t for t in walk(trigger_of(timetable, "autumn-repeat")) if t.astimezone(ZONE).date() == autumn]
    assert utc(repeat) == [dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)]  # 01:30 EDT, not again at 01:30 EST
    daily = [t for t in walk(trigger_of(timetable, "repeated-hour")) if t.astimezone(ZONE).date() == autumn]
    assert utc(daily) == utc(repeat)
    month_open = {d for d, _ in local(walk(trigger_of(timetable, "month-open")))}
    assert {dt.date(2026, 3, 2), dt.date(2026, 11, 2)} <= month_open


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney",
                                  "America/Santiago", "Asia/Beirut", "America/Havana"])  # the last three jump at 00:00
@pytest.mark.parametrize("expression", ["0 0 * * *", "15 0 * * 1-5", "0 0 * * 1"])
def test_a_midnight_job_fires_the_night_after_clocks_go_forward(zone, expression):
    """APScheduler 3.11 passed by the first midnight after clocks go forward: from the day of the
    change it moves to the next day with the old UTC offset, reads 01:00 and skips the day (a daily
    00:00 job in New York had no run on Monday 2027-03-15; where clocks jump at midnight, none on the
    day of the jump). Every night of two years is there; a 00:xx that does not exist comes just after
    the jump, as APScheduler puts any time of a skipped hour."""
    tz = ZoneInfo(zone)
    trigger = CrontabTrigger(expression, tz)
    start, end = dt.datetime(2026, 1, 1, tzinfo=tz), dt.datetime(2028, 1, 1, tzinfo=tz)
    fired = [t.astimezone(dt.UTC).astimezone(tz) for t in walk(trigger, start, end)]  # as the clock shows it
    minute = int(expression.split()[0])
    days = [start.date() + dt.timedelta(days=n) for n in range((end.date() - start.date()).days)]
    named = [w for d in days if cron_matches(expression, w := dt.datetime.combine(d, dt.time(0, minute), tzinfo=tz))]
    wanted = [w.astimezone(dt.UTC).astimezone(tz) for w in named]  # a time that does not exist: just after the jump
    assert [(t.date(), t.hour, t.minute) for t in fired] == [(w.date(), w.hour, w.minute) for w in wanted]
    assert len({t.astimezone(dt.UTC) for t in fired}) == len(fired)


# --- one answer: the listing and the service's job store ------------------------------------------

def test_the_jobs_listing_is_the_trigger(timetable, listed):
    for job in timetable.jobs:
        fires = [t for t in listed[job.id].next if t < END]
        assert utc(fires) == expected(job), job.id
    assert listed["weekday-next"].trigger == "cron 0 6 * * 1-5, calendar us-ny, holidays moved to the next business day"
    assert listed["month-end"].trigger == "last business day of the month at 17:30, calendar nyse"
    assert listed["third-weekday"].trigger == "3rd business day of the month at 06:45, weekends closed"


def test_the_jobs_command_shows_the_calendar_rules(site):
    result = CliRunner().invoke(cli, ["jobs", "--json", "--count", "2", "--data-dir", str(site.data_dir)])
    assert result.exit_code == 0, result.output
    jobs = {job["id"]: job for job in json.loads(result.stdout)}
    assert jobs["month-open"]["trigger"] == "1st business day of the month at 07:00, calendar us-ny"
    for fire in map(dt.datetime.fromisoformat, jobs["month-open"]["next"]):
        assert fire.strftime("%H:%M") == "07:00" and fire.weekday() < 5 and fire.date() not in US_NY


def test_the_service_job_store_fires_on_the_listed_times(tmp_path, site, timetable, listed):
    """The triggers as the service stores them (pickled in SQLite), read back by a new store, walked by APScheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from exporter.schedule.service import job_store, sync_jobs

    workspace = exporter.Workspace(site.data_dir, tmp_path / "out")
    scheduler = BackgroundScheduler(jobstores={"default": job_store(workspace)}, timezone=ZONE)
    sync_jobs(scheduler, scheduler._jobstores["default"], workspace, timetable, START)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    with (workspace.state / "jobs.sqlite").open("rb") as db:
        assert b"holidays" not in db.read()  # only codes and dates: the package is asked again when a trigger runs
    store = job_store(workspace)
    store.start(BackgroundScheduler(timezone=ZONE), "default")
    stored = {job.id: job for job in store.get_all_jobs()}
    now = {job.id: job for job in list_jobs(site, count=1)}
    before = {job_id: job.next_run_time for job_id, job in stored.items()}
    assert utc(before.values()) == utc(now[job_id].next[0] for job_id in before)  # from the real clock, as listed
    for job in timetable.jobs:
        # APScheduler's own walk (as its loop does after each run) with the unpickled trigger, from START.
        stored[job.id].next_run_time = stored[job.id].trigger.get_next_fire_time(None, START)
        runs = stored[job.id]._get_run_times(END - dt.timedelta(microseconds=1))
        assert utc(runs) == utc(t for t in listed[job.id].next if t < END), job.id
    # Synced again with a new closed date on the day month-open fires next: the us-ny jobs are replaced.
    closing = before["month-open"].astimezone(ZONE).date()
    scheduler = BackgroundScheduler(jobstores={"default": job_store(workspace)}, timezone=ZONE)
    changed = timetable.model_copy(update={"calendars": {
        **timetable.calendars, "us-ny": timetable.calendars["us-ny"].model_copy(
            update={"closed": [dt.date(2026, 12, 24), closing]})}})
    sync_jobs(scheduler, scheduler._jobstores["default"], workspace, changed, dt.datetime.now(ZONE))
    scheduler.start(paused=True)
    after = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    scheduler.shutdown(wait=False)
    assert after["month-open"] > before["month-open"] and after["month-open"].date() != closing
    assert after["month-open"].strftime("%H:%M") == "07:00"
    assert after["month-end"] == before["month-end"]  # nyse: unchanged


def test_status_uses_the_calendar_for_the_next_fire_and_staleness(tmp_path, site):
    workspace = exporter.Workspace(site.data_dir, tmp_path / "out")
    dawn = dt.datetime(2026, 11, 26, 5, 0, tzinfo=ZONE)  # Thanksgiving
    jobs = {h.id: h for h in exporter.api.status(workspace, clock=lambda: dawn).jobs}
    assert jobs["weekday-skip"].next_fire == wall(dt.date(2026, 11, 27), 6, 0)
    assert jobs["weekday-skip"].trigger == "cron 0 6 * * 1-5, calendar us-ny, holidays skipped"
    assert jobs["month-open"].next_fire == wall(dt.date(2026, 12, 1), 7, 0)
    # Built on Wednesday at 06:00: not stale on Thanksgiving, stale once Friday's fire time and its grace passed.
    run_job(workspace, "weekday-skip", run=RunContext(trigger="cron", clock=lambda: wall(dt.date(2026, 11, 25), 6, 0)))
    later = {h.id: h for h in exporter.api.status(workspace, clock=lambda: wall(dt.date(2026, 11, 26), 23, 0)).jobs}
    assert later["weekday-skip"].stale == ()
    friday = {h.id: h for h in exporter.api.status(workspace, clock=lambda: wall(dt.date(2026, 11, 27), 14, 0)).jobs}
    assert friday["weekday-skip"].stale and "2026-11-27T06:00:00-05:00" in friday["weekday-skip"].stale[0]


def test_the_triggers_pickle_to_plain_values(timetable):
    for job in timetable.jobs:
        trigger = trigger_of(timetable, job.id)
        copy = pickle.loads(pickle.dumps(trigger))
        assert type(copy) is type(trigger)
        assert utc(walk(copy, START, START + dt.timedelta(days=120))) == utc(
            walk(trigger, START, START + dt.timedelta(days=120)))
        assert set(trigger.__getstate__()) >= {"version", "timezone"}


# --- the cron path --------------------------------------------------------------------------------

def crontab_line(timetable, job_id: str) -> str:
    job = next(j for j in timetable.jobs if j.id == job_id)
    return crontab_expression(job, timetable.calendar_of(job))


def cron_daemon(expressions: dict[str, str], start=START, end=END) -> list[tuple[dt.datetime, str]]:
    """When a cron daemon starts each line, walking real minutes as cronie does at DST changes.

    Clocks forward (less than 3 hours): the fixed-time lines of the skipped minutes run at once.
    Clocks back: only lines with a wildcard minute or hour run in the repeated hour.
    """
    starts = []
    wildcard = {name for name, e in expressions.items() if e.split()[0].startswith("*") or e.split()[1].startswith("*")}
    matchers = {name: compiled(e) for name, e in expressions.items()}
    moment = start.astimezone(dt.UTC)
    previous = high_water = (moment - dt.timedelta(minutes=1)).astimezone(ZONE).replace(tzinfo=None)
    minute = dt.timedelta(minutes=1)
    while moment < end:
        now = moment.astimezone(ZONE).replace(tzinfo=None)
        if now > previous + minute:  # jumped forward
            skipped = previous + minute
            while skipped < now:
                starts += [(moment, n) for n, m in matchers.items() if n not in wildcard and m(skipped)]
                skipped += minute
        repeated = now <= high_water
        starts += [(moment, n) for n, m in matchers.items() if m(now) and (not repeated or n in wildcard)]
        previous, high_water = now, max(high_water, now)
        moment += minute
    return starts


@pytest.fixture(scope="module")
def cron_runs(timetable):
    """Each crontab line's starts over the two years and run-job's decision at each (2 s after the minute)."""
    lines = {job.id: crontab_line(timetable, job.id) for job in timetable.jobs}
    triggers = {job.id: trigger_of(timetable, job.id) for job in timetable.jobs}
    return [(moment, job_id, cron_decision(triggers[job_id], moment + dt.timedelta(seconds=2)))
            for moment, job_id in cron_daemon(lines)]


def test_the_crontab_lines_fire_on_every_candidate_day(timetable):
    assert crontab_line(timetable, "weekday-skip") == "0 6 * * 1-5"  # skipping: the job's own line
    assert crontab_line(timetable, "weekday-next") == "0 6 * * *"  # moving: every day at its times
    assert crontab_line(timetable, "month-open") == "0 7 * * 1-5"  # business days: every weekday
    assert crontab_line(timetable, "spring-gap") == "30 2 * * *"  # a calendar without a weekend


def test_the_cron_command_prints_the_candidate_lines(site):
    result = CliRunner().invoke(cli, ["cron", "--data-dir", str(site.data_dir), "--output-dir", "/srv/out"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.endswith("# month-open"))
    assert lines[at - 1] == ("# month-open: 1st business day of the month at 07:00, calendar us-ny; this line runs "
                             "on every day the job may fire, and run-job builds only at its fire times")
    assert lines[at].startswith("0 7 * * 1-5 ") and " run-job month-open --trigger cron " in lines[at]
    skip = next(line for line in lines if line.endswith("# weekday-skip"))
    assert skip.startswith("0 6 * * 1-5 ")


def test_the_cron_path_runs_exactly_the_listed_fire_times(timetable, listed, cron_runs):
    for job in timetable.jobs:
        runs = [(moment, d) for moment, job_id, d in cron_runs if job_id == job.id and d.action == "run"]
        fires = [t for t in listed[job.id].next if t < END]
        assert utc(d.fire for _, d in runs) == utc(fires), job.id
        for moment, decision in runs:
            late = moment - decision.fire.astimezone(dt.UTC)
            if decision.fire.astimezone(ZONE).date() == dt.date(2026, 3, 8) or \
                    decision.fire.astimezone(ZONE).date() == dt.date(2027, 3, 14):
                assert dt.timedelta(hours=-1) < late <= dt.timedelta(0)  # cron starts it when the clock jumps
            else:
                assert late == dt.timedelta(0), (job.id, moment)


def test_the_cron_path_records_the_closed_days(timetable, cron_runs):
    for job in timetable.jobs:
        closed = sorted({d.fire.astimezone(dt.UTC) for _, job_id, d in cron_runs
                         if job_id == job.id and d.action == "closed"})
        if job.business_day is not None:  # where the job would fire if no day were a holiday
            hour, minute = map(int, job.at.split(":"))
            would = [wall(day, hour, minute) for day in nth_business_days(job.business_day, job.calendar, False)
                     if day in CLOSED[job.calendar]]
        else:
            would = [w for w in raw_walls(job.cron) if w.date() in CLOSED[job.calendar]]
        assert closed == sorted(w.astimezone(dt.UTC) for w in would if START <= w < END), job.id
        others = {d.action for _, job_id, d in cron_runs if job_id == job.id} - {"run", "closed"}
        if job.business_day is None and job.holiday_rule == "skip":
            assert others == set(), job.id  # the job's own line: every start is a fire time or a closed day
        assert others <= {"not due"}
    reasons = {d.reason.partition(";")[0] for _, job_id, d in cron_runs if job_id == "weekday-skip" and
               d.fire.astimezone(ZONE).date() in (dt.date(2026, 11, 26), dt.date(2026, 12, 24))}
    assert reasons == {"closed: Thanksgiving Day (us-ny)", "closed: company closed day (us-ny)"}


def history(out: Path) -> list[dict]:
    result = CliRunner().invoke(cli, ["history", "--json", "--limit", "50", "--output-dir", str(out)])
    return list(reversed(json.loads(result.stdout)))


def test_run_job_from_cron_on_thanksgiving_and_the_day_after(tmp_path, site):
    workspace = exporter.Workspace(site.data_dir, tmp_path / "out")

    def at(when: dt.datetime):
        return run_job(workspace, "weekday-skip", run=RunContext(trigger="cron", clock=lambda: when))

    skipped = at(dt.datetime(2026, 11, 26, 6, 0, 1, tzinfo=ZONE))
    assert isinstance(skipped, JobSkipped) and skipped.run_id is not None
    assert skipped.reason == "closed: Thanksgiving Day (us-ny); next fire time 2026-11-27T06:00-05:00"
    nothing = at(dt.datetime(2026, 11, 27, 13, 0, tzinfo=ZONE))  # at another time, past the misfire grace (6h)
    assert isinstance(nothing, JobSkipped) and nothing.run_id is None
    built = at(dt.datetime(2026, 11, 27, 6, 0, 2, tzinfo=ZONE))
    assert not isinstance(built, JobSkipped) and built.ok
    # A start more than 5 minutes after a fire time (cron on a loaded host) builds nothing, and says so loudly.
    late = at(dt.datetime(2026, 11, 30, 6, 40, tzinfo=ZONE))
    assert isinstance(late, JobSkipped) and late.run_id is not None
    assert late.reason == ("started 40 min after the fire time 2026-11-30T06:00-05:00, more than 5 min late: not built "
                           "(run it with `exporter run-job weekday-skip`); next fire time 2026-12-01T06:00-05:00")
    runs = history(workspace.output_dir)
    assert [(r["trigger"], r["job_id"], r["status"]) for r in runs] == [
        ("cron", "weekday-skip", "skipped"), ("cron", "weekday-skip", "ok"), ("cron", "weekday-skip", "skipped")]
    assert runs[0]["error"].startswith("closed: Thanksgiving Day (us-ny)") and runs[0]["reports"] == []
    assert runs[2]["error"] == late.reason
    # The service's runs (and a person's) are not second-guessed: the trigger already decided.
    manual = run_job(workspace, "weekday-skip", run=RunContext(
        trigger="schedule", clock=lambda: dt.datetime(2026, 11, 26, 6, tzinfo=ZONE)))
    assert not isinstance(manual, JobSkipped)


def today_closed_timetable(path: Path) -> Path:
    """A timetable (in UTC) whose company calendar closes today: a job every minute, skipped today; the same
    job with a calendar open every day; and a business-day job whose day is today, at the next minute
    that is at least 20 seconds away (a calendar with no weekend: today is business day N, N its date)."""
    now = dt.datetime.now(dt.UTC)
    if now.hour == 23 and now.minute >= 57:
        time.sleep(200)  # not across midnight
        now = dt.datetime.now(dt.UTC)
    at = (now + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
    path.write_text(f"timezone: UTC\ncalendars:\n  office: {{closed: [{now.date()}]}}\n  open: {{weekend: []}}\n"
                    "jobs:\n  - id: closed-today\n    cron: \"* * * * *\"\n    calendar: office\n    formats: [txt]\n"
                    "  - id: open-today\n    cron: \"* * * * *\"\n    calendar: open\n    formats: [txt]\n"
                    f"  - id: business-day-today\n    business_day: {now.day}\n    at: \"{at:%H:%M}\"\n"
                    "    calendar: open\n    formats: [txt]\n", encoding="utf-8")
    return path


def test_a_crontab_line_on_a_closed_day_exits_0_and_records_why(tmp_path, site):
    schedule = today_closed_timetable(tmp_path / "s.yaml")
    out = tmp_path / "out"
    places = ["--data-dir", str(site.data_dir), "--output-dir", str(out), "--schedule", str(schedule)]
    done = subprocess.run([sys.executable, "-m", "exporter", "-q", "run-job", "closed-today", "--trigger", "cron",
                           *places], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # nothing for cron to mail
    runs = history(out)
    assert [(r["trigger"], r["job_id"], r["status"]) for r in runs] == [("cron", "closed-today", "skipped")]
    assert runs[0]["error"].startswith("closed: company closed day (office); next fire time ")
    done = subprocess.run([sys.executable, "-m", "exporter", "-q", "run-job", "open-today", "--trigger", "cron",
                           *places], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [r["status"] for r in history(out)] == ["skipped", "ok"]


def test_the_service_fires_calendar_jobs(tmp_path, site):
    """The real `exporter schedule` process: a minutely job closed today never runs (its minutes are
    recorded as skipped: closed), the open one and the business-day job whose day is today (a calendar
    with no weekend) run at their minute."""
    schedule = today_closed_timetable(tmp_path / "s.yaml")
    out = tmp_path / "out"
    service = subprocess.Popen([sys.executable, "-m", "exporter", "schedule", "--schedule", str(schedule),
                                "--data-dir", str(site.data_dir), "--output-dir", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and service.poll() is None:
            runs = history(out) if out.exists() else []
            if {"open-today", "business-day-today"} <= {r["job_id"] for r in runs if r["status"] == "ok"} and \
                    "closed-today" in {r["job_id"] for r in runs}:
                break
            time.sleep(1)
    finally:
        service.send_signal(signal.SIGTERM)
        _, stderr = service.communicate(timeout=60)
    runs = history(out)
    ran = {r["job_id"] for r in runs if r["status"] == "ok"}
    assert {"open-today", "business-day-today"} <= ran, stderr
    # The closed job builds nothing; its closed-day watcher records each of its minutes as skipped, as its crontab line would.
    closed = [r for r in runs if r["job_id"] == "closed-today"]
    assert closed and all(r["status"] == "skipped" and r["error"].startswith("closed: ") for r in closed), closed
    assert all(r["trigger"] == "schedule" for r in runs)


# --- validation -----------------------------------------------------------------------------------

BROKEN = """\
timezone: America/New_York
calendars:
  nowhere: {country: XX}
  no-state: {country: US, subdivision: ZZ}
  no-market: {financial: MOON}
  both: {country: US, financial: NYSE}
jobs:
  - id: a
    cron: "0 6 * * 1-5"
    calendar: us-ny
  - id: b
    business_day: 0
    at: "7:00"
  - id: c
    every: 1h
    on_holiday: next
"""


def test_validate_gives_located_errors(tmp_path, site):
    schedule = tmp_path / "broken.yaml"
    schedule.write_text(BROKEN, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--schedule", str(schedule), "--data-dir", str(site.data_dir)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: {schedule}:3: calendars.nowhere.country: unknown country 'XX': give an ISO 3166-1 code the "
        "holidays package knows, such as US, GB, DE or FR",
        f"Error: {schedule}:4: calendars.no-state.subdivision: US has no subdivision 'ZZ' (known: AK, AL, AR, AS, "
        "AZ, CA, CO, CT, DC, DE, FL, GA, GU, HI, IA, ID, IL, IN, KS, KY, LA, MA, MD, ME, MI, MN, MO, MP, MS, MT, NC, "
        "ND, NE, NH, NJ, NM, NV, NY, OH, OK, OR, PA, PR, RI, SC, SD, TN, TX, UM, UT, VA, VI, VT, WA, WI, WV, WY)",
        f"Error: {schedule}:5: calendars.no-market.financial: unknown financial market 'MOON'; known: "
        + ", ".join(sorted(holidays.list_supported_financial(include_aliases=False)))
        + ", and aliases such as NYSE",
        f"Error: {schedule}:6: calendars.both.financial: give a country or a financial market, not both",
        f"Error: {schedule}:12: jobs[1].business_day: give 1 to 31 (counting from the month's start) or -1 to -31 "
        "(from its end; -1 is the last business day), not 0",
        f"Error: {schedule}:13: jobs[1].at: '7:00' is not a time of day: give hours and minutes on a 24-hour "
        'clock, e.g. "07:00"',
        f"Error: {schedule}:14: jobs[2]: on_holiday is for cron jobs with a calendar (a business_day job never "
        "fires on a holiday)",
    ]


def test_an_unknown_calendar_name_is_a_located_error_everywhere(tmp_path, site):
    schedule = tmp_path / "s.yaml"
    schedule.write_text("timezone: UTC\ncalendars:\n  us: {country: US}\njobs:\n  - id: a\n    cron: \"0 6 * * *\"\n"
                        "    calendar: us-ny\n", encoding="utf-8")
    expected = f"{schedule}:7: jobs[0].calendar: unknown calendar 'us-ny' (calendars: us)"
    places = ["--schedule", str(schedule), "--data-dir", str(site.data_dir)]
    for command in (["validate"], ["jobs"], ["cron"]):
        result = CliRunner().invoke(cli, [*command, *places])
        assert (result.exit_code, result.stderr) == (2, f"Error: {expected}\n"), command
    done = subprocess.run([sys.executable, "-m", "exporter", "run-job", "a", "--trigger", "cron", *places,
                           "--output-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2 and expected in done.stderr


@pytest.mark.parametrize(("body", "message"), [
    ("cron: \"0 6 * * *\"\n    on_holiday: next", "on_holiday needs a calendar: which days are holidays"),
    ("business_day: 1", 'a business_day job needs at: the time of day, e.g. at: "07:00"'),
    ("cron: \"0 6 * * *\"\n    at: \"07:00\"", "at is the time of a business_day job; a cron job has its time "
                                               "in its cron expression"),
    ("every: 1h\n    calendar: x", "a calendar applies to cron and business_day jobs, not to intervals"),
    ("cron: \"0 6 * * 1-8\"", "bad cron expression '0 6 * * 1-8': Error validating expression '8': give a day "
                              "of week 0-7 (0 and 7 are Sunday) or sun-sat"),
])
def test_job_rules_that_do_not_fit_together(tmp_path, site, body, message):
    schedule = tmp_path / "s.yaml"
    schedule.write_text(f"timezone: UTC\ncalendars:\n  x: {{}}\njobs:\n  - id: a\n    {body}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--schedule", str(schedule), "--data-dir", str(site.data_dir)])
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr


# --- cron's day rules -----------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "days"), [
    ("0 6 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
    ("0 6 * * 0", {"Sun"}), ("0 6 * * 7", {"Sun"}), ("0 6 * * sun,SAT", {"Sat", "Sun"}),
    ("0 6 * * */2", {"Sun", "Tue", "Thu", "Sat"}),
])
def test_crontab_days_of_week_read_as_cron_reads_them(expression, days):
    times = fire_times(CrontabTrigger(expression, ZONE), START, 30)
    assert {t.strftime("%a") for t in times} == days
    assert all(cron_matches(expression.replace("sun,SAT", "0,6"), t) for t in times)


def test_a_day_of_month_and_a_day_of_week_fire_on_either_as_in_cron():
    times = fire_times(CrontabTrigger("0 6 13 * 5", ZONE), START, 60)  # the 13th, and every Friday
    assert utc(times) == utc(w for w in raw_walls("0 6 13 * 5") if w >= START)[:60]
    assert any(t.day == 13 and t.weekday() != 4 for t in times) and any(t.day != 13 for t in times)


def test_a_stored_trigger_of_apschedulers_days_is_replaced(tmp_path, site):
    """Job stores written before: `0 6 * * 1-5` stored as APScheduler's Tuesday to Saturday is read again."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from exporter.schedule.service import JOB_FUNCTION, job_kwargs, job_store, sync_jobs

    schedule = tmp_path / "s.yaml"
    schedule.write_text("timezone: America/New_York\njobs:\n  - id: w\n    cron: \"0 6 * * 1-5\"\n", encoding="utf-8")
    timetable = load_timetable(schedule).timetable
    workspace = exporter.Workspace(site.data_dir, tmp_path / "out", schedule_file=schedule)
    old = OncePerWallTimeCronTrigger(minute="0", hour="6", day_of_week="1-5", timezone=ZONE)
    saturday = wall(dt.date(2026, 12, 5), 6, 0)
    store = job_store(workspace)
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=ZONE)
    scheduler.add_job(JOB_FUNCTION, trigger=old, id="w", kwargs=job_kwargs(workspace, timetable, timetable.jobs[0]),
                      next_run_time=saturday)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    scheduler = BackgroundScheduler(jobstores={"default": job_store(workspace)}, timezone=ZONE)
    sync_jobs(scheduler, scheduler._jobstores["default"], workspace, timetable, saturday - dt.timedelta(hours=1))
    scheduler.start(paused=True)
    job = scheduler.get_job("w")
    scheduler.shutdown(wait=False)
    assert type(job.trigger) is CrontabTrigger
    assert job.next_run_time == wall(dt.date(2026, 12, 7), 6, 0)  # Monday, not that Saturday


# --- properties over random rules and dates -------------------------------------------------------

cron_fields = st.tuples(
    st.sampled_from(["0", "30", "0,45"]),
    st.sampled_from(["6", "1", "2", "9-11", "23", "0"]),
    st.sampled_from(["*", "1", "25", "31", "1-7", "*/10"]),
    st.sampled_from(["*", "1,7,12", "11"]),
    st.sampled_from(["*", "1-5", "0,6", "4"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=cron_fields, calendar=st.sampled_from(["us-ny", "nyse"]), rule=st.sampled_from(["skip", "next",
       "previous"]), offset=st.integers(0, 2 * 365 - 60))
@example(fields=("0", "0", "*", "*", "1-5"), calendar="us-ny", rule="skip", offset=379)  # the night after 2027's spring change
@example(fields=("0,45", "2", "*", "*", "*"), calendar="us-ny", rule="skip", offset=7)  # two times in 2026's spring gap
def test_any_cron_rule_fires_as_the_oracle_and_the_cron_path_says(fields, calendar, rule, offset):
    expression = " ".join(fields)
    start = START + dt.timedelta(days=offset)
    end = start + dt.timedelta(days=60)
    spec = {"us-ny": BusinessCalendar("us-ny", "US", "NY", closed=(dt.date(2026, 12, 24),)),
            "nyse": BusinessCalendar("nyse", financial="NYSE")}[calendar]
    trigger = CalendarCronTrigger(expression, ZONE, spec, rule)
    fires = walk(trigger, start, end)
    assert utc(fires) == expected_cron(expression, calendar, rule, start, end)
    for fire in fires:
        if fire.astimezone(ZONE).date() not in (dt.date(2026, 3, 8), dt.date(2027, 3, 14)):
            decision = cron_decision(trigger, fire + dt.timedelta(seconds=3))
            assert decision.action == "run" and decision.fire == fire
    for when in raw_walls(expression, start, end):
        if start <= when < end and when.date() in CLOSED[calendar] and when.astimezone(dt.UTC) not in utc(fires):
            assert cron_decision(trigger, when + dt.timedelta(seconds=3)).action == "closed"


@settings(max_examples=40, deadline=None)
@given(n=st.sampled_from([1, 2, 3, 5, 10, 19, -1, -2, -5]), calendar=st.sampled_from(["us-ny", "nyse", None]),
       offset=st.integers(0, 2 * 365 - 120), at=st.sampled_from(["00:00", "07:00", "23:59"]))
def test_any_business_day_rule_fires_as_the_oracle_says(n, calendar, offset, at):
    spec = {"us-ny": BusinessCalendar("us-ny", "US", "NY", closed=(dt.date(2026, 12, 24),)),
            "nyse": BusinessCalendar("nyse", financial="NYSE"),
            None: BusinessCalendar("weekends", weekend_days=(5, 6))}[calendar]
    start = START + dt.timedelta(days=offset, hours=offset % 24)
    end = start + dt.timedelta(days=120)
    trigger = BusinessDayTrigger(n, at, ZONE, spec)
    fires = walk(trigger, start, end)
    assert utc(fires) == expected_business_day(n, at, calendar, start, end)
    for fire in fires:
        assert cron_decision(trigger, fire + dt.timedelta(seconds=1)).action == "run"
