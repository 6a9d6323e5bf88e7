"""The catalog: finding report data files, checking them and loading them for rendering.

    DATA/reports/<id>.yaml ─read─▶ values + lines ─validate─▶ Report ─derive, lay out─▶ RenderJob
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.document_report import DocumentReport, DocumentVariant
from ..core.errors import BuildError, DataError, Problem, UsageError
from ..core.ids import SetId, valid_id
from ..core.messages import DEFAULT_LANGUAGE, Words, locale_name
from ..core.model import Report, Variant
from ..core.numbers import NumberFormat, long_date, short_date
from ..core.theme import DEFAULT_THEME, Theme
from ..core.workspace import Workspace
from ..layout import edition_title, lay_out
from ..publish.files import remove_path
from ..publish.manifest import Inputs, PublishedSet, file_sha256
from ..render import RenderJob, RenderOptions
from ..source.databases import Database
from ..source.datatable import open_tables, table_files
from ..source.glyphs import describe, undrawable
from ..source.queries import Located, bind_names, bindings, filter_param, param_problems, snapshot
from ..source.reader import ParsedYaml, dotted, read_yaml
from ..source.themes import load_theme, theme_files, themes_dir
from ..source.validate import Validated, validate

DATA_SUFFIX = ".yaml"


@dataclass(frozen=True)
class ReportSource:
    """What one published set is built from: a report's data file (the id is its stem), and which variant."""

    set_id: SetId
    path: Path
    theme: str | None = None  # a build's --theme, over the report's own
    # Query tables' results for this set: (table id, CSV snapshot path), written by `run_queries`.
    snapshots: tuple[tuple[str, Path], ...] = ()

    @property
    def themes_dir(self) -> Path:
        """The themes folder beside the reports folder (DATA/themes)."""
        return themes_dir(self.path.parent.parent)

    @property
    def id(self) -> str:
        """The report's id (a variant's report too)."""
        return self.set_id.report

    @property
    def variant(self) -> str | None:
        return self.set_id.variant

    def with_variant(self, variant: str) -> ReportSource:
        """The variant's set: it shares the report's query results until `run_queries` runs its own."""
        return ReportSource(self.set_id.with_variant(variant), self.path, self.theme, self.snapshots)

    @classmethod
    def at(cls, path: Path) -> ReportSource:
        """The report whose data file is *path* (its id is the file's stem)."""
        return cls(SetId(path.stem), path)


@dataclass(frozen=True)
class LoadedReport:
    source: ReportSource
    job: RenderJob
    warnings: tuple[Problem, ...]
    model: Report | DocumentReport  # as validated, before a variant's omissions
    variant: Variant | DocumentVariant | None = None


def discover(workspace: Workspace) -> list[ReportSource]:
    """Return the report data files of *workspace*, sorted by id; raise `DataError` for a stray file."""
    sources, problems = discover_all(workspace)
    if problems:
        raise DataError(problems)
    return sources


def discover_all(workspace: Workspace) -> tuple[list[ReportSource], list[Problem]]:
    """Return the report data files of *workspace*, sorted by id, and the problems of files that
    cannot be reports (a name that is no report id, a link leading outside the folder)."""
    reports_dir = workspace.reports_dir
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
        sources.append(ReportSource(SetId(path.stem), path))
    return sources, problems


STARTER_KINDS = ("document", "market")


def start_report(workspace: Workspace, report_id: str, kind: str = "document") -> list[Path]:
    """Write a commented starter report *report_id* of *kind* (and its example table) into the reports folder.

    Never overwrites: an existing file of that report is a `UsageError`. Returns the files written.
    """
    from importlib.resources import files

    if not valid_id(report_id):
        raise UsageError(f"{report_id!r} is not a report id: up to 64 lower-case letters, digits and '-', "
                         "starting with a letter or digit")
    if kind not in STARTER_KINDS:
        raise UsageError(f"unknown kind {kind!r} (known: {', '.join(STARTER_KINDS)})")
    starters = files("exporter.starters")
    names = sorted(entry.name for entry in starters.iterdir() if entry.name.startswith(f"{kind}."))
    folder = workspace.reports_dir
    targets = [(name, folder / (report_id + name.removeprefix(kind))) for name in names]
    existing = [str(path) for _, path in targets if path.exists()]
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{', '.join(existing)} already {verb}; choose another id or remove it")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path in targets:
        with path.open("x", encoding="utf-8", newline="") as out:  # "x": never replaces a file
            out.write(starters.joinpath(name).read_text(encoding="utf-8"))
        written.append(path)
    return written


def report_ids(workspace: Workspace) -> list[str]:
    """The ids of the reports found (a stray file in the folder is not one)."""
    return [s.id for s in discover_all(workspace)[0]]


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
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {value!r}") from None


def theme_of(source: ReportSource, doc: ParsedYaml) -> Theme:
    """The look of a report: the build's --theme, else the one its data names, else the default.

    Read before the report is validated, since the theme's fonts decide which characters it may hold.
    A missing or broken theme is a `DataError` located at the report's `theme:` line.
    """
    named = doc.data.get("theme") if isinstance(doc.data, dict) else None
    name = source.theme or (named if isinstance(named, str) and valid_id(named) else None)
    if name is None:
        return DEFAULT_THEME
    try:
        return load_theme(source.themes_dir, name)
    except DataError as exc:
        if source.theme is None:  # named by the report: say where
            exc.problems.insert(0, Problem(source.path, doc.line_of(("theme",)), "theme", f"theme {name!r} cannot be used"))
        raise


def tool_text_problems(source: ReportSource, doc: ParsedYaml, report: Report | DocumentReport,
                       theme: Theme) -> list[Problem]:
    """Problems with the words exporter itself writes, which the glyph check of the data does not see:
    each language's catalogue, its dates and numbers, and the theme's texts, against the theme's fonts."""
    editions: list[tuple[tuple, str | None]] = [(("language",), getattr(report, "language", None))]
    editions += [(("variants", i, "language"), language) for i, v in enumerate(report.variants)
                 if (language := getattr(v, "language", None))]
    problems = []
    for where, language in editions:
        texts = [*Words(language or DEFAULT_LANGUAGE).catalogue.values(), TOOL_CHARACTERS]
        texts += [t for t in (theme.header, theme.footer, theme.source_line_text, theme.derived_source_line_text) if t]
        if language:
            locale = locale_name(language)
            texts += [long_date(report.as_of, locale), short_date(report.as_of, locale),
                      *(NumberFormat(decimals=2, currency=c, locale=locale).text(-1234.5) for c in ("EUR", "USD")),
                      NumberFormat(percent=True, decimals=1, locale=locale).text(-0.125)]
        missing = undrawable("".join(texts), theme.glyph_fonts)
        if missing:
            field = dotted(where) if language else "theme"
            line = doc.line_of(where if language else ("theme",))
            problems.append(Problem(source.path, line, field, f"the words exporter writes {f'in {language} ' if language else ''}"
                                    f"with theme {theme.name!r} need {describe(missing)}"))
    return problems


# Characters exporter draws itself: bullets, ellipses, separators, dashes, quotes of its notes.
TOOL_CHARACTERS = "•…·–“”„‘’"


def load(source: ReportSource, *, created: dt.datetime | None = None) -> LoadedReport:
    """Read and validate one report and derive its figures and document; raise `DataError`."""
    doc = read_yaml(source.path)
    theme = theme_of(source, doc)
    validated = validate(doc, theme.glyph_fonts)
    report = validated.report
    if problems := tool_text_problems(source, doc, report, theme):
        raise DataError(problems)
    variant = None
    if source.variant is not None:
        variant = next((v for v in report.variants if v.id == source.variant), None)
        if variant is None:
            raise DataError([Problem(source.path, doc.line_of(("variants",)), "variants",
                                     f"there is no variant {source.variant!r}")])
    if variant is not None and variant.omit and isinstance(report, Report):
        report = without(report, variant.omit)
    tables = open_tables(source.path, report.tables, variant.filter if variant else None, theme.glyph_fonts,
                         dict(source.snapshots))
    try:
        document = lay_out(report, variant=variant, tables=tables, created=created)
    except BuildError:  # a table file changed while it was read
        raise
    except Exception as exc:  # a layout bug must fail this report, not the whole run
        raise BuildError(f"{source.path}: laying out {source.set_id} failed: {exc or type(exc).__name__}") from exc
    return LoadedReport(source, RenderJob(document, RenderOptions(theme)), validated.warnings, validated.report,
                        variant)


def without(report: Report, parts: list[str]) -> Report:
    """The report with the parts a variant omits removed, so that no renderer can show them."""
    empty: dict[str, list] = {"segmentations": [], "tables": []}
    return report.model_copy(update={part: empty.get(part) for part in parts})


def check(source: ReportSource) -> Validated:
    """Validate a report's data file and every row of its tables; raise `DataError` listing all problems."""
    doc = read_yaml(source.path)
    theme = theme_of(source, doc)
    validated = validate(doc, theme.glyph_fonts)
    if problems := tool_text_problems(source, doc, validated.report, theme):
        raise DataError(problems)
    open_tables(source.path, validated.report.tables, fonts=theme.glyph_fonts, snapshots=dict(source.snapshots),
                preview=False)
    return validated


def load_all(sources: list[ReportSource], *, created: dt.datetime | None = None) -> list[LoadedReport]:
    """Load every report; raise one `DataError` listing the problems of all files."""
    loaded, problems = [], []
    for source in sources:
        try:
            loaded.append(load(source, created=created))
        except DataError as exc:
            problems.extend(exc.problems)
        except BuildError as exc:
            problems.append(Problem(source.path, None, "", str(exc).removeprefix(f"{source.path}: ")))
    if problems:
        raise DataError(problems)
    return loaded


def check_all(sources: list[ReportSource], warnings: list[Problem],
              invalid: dict[str, list[Problem]]) -> dict[str, list[str]]:
    """Validate every report, keeping the warnings and each valid report's variant ids.

    A report with problems is left out of the result and its problems go to *invalid* (by report
    id): one analyst's broken file fails that report alone, never the others.
    """
    variants: dict[str, list[str]] = {}
    for source in sources:
        try:
            validated = check(source)
        except DataError as exc:
            invalid[source.id] = list(exc.problems)
            continue
        warnings.extend(validated.warnings)
        variants[source.id] = [v.id for v in validated.report.variants]
    return variants


def inputs_of(source: ReportSource, formats: tuple[str, ...], epoch: int | None,
              themes: tuple[tuple[str, str], ...] | None = None) -> Inputs:
    """What decides the bytes of a report's sets: its YAML, its table files, the themes, formats and options.

    Every file of the themes folder counts (a report's theme is named in its data, read later): a
    changed theme rebuilds the reports, at the cost of rebuilding those using another theme too.
    *themes* is that folder's `theme_files`, hashed once for a whole catalog (fonts are megabytes).
    """
    tables = tuple((path.name, file_sha256(path)) for path in table_files(source.path))
    tables += tuple((f"query:{table_id}", file_sha256(path)) for table_id, path in source.snapshots)
    if themes is None:
        themes = theme_files(source.themes_dir)
    return Inputs(file_sha256(source.path), formats, epoch, tables, source.variant, themes, source.theme)


def published_variants(workspace: Workspace, source: ReportSource) -> list[ReportSource]:
    """The variants of a report, as its published set lists them."""
    published = PublishedSet.read(workspace.set_folder(source.set_id))
    return [source.with_variant(v) for v in (published.variants if published else ()) if valid_id(v)]


def with_published_variants(workspace: Workspace, sources: list[ReportSource]) -> list[ReportSource]:
    """Each report followed by the variants its published set lists."""
    return [unit for s in sources for unit in (s, *published_variants(workspace, s))]


@dataclass(frozen=True)
class ListedReport:
    id: str
    title: str | None
    last_build: str | None
    problem: str | None = None


def list_reports(workspace: Workspace) -> list[ListedReport]:
    """Describe every report found: id, title and when its current set was built."""
    def built_at(set_id: SetId) -> str | None:
        published = PublishedSet.read(workspace.set_folder(set_id))
        return published.built_at or None if published else None

    listed = []
    for source in discover(workspace):
        try:
            report = validate(read_yaml(source.path)).report
        except DataError as exc:
            listed.append(ListedReport(source.id, None, built_at(source.set_id),
                                       f"invalid data ({len(exc.problems)} problem(s))"))
            continue
        listed.append(ListedReport(source.id, report.title, built_at(source.set_id)))
        for variant in report.variants:
            unit = source.with_variant(variant.id)
            listed.append(ListedReport(str(unit.set_id), edition_title(report, variant), built_at(unit.set_id)))
    return listed


def _may_query(text: bytes) -> bool:
    """Whether the YAML *text* may declare a query table. A cheap test before parsing; False is sure.

    False only when the one line naming "source" (comments aside) is the top-level `source:`, a market
    report's citation: not a flow collection's entry carried over from the line before (after a `,`, `{`
    or `[`), and no escape anywhere could spell the key another way.
    """
    if b"\\" in text:
        return True
    before = b""  # the last line that is neither blank nor a comment
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        if b"source" in line and not (line.startswith(b"source:") and not before.endswith((b",", b"{", b"["))):
            return True
        before = line.split(b" #", 1)[0].rstrip()
    return False


def run_queries(unit: ReportSource, databases: Callable[[], dict[str, Database]], folder: Path,
                env: Mapping[str, str]) -> ReportSource:
    """Run the query tables of *unit*'s set into snapshots in *folder*/<set id>/; return the unit with them.

    A report without query tables is returned as it is, unread beyond its YAML. A variant's set runs
    its own queries only when they use its filter values (else it keeps its report's results). A
    report whose data is invalid is returned without snapshots: its check says what is wrong. Raise
    `DataError` for the queries' problems the report can fix, `BuildError` for an unreachable database.
    *databases* loads DATA/databases.yaml when a query first needs it.
    """
    own = folder / str(unit.set_id)
    try:
        text: bytes | None = unit.path.read_bytes()
    except OSError:
        text = None  # read_yaml below says what is wrong, as the report's own problem
    if text is not None and not _may_query(text):  # most reports: no query table, and no second YAML parse
        remove_path(own)  # the rows of a query the report no longer has
        return unit
    doc = read_yaml(unit.path)
    raw = doc.data.get("tables") if isinstance(doc.data, dict) else None
    if not (isinstance(raw, list) and any(isinstance(t, dict) and "source" in t for t in raw)):
        remove_path(own)
        return unit
    try:
        report = validate(doc).report
    except DataError:
        return unit
    variant = next((v for v in report.variants if v.id == unit.variant), None) if unit.variant else None
    filter_columns = sorted({column for v in report.variants for column in v.filter})
    filters = {column: (variant.filter.get(column) if variant else None) for column in filter_columns}
    queried = [(i, spec) for i, spec in enumerate(report.tables) if spec.source is not None]
    if unit.variant is not None and unit.snapshots and not any(
            set(bind_names(spec.source.sql)) & {filter_param(c) for c in filter_columns}
            for _, spec in queried if spec.source is not None):
        remove_path(own)  # rows of its own from when it had them
        return unit  # the same rows as the report's own set: run once
    known = databases()
    problems: list[Problem] = []
    snapshots = []
    for index, spec in queried:
        assert spec.source is not None
        where = Located(unit.path, doc.line_of(("tables", index, "source")), index, spec)
        given = bindings(spec, report.as_of, filters)
        database = known.get(spec.source.database)
        if database is None:
            problems.append(where.problem(f"no database {spec.source.database!r} in databases.yaml "
                                          f"(databases: {', '.join(sorted(known)) or 'none'})", "source.database"))
            continue
        if found := param_problems(where, spec, given, filter_columns):
            problems.extend(found)
            continue
        try:
            snapshots.append((spec.id, snapshot(where, database, given, own, env)))
        except DataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    written = {path.name for _, path in snapshots}
    for stale in (p for p in own.iterdir() if p.name not in written) if own.is_dir() else ():
        remove_path(stale)  # a table the report no longer queries
    return dataclasses.replace(unit, snapshots=tuple(snapshots))


def prune_snapshots(folder: Path, catalog: Iterable[str], variants: Mapping[str, Iterable[str]]) -> None:
    """Remove the query snapshots in *folder* nothing builds from any more: those of reports gone from
    the *catalog* (report ids), and of variants gone from a report whose *variants* this run read.

    A snapshot holds the rows a query returned (a CRM's accounts, say): they are kept only as long as
    a report needs them. Anything that is not a folder named as a set is left alone.
    """
    reports = set(catalog)
    for entry in folder.iterdir() if folder.is_dir() else ():
        if not entry.is_dir() or entry.is_symlink():
            continue
        try:
            set_id = SetId.parse(entry.name)
        except UsageError:
            continue
        gone = set_id.report not in reports or (
            set_id.is_variant and set_id.report in variants and set_id.variant not in set(variants[set_id.report]))
        if gone:
            remove_path(entry)
