"""The market report's layout: a `Report` and its `Forecast` as sections of format-neutral blocks."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..core.derive import Basis, Forecast
from ..core.document import (
    QA,
    Block,
    Bullets,
    Chart,
    Document,
    Figure,
    Figures,
    Meta,
    Paragraph,
    Scenario,
    Section,
    Series,
    Sheet,
    Table,
)
from ..core.model import Money, Report, Scale, Variant
from ..core.numbers import NumberFormat, Value
from . import edition_title
from .datasets import columns_of, dataset_of, is_numeric, shown_rows

FORECAST_SHEET = "Forecast"
PERCENT_UNIT = "percent per year"
RATE_FORMAT = NumberFormat(decimals=2, percent=True, thousands=False)

if TYPE_CHECKING:
    from ..source.datatable import DataTable


def money(amount: float, currency: str, scale: Scale, *, digits: int | None = None) -> str:
    """Format an amount for a reader: ``USD 3.5 billion``."""
    number = f"{amount:,.{digits}f}" if digits is not None else f"{amount:,g}"
    return f"{currency} {number}" + ("" if scale is Scale.unit else f" {scale.value}")


def stated(value: Money) -> str:
    return money(value.amount, value.currency, value.scale)


def percent(fraction: float, digits: int = 2) -> str:
    return f"{fraction * 100:.{digits}f}%"


def headline(report: Report) -> str:
    """The key-figures sentence, written from the figures rather than stored as text."""
    f = report.figures
    return (
        f"The {report.geography} {report.market} market was valued at {stated(f.base.size)} in "
        f"{f.base.year} and is projected to reach {stated(f.projection.size)} by {f.projection.year}, "
        f"growing at a CAGR of {f.cagr.percent:g}% from {f.cagr.start_year} to {f.cagr.end_year}."
    )


def derivation_note(fc: Forecast) -> str:
    first, last = fc.base.year, fc.projection.year
    derived = [p.year for p in fc.points if p.basis is Basis.derived]
    span = f"{derived[0]}–{derived[-1]}" if derived else "none"
    return (
        f"{first} and {last} are reported by the source. Values for {span} are derived estimates, "
        f"not reported figures: they grow the {first} size at the compound rate implied by the two "
        f"reported sizes ({percent(fc.implied_cagr)} a year). The source states a CAGR of "
        f"{fc.stated_cagr * 100:g}% for {fc.stated_period[0]}–{fc.stated_period[1]}."
    )


def forecast_table(fc: Forecast) -> Table:
    rows = tuple((str(p.year), f"{p.value:,.2f}", p.basis.label) for p in fc.points)
    return Table(
        caption=f"Market size by year ({fc.unit})",
        header=("Year", f"Market size ({fc.unit})", "Basis"),
        rows=rows,
        numeric=(False, True, False),
    )


def _section_title(title: str | None, default: str) -> str:
    return title or default


def build_document(report: Report, fc: Forecast, *, created: dt.datetime | None = None,
                   variant: Variant | None = None, tables: tuple[DataTable, ...] = ()) -> Document:
    """Lay out what the deliverables say, section by section.

    *created* stamps the files' properties; by default midnight UTC of the data's as-of date, so
    that the same data gives the same bytes. A *variant* names its edition and leaves out what it
    omits; *tables* are the report's data tables as that variant sees them.
    """
    f = report.figures
    omit = set(variant.omit) if variant else set()
    sections: list[Section] = []
    sections.append(
        Section(
            _section_title(report.overview.title, "Overview"),
            1,
            (Paragraph(headline(report), "lead"), *(Paragraph(p) for p in report.overview.paragraphs)),
            "overview",
        )
    )
    reported, derived = Basis.reported.label, Basis.derived.label
    money_format = NumberFormat(decimals=2)
    key_figures = Figures(
        caption="Key figures",
        style="table",
        figures=(
            Figure(f"Market size {f.base.year}", f.base.size.amount, stated(f.base.size), money_format,
                   unit=unit_of(f.base.size), period=f.base.year, basis=reported),
            Figure(f"Market size {f.projection.year} (projection)", f.projection.size.amount,
                   stated(f.projection.size), money_format, unit=unit_of(f.projection.size),
                   period=f.projection.year, basis=reported),
            Figure(f"CAGR {f.cagr.start_year}–{f.cagr.end_year}", f.cagr.percent / 100, f"{f.cagr.percent:g}%",
                   stated_rate_format(f.cagr.percent), unit=PERCENT_UNIT,
                   period=f"{f.cagr.start_year}–{f.cagr.end_year}", basis=reported),
            Figure(f"CAGR implied by sizes {f.base.year}–{f.projection.year}", fc.implied_cagr,
                   percent(fc.implied_cagr), RATE_FORMAT, unit=PERCENT_UNIT,
                   period=f"{f.base.year}–{f.projection.year}", basis=derived, derived=True),
        ),
    )
    sections.append(
        Section(
            "Market size and forecast",
            1,
            (
                key_figures,
                forecast_table(fc),
                forecast_chart(report, fc, note=derivation_note(fc)),
                Paragraph(derivation_note(fc), "note"),
                scenario(fc),
            ),
            "forecast",
        )
    )
    for n, seg in enumerate([] if "segmentations" in omit else report.segmentations):
        sections.append(
            Section(
                _section_title(seg.title, f"Market by {seg.dimension}"),
                1,
                tuple(Paragraph(p) for p in seg.intro),
                f"segmentation-{n}",
            )
        )
        for m, segment in enumerate(seg.segments):
            blocks: list[Block] = [Paragraph(p) for p in segment.paragraphs]
            named = []
            if segment.conditions:
                named.append("Conditions named: " + ", ".join(segment.conditions))
            if segment.drugs:
                named.append("Drugs named: " + ", ".join(segment.drugs))
            if named:
                blocks.append(Bullets(tuple(named)))
            sections.append(
                Section(_section_title(segment.title, segment.name), 2, tuple(blocks), f"segment-{n}-{m}")
            )
    for key, part, default in (
        ("trends", report.trends, "Key trends"),
        ("opportunities", report.opportunities, "Opportunities"),
    ):
        if part is not None and key not in omit:
            sections.append(
                Section(_section_title(part.title, default), 1, tuple(Paragraph(p) for p in part.paragraphs), key)
            )
    if report.faqs is not None and "faqs" not in omit:
        sections.append(
            Section(
                _section_title(report.faqs.title, "Frequently asked questions"),
                1,
                tuple(QA(i, q.question, q.answer) for i, q in enumerate(report.faqs.entries, 1)),
                "faqs",
            )
        )
    if report.companies is not None and "companies" not in omit:
        sections.append(
            Section(
                _section_title(report.companies.title, "Companies"),
                1,
                (Bullets(tuple(c.name for c in report.companies.entries)),),
                "companies",
            )
        )
    if report.regions is not None and "regions" not in omit:
        sections.append(
            Section(
                _section_title(report.regions.title, "Regional analysis"),
                1,
                (Bullets(tuple(region_line(r) for r in report.regions.entries)),),
                "regions",
            )
        )
    if tables and "tables" not in omit:
        sections.append(Section("Data tables", 1, tuple(b for t in tables for b in data_table_blocks(t)), "tables"))
    source_lines = [f"Publisher: {report.publisher.name}", f"Source: {report.source.title}", f"Link: {report.source.url}"]
    if report.source.sample_url:
        source_lines.append(f"Sample report: {report.source.sample_url}")
    sections.append(
        Section(
            "Source and method",
            1,
            (
                Bullets(tuple(source_lines)),
                Paragraph(basis_note(report), "note"),
            ),
            "source",
        )
    )
    if created is None:
        created = dt.datetime.combine(report.as_of, dt.time(0, 0), tzinfo=dt.UTC)
    facts: list[tuple[str, Value]] = [
        ("Market", report.market),
        ("Geography", report.geography),
        ("As of", report.as_of),
        ("Publisher", report.publisher.name),
        ("Source", report.source.title),
        # Plain text on purpose: the workbook carries no live links.
        ("Source URL", str(report.source.url)),
    ]
    if report.source.sample_url:
        facts.append(("Sample report URL", str(report.source.sample_url)))
    return Document(
        title=report.title,
        subtitle=f"Market size, forecast and analysis — {report.geography}",
        edition=variant.name if variant else None,
        as_of=report.as_of,
        publisher=report.publisher.name,
        meta=Meta(
            title=edition_title(report, variant),
            subject=f"{report.market} market, {report.geography}: size {f.base.year}, forecast to {f.projection.year}",
            author=report.publisher.name,
            keywords=(report.market, report.geography, "market report"),
            created=created,
        ),
        sections=tuple(sections),
        headline=headline(report),
        facts=tuple(facts),
        workbook_texts=False,
        summary_note=basis_note(report),
        sheets=workbook_sheets(report, sections),
        datasets=tuple(dataset_of(t) for t in tables) if "tables" not in omit else (),
    )


def basis_note(report: Report) -> str:
    return (f"Data as of {report.as_of.isoformat()}. Figures marked “Reported” are stated by the source; figures "
            "marked “Derived (estimate)” are computed from them and are not reported by the source.")


def unit_of(value: Money) -> str:
    return value.currency if value.scale is Scale.unit else f"{value.currency} {value.scale.value}"


def stated_rate_format(percent: float) -> NumberFormat:
    """A percent format showing every decimal the source states (at least one)."""
    decimals = len(f"{percent:g}".partition(".")[2]) if "e" not in f"{percent:g}" else 2
    return NumberFormat(decimals=max(1, min(decimals, 4)), percent=True, thousands=False)


def forecast_chart(report: Report, fc: Forecast, *, note: str = "") -> Chart:
    """The market size by year, reported and derived columns told apart."""
    return Chart(
        title=f"{report.geography} {report.market} market size, {fc.base.year}–{fc.projection.year}",
        kind="bar",
        categories=tuple(p.year for p in fc.points),
        series=(Series(f"Market size ({fc.unit})", tuple(p.value for p in fc.points),
                       tuple(p.basis is Basis.derived for p in fc.points)),),
        x_label="Year",
        y_label=f"Market size ({fc.unit})",
        format=NumberFormat(decimals=2),
        value_labels=True,
        basis_labels=(Basis.reported.label, Basis.derived.label),
        sheet=FORECAST_SHEET,
        note=note,
    )


def scenario(fc: Forecast) -> Scenario:
    """The workbook's live scenario: the series recomputed from inputs a reader may edit."""
    start, end = fc.stated_period
    return Scenario(
        sheet="Assumptions",
        base_year=fc.base.year,
        base_value=fc.base.value,
        rate=fc.implied_cagr,
        reference_rate=fc.stated_cagr,
        reference_label=f"Stated CAGR {start}–{end} (reference; not used in the series)",
        unit=fc.unit,
        years=tuple(p.year for p in fc.points),
        labels=("Base year", f"Base value (market size {fc.base.year})",
                "Growth rate used (implied by reported sizes; derived)"),
        value_format=NumberFormat(decimals=2),
        rate_format=RATE_FORMAT,
        reference_format=stated_rate_format(fc.stated_cagr * 100),
        basis=(Basis.reported.label, Basis.derived.label),
        series_basis="Scenario (computed from inputs)",
        explanation=("Yellow cells are inputs: edit the base year, base value or growth rate and the series below "
                     f"recomputes. The {FORECAST_SHEET} sheet keeps the published values (reported and derived) "
                     "unchanged."),
    )


def workbook_sheets(report: Report, sections: list[Section]) -> tuple[Sheet, ...]:
    """The market workbook's record sheets: segments, trends, questions, companies and regions."""
    by_key = {s.key: s for s in sections}
    segments = tuple(
        (seg.dimension, segment.name, segment.title or "", "\n\n".join(segment.paragraphs),
         "\n".join(segment.conditions), "\n".join(segment.drugs))
        for seg in report.segmentations
        for segment in seg.segments
    )
    texts = tuple(
        (by_key[key].title, n, block.text)
        for key in ("trends", "opportunities") if key in by_key
        for n, block in enumerate((b for b in by_key[key].blocks if isinstance(b, Paragraph)), 1)
    )
    faqs = tuple((b.number, b.question, b.answer) for b in (by_key["faqs"].blocks if "faqs" in by_key else ())
                 if isinstance(b, QA))
    companies = tuple((n, c.name) for n, c in enumerate(report.companies.entries if report.companies else (), 1))
    regions = tuple((r.name, countries(r)) for r in (report.regions.entries if report.regions else ()))
    return (
        Sheet("Segments", ("Segmentation", "Segment", "Title", "Text", "Conditions", "Drugs"), segments,
              (16, 18, 24, 100, 26, 22), (True,) * 6),
        Sheet("Trends & Opportunities", ("Section", "#", "Text"), texts, (28, 5, 110), (True, False, True)),
        Sheet("FAQ", ("#", "Question", "Answer"), faqs, (5, 50, 100), (False, True, True)),
        Sheet("Companies", ("#", "Company"), companies, (5, 48), (False, True)),
        Sheet("Regions", ("Region", "Countries"), regions, (28, 70), (True, True)),
    )


def countries(region) -> str:
    names = ", ".join(region.countries)
    if names and region.more_countries:
        names += " and others"
    return names


def data_table_blocks(table: DataTable) -> tuple[Block, ...]:
    """A data table as a document shows it: its first rows, and a note when the workbook holds more."""
    spec = table.spec
    columns = columns_of(spec)
    shown = len(table.preview)
    notes = []
    if table.filter:
        notes.append("Rows where " + " and ".join(f"{name} is “{value}”" for name, value in table.filter) + ".")
    if table.rows == 0:
        notes.append("The table has no rows.")
    elif shown < table.rows:
        notes.append(f"Showing the first {shown:,} of {table.rows:,} rows; the Excel workbook of this report "
                     "holds the complete table.")
    else:
        notes.append(f"All {table.rows:,} rows.")
    blocks: list[Block] = []
    if shown:
        blocks.append(Table(caption=spec.title, header=tuple(c.name for c in columns),
                            rows=shown_rows(table.preview, columns),
                            numeric=tuple(is_numeric(c) for c in columns)))
    else:
        blocks.append(Paragraph(spec.title, "lead"))
    blocks.append(Paragraph(" ".join(notes), "note"))
    return tuple(blocks)


def region_line(region) -> str:
    names = countries(region)
    return f"{region.name} ({names})" if names else region.name
