"""Turn a parsed data file into a `Report`, reporting every problem with its line and field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..core.derive import cagr_warning
from ..core.errors import DataError, Problem
from ..core.model import Report, TableSpec, Variant
from .glyphs import describe, missing_glyphs
from .reader import ParsedYaml, dotted

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "missing required field",
}


@dataclass(frozen=True)
class Validated:
    report: Report
    warnings: tuple[Problem, ...]


def parse_model(doc: ParsedYaml, model: type[M]) -> M:
    """Validate *doc* as *model*; raise `DataError` listing every problem with its line and field path."""
    if not isinstance(doc.data, dict):
        raise DataError([Problem(doc.path, 1, "", "the file must hold a mapping of fields")])
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise DataError(problems_from(doc, exc)) from None


def validate(doc: ParsedYaml) -> Validated:
    """Validate *doc* against the schema and the business rules; raise `DataError` listing all problems."""
    report = parse_model(doc, Report)
    crossed = _cross_problems(doc, report)
    if crossed:
        raise DataError(crossed)
    # Every report must render in every format; the PDF font is the narrowest of them.
    unprintable = [Problem(doc.path, doc.line_of(path), dotted(path), describe(chars))
                   for path, chars in missing_glyphs(report)]
    if unprintable:
        raise DataError(unprintable)
    warnings = []
    message = cagr_warning(report.figures)
    if message:
        warnings.append(Problem(doc.path, doc.line_of(("figures", "cagr")), "figures.cagr", message))
    return Validated(report, tuple(warnings))


def _cross_problems(doc: ParsedYaml, report: Report) -> list[Problem]:
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
