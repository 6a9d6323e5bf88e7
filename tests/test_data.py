"""The shipped canonical data holds every fact of the seed, repaired, and nothing more."""

from __future__ import annotations

import re

import pytest

from conftest import SHIPPED


def test_headline_figures_are_numbers_with_units(shipped_report):
    f = shipped_report.figures
    assert (f.base.year, f.base.size.amount, f.base.size.currency, f.base.size.scale.value) == (
        2022, 3.5, "USD", "billion")
    assert (f.projection.year, f.projection.size.amount, f.projection.size.scale.value) == (2030, 5.8, "billion")
    assert (f.cagr.percent, f.cagr.start_year, f.cagr.end_year) == (6.5, 2024, 2030)


def test_identity_publisher_and_source(shipped_report):
    r = shipped_report
    assert r.title == "United States Intrathecal Pump Market"
    assert r.geography == "United States"
    assert r.publisher.name == "Verified Market Reports"
    assert str(r.source.url) == "https://www.verifiedmarketreports.com/product/intrathecal-pump-market/"
    assert r.as_of.isoformat() == "2026-11-23"


def test_no_tracking_parameters_and_no_mojibake():
    text = SHIPPED.read_text(encoding="utf-8")
    assert "utm_" not in text
    assert "â€" not in text
    assert "pump’s ability" in text


def test_six_companies_as_separate_entries(shipped_report):
    names = [c.name for c in shipped_report.companies.entries]
    assert names == [
        "Flowonix", "Codman & Shurtleff", "Medtronic Inc", "Arrow International",
        "Medallion Therapeutics Inc", "Tricumed GmbH",
    ]


def test_ten_faqs(shipped_report):
    entries = shipped_report.faqs.entries
    assert len(entries) == 10
    assert entries[0].question == "What is an intrathecal pump?"
    assert entries[9].question == "Can the medication dosage be adjusted with an intrathecal pump?"
    assert all(e.answer for e in entries)


def test_segments_trends_opportunities_regions(shipped_report):
    (seg,) = shipped_report.segmentations
    assert seg.dimension == "Application"
    assert [s.name for s in seg.segments] == ["Spasticity", "Pain Management"]
    assert [s.title for s in seg.segments] == ["Spasticity Subsegment", "Pain Management Subsegment"]
    assert "baclofen" in seg.segments[0].drugs
    assert {"multiple sclerosis", "cerebral palsy"} <= set(seg.segments[0].conditions)
    assert {"cancer", "neuropathic pain", "failed back surgery syndrome"} == set(seg.segments[1].conditions)
    assert all(len(s.paragraphs) == 2 for s in seg.segments)
    assert len(shipped_report.trends.paragraphs) == 2
    assert len(shipped_report.opportunities.paragraphs) == 2
    (region,) = shipped_report.regions.entries
    assert (region.name, region.countries, region.more_countries) == (
        "North America", ["United States", "Canada", "Mexico"], True)


def test_every_number_in_the_data_is_stated_by_the_seed():
    """No figure the seed does not state: every number in the data file appears in the seed."""
    # The seed lives in shared/ beside the checkout; a clone elsewhere has no seed to compare with.
    seed = SHIPPED.parents[3] / "shared" / "seeds" / "000_c26787e601864b70.txt"
    if not seed.exists():
        pytest.skip(f"no seed at {seed}")
    data = re.sub(r"#.*", "", SHIPPED.read_text(encoding="utf-8"))
    data = re.sub(r"https?://\S+", "", data)
    data = data.replace("as_of: 2026-11-23", "")
    seed_text = seed.read_text(encoding="utf-8")
    for number in set(re.findall(r"\d+(?:\.\d+)?", data)):
        assert number in seed_text, number
