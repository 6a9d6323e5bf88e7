"""The one pipeline every entry point uses: find, read, validate, derive, render, publish.

    data/reports/<id>.yaml -> read_yaml -> validate -> Report -> forecast + build_document
        -> render[format] -> bytes -> publish_set -> OUTPUT/<id>/<id>.<ext> + manifest.json

`run_build` wraps a build in the run lock and the run history. Reports whose inputs match their
manifest are skipped without being read further. Data for all reports to build is validated
before anything is rendered, so a build with invalid data publishes nothing; a report whose
rendering or publishing fails publishes none of its files and leaves its old set in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from . import executors
from ..core.derive import forecast
from ..source.datatable import open_tables, table_files
from ..layout.market import build_document, edition_title, headline
from ..core.errors import BuildError, DataError, ExporterError, LockBusy, Problem, StateError, UsageError
from .history import History, ReportOutcome
from ..publish.index_page import write_index
from .lock import exclusive_run
from ..publish.manifest import Inputs, file_sha256, is_current, make_manifest, read_manifest
from ..core.model import Report, valid_id
from ..publish.files import HISTORY_DIR, publish_set, remove_leftovers
from ..source.reader import read_yaml
from ..render import DEFAULT_FORMATS, RenderJob, extension, get_renderer, renderer_modules
from ..source.validate import Validated, validate

log = logging.getLogger(__name__)

REPORTS_SUBDIR = "reports"
DATA_SUFFIX = ".yaml"
STATE_SUBDIR = ".exporter"
INDEX_NAME = "index.html"
DEFAULT_KEEP = 5

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class ReportSource:
    """A report's data file (the report id is the file's stem), or one of its variants."""

    id: str
    path: Path
    variant: str | None = None

    @property
    def set_id(self) -> str:
        """The published set's id and folder name: ``<report-id>`` or ``<report-id>.<variant-id>``."""
        return f"{self.id}.{self.variant}" if self.variant else self.id

    def with_variant(self, variant: str) -> "ReportSource":
        return ReportSource(self.id, self.path, variant)


@dataclass(frozen=True)
class LoadedReport:
    source: ReportSource
    job: RenderJob
    warnings: tuple[Problem, ...]


@dataclass
class Outcome:
    report_id: str
    status: str  # built | unchanged | failed | stopped
    files: list[Path] = field(default_factory=list)
    error: str | None = None


@dataclass
class BuildResult:
    run_id: str
    outcomes: list[Outcome]
    warnings: list[Problem]
    deliveries: list = field(default_factory=list)  # DeliveryOutcome

    @property
    def ok(self) -> bool:
        return all(o.status in ("built", "unchanged") for o in self.outcomes) and not any(
            d.status == "failed" for d in self.deliveries)

    @property
    def stopped(self) -> bool:
        return any(o.status == "stopped" for o in self.outcomes)


@dataclass(frozen=True)
class BuildRequest:
    """What to build and how. Time and environment are injected for repeatable runs."""

    data_dir: Path
    output_dir: Path
    ids: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    state_dir: Path | None = None
    force: bool = False
    keep: int = DEFAULT_KEEP
    wait: float = 0.0
    trigger: str = "cli"
    job_id: str | None = None  # the timetable job of a scheduled run
    catch_up: int = 0  # fire times missed during downtime that this run makes up for
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = utc_now
    should_stop: Callable[[], bool] = lambda: False  # checked before each report and before publishing
    deliver: bool = False  # deliver the built (and unchanged) reports after building
    lists: tuple[str, ...] = ()  # distribution lists to deliver to; all when empty
    recipients: Path | None = None  # default DATA/recipients.yaml
    dry_run: bool = False  # deliver: say what would go where, send nothing
    jobs: int = 1  # processes rendering reports in parallel; publishing stays in this process
    progress: Callable[[int, int, str], None] | None = None  # (done, total, report id) after each report
    executor: str = "local"  # where reports are rendered: "local" (this machine) or "dask"
    scheduler_address: str | None = None  # the Dask scheduler, e.g. tcp://10.0.0.5:8786

    @property
    def state(self) -> Path:
        return state_dir_for(self.output_dir, self.state_dir)


def state_dir_for(output_dir: Path, state_dir: Path | None) -> Path:
    return state_dir if state_dir is not None else output_dir / STATE_SUBDIR


def discover(data_dir: Path) -> list[ReportSource]:
    """Return the report data files under *data_dir*, sorted by id."""
    reports_dir = data_dir / REPORTS_SUBDIR
    if not reports_dir.is_dir():
        raise UsageError(f"no reports folder: {reports_dir} does not exist")
    sources, problems = [], []
    root = reports_dir.resolve()
    for path in sorted(reports_dir.glob("*" + DATA_SUFFIX)):
        if not valid_id(path.stem):
            problems.append(
                Problem(path, None, "", "the file name is not a valid report id (up to 64 lower-case letters, "
                        "digits and '-', starting with a letter or digit, not a Windows device name)")
            )
            continue
        if path.resolve().parent != root or not path.resolve().is_file():
            problems.append(Problem(path, None, "", "the file is a link leading outside the reports folder"))
            continue
        sources.append(ReportSource(path.stem, path))
    if problems:
        raise DataError(problems)
    return sources


def select(sources: list[ReportSource], ids: tuple[str, ...] | list[str]) -> list[ReportSource]:
    """Pick the reports named by *ids* (all when empty); an unknown id is a usage error."""
    if not ids:
        return list(sources)
    by_id = {s.id: s for s in sources}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        known = ", ".join(by_id) or "none"
        raise UsageError(f"unknown report id {', '.join(map(repr, unknown))} (known: {known})")
    return [by_id[i] for i in dict.fromkeys(ids)]


def source_date(env: Mapping[str, str]) -> dt.datetime | None:
    """Return the SOURCE_DATE_EPOCH date when it is set (the reproducible-builds convention)."""
    value = env.get("SOURCE_DATE_EPOCH")
    if value is None or value == "":
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}") from None


def load(source: ReportSource, *, created: dt.datetime | None = None) -> LoadedReport:
    """Read and validate one report and derive its figures and document; raise `DataError`."""
    doc = read_yaml(source.path)
    validated = validate(doc)
    report = validated.report
    variant = None
    if source.variant is not None:
        variant = next((v for v in report.variants if v.id == source.variant), None)
        if variant is None:
            raise DataError([Problem(source.path, doc.line_of(("variants",)), "variants",
                                     f"there is no variant {source.variant!r}")])
    if variant is not None and variant.omit:
        report = without(report, variant.omit)
    tables = open_tables(source.path, report.tables, variant.filter if variant else None)
    fc = forecast(report.figures)
    document = build_document(report, fc, created=created, variant=variant, tables=tables)
    job = RenderJob(source.set_id, report, fc, document, tables)
    return LoadedReport(source, job, validated.warnings)


def without(report: Report, parts: list[str]) -> Report:
    """The report with the parts a variant omits removed, so that no renderer can show them."""
    empty = {"segmentations": [], "tables": []}
    return report.model_copy(update={part: empty.get(part) for part in parts})


def check(source: ReportSource) -> Validated:
    """Validate a report's data file and every row of its tables; raise `DataError` listing all problems."""
    validated = validate(read_yaml(source.path))
    open_tables(source.path, validated.report.tables)
    return validated


def load_all(sources: list[ReportSource], *, created: dt.datetime | None = None) -> list[LoadedReport]:
    """Load every report; raise one `DataError` listing the problems of all files."""
    loaded, problems = [], []
    for source in sources:
        try:
            loaded.append(load(source, created=created))
        except DataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    return loaded


def check_all(sources: list[ReportSource], warnings: list[Problem]) -> dict[str, list[str]]:
    """Validate every report, keeping only the warnings and variant ids; raise one `DataError` listing all problems."""
    problems, variants = [], {}
    for source in sources:
        try:
            validated = check(source)
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        warnings.extend(validated.warnings)
        variants[source.id] = [v.id for v in validated.report.variants]
    if problems:
        raise DataError(problems)
    return variants


def inputs_of(source: ReportSource, formats: tuple[str, ...], epoch: int | None) -> Inputs:
    """What decides the bytes of a report's sets: its YAML, its table files, formats and options."""
    tables = tuple((path.name, file_sha256(path)) for path in table_files(source.path))
    return Inputs(file_sha256(source.path), formats, epoch, tables)


def check_formats(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return *formats* without duplicates (defaults when empty); an unknown one is a usage error."""
    formats = tuple(dict.fromkeys(formats or DEFAULT_FORMATS))
    for name in formats:
        extension(name)
    return formats


def render_all(report: LoadedReport, *, formats: tuple[str, ...]) -> dict[str, bytes]:
    """Render every format of *report* to bytes; raise `BuildError` naming the format that failed."""
    rendered = {}
    for name in formats:
        try:
            rendered[name] = get_renderer(name)(report.job)
        except Exception as exc:  # a renderer bug must fail this report, not the whole run
            raise BuildError(f"{report.source.path}: {name}: rendering failed: {exc}") from exc
    return rendered


def report_folder(output_dir: Path, report_id: str) -> Path:
    """Return a report's output folder; names come from validated ids only."""
    if not all(valid_id(part) for part in report_id.split(".", 1)):
        raise UsageError(f"invalid report id {report_id!r}")
    return output_dir / report_id


def file_name(report_id: str, fmt: str) -> str:
    return f"{report_id}.{extension(fmt)}"


def new_run_id(now: dt.datetime) -> str:
    """Return a run id that sorts by time: ``20261123T060000.123Z-1a2b3c``."""
    utc = now.astimezone(dt.timezone.utc)
    return f"{utc:%Y%m%dT%H%M%S}.{utc.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _iso(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def run_build(request: BuildRequest) -> BuildResult:
    """Build (and with ``deliver``, deliver) under the run lock, recording the run in the history."""
    executors.check_settings(request.executor, request.scheduler_address)
    formats = check_formats(request.formats)
    created = source_date(request.env)
    sources = select(discover(request.data_dir), request.ids)
    if request.keep < 0:
        raise UsageError("--keep must be 0 or more")
    recipients = _recipients(request, sources) if request.deliver else None

    def body(history: History, run_id: str) -> BuildResult:
        result = build(request, run_id=run_id, sources=sources, formats=formats, created=created, history=history)
        if recipients is not None:
            ready = [o.report_id for o in result.outcomes if o.status in ("built", "unchanged")]
            result.deliveries = _deliver(request, recipients, ready, run_id)
        return result

    return _run(request, body)


def run_deliver(request: BuildRequest) -> BuildResult:
    """Deliver the published sets of the selected reports (nothing is built), under the run lock."""
    sources = select(discover(request.data_dir), request.ids)
    recipients = _recipients(request, sources)

    def body(history: History, run_id: str) -> BuildResult:
        set_ids = [u.set_id for s in sources for u in (s, *published_variants(request.output_dir, s))]
        return BuildResult(run_id, [], [], _deliver(request, recipients, set_ids, run_id))

    return _run(request, body)


def published_variants(output_dir: Path, source: ReportSource) -> list[ReportSource]:
    """The variants of a report, as its published set lists them."""
    manifest = read_manifest(report_folder(output_dir, source.id)) or {}
    return [source.with_variant(v) for v in manifest.get("variants", []) if isinstance(v, str) and valid_id(v)]


def _recipients(request: BuildRequest, sources: list[ReportSource]):
    from ..delivery.recipients import RECIPIENTS_NAME, load_recipients

    path = request.recipients or request.data_dir / RECIPIENTS_NAME
    loaded = load_recipients(path, [s.id for s in discover(request.data_dir)])
    loaded.lists(request.lists)  # an unknown list name is a usage error before anything runs
    return loaded


def _deliver(request: BuildRequest, recipients, report_ids: list[str], run_id: str) -> list:
    from ..delivery.deliver import deliver
    from ..delivery.ledger import Ledger

    with Ledger(request.state) as ledger:
        return deliver(recipients=recipients, lists=recipients.lists(request.lists), report_ids=report_ids,
                       output_dir=request.output_dir, ledger=ledger, run_id=run_id, env=request.env,
                       clock=request.clock, dry_run=request.dry_run)


def _run(request: BuildRequest, body: Callable[[History, str], BuildResult]) -> BuildResult:
    """Run *body* holding the run lock, recorded in the history; a run meeting the lock is recorded as skipped."""
    try:
        with exclusive_run(request.state, wait=request.wait):
            return _locked_run(request, body)
    except LockBusy as exc:  # only acquiring the lock raises it
        # Recorded without the lock: it only adds a row, and SQLite serialises writers itself.
        with History(request.state) as history:
            now = request.clock()
            history.skipped(new_run_id(now), request.trigger, _iso(now), str(exc),
                            job_id=request.job_id, catch_up=request.catch_up)
        raise


def _locked_run(request: BuildRequest, body: Callable[[History, str], BuildResult]) -> BuildResult:
    with History(request.state) as history:
        started = request.clock()
        run_id = new_run_id(started)
        history.start(run_id, request.trigger, _iso(started), job_id=request.job_id, catch_up=request.catch_up)
        try:
            result = body(history, run_id)
        except DataError as exc:
            history.finish(run_id, _iso(request.clock()), "invalid", str(exc))
            raise
        except BaseException as exc:
            try:
                history.finish(run_id, _iso(request.clock()), "failed", str(exc) or type(exc).__name__)
            except StateError:
                log.debug("cannot record the failed run", exc_info=True)
            raise
        status = "ok" if result.ok else ("stopped" if result.stopped else "failed")
        history.finish(run_id, _iso(request.clock()), status)
        return result


def build(
    request: BuildRequest,
    *,
    run_id: str,
    sources: list[ReportSource],
    formats: tuple[str, ...],
    created: dt.datetime | None,
    history: History,
) -> BuildResult:
    """Build *sources* into the output folder; the caller holds the run lock."""
    epoch = int(created.timestamp()) if created else None
    base_inputs = {s.id: inputs_of(s, formats, epoch) for s in sources}
    current = {s.id for s in sources if _current(request, s, base_inputs[s.id])}
    # Workers start now, while the data is checked.
    with _worker_pool(request, len(sources) - len(current), formats) as pool:
        warnings: list[Problem] = []
        variants = _variants(request, sources, current, warnings)
        units = [(unit, dataclasses.replace(base_inputs[unit.id], variant=unit.variant))
                 for source in sources for unit in (source, *(source.with_variant(v) for v in variants[source.id]))]
        unchanged, to_build = [], []
        for unit, inputs in units:
            fresh = unit.id in current if unit.variant is None else _current(request, unit, inputs)
            (unchanged if fresh else to_build).append((unit, inputs))
        # A report whose own set is current but one of whose variants is not is checked too.
        check_all(list({u.id: u for u, _ in to_build if u.id in current}.values()), warnings)

        records = [_unchanged(request, unit) for unit, _ in unchanged]
        outcomes = {outcome.report_id: outcome for outcome, _ in records}
        history.record_many(run_id, [record for _, record in records])
        for outcome in _render_and_publish(request, run_id, to_build, formats, created, variants, pool):
            outcomes[outcome.report_id] = outcome
            history.record(run_id, _record(outcome))
            if request.progress:
                request.progress(len(outcomes) - len(unchanged), len(to_build), outcome.report_id)
    never_started = [unit for unit, _ in to_build if unit.set_id not in outcomes]
    for unit in never_started:  # a stop came first
        outcomes[unit.set_id] = Outcome(unit.set_id, "stopped", error=STOPPED)
    history.record_many(run_id, [_record(outcomes[u.set_id]) for u in never_started])
    if any(o.status == "built" for o in outcomes.values()) or not (request.output_dir / INDEX_NAME).exists():
        write_index(request.output_dir)  # the page a salesperson opens in the shared folder
    return BuildResult(run_id, [outcomes[u.set_id] for u, _ in units], warnings)


STOPPED = "stopped before it was built; its previous set is unchanged"


@contextlib.contextmanager
def _worker_pool(request: BuildRequest, pending: int, formats: tuple[str, ...]):
    """Local worker processes for *pending* reports, started at once; None when one process will do."""
    if request.executor != "local" or min(request.jobs, pending) <= 1:
        yield None
        return
    pool = executors.start_pool(min(request.jobs, pending), ("exporter.runs.pipeline", *renderer_modules(formats)))
    try:
        yield pool
    finally:
        executors.stop_pool(pool)


def _variants(request: BuildRequest, sources: list[ReportSource], current: set[str],
              warnings: list[Problem]) -> dict[str, list[str]]:
    """Each report's variant ids: from its data when it changed (checking it), else from its published set."""
    variants = check_all([s for s in sources if s.id not in current], warnings)
    for source in sources:
        if source.id in current:
            variants[source.id] = [v.variant for v in published_variants(request.output_dir, source)]
    return variants


def _unchanged(request: BuildRequest, unit: ReportSource) -> tuple[Outcome, ReportOutcome]:
    """An unchanged set's outcome and history row, its hashes from its (just verified) manifest."""
    folder = report_folder(request.output_dir, unit.set_id)
    manifest = read_manifest(folder) or {"files": {}}
    files = {e["name"]: e["sha256"] for e in manifest["files"].values()}
    return (Outcome(unit.set_id, "unchanged", [folder / name for name in files]),
            ReportOutcome(unit.set_id, "unchanged", None, files))


def _record(outcome: Outcome) -> ReportOutcome:
    """The history's row for a built, failed or stopped set, with the hash of every file built."""
    hashes = {p.name: file_sha256(p) for p in outcome.files} if outcome.status == "built" else {}
    return ReportOutcome(outcome.report_id, outcome.status, outcome.error, hashes)


def _render_and_publish(request: BuildRequest, run_id: str, to_build: list[tuple[ReportSource, Inputs]],
                        formats: tuple[str, ...], created: dt.datetime | None, variants: dict[str, list[str]],
                        pool) -> Iterator[Outcome]:
    """Render the sets to build (in workers when there is a pool) and publish each; yield its outcome."""
    inputs_by_set = {unit.set_id: inputs for unit, inputs in to_build}
    failed_loads: list[Outcome] = []

    def loaded() -> Iterator[LoadedReport]:
        # Loaded again, one at a time as workers free up, so memory stays flat in the catalog's size.
        for source, _ in to_build:
            try:
                yield load(source, created=created)
            except DataError as exc:  # the file changed since it was checked
                failed_loads.append(Outcome(source.set_id, "failed",
                                            error=f"{source.path}: changed during the build: {exc}"))

    jobs = min(request.jobs, len(to_build))
    results = executors.run(functools.partial(render_all, formats=formats), loaded(), jobs=jobs,
                            should_stop=request.should_stop, executor=request.executor,
                            address=request.scheduler_address, pool=pool if jobs > 1 else None)
    for report, rendered in results:
        report_id = report.source.set_id
        if rendered is None:
            yield Outcome(report_id, "stopped", error=STOPPED)
        elif isinstance(rendered, BaseException):
            if not isinstance(rendered, BuildError):
                rendered = BuildError(f"{report.source.path}: rendering failed: {rendered or type(rendered).__name__}")
            log.debug("build of %s failed", report_id, exc_info=rendered)
            yield Outcome(report_id, "failed", error=str(rendered))
        else:
            yield _publish_one(request, run_id, report, inputs_by_set[report_id], rendered,
                               variants.get(report.source.id, []))
    yield from failed_loads


def _current(request: BuildRequest, unit: ReportSource, inputs: Inputs) -> bool:
    """Tell whether the unit's published set was built from *inputs*; clear leftovers of a killed run first."""
    folder = report_folder(request.output_dir, unit.set_id)
    remove_leftovers(folder)
    return not request.force and is_current(folder, inputs)


def _publish_one(request: BuildRequest, run_id: str, report: LoadedReport, inputs: Inputs,
                 rendered: dict[str, bytes], variants: list[str]) -> Outcome:
    report_id = report.source.set_id
    variant = next((v for v in report.job.report.variants if v.id == report.source.variant), None)
    folder = report_folder(request.output_dir, report_id)
    try:
        if request.should_stop():
            return Outcome(report_id, "stopped", error="stopped before publishing; its previous set is unchanged")
        files = {fmt: (file_name(report_id, fmt), data) for fmt, data in rendered.items()}
        manifest = make_manifest(
            report_id=report_id,
            title=edition_title(report.job.report, variant),
            publisher=report.job.report.publisher.name,
            headline=headline(report.job.report),
            run_id=run_id,
            built_at=_iso(request.clock()),
            as_of=report.job.report.as_of.isoformat(),
            data_file=report.source.path,
            inputs=inputs,
            files=files,
            variant={"id": variant.id, "name": variant.name, "lists": list(variant.lists)} if variant else None,
            variants=[] if variant else variants,
        )
        try:
            paths = publish_set(folder, dict(files.values()), manifest, version=run_id, keep=request.keep)
        except OSError as exc:
            where = exc.filename or folder
            raise BuildError(f"{where}: cannot publish {report_id}: {exc.strerror or exc}; the previous set is unchanged") from exc
    except BuildError as exc:
        log.debug("build of %s failed", report_id, exc_info=True)
        return Outcome(report_id, "failed", error=str(exc))
    return Outcome(report_id, "built", paths)


@dataclass(frozen=True)
class ListedReport:
    id: str
    title: str | None
    last_build: str | None
    problem: str | None = None


def list_reports(data_dir: Path, output_dir: Path) -> list[ListedReport]:
    """Describe every report found: id, title and when its current set was built."""
    listed = []
    for source in discover(data_dir):
        variants = []
        try:
            report = validate(read_yaml(source.path)).report
            title, problem, variants = report.title, None, report.variants
        except DataError as exc:
            title, problem = None, f"invalid data ({len(exc.problems)} problem(s))"
        manifest = read_manifest(output_dir / source.id)
        listed.append(ListedReport(source.id, title, manifest.get("built_at") if manifest else None, problem))
        for variant in variants:
            unit = source.with_variant(variant.id)
            manifest = read_manifest(output_dir / unit.set_id)
            listed.append(ListedReport(unit.set_id, edition_title(report, variant),
                                       manifest.get("built_at") if manifest else None))
    return listed


__all__ = [
    "BuildRequest", "BuildResult", "Outcome", "ReportSource", "LoadedReport", "ListedReport",
    "discover", "select", "load", "load_all", "run_build", "list_reports", "HISTORY_DIR", "ExporterError",
]
