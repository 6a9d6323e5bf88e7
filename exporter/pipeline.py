"""The one pipeline every entry point uses: find, read, validate, derive, render, publish.

    data/reports/<id>.yaml -> read_yaml -> validate -> Report -> forecast + build_document
        -> render[format] -> bytes -> publish -> OUTPUT/<id>/<id>.<ext>

Data for all selected reports is validated before anything is rendered, so a build with invalid
data publishes nothing. A report whose rendering fails publishes none of its files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .derive import forecast
from .document import build_document
from .errors import BuildError, DataError, Problem, UsageError
from .model import ID_RE
from .publish import atomic_write, remove_temp_files
from .reader import read_yaml
from .render import DEFAULT_FORMATS, RenderJob, extension, get_renderer
from .validate import validate

log = logging.getLogger(__name__)

REPORTS_SUBDIR = "reports"
DATA_SUFFIX = ".yaml"


@dataclass(frozen=True)
class ReportSource:
    """A report's data file; the report id is the file's stem."""

    id: str
    path: Path


@dataclass(frozen=True)
class LoadedReport:
    source: ReportSource
    job: RenderJob
    warnings: tuple[Problem, ...]
    data_sha256: str


@dataclass
class Outcome:
    report_id: str
    status: str  # built | failed
    files: list[Path] = field(default_factory=list)
    error: str | None = None


@dataclass
class BuildResult:
    outcomes: list[Outcome]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)


def discover(data_dir: Path) -> list[ReportSource]:
    """Return the report data files under *data_dir*, sorted by id."""
    reports_dir = data_dir / REPORTS_SUBDIR
    if not reports_dir.is_dir():
        raise UsageError(f"no reports folder: {reports_dir} does not exist")
    sources, problems = [], []
    for path in sorted(reports_dir.glob("*" + DATA_SUFFIX)):
        if not ID_RE.match(path.stem):
            problems.append(
                Problem(path, None, "", "the file name is not a valid report id "
                        "(lower-case letters, digits and '-', starting with a letter or digit)")
            )
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


def load(source: ReportSource) -> LoadedReport:
    """Read and validate one report and derive its figures and document; raise `DataError`."""
    doc = read_yaml(source.path)
    validated = validate(doc)
    report = validated.report
    fc = forecast(report.figures)
    job = RenderJob(source.id, report, fc, build_document(report, fc))
    digest = hashlib.sha256(source.path.read_bytes()).hexdigest()
    return LoadedReport(source, job, validated.warnings, digest)


def load_all(sources: list[ReportSource]) -> list[LoadedReport]:
    """Load every report; raise one `DataError` listing the problems of all files."""
    loaded, problems = [], []
    for source in sources:
        try:
            loaded.append(load(source))
        except DataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    return loaded


def check_formats(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return *formats* without duplicates (defaults when empty); an unknown one is a usage error."""
    formats = tuple(dict.fromkeys(formats or DEFAULT_FORMATS))
    for name in formats:
        extension(name)
    return formats


def render_all(report: LoadedReport, formats: tuple[str, ...]) -> dict[str, bytes]:
    """Render every format of *report* to bytes; raise `BuildError` naming the format that failed."""
    rendered = {}
    for name in formats:
        try:
            rendered[name] = get_renderer(name)(report.job)
        except Exception as exc:  # a renderer bug must fail this report, not the whole run
            raise BuildError(f"{report.source.path}: {name}: rendering failed: {exc}") from exc
    return rendered


def output_paths(output_dir: Path, report_id: str, formats: tuple[str, ...]) -> dict[str, Path]:
    """Return where each format of a report is published; names come from validated ids only."""
    if not ID_RE.match(report_id):
        raise UsageError(f"invalid report id {report_id!r}")
    folder = output_dir / report_id
    return {name: folder / f"{report_id}.{extension(name)}" for name in formats}


def publish(output_dir: Path, report_id: str, rendered: dict[str, bytes]) -> list[Path]:
    targets = output_paths(output_dir, report_id, tuple(rendered))
    remove_temp_files(targets[next(iter(targets))].parent)
    written = []
    for name, data in rendered.items():
        try:
            atomic_write(targets[name], data)
        except OSError as exc:
            raise BuildError(f"{targets[name]}: cannot write: {exc.strerror or exc}") from exc
        written.append(targets[name])
    return written


def build(
    data_dir: Path,
    output_dir: Path,
    ids: tuple[str, ...] | list[str] = (),
    formats: tuple[str, ...] | list[str] = (),
) -> BuildResult:
    """Build the selected reports into *output_dir*.

    Raises `DataError` (nothing published) when any selected report's data is invalid, and
    `UsageError` for unknown ids or formats. Rendering or publishing failures are reported per
    report in the result.
    """
    formats = check_formats(formats)
    loaded = load_all(select(discover(data_dir), ids))
    outcomes, warnings = [], []
    for report in loaded:
        warnings.extend(report.warnings)
        try:
            rendered = render_all(report, formats)
            files = publish(output_dir, report.source.id, rendered)
        except BuildError as exc:
            log.debug("build of %s failed", report.source.id, exc_info=True)
            outcomes.append(Outcome(report.source.id, "failed", error=str(exc)))
            continue
        outcomes.append(Outcome(report.source.id, "built", files))
    return BuildResult(outcomes, warnings)


@dataclass(frozen=True)
class ListedReport:
    id: str
    title: str | None
    last_build: dt.datetime | None
    problem: str | None = None


def list_reports(data_dir: Path, output_dir: Path) -> list[ListedReport]:
    """Describe every report found: id, title and when its deliverables were last published."""
    listed = []
    for source in discover(data_dir):
        try:
            title, problem = load(source).job.report.title, None
        except DataError as exc:
            title, problem = None, f"invalid data ({len(exc.problems)} problem(s))"
        folder = output_dir / source.id
        times = [p.stat().st_mtime for p in folder.glob(f"{source.id}.*")] if folder.is_dir() else []
        last = dt.datetime.fromtimestamp(max(times), dt.timezone.utc) if times else None
        listed.append(ListedReport(source.id, title, last, problem))
    return listed
