"""Builds and deliveries as runs: the one place every entry point (CLI, scheduler, cron) goes through.

    catalog ─check─▶ unchanged? ─no─▶ load ─render (workers)─▶ bytes ─publish─▶ OUTPUT/<set>/ ─▶ history
                                                                                  └─deliver─▶ lists

Reports whose inputs match their manifest are skipped without being read further. Data for all
reports to build is validated before anything is rendered: an invalid report is not built (its
outcome is "invalid", with its located problems) and keeps its old sets, while the others build; a
report whose rendering or publishing fails publishes none of its files and keeps its old set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from ..core.errors import BuildError, DataError, Problem, UsageError
from ..core.formats import check_formats, get_format
from ..core.ids import SetId, valid_id
from ..core.workspace import Workspace
from ..publish.files import publish_set, remove_leftovers
from ..publish.index_page import write_index
from ..publish.manifest import Inputs, PublishedSet, VariantInfo, file_sha256, is_current
from ..publish.summary import summary_of
from ..render import get_renderer, renderer_modules
from ..source.databases import load_databases
from ..source.themes import load_theme, theme_files, themes_dir
from . import executors
from .catalog import (
    LoadedReport,
    ReportSource,
    check_all,
    discover_all,
    inputs_of,
    load,
    prune_snapshots,
    published_variants,
    run_queries,
    select,
    source_date,
    with_published_variants,
)
from .folders import check_output, check_state
from .history import ReportOutcome, RunHistory
from .record import RunContext, iso, recorded

if TYPE_CHECKING:  # delivery is imported by the runs that deliver: a build alone starts without it
    from ..delivery.deliver import DeliveryOutcome
    from ..delivery.recipients import LoadedRecipients

log = logging.getLogger(__name__)

DEFAULT_KEEP = 5
STOPPED = "stopped before it was built; its previous set is unchanged"


@dataclass(frozen=True)
class Selection:
    """What to build: reports (all when empty), formats (the defaults when empty), even when unchanged."""

    ids: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    force: bool = False
    theme: str | None = None  # DATA/themes/<theme>.yaml for every report, over the one each names


@dataclass(frozen=True)
class Workers:
    """Where reports are rendered: ``local`` processes on this machine, or a ``dask`` cluster."""

    kind: str = "local"
    jobs: int = 1  # local worker processes; publishing stays in this process
    address: str | None = None  # the Dask scheduler, e.g. tcp://10.0.0.5:8786


@dataclass(frozen=True)
class Delivery:
    """Deliver after building (or instead): to these distribution lists (every list when empty)."""

    lists: tuple[str, ...] = ()
    dry_run: bool = False  # say what would go where, send nothing


@dataclass
class Outcome:
    report_id: str  # the set's id
    status: str  # built | unchanged | failed | invalid | stopped
    files: list = field(default_factory=list)  # paths
    error: str | None = None
    problems: list[Problem] = field(default_factory=list)  # an invalid report's, located


@dataclass
class BuildResult:
    run_id: str
    outcomes: list[Outcome]
    warnings: list[Problem]
    deliveries: list[DeliveryOutcome] = field(default_factory=list)
    seconds: float = 0.0  # how long the run took
    problems: list[Problem] = field(default_factory=list)  # files in the reports folder that cannot be reports

    @property
    def ok(self) -> bool:
        return all(o.status in ("built", "unchanged") for o in self.outcomes) and not any(
            d.status == "failed" for d in self.deliveries) and not self.problems

    @property
    def error(self) -> str | None:
        """What the history records as the run's error: the stray files' problems."""
        return "\n".join(str(p) for p in self.problems) or None

    @property
    def stopped(self) -> bool:
        return any(o.status == "stopped" for o in self.outcomes)

    @property
    def status(self) -> str:
        """The run's status in the history."""
        return "ok" if self.ok else ("stopped" if self.stopped else "failed")


def run_build(workspace: Workspace, selection: Selection = Selection(), *, run: RunContext | None = None,
              workers: Workers = Workers(), delivery: Delivery | None = None, keep: int = DEFAULT_KEEP) -> BuildResult:
    """Build (and with *delivery*, deliver) under the run lock, recording the run in the history.

    *run* defaults to a manual run with this process's environment and clock, read at the call.
    """
    run = run or RunContext()
    executors.check_settings(workers.kind, workers.address)
    formats = check_formats(selection.formats)
    created = source_date(run.env)
    found, strays = discover_all(workspace)
    sources = select(found, selection.ids)
    strays = [] if selection.ids else strays  # a stray file is not one of the reports asked for
    if selection.theme is not None:
        check_theme_name(workspace, selection.theme)
        sources = [dataclasses.replace(s, theme=selection.theme) for s in sources]
    if keep < 0:
        raise UsageError(f"keep must be 0 or more, not {keep}")
    catalog = [s.id for s in found]
    recipients = _recipients(workspace, delivery, catalog) if delivery is not None else None
    check_state(workspace)

    def body(history: RunHistory, run_id: str) -> BuildResult:
        check_output(workspace)  # recorded in the history as the run's error
        result = _build(workspace, sources, formats, selection.force, created, run, workers, keep, history, run_id,
                        catalog)
        result.problems = strays
        if recipients is not None and delivery is not None:
            ready = [o.report_id for o in result.outcomes if o.status in ("built", "unchanged")]
            result.deliveries = _deliver(workspace, recipients, delivery, ready, run, run_id)
        return result

    started = time.monotonic()
    result = recorded(workspace.state, run, body, metrics=workspace)
    result.seconds = time.monotonic() - started
    return result


def check_theme_name(workspace: Workspace, name: str) -> None:
    """A build's --theme must exist and be valid before anything is built (exit 2 otherwise)."""
    if not valid_id(name):
        raise UsageError(f"--theme {name!r} is not a theme name (a file DATA/themes/<name>.yaml; lower-case letters, "
                         "digits and '-')")
    load_theme(themes_dir(workspace.data_dir), name)


def run_deliver(workspace: Workspace, ids: tuple[str, ...] = (), *, delivery: Delivery = Delivery(),
                run: RunContext | None = None) -> BuildResult:
    """Deliver the published sets of the selected reports (nothing is built), under the run lock."""
    run = run or RunContext()
    found = discover_all(workspace)[0]
    sources = select(found, ids)  # delivering needs no stray file's data
    recipients = _recipients(workspace, delivery, [s.id for s in found])
    check_state(workspace)

    def body(history: RunHistory, run_id: str) -> BuildResult:
        set_ids = [str(unit.set_id) for unit in with_published_variants(workspace, sources)]
        return BuildResult(run_id, [], [], _deliver(workspace, recipients, delivery, set_ids, run, run_id))

    return recorded(workspace.state, run, body, metrics=workspace)


def _recipients(workspace: Workspace, delivery: Delivery, catalog: list[str]) -> LoadedRecipients:
    from ..delivery.recipients import load_recipients

    loaded = load_recipients(workspace.recipients, catalog)
    loaded.lists(delivery.lists)  # an unknown list name is a usage error before anything runs
    return loaded


def _deliver(workspace: Workspace, recipients: LoadedRecipients, delivery: Delivery, set_ids: list[str],
             run: RunContext, run_id: str) -> list[DeliveryOutcome]:
    from ..delivery.deliver import deliver
    from ..delivery.ledger import Ledger

    with Ledger(workspace.state) as ledger:
        return deliver(recipients=recipients, lists=recipients.lists(delivery.lists),
                       set_ids=[SetId.parse(s) for s in set_ids], workspace=workspace, ledger=ledger, run_id=run_id,
                       env=run.env, clock=run.clock, dry_run=delivery.dry_run)


def _build(workspace: Workspace, sources: list[ReportSource], formats: tuple[str, ...], force: bool,
           created: dt.datetime | None, run: RunContext, workers: Workers, keep: int, history: RunHistory,
           run_id: str, catalog: list[str]) -> BuildResult:
    """Build *sources* into the output folder; the caller holds the run lock. *catalog*: every report's id."""
    epoch = int(created.timestamp()) if created else None
    themes = theme_files(themes_dir(workspace.data_dir))
    listed = sources
    broken: dict[str, Outcome] = {}  # sets whose queries failed, by set id
    queried = functools.partial(_queried, workspace=workspace, databases=_databases(workspace), env=run.env,
                                broken=broken)
    sources = [unit for source in sources if (unit := queried(source)) is not None]
    base_inputs = {s.id: inputs_of(s, formats, epoch, themes) for s in sources}
    current = {s.id for s in sources if _current(workspace, s, base_inputs[s.id], force)}
    # Workers start now, while the data is checked.
    with _worker_pool(workers, len(sources) - len(current), formats) as pool:
        warnings: list[Problem] = []
        invalid: dict[str, list[Problem]] = {}
        variants = _variants(workspace, sources, current, warnings, invalid)
        prune_snapshots(workspace.snapshots, catalog,
                        {s.id: variants[s.id] for s in sources if s.id not in invalid})
        units = []
        for source in sources:
            if source.id in invalid:
                continue
            units.append((source, base_inputs[source.id]))
            for variant in variants[source.id]:
                unit = queried(source.with_variant(variant))
                if unit is not None:  # its own query results (filter parameters): its own inputs
                    units.append((unit, dataclasses.replace(base_inputs[unit.id], variant=variant)
                                  if unit.snapshots == source.snapshots else inputs_of(unit, formats, epoch, themes)))
        unchanged: list[tuple[ReportSource, Inputs]] = []
        to_build: list[tuple[ReportSource, Inputs]] = []
        for unit, inputs in units:
            fresh = unit.id in current if unit.variant is None else _current(workspace, unit, inputs, force)
            (unchanged if fresh else to_build).append((unit, inputs))
        # A report whose own set is current but one of whose variants is not is checked too.
        check_all(list({u.id: u for u, _ in to_build if u.id in current}.values()), warnings, invalid)
        to_build = [(unit, inputs) for unit, inputs in to_build if unit.id not in invalid]

        records = [_unchanged(workspace, unit) for unit, _ in unchanged if unit.id not in invalid]
        records += [_invalid(source, invalid[source.id]) for source in sources if source.id in invalid]
        records += [(outcome, _record(outcome)) for outcome in broken.values()]
        outcomes = {outcome.report_id: outcome for outcome, _ in records}
        history.record_many(run_id, [record for _, record in records])
        publisher = _Publisher(workspace, run, run_id, keep, {str(u.set_id): i for u, i in to_build}, variants)
        for outcome in _render_and_publish(to_build, formats, created, run, workers, pool, publisher):
            outcomes[outcome.report_id] = outcome
            history.record(run_id, _record(outcome, publisher.hashes.pop(outcome.report_id, None)))
            if run.progress:
                run.progress(len(outcomes) - len(unchanged), len(to_build), outcome.report_id)
    never_started = [str(unit.set_id) for unit, _ in to_build if str(unit.set_id) not in outcomes]
    for set_id in never_started:  # a stop came first
        outcomes[set_id] = Outcome(set_id, "stopped", error=STOPPED)
    history.record_many(run_id, [_record(outcomes[s]) for s in never_started])
    if any(o.status == "built" for o in outcomes.values()) or (
            not workspace.index_page.exists() and any(o.status == "unchanged" for o in outcomes.values())):
        write_index(workspace.output_dir)  # the page a salesperson opens in the shared folder
    sets: dict[str, list[str]] = {}
    for unit, _ in units:
        sets.setdefault(unit.id, []).append(str(unit.set_id))
    order = []
    for s in listed:
        own = [str(s.set_id)] if s.id in invalid or str(s.set_id) in broken else sets.get(s.id, [])
        order += own + [b for b in broken if SetId.parse(b).report == s.id and b not in own]
    return BuildResult(run_id, [outcomes[set_id] for set_id in order], warnings)


def _databases(workspace: Workspace):
    """DATA/databases.yaml, read when a query table first needs it, once per build."""
    return functools.cache(lambda: load_databases(workspace.databases, workspace.data_dir))


def _queried(unit: ReportSource, *, workspace: Workspace, databases, env, broken: dict[str, Outcome]
             ) -> ReportSource | None:
    """*unit* with its query tables run; None when they failed (its outcome goes to *broken*)."""
    set_id = str(unit.set_id)
    try:
        return run_queries(unit, databases, workspace.snapshots, env)
    except DataError as exc:
        broken[set_id] = Outcome(set_id, "invalid", error="\n".join(map(str, exc.problems)), problems=exc.problems)
    except BuildError as exc:
        log.debug("queries of %s failed", set_id, exc_info=True)
        broken[set_id] = Outcome(set_id, "failed", error=str(exc))
    return None


@contextlib.contextmanager
def _worker_pool(workers: Workers, pending: int, formats: tuple[str, ...]):
    """Local worker processes for *pending* reports, started at once; None when one process will do."""
    if workers.kind != "local" or min(workers.jobs, pending) <= 1:
        yield None
        return
    pool = executors.start_pool(min(workers.jobs, pending), ("exporter.runs.build", *renderer_modules(formats)))
    try:
        yield pool
    finally:
        executors.stop_pool(pool)


def _variants(workspace: Workspace, sources: list[ReportSource], current: set[str], warnings: list[Problem],
              invalid: dict[str, list[Problem]]) -> dict[str, list[str]]:
    """Each report's variant ids: from its data when it changed (checking it), else from its published set."""
    variants = check_all([s for s in sources if s.id not in current], warnings, invalid)
    for source in sources:
        if source.id in current:
            variants[source.id] = [v.variant for v in published_variants(workspace, source) if v.variant]
    return variants


def _current(workspace: Workspace, unit: ReportSource, inputs: Inputs, force: bool) -> bool:
    """Tell whether the unit's published set was built from *inputs*; clear leftovers of a killed run first."""
    folder = workspace.set_folder(unit.set_id)
    remove_leftovers(folder)
    return not force and is_current(folder, inputs)


def _unchanged(workspace: Workspace, unit: ReportSource) -> tuple[Outcome, ReportOutcome]:
    """An unchanged set's outcome and history row, its hashes from its (just verified) manifest."""
    folder = workspace.set_folder(unit.set_id)
    published = PublishedSet.read(folder)
    files = published.hashes() if published else {}
    set_id = str(unit.set_id)
    return Outcome(set_id, "unchanged", [folder / name for name in files]), ReportOutcome(set_id, "unchanged", None, files)


def _invalid(source: ReportSource, problems: list[Problem]) -> tuple[Outcome, ReportOutcome]:
    """An invalid report's outcome and history row: its problems, one per line; its sets stay as they were."""
    set_id, error = str(source.set_id), "\n".join(str(p) for p in problems)
    return Outcome(set_id, "invalid", error=error, problems=problems), ReportOutcome(set_id, "invalid", error, {})


def _record(outcome: Outcome, hashes: dict[str, str] | None = None) -> ReportOutcome:
    """The history's row for a built, failed or stopped set, with the hash of every file built (*hashes*,
    by file name, when the caller has them from the manifest it published; else read from the files)."""
    if outcome.status != "built":
        hashes = {}
    elif hashes is None:
        hashes = {p.name: file_sha256(p) for p in outcome.files}
    return ReportOutcome(outcome.report_id, outcome.status, outcome.error, hashes)


def render_all(report: LoadedReport, *, formats: tuple[str, ...]) -> dict[str, bytes]:
    """Render every format of *report* to bytes; raise `BuildError` naming the format that failed."""
    rendered = {}
    for name in formats:
        try:
            rendered[name] = get_renderer(name)(report.job)
        except Exception as exc:  # a renderer bug must fail this report, not the whole run
            raise BuildError(f"{report.source.path}: {name}: rendering failed: {exc}") from exc
    return rendered


def _render_and_publish(to_build: list[tuple[ReportSource, Inputs]], formats: tuple[str, ...],
                        created: dt.datetime | None, run: RunContext, workers: Workers, pool,
                        publisher: _Publisher) -> Iterator[Outcome]:
    """Render the sets to build (in workers when there is a pool) and publish each; yield its outcome."""
    failed_loads: list[Outcome] = []

    def loaded() -> Iterator[LoadedReport]:
        # Loaded again, one at a time as workers free up, so memory stays flat in the catalog's size.
        for source, _ in to_build:
            try:
                yield load(source, created=created)
            except DataError as exc:  # the file changed since it was checked
                failed_loads.append(Outcome(str(source.set_id), "failed",
                                            error=f"{source.path}: changed during the build: {exc}"))
            except BuildError as exc:  # a table changed while it was read, or the layout failed
                log.debug("loading %s failed", source.set_id, exc_info=True)
                failed_loads.append(Outcome(str(source.set_id), "failed", error=str(exc)))

    jobs = min(workers.jobs, len(to_build))
    results = executors.run(functools.partial(render_all, formats=formats), loaded(), jobs=jobs,
                            should_stop=run.should_stop, executor=workers.kind,
                            address=workers.address, pool=pool if jobs > 1 else None)
    for report, rendered in results:
        set_id = str(report.source.set_id)
        if rendered is None:
            yield Outcome(set_id, "stopped", error=STOPPED)
        elif isinstance(rendered, BaseException):
            if not isinstance(rendered, BuildError):
                rendered = BuildError(f"{report.source.path}: rendering failed: {rendered or type(rendered).__name__}")
            log.debug("build of %s failed", set_id, exc_info=rendered)
            yield Outcome(set_id, "failed", error=str(rendered))
        else:
            yield publisher.publish(report, cast("dict[str, bytes]", rendered))  # render_all's result
    yield from failed_loads


@dataclass(frozen=True)
class _Publisher:
    """Publishes one rendered report as its set, with what the manifest records of the run."""

    workspace: Workspace
    run: RunContext
    run_id: str
    keep: int
    inputs: dict[str, Inputs]  # by set id
    variants: dict[str, list[str]]  # each report's variant ids, listed in its own set's manifest
    # The sha256 of each file of the sets just published, by set id and file name (from their
    # manifests), until the history records them: the files need not be read back to be hashed.
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)

    def publish(self, report: LoadedReport, rendered: dict[str, bytes]) -> Outcome:
        source = report.source
        set_id = str(source.set_id)
        variant, document = report.variant, report.job.document
        folder = self.workspace.set_folder(source.set_id)
        try:
            if self.run.should_stop():
                return Outcome(set_id, "stopped", error="stopped before publishing; its previous set is unchanged")
            files = {fmt: (f"{set_id}.{get_format(fmt).extension}", data) for fmt, data in rendered.items()}
            manifest = PublishedSet.new(
                set_id=set_id,
                title=document.meta.title,
                publisher=document.publisher,
                headline=document.headline,
                run_id=self.run_id,
                built_at=iso(self.run.clock()),
                as_of=document.as_of.isoformat(),
                data_file=source.path,
                inputs=self.inputs[set_id],
                files=files,
                variant=VariantInfo(variant.id, variant.name, tuple(variant.lists)) if variant else None,
                variants=() if variant else self.variants.get(source.id, []),
                language=document.language if document.locale else "",
                summary=summary_of(document, report.job.options.theme),
            )
            try:
                paths = publish_set(folder, dict(files.values()), manifest, version=self.run_id, keep=self.keep)
            except OSError as exc:
                where = exc.filename or folder
                raise BuildError(f"{where}: cannot publish {set_id}: {exc.strerror or exc}; "
                                 "the previous set is unchanged") from exc
        except BuildError as exc:
            log.debug("build of %s failed", set_id, exc_info=True)
            return Outcome(set_id, "failed", error=str(exc))
        self.hashes[set_id] = {entry.name: entry.sha256 for entry in manifest.files.values()}
        return Outcome(set_id, "built", paths)
