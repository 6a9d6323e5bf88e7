"""The chart parts' XML, written directly, is byte for byte what openpyxl's chart objects wrote.

`render/nativechart.py` used to build each chart as openpyxl objects and let openpyxl serialise
them (a third of a workbook's render); it now writes the same XML itself. The files under
tests/golden/charts are that openpyxl output, captured before the change, for every chart kind,
the odd charts, two themes, both hosts (a workbook sheet, a Word chart part) and text that needs
escaping. A change to a chart's look is made by accepting new files:

    EXPORTER_ACCEPT_GOLDEN=1 .venv/bin/python -m pytest tests/test_chart_xml.py

and reviewing their diff, as for the text dumps (tests/test_golden.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from openpyxl.xml.functions import tostring
from test_charts import MARKET, ODD, SAMPLES

from exporter.core.document import Chart, Series
from exporter.core.numbers import NumberFormat
from exporter.render.nativechart import ChartCells, build_chart, chart_space_xml
from exporter.render.theme import DEFAULT_THEME
from exporter.source.themes import load_theme

from conftest import ACCEPT_VAR, accepting_golden

GOLDEN = Path(__file__).resolve().parent / "golden" / "charts"
EXAMPLE_THEMES = Path(__file__).resolve().parent.parent / "examples" / "sales-pipeline" / "data" / "themes"
ACME = load_theme(EXAMPLE_THEMES, "acme")

NASTY = Chart('Q&A <"quoted"> & \'apostrophes\' — ünïcödé', "bar", ("a&b", "<c>", '"d"', "e\u00a0f"),
              (Series('Sales & "returns" <net>', (1.5, -2.25, 1e-7, 123456789.125)),),
              x_label="Region & <zone>", y_label='Value "net"',
              format=NumberFormat(currency='E"R', unit='u&"<n>', decimals=3), value_labels=True)
LONG_NAMES = Chart("Long names", "hbar", ("A region with a very long name indeed, longer than most",
                                         "Short", "Another rather long category name"),
                   (Series("2025", (1.0, 2.0, 3.0)),), x_label="Region", y_label="EUR", value_labels=True)


def _cases() -> dict[str, tuple[Chart, object]]:
    cases: dict[str, tuple[Chart, object]] = {}
    for name, chart in SAMPLES.items():
        cases[name] = (chart, DEFAULT_THEME)
        cases[f"{name}-acme"] = (chart, ACME)
        cases[f"{name}-plain"] = (dataclasses.replace(chart, value_labels=False, x_label="", y_label=""), DEFAULT_THEME)
        cases[f"{name}-untitled"] = (dataclasses.replace(chart, title=""), DEFAULT_THEME)
    for n, chart in enumerate(ODD):
        cases[f"odd-{n}"] = (chart, DEFAULT_THEME)
    cases["nasty"] = (NASTY, DEFAULT_THEME)
    cases["long-names"] = (LONG_NAMES, DEFAULT_THEME)
    cases["long-names-plain"] = (dataclasses.replace(LONG_NAMES, x_label="", y_label="", value_labels=False,
                                                     series=(*LONG_NAMES.series, Series("2026", (2.0, 1.0, 0.5)))),
                                 DEFAULT_THEME)
    cases["market-percent"] = (dataclasses.replace(MARKET, format=NumberFormat(percent=True, decimals=1)), ACME)
    return cases


CASES = _cases()


def _outputs(chart: Chart, theme) -> dict[str, bytes]:
    workbook = build_chart(chart, theme, ChartCells("Forecast", 1, 1))
    offset = build_chart(chart, theme, ChartCells("It's data", 3, 2), width_cm=22.5, height_cm=11.25)
    return {
        "xlsx": tostring(workbook._write()),
        "xlsx-offset": tostring(offset._write()),
        "docx": chart_space_xml(chart, theme, title=False, workbook_rid="rId1"),
        "docx-titled": chart_space_xml(chart, theme),
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_xml_is_what_it_was(name):
    chart, theme = CASES[name]
    for host, xml in _outputs(chart, theme).items():
        path = GOLDEN / f"{name}.{host}.xml"
        if accepting_golden():
            path.write_bytes(xml)
            continue
        if not path.exists():
            pytest.fail(f"no golden file {path.name}; accept with {ACCEPT_VAR}=1")
        assert xml == path.read_bytes(), f"{name} ({host}) differs from {path.name}"
