"""Variants (bursting): editions of one report, each published as its own set and delivered to its own lists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docx
import openpyxl
import pytest
from test_tables import HEADER, REPORT, TABLE_YAML, rows, write_csv

from conftest import DATA_DIR, exporter, flat, pdftotext

VARIANTS_YAML = """
variants:
  - id: west
    name: West region edition
    lists: [sales-west]
    filter: {Region: West}
    omit: [faqs, companies]
  - id: key-accounts
    name: Key accounts edition
    lists: [key-accounts]
"""
RECIPIENTS = """
lists:
  - id: everyone
    name: Everyone
    drop_folder: drop/everyone
    reports: all
  - id: sales-west
    name: Sales West
    drop_folder: drop/west
    reports: []
  - id: key-accounts
    name: Key accounts
    drop_folder: drop/key-accounts
    reports: []
    formats: [pdf]
"""
WEST = f"{REPORT}.west"
KEY = f"{REPORT}.key-accounts"


@pytest.fixture
def data(tmp_path) -> Path:
    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    text = (DATA_DIR / "reports" / f"{REPORT}.yaml").read_text(encoding="utf-8")
    (data / "reports" / f"{REPORT}.yaml").write_text(text + TABLE_YAML + VARIANTS_YAML, encoding="utf-8")
    write_csv(data / "reports" / f"{REPORT}.shipments.csv", rows(300))
    (data / "recipients.yaml").write_text(RECIPIENTS, encoding="utf-8")
    return data


def build(data: Path, out: Path, *more: str) -> subprocess.CompletedProcess:
    return exporter("build", "--data-dir", str(data), "--output-dir", str(out), *more)


def test_each_variant_is_its_own_set_with_its_edition_rows_and_parts(data, tmp_path):
    out = tmp_path / "out"
    result = build(data, out, "-f", "docx", "-f", "pdf")
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [REPORT, WEST, KEY, "summary"]
    assert result.stdout.splitlines()[-1].startswith("summary: 3 built, 0 unchanged, 0 failed")

    base = json.loads((out / REPORT / "manifest.json").read_text())
    west = json.loads((out / WEST / "manifest.json").read_text())
    assert base["variants"] == ["west", "key-accounts"] and "variant" not in base
    assert west["variant"] == {"id": "west", "name": "West region edition", "lists": ["sales-west"]}
    assert west["report_id"] == WEST
    assert west["title"] == "United States Intrathecal Pump Market (West region edition)"
    assert sorted(west["files"]) == ["docx", "pdf"]

    word = docx.Document(str(out / WEST / f"{WEST}.docx"))
    assert word.core_properties.title == "United States Intrathecal Pump Market (West region edition)"
    texts = [p.text for p in word.paragraphs]
    assert texts[texts.index("Market size, forecast and analysis — United States") + 1] == "West region edition"
    assert not any(t.startswith("Frequently Asked Questions") or "Companies" in t for t in texts)
    assert "Frequently Asked Questions (FAQs)" in [p.text for p in docx.Document(str(out / REPORT / f"{REPORT}.docx")).paragraphs]
    table = word.tables[-1]
    assert [c.text for c in table.rows[0].cells] == HEADER
    assert {row.cells[1].text for row in table.rows[1:]} == {"West"}
    assert len(table.rows) == 1 + 100  # 100 of the variant's 100 West rows
    assert "Rows where Region is “West”. All 100 rows." in texts

    full = docx.Document(str(out / REPORT / f"{REPORT}.docx"))
    assert {row.cells[1].text for row in full.tables[-1].rows[1:]} == {"West", "East", "South"}
    assert "Showing the first 100 of 300 rows; the Excel workbook of this report holds the complete table." in [
        p.text for p in full.paragraphs]

    key_text = flat(pdftotext((out / KEY / f"{KEY}.pdf").read_bytes(), tmp_path))
    assert "Market size, forecast and analysis — United States Key accounts edition As of 2026-11-23" in key_text
    assert "Frequently Asked Questions (FAQs)" in key_text  # this edition omits nothing

    page = (out / "index.html").read_text()
    assert "West region edition" in page and "Key accounts edition" in page


def test_an_unchanged_catalog_with_variants_skips_everything_and_a_lost_variant_is_rebuilt_alone(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out, "-f", "pdf").returncode == 0
    again = build(data, out, "-f", "pdf")
    assert again.stdout.splitlines()[:3] == [f"{REPORT}: unchanged", f"{WEST}: unchanged", f"{KEY}: unchanged"]
    (out / WEST / f"{WEST}.pdf").write_bytes(b"damaged")
    repaired = build(data, out, "-f", "pdf")
    assert repaired.stdout.splitlines()[:3] == [
        f"{REPORT}: unchanged", f"{WEST}: built: {out / WEST / f'{WEST}.pdf'}", f"{KEY}: unchanged"]
    assert (out / WEST / f"{WEST}.pdf").read_bytes().startswith(b"%PDF")


def test_variants_go_only_to_their_own_lists(data, tmp_path):
    out = tmp_path / "out"
    result = build(data, out, "--deliver")
    assert result.returncode == 0, result.stderr + result.stdout
    drop = out / "drop"
    assert sorted(p.name for p in (drop / "everyone").iterdir()) == [f"{REPORT}.{e}" for e in ("docx", "pdf", "xlsx")]
    assert sorted(p.name for p in (drop / "west").iterdir()) == [f"{WEST}.{e}" for e in ("docx", "pdf", "xlsx")]
    assert sorted(p.name for p in (drop / "key-accounts").iterdir()) == [f"{KEY}.pdf"]
    assert (drop / "west" / f"{WEST}.pdf").read_bytes() == (out / WEST / f"{WEST}.pdf").read_bytes()
    # Delivering again sends nothing new; `exporter deliver` finds the variants from the published sets.
    again = exporter("deliver", "--data-dir", str(data), "--output-dir", str(out))
    assert again.returncode == 0, again.stderr
    assert f"{WEST}: sales-west: drop: already delivered" in again.stdout
    assert f"{KEY}: key-accounts: drop: already delivered" in again.stdout
    assert f"{WEST}: everyone" not in again.stdout


def test_a_variant_naming_an_unknown_list_fails_its_delivery_and_validation(data, tmp_path):
    recipients = data / "recipients.yaml"
    recipients.write_text(RECIPIENTS.split("  - id: key-accounts")[0], encoding="utf-8")
    result = build(data, tmp_path / "out", "--deliver")
    assert result.returncode == 1
    assert f"Error: {KEY}: key-accounts: -: the variant names list 'key-accounts', which {recipients} lacks" \
        in result.stderr
    checked = exporter("validate", "--data-dir", str(data))
    assert checked.returncode == 2
    assert "variants[1].lists[0]: unknown distribution list 'key-accounts'" in checked.stderr


@pytest.mark.parametrize("edit, where, message", [
    ("filter: {Region: West}", "variants[0].filter.Territory", "no table has a column 'Territory'"),
    ("id: key-accounts", "variants[1].id", "'west' is used twice"),
    ("omit: [faqs, companies]", "variants[0].omit[0]", "Input should be 'segmentations'"),
])
def test_bad_variants_are_refused_with_their_field_path(data, tmp_path, edit, where, message):
    replacement = {
        "filter: {Region: West}": "filter: {Territory: West}",
        "id: key-accounts": "id: west",
        "omit: [faqs, companies]": "omit: [appendix]",
    }[edit]
    yaml = data / "reports" / f"{REPORT}.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace(edit, replacement), encoding="utf-8")
    result = build(data, tmp_path / "out")
    assert result.returncode == 1  # the report is refused alone; it is the only one, so nothing is built
    assert result.stdout == f"{REPORT}: invalid\n"
    line = max(n for n, text in enumerate(yaml.read_text().splitlines(), 1) if replacement in text)
    assert f"Error: {yaml}:{line}: {where}: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not [p for p in (tmp_path / "out").iterdir() if p.name != ".exporter"]  # no set, no variant, no index


def test_list_shows_each_edition(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out, "-f", "pdf").returncode == 0
    listed = exporter("list", "--data-dir", str(data), "--output-dir", str(out)).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        [REPORT, "United States Intrathecal Pump Market"],
        [WEST, "United States Intrathecal Pump Market (West region edition)"],
        [KEY, "United States Intrathecal Pump Market (Key accounts edition)"],
    ]
    assert all(line.split("\t")[2] != "never built" for line in listed)


def test_a_variant_workbook_holds_only_its_rows(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out, "-f", "xlsx").returncode == 0
    book = openpyxl.load_workbook(out / WEST / f"{WEST}.xlsx", read_only=True)
    assert book[book.sheetnames[0]]["A1"].value == "United States Intrathecal Pump Market (West region edition)"
    values = list(book[book.sheetnames[-1]].iter_rows(values_only=True))
    assert values[0] == tuple(HEADER)
    assert len(values) == 1 + 100 and {row[1] for row in values[1:]} == {"West"}
    full = openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True)
    assert len(list(full[full.sheetnames[-1]].iter_rows(values_only=True))) == 1 + 300


def cells(path: Path) -> set:
    book = openpyxl.load_workbook(path, read_only=True)
    return {value for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for value in row}


def test_what_a_variant_omits_is_in_none_of_its_files(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out).returncode == 0
    assert "Medtronic Inc" in cells(out / REPORT / f"{REPORT}.xlsx")
    assert "Medtronic Inc" not in cells(out / WEST / f"{WEST}.xlsx")
    assert "Medtronic Inc" not in pdftotext((out / WEST / f"{WEST}.pdf").read_bytes(), tmp_path)
    assert not any("Medtronic" in p.text for p in docx.Document(str(out / WEST / f"{WEST}.docx")).paragraphs)
    yaml = data / "reports" / f"{REPORT}.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8").replace("omit: [faqs, companies]", "omit: [tables]"),
                    encoding="utf-8")
    assert build(data, out, "-f", "xlsx").returncode == 0
    book = openpyxl.load_workbook(out / WEST / f"{WEST}.xlsx", read_only=True)
    assert not any(name.startswith("Pump shipments") for name in book.sheetnames)
    assert any(name.startswith("Pump shipments") for name in
               openpyxl.load_workbook(out / REPORT / f"{REPORT}.xlsx", read_only=True).sheetnames)


def test_history_of_a_report_includes_its_variants(data, tmp_path):
    out = tmp_path / "out"
    assert build(data, out, "-f", "pdf").returncode == 0
    runs = json.loads(exporter("history", REPORT, "--json", "--output-dir", str(out)).stdout)
    assert sorted(r["report_id"] for r in runs[0]["reports"]) == sorted([REPORT, WEST, KEY])
    only = json.loads(exporter("history", WEST, "--json", "--output-dir", str(out)).stdout)
    assert [r["report_id"] for r in only[0]["reports"]] == [WEST]


def test_delivering_to_one_list_ignores_a_variant_naming_an_unknown_other(data, tmp_path):
    recipients = data / "recipients.yaml"
    recipients.write_text(RECIPIENTS.split("  - id: key-accounts")[0], encoding="utf-8")
    out = tmp_path / "out"
    assert build(data, out, "-f", "pdf").returncode == 0
    done = exporter("deliver", "--list", "sales-west", "--data-dir", str(data), "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{WEST}: sales-west: drop: sent" in done.stdout
    everyone = exporter("deliver", "--data-dir", str(data), "--output-dir", str(out))
    assert everyone.returncode == 1 and "the variant names list 'key-accounts'" in everyone.stderr
