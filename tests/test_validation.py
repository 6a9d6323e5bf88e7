"""Broken data files: every problem reported at once, as FILE:LINE: field.path: problem."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest

from exporter.core.derive import Basis, cagr_warning, forecast, implied_cagr
from exporter.core.errors import DataError
from exporter.source.reader import read_yaml
from exporter.source.validate import validate

from conftest import SHIPPED


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        validate(read_yaml(path))
    return [str(p) for p in info.value.problems]


def write_edit(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_shipped_data_is_valid_without_warnings():
    result = validate(read_yaml(SHIPPED))
    assert result.warnings == ()


@pytest.mark.parametrize(
    "old, new, needle, path, message",
    [
        ("amount: 3.5", "amount: -3.5", "amount: -3.5", "figures.base.size.amount", "greater than 0"),
        ("amount: 5.8", "amount: .nan", "amount: .nan", "figures.projection.size.amount", "finite"),
        ("amount: 5.8", "amount: .inf", "amount: .inf", "figures.projection.size.amount", "finite"),
        ("amount: 3.5", 'amount: "3.5"', 'amount: "3.5"', "figures.base.size.amount", "valid number"),
        ("year: 2022", "year: 2022.5", "year: 2022.5", "figures.base.year", "valid integer"),
        ("scale: billion}\n  cagr", "scale: zillion}\n  cagr", "zillion", "figures.projection.size.scale", "'billion'"),
        ("currency: USD, scale: billion}\n  projection", "currency: usd, scale: billion}\n  projection", "usd",
         "figures.base.size.currency", "pattern"),
        ("    - name: Flowonix", "    - name: Flowonix\n      website: x", "website: x",
         "companies.entries[0].website", "unknown field"),
        ("    - name: Flowonix", "    - name: [Flowonix]", "[Flowonix]", "companies.entries[0].name", "valid string"),
        ("more_countries: true", "more_countries: yes", "more_countries: yes", "regions.entries[0].more_countries",
         "valid boolean"),
        ("as_of: 2026-11-23", 'as_of: "23/11/2026"', "as_of:", "as_of", "valid date"),
    ],
)
def test_one_problem_with_its_line_and_path(tmp_path, old, new, needle, path, message):
    broken = write_edit(tmp_path, old, new)
    (problem,) = problems_of(broken)
    assert problem.startswith(f"{broken}:{line_of(broken, needle)}: {path}: "), problem
    assert message in problem


def test_missing_and_unknown_fields_all_reported_at_once(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("geography: United States\n", "geografy: United States\n")
    text = text.replace("    end_year: 2030\n", "")
    text = text.replace("  - question: What is an intrathecal pump?", "  - query: What is an intrathecal pump?")
    broken = tmp_path / "many.yaml"
    broken.write_text(text, encoding="utf-8")
    problems = problems_of(broken)
    assert f"{broken}:{line_of(broken, 'geografy')}: geografy: unknown field" in problems
    assert any(p.startswith(f"{broken}:") and ": geography: missing required field" in p for p in problems)
    assert f"{broken}:{line_of(broken, 'cagr:')}: figures.cagr.end_year: missing required field" in problems
    assert f"{broken}:{line_of(broken, 'query:')}: faqs.entries[0].query: unknown field" in problems
    assert any(": faqs.entries[0].question: missing required field" in p for p in problems)
    assert len(problems) == 5


def test_years_out_of_order(tmp_path):
    broken = write_edit(tmp_path, "year: 2030", "year: 2020")
    (problem,) = problems_of(broken)
    assert problem.startswith(f"{broken}:{line_of(broken, 'figures:')}: figures: ")
    assert "projection.year 2020 must be after base.year 2022" in problem
    broken = write_edit(tmp_path, "start_year: 2024", "start_year: 2031")
    (problem,) = problems_of(broken)
    assert "figures.cagr" in problem and "end_year 2030 must be after start_year 2031" in problem


def test_bad_yaml_reports_its_line(tmp_path):
    broken = write_edit(tmp_path, "  entries:\n    - name: Flowonix", "  entries:\n    - name: [Flowonix")
    (problem,) = problems_of(broken)
    assert problem.startswith(f"{broken}:")
    assert "invalid YAML" in problem


def test_duplicate_keys_and_aliases_are_errors(tmp_path):
    broken = write_edit(tmp_path, "market: Intrathecal Pump\n", "market: Intrathecal Pump\nmarket: Other\n")
    (problem,) = problems_of(broken)
    assert problem == f"{broken}:{line_of(broken, 'market: Other')}: market: duplicate key (first given on line 6)"
    broken = write_edit(tmp_path, "geography: United States", "geography: &g United States\nmarket2: *g")
    (problem,) = problems_of(broken)
    assert "aliases" in problem and f":{line_of(broken, 'market2')}:" in problem


def test_empty_and_non_mapping_files(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    assert problems_of(empty) == [f"{empty}:1: (document): the file is empty"]
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    assert problems_of(listing) == [f"{listing}:1: (document): the file must hold a mapping of fields"]


def test_not_utf8(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"title: caf\xe9\n")
    (problem,) = problems_of(latin)
    assert problem == f"{latin}:1: (document): not valid UTF-8 text"


def test_control_characters_are_cleaned_not_rejected(tmp_path):
    broken = write_edit(tmp_path, "    - name: Flowonix", '    - name: "Flow\\x07onix\\uFFFE"')
    report = validate(read_yaml(broken)).report
    assert report.companies.entries[0].name == "Flowonix"


def test_blank_text_is_an_error(tmp_path):
    broken = write_edit(tmp_path, "    - name: Flowonix", '    - name: "  \\x01 "')
    (problem,) = problems_of(broken)
    assert problem.endswith("companies.entries[0].name: must not be empty")


def test_cagr_disagreeing_with_sizes_is_a_warning_with_both_numbers(tmp_path):
    edited = write_edit(tmp_path, "percent: 6.5", "percent: 9.5")
    result = validate(read_yaml(edited))
    (warning,) = result.warnings
    text = str(warning)
    assert text.startswith(f"{edited}:{line_of(edited, 'cagr:')}: figures.cagr: ")
    assert "stated CAGR 9.5%" in text and "6.52% implied" in text


def test_forecast_runs_through_the_reported_sizes(shipped_report):
    fc = forecast(shipped_report.figures)
    assert [p.year for p in fc.points] == list(range(2022, 2031))
    assert fc.points[0].value == 3.5 and fc.points[-1].value == 5.8
    assert [p.basis for p in fc.points] == [Basis.reported] + [Basis.derived] * 7 + [Basis.reported]
    rate = (5.8 / 3.5) ** (1 / 8) - 1
    assert math.isclose(fc.implied_cagr, rate)
    for p in fc.points[1:-1]:
        assert math.isclose(p.value, 3.5 * (1 + rate) ** (p.year - 2022))
    assert cagr_warning(shipped_report.figures) is None


def test_forecast_converts_scales(shipped_report):
    data = read_yaml(SHIPPED).data
    data = copy.deepcopy(data)
    data["figures"]["base"]["size"] = {"amount": 900, "currency": "USD", "scale": "million"}
    data["figures"]["projection"]["size"] = {"amount": 1.8, "currency": "USD", "scale": "billion"}
    from exporter.core.model import Report

    fc = forecast(Report.model_validate(data).figures)
    assert fc.unit == "USD billion"
    assert fc.points[0].value == pytest.approx(0.9)
    assert implied_cagr(Report.model_validate(data).figures) == pytest.approx(2 ** (1 / 8) - 1)
