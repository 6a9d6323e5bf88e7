"""Through the CLI, as a user would: build the shipped report and a hostile second report from
YAML files, then open the three deliverables of each and read what a reader would see."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import docx
import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from exporter.cli import cli
from exporter.core.derive import forecast
from exporter.core.workspace import Workspace
from exporter.runs.catalog import discover, load

from conftest import DATA_DIR, HOSTILE, ROOT, hostile_data, pdftotext

SHIPPED_ID = "us-intrathecal-pump-market"
HOSTILE_ID = "hostile-copy"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    shutil.copytree(DATA_DIR, data)
    hostile = hostile_data()
    (data / "reports" / f"{HOSTILE_ID}.yaml").write_text(yaml.safe_dump(hostile, allow_unicode=True), encoding="utf-8")
    out = root / "output"
    result = CliRunner().invoke(cli, ["build", "--data-dir", str(data), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": built: ") == 2
    return out


def texts(out: Path, report_id: str, tmp_path: Path) -> dict[str, str]:
    """What a reader sees in each format, as one string."""
    folder = out / report_id
    word = docx.Document(str(folder / f"{report_id}.docx"))
    docx_text = "\n".join(p.text for p in word.paragraphs)
    docx_text += "\n" + "\n".join(c.text for t in word.tables for r in t.rows for c in r.cells)
    book = openpyxl.load_workbook(folder / f"{report_id}.xlsx")
    xlsx_text = "\n".join(
        str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None
    )
    pdf_text = pdftotext((folder / f"{report_id}.pdf").read_bytes(), tmp_path)
    return {"docx": docx_text, "xlsx": xlsx_text, "pdf": re.sub(r"[ \t]+", " ", pdf_text)}


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_every_fact_in_all_three_formats(built, tmp_path):
    report = load(next(s for s in discover(Workspace(DATA_DIR)) if s.id == SHIPPED_ID)).model
    for fmt, text in texts(built, SHIPPED_ID, tmp_path).items():
        flat = squash(text)
        lines = {line.strip().lstrip("•·◦-* ").strip() for line in text.splitlines()}
        assert report.title in flat, fmt
        assert "United States" in flat and "Verified Market Reports" in flat, fmt
        for faq in report.faqs.entries:
            assert squash(faq.question) in flat, (fmt, faq.question)
        for company in report.companies.entries:  # each its own entry: the seed ran three together
            assert company.name in lines, (fmt, company.name)
        for figure in ("3.5", "5.8", "6.5%" if fmt != "xlsx" else "0.065"):
            assert figure in flat, (fmt, figure)
        assert "Derived (estimate)" in flat and "Reported" in flat, fmt
        assert "North America" in flat and "Spasticity" in flat and "Pain Management" in flat, fmt
        assert "2026-11-23" in flat, fmt


def test_the_chart_data_equals_the_derived_series(built):
    report = load(next(s for s in discover(Workspace(DATA_DIR)) if s.id == SHIPPED_ID)).model
    series = [p.value for p in forecast(report.figures).points]
    book = openpyxl.load_workbook(built / SHIPPED_ID / f"{SHIPPED_ID}.xlsx")
    (chart,) = book["Forecast"]._charts
    ref = chart.series[0].val.numRef.f  # e.g. 'Forecast'!$B$2:$B$10
    cells = book["Forecast"][ref.split("!")[1].replace("$", "")]
    assert [row[0].value for row in cells] == pytest.approx(series, rel=1e-12)


def test_hostile_texts_come_out_literally_everywhere(built, tmp_path):
    for fmt, text in texts(built, HOSTILE_ID, tmp_path).items():
        assert HOSTILE["amp"] in text and "AT&T;" not in text, fmt
        assert HOSTILE["markup"] in text, fmt
        assert HOSTILE["formula"] in text, fmt
        assert "bellchar" in text and "\x07" not in text, fmt
    book = openpyxl.load_workbook(built / HOSTILE_ID / f"{HOSTILE_ID}.xlsx")
    formula_cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str) and c.value == HOSTILE["formula"]]
    assert formula_cells and all(c.data_type == "s" for c in formula_cells)


def test_files_carry_the_data_date_not_the_clock(built):
    props = docx.Document(str(built / SHIPPED_ID / f"{SHIPPED_ID}.docx")).core_properties
    assert props.created.date() == dt.date(2026, 11, 23)
    assert props.author == "Verified Market Reports"


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    lines = [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]]
    assert lines[0].endswith("exporter build") and "pip install" in lines[0]
    assert lines[1] == "bash .ci/run"
    assert "-m pytest" in (ROOT / ".ci" / "run").read_text()  # the README's test command runs the suite


def test_every_publish_regenerates_the_index_page(built):
    page = (built / "index.html").read_text(encoding="utf-8")
    for report_id in (SHIPPED_ID, HOSTILE_ID):
        manifest = (built / report_id / "manifest.json").read_text()
        sha = __import__("json").loads(manifest)["files"]["pdf"]["sha256"]
        assert f'href="{report_id}/{report_id}.pdf"' in page
        assert sha in page
    assert page.count("<h2") == 2 and "United States Intrathecal Pump Market" in page
