"""Turn a parsed data file into a `Report`, reporting every problem with its line and field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..core.derive import cagr_warning
from ..core.document_report import NUMERIC_FUNCTIONS, Aggregate, DocumentReport, grouped_header, sort_order
from ..core.errors import DataError, Problem
from ..core.model import Report, TableSpec, Variant
from .glyphs import Fonts, describe, missing_glyphs
from .reader import ParsedYaml, dotted

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "missing required field",
}


AnyReport = Report | DocumentReport
KINDS: dict[str, type[Report] | type[DocumentReport]] = {"market": Report, "document": DocumentReport}


@dataclass(frozen=True)
class Validated:
    report: AnyReport
    warnings: tuple[Problem, ...]


def parse_model(doc: ParsedYaml, model: type[M]) -> M:
    """Validate *doc* as *model*; raise `DataError` listing every problem with its line and field path."""
    if not isinstance(doc.data, dict):
        raise DataError([Problem(doc.path, 1, "", "the file must hold a mapping of fields")])
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise DataError(problems_from(doc, exc)) from None


def validate(doc: ParsedYaml, fonts: Fonts = None) -> Validated:
    """Validate *doc* against the schema and the business rules; raise `DataError` listing all problems.

    The file's `kind` picks the schema: `market` (the default) or `document`.
    """
    kind = doc.data.get("kind", "market") if isinstance(doc.data, dict) else "market"
    if kind not in KINDS:
        raise DataError([Problem(doc.path, doc.line_of(("kind",)), "kind",
                                 f"unknown kind {kind!r} (known: {', '.join(KINDS)})")])
    try:
        report = parse_model(doc, KINDS[kind])
    except DataError as exc:
        if isinstance(doc.data, dict) and "kind" not in doc.data and "sections" in doc.data:
            hint = Problem(doc.path, 1, "kind", "the file has sections: if it is a document report, "
                                                "add `kind: document` (without kind a file is a market report)")
            raise DataError([hint, *exc.problems]) from None
        raise
    crossed = _cross_problems(doc, report)
    if isinstance(report, DocumentReport):
        crossed += _document_problems(doc, report)
    if crossed:
        raise DataError(crossed)
    # Every report must render in every format; the PDF font is the narrowest of them.
    unprintable = [Problem(doc.path, doc.line_of(path), dotted(path), describe(chars))
                   for path, chars in missing_glyphs(report, fonts)]
    if unprintable:
        raise DataError(unprintable)
    warnings = []
    message = cagr_warning(report.figures) if isinstance(report, Report) else None
    if message:
        warnings.append(Problem(doc.path, doc.line_of(("figures", "cagr")), "figures.cagr", message))
    return Validated(report, tuple(warnings))


def _cross_problems(doc: ParsedYaml, report: AnyReport) -> list[Problem]:
    """Rules spanning fields: unique table and variant ids, variant filters naming table columns."""
    problems = []
    groups: tuple[tuple[str, Sequence[TableSpec | Variant]], ...] = (
        ("tables", report.tables), ("variants", report.variants))
    for kind, items in groups:
        seen = set()
        for i, item in enumerate(items):
            if item.id in seen:
                problems.append(Problem(doc.path, doc.line_of((kind, i, "id")), f"{kind}[{i}].id",
                                        f"{item.id!r} is used twice"))
            seen.add(item.id)
    columns = {c.name for t in report.tables for c in t.columns}
    for i, variant in enumerate(report.variants):
        for name in variant.filter:
            if name not in columns:
                known = ", ".join(sorted(map(repr, columns))) or "there are no tables"
                problems.append(Problem(doc.path, doc.line_of(("variants", i, "filter", name)),
                                        f"variants[{i}].filter.{name}", f"no table has a column {name!r} ({known})"))
    return problems


def _document_problems(doc: ParsedYaml, report: DocumentReport) -> list[Problem]:
    """Blocks naming tables and columns that exist, aggregates that fit their columns, section ids once."""
    problems: list[Problem] = []
    tables = {t.id: t for t in report.tables}

    def problem(path: tuple, message: str) -> None:
        problems.append(Problem(doc.path, doc.line_of(path), dotted(path), message))

    def table_of(path: tuple, table_id: str) -> TableSpec | None:
        if table_id not in tables:
            known = ", ".join(map(repr, tables)) or "none are declared"
            problem(path, f"there is no table {table_id!r} (tables: {known})")
        return tables.get(table_id)

    def column(path: tuple, table: TableSpec, name: str, *, numeric: bool = False) -> None:
        spec = next((c for c in table.columns if c.name == name), None)
        if spec is None:
            known = ", ".join(repr(c.name) for c in table.columns)
            problem(path, f"table {table.id!r} has no column {name!r} (columns: {known})")
        elif numeric and spec.type not in ("integer", "number"):
            problem(path, f"column {name!r} of table {table.id!r} holds {spec.type}s, not numbers")

    def aggregate(path: tuple, agg: Aggregate, table: TableSpec, *, numeric: bool = False) -> None:
        """Check an aggregate of *table*; *numeric*: its result must be a number (a chart's values)."""
        target = agg.target
        if agg.function == "count" and target == table.id:
            return
        column(path + (agg.function,), table, target,
               numeric=agg.function in NUMERIC_FUNCTIONS or (numeric and agg.function != "count"))

    section_ids: dict[str, tuple] = {}
    for where, section in report.all_sections():
        if section.id is not None:
            if section.id in section_ids:
                problem(where + ("id",), f"section id {section.id!r} is used twice")
            section_ids[section.id] = where
        for b, block in enumerate(section.blocks):
            at = where + ("blocks", b)
            for f, figure in enumerate(block.figures or []):
                if isinstance(figure.value, Aggregate):
                    path = at + ("figures", f, "value")
                    table_id, _, name = figure.value.target.partition(".")
                    table = table_of(path + (figure.value.function,), table_id)
                    if table is not None and name:
                        column(path + (figure.value.function,), table, name,
                               numeric=figure.value.function in NUMERIC_FUNCTIONS)
                    elif table is not None and figure.value.function != "count":
                        problem(path + (figure.value.function,),
                                f"name a column: {figure.value.function}: {table_id}.COLUMN")
            if block.chart is not None and block.chart.table is not None:
                chart, path = block.chart, at + ("chart",)
                table = table_of(path + ("table",), chart.table)
                if table is not None:
                    column(path + ("x",), table, chart.x or "")
                    if chart.by is not None:
                        column(path + ("by",), table, chart.by)
                    for n, agg in enumerate(chart.aggregates):
                        aggregate(path + ("y",) + ((n,) if isinstance(chart.y, list) else ()), agg, table,
                                  numeric=True)
            if block.table is not None:
                spec, path = block.table, at + ("table",)
                table = table_of(path + ("table",), spec.table)
                if table is not None:
                    for n, name in enumerate(spec.columns or []):
                        column(path + ("columns", n), table, name)
                    shown = grouped_header(spec, table) if spec.by is not None else None
                    for n, name in enumerate(spec.sort):
                        key = sort_order(name)[0]
                        if shown is None:
                            column(path + ("sort", n), table, key)
                        elif key not in shown:
                            problem(path + ("sort", n), f"sort by one of the grouped table's columns: "
                                                         f"{', '.join(map(repr, shown))}")
                    if spec.by is not None:
                        column(path + ("by",), table, spec.by)
                    for n, agg in enumerate(spec.values):
                        aggregate(path + ("values", n), agg, table)
    for i, variant in enumerate(report.variants):
        for n, section_id in enumerate(variant.omit):
            if section_id not in section_ids:
                known = ", ".join(map(repr, section_ids)) or "no section has an id"
                problem(("variants", i, "omit", n), f"there is no section with id {section_id!r} ({known})")
    return problems


def problems_from(doc: ParsedYaml, exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into problems located by line and field path."""
    problems = []
    seen = set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        message = _MESSAGES.get(error["type"]) or error["msg"].removeprefix("Value error, ")
        key = (loc, message)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(doc.path, doc.line_of(loc), dotted(loc), message))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems
