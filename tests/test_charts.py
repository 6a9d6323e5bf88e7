"""Charts drawn natively by every format, read back as a reader's software sees them.

The DOCX chart part and the workbook's chart are parsed for what a reader that never calculates
draws from (the cached values, categories and series names) and what Excel binds to (the cell
references); the PDF's vector drawing is checked for its data and colours and, drawn to a PDF,
for the text it shows. The slow test opens a DOCX with two native charts in LibreOffice.
"""

from __future__ import annotations

import io
import math
import subprocess
import zipfile

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Cm
from lxml import etree
from openpyxl import Workbook, load_workbook
from reportlab.graphics import renderPDF
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from exporter.core.document import CHART_KINDS, Chart, Series
from exporter.core.numbers import NumberFormat
from exporter.render.chartscale import label_format, labels_below, nice_axis, nice_range, ticks
from exporter.render.docxchart import add_docx_chart
from exporter.render.nativechart import (
    CHART_CONTENT_TYPE,
    ChartCells,
    build_chart,
    chart_space_xml,
    data_table,
    data_workbook,
    excel_format,
)
from exporter.render.pdf import register_fonts
from exporter.render.shapepaint import paint
from exporter.render.theme import DEFAULT_THEME, Theme
from exporter.render.vectorchart import chart_drawing

from conftest import flat, libreoffice, need, page_png, pdftotext

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
THEME = DEFAULT_THEME
ACCENT, SECONDARY = THEME.series_colour(0).upper(), THEME.secondary.upper()

# The market report's forecast: one series over years, reported ends and derived years between.
MARKET = Chart(
    title="United States Intrathecal Pump market size, 2022–2030",
    kind="bar",
    categories=(2022, 2023, 2024, 2025, 2026),
    series=(Series("Market size (USD billion)", (3.5, 3.7281041629090317, 3.971074471285615, 4.23, 5.8),
                   (False, True, True, True, False)),),
    x_label="Year",
    y_label="Market size (USD billion)",
    format=NumberFormat(decimals=2),
    value_labels=True,
    sheet="Forecast",
)
REGIONS = ("North America", "Europe", "Asia-Pacific", "Latin America")
SAMPLES = {
    "bar": MARKET,
    "hbar": Chart("Revenue by region", "hbar", REGIONS,
                  (Series("2024", (12.5, 8.0, -2.0, 3.0)), Series("2025", (13.0, 9.5, 1.0, None))),
                  x_label="Region", y_label="EUR million", format=NumberFormat(currency="EUR", decimals=1),
                  value_labels=True),
    "line": Chart("Units sold", "line", (2020, 2021, 2022, 2023),
                  (Series("Programmable", (100, 120, None, 160)), Series("Constant-rate", (80, 85, 90, 92))),
                  x_label="Year", y_label="Units", format=NumberFormat(decimals=0), value_labels=True),
    "pie": Chart("Share by segment", "pie", ("Programmable pumps", "Constant-rate pumps", "Other"),
                 (Series("Share", (0.55, 0.3, 0.15)),), format=NumberFormat(percent=True), value_labels=True),
    "stacked": Chart("Revenue by channel", "stacked", ("Q1", "Q2", "Q3"),
                     (Series("Pumps", (10, 12, 14)), Series("Service", (4, 5, 5)), Series("Parts", (2, 2, 3))),
                     y_label="USD thousand", value_labels=True),
}
PLOT = {"bar": "barChart", "hbar": "barChart", "stacked": "barChart", "line": "lineChart", "pie": "pieChart"}


def test_every_kind_has_a_sample():
    assert sorted(SAMPLES) == sorted(CHART_KINDS)


def xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def one(tree, path: str):
    [found] = tree.xpath(path, namespaces=NS)
    return found


def val(tree, path: str) -> str:
    return one(tree, path).get("val")


def cached_numbers(ref) -> dict[int, float]:
    return {int(pt.get("idx")): float(pt.findtext("c:v", namespaces=NS)) for pt in ref.xpath("c:numCache/c:pt", namespaces=NS)}


def cached_texts(ref) -> list[str]:
    return [pt.findtext("c:v", namespaces=NS) for pt in ref.xpath("c:strCache/c:pt", namespaces=NS)]


def present(values) -> dict[int, float]:
    """The points a cache holds for *values*: none for a missing value. openpyxl writes numbers
    with 16 significant digits ("%.16g"), one short of a float's round trip."""
    return {i: pytest.approx(v, rel=1e-15) for i, v in enumerate(values) if v is not None}


# --- the data behind the chart -----------------------------------------------------------------


def test_data_table_has_a_basis_column_for_one_series_with_derived_points():
    header, rows = data_table(MARKET)
    assert header == ("Year", "Market size (USD billion)", "Basis")
    assert rows[0] == (2022, 3.5, "Reported")
    assert rows[1] == (2023, 3.7281041629090317, "Derived (estimate)")
    assert [row[2] for row in rows] == ["Reported", *["Derived (estimate)"] * 3, "Reported"]


def test_data_table_of_several_series_keeps_missing_values_empty():
    header, rows = data_table(SAMPLES["hbar"])
    assert header == ("Region", "2024", "2025")
    assert rows[3] == ("Latin America", 3.0, None)
    header, _ = data_table(SAMPLES["stacked"])
    assert header == ("Category", "Pumps", "Service", "Parts")  # no x_label


@pytest.mark.parametrize(("fmt", "values", "code"), [
    (NumberFormat(decimals=2), (), "#,##0.00"),
    (NumberFormat(), (), "#,##0.00"),  # values unknown: decimals shown rather than hidden
    (NumberFormat(), (1, 2, 3), "#,##0"),
    (NumberFormat(), (1, 2.5), "#,##0.0"),
    (NumberFormat(), (1, 2.125), "#,##0.00"),  # auto decimals stop at two
    (NumberFormat(decimals=0, thousands=False), (), "0"),
    (NumberFormat(percent=True), (0.25, 0.125), "0.0%"),  # percents: no thousands separator
    (NumberFormat(decimals=1, unit="million"), (), '#,##0.0" million"'),
    (NumberFormat(decimals=0, currency="EUR"), (), '"EUR "#,##0;"EUR "-#,##0'),
    (NumberFormat(decimals=0, unit='"big" units'), (), r'#,##0" "\""big"\"" units"'),
])
def test_excel_format(fmt, values, code):
    assert excel_format(fmt, values) == code


def test_labels_agree_with_the_reader_text():
    fmt = label_format(NumberFormat(), [1, 2.5])
    assert [fmt.text(v) for v in (1, 2.5)] == ["1.0", "2.5"]  # as "#,##0.0" shows them
    assert label_format(NumberFormat(percent=True), [0.07]).text(0.07) == "7%"  # 0.07 * 100 is 7.000000000000001


def test_value_scale():
    assert nice_axis(5.8) == (7, 1)  # the market chart's scale, as before
    assert nice_range(0, 5.8) == (0.0, 7, 1)
    bottom, top, step = nice_range(-2, 13)
    assert bottom < -2 and top > 13 and bottom % step == 0 and top % step == 0
    assert nice_range(-5, 0)[1] == 0
    assert ticks(0, 0.35, 0.05) == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35]


def test_close_lines_put_the_lower_label_below():
    # Programmable runs above Constant-rate; in 2022 Programmable has no value, so 90 stays above.
    assert labels_below(SAMPLES["line"]) == {(1, 0), (1, 1), (1, 3)}
    assert labels_below(MARKET) == frozenset()


# --- the DOCX chart part -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_chart_part_caches_what_readers_draw(kind):
    chart = SAMPLES[kind]
    space = xml(chart_space_xml(chart, THEME))
    assert etree.QName(space).localname == "chartSpace"
    assert val(space, "c:roundedCorners") == "0"
    plot = one(space, f"c:chart/c:plotArea/c:{PLOT[kind]}")
    if kind in ("bar", "hbar", "stacked"):
        assert val(plot, "c:barDir") == ("bar" if kind == "hbar" else "col")
        assert val(plot, "c:grouping") == ("stacked" if kind == "stacked" else "clustered")
    if kind == "stacked":
        assert val(plot, "c:overlap") == "100"
    if kind == "line":
        assert val(plot, "c:grouping") == "standard"
    drawn = chart.series[:1] if kind == "pie" else chart.series
    sers = plot.xpath("c:ser", namespaces=NS)
    assert len(sers) == len(drawn)
    n = len(chart.categories)
    for i, (ser, series) in enumerate(zip(sers, drawn)):
        column = "BCDE"[i]
        assert cached_texts(one(ser, "c:tx/c:strRef")) == [series.name]
        assert one(ser, "c:tx/c:strRef/c:f").text == f"'Sheet1'!${column}$1"
        values = one(ser, "c:val/c:numRef")
        assert values.findtext("c:f", namespaces=NS) == f"'Sheet1'!${column}$2:${column}${n + 1}"
        assert val(values, "c:numCache/c:ptCount") == str(n)
        assert cached_numbers(values) == present(series.values)  # a missing value is no point
        categories = one(ser, "c:cat/*")
        assert categories.findtext("c:f", namespaces=NS) == f"'Sheet1'!$A$2:$A${n + 1}"
        if all(isinstance(c, int) for c in chart.categories):
            assert etree.QName(categories).localname == "numRef"
            assert list(cached_numbers(categories).values()) == list(chart.categories)
        else:
            assert cached_texts(categories) == list(chart.categories)
    legend = space.xpath("c:chart/c:legend", namespaces=NS)
    assert bool(legend) == (kind == "pie" or len(chart.series) > 1)
    if legend:
        assert val(legend[0], "c:legendPos") == "b"
    if kind != "pie":
        assert [a.get("val") for a in space.xpath("c:chart/c:plotArea/*/c:delete", namespaces=NS)] == ["0", "0"]


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_chart_part_colours_series_as_the_theme_says(kind):
    chart = SAMPLES[kind]
    space = xml(chart_space_xml(chart, THEME))
    sers = space.xpath("//c:ser", namespaces=NS)
    if kind == "pie":
        slices = sers[0].xpath("c:dPt", namespaces=NS)
        assert [val(p, "c:spPr/a:solidFill/a:srgbClr") for p in slices] == [
            THEME.series_colour(i).upper() for i in range(len(chart.categories))
        ]
        return
    for i, ser in enumerate(sers):
        colour = THEME.series_colour(i).upper()
        if kind == "line":
            assert val(ser, "c:spPr/a:ln/a:solidFill/a:srgbClr") == colour
            assert val(ser, "c:marker/c:spPr/a:solidFill/a:srgbClr") == colour
            assert val(ser, "c:smooth") == "0"
        else:
            assert val(ser, "c:spPr/a:solidFill/a:srgbClr") == colour


def test_market_chart_draws_derived_points_lighter_and_says_so():
    space = xml(chart_space_xml(MARKET, THEME))
    title = [t.text for t in space.xpath("c:chart/c:title//a:t", namespaces=NS)]
    assert title == [MARKET.title, "Dark: Reported  ·  Light: Derived (estimate)"]
    [ser] = space.xpath("//c:ser", namespaces=NS)
    assert val(ser, "c:spPr/a:solidFill/a:srgbClr") == ACCENT
    points = {int(val(p, "c:idx")): val(p, "c:spPr/a:solidFill/a:srgbClr") for p in ser.xpath("c:dPt", namespaces=NS)}
    assert points == {1: SECONDARY, 2: SECONDARY, 3: SECONDARY}
    assert space.xpath("c:chart/c:legend", namespaces=NS) == []  # one series: the title tells
    labels = one(ser, "c:dLbls")
    assert one(labels, "c:numFmt").get("formatCode") == "#,##0.00"
    assert one(labels, "c:numFmt").get("sourceLinked") == "0"  # else LibreOffice shows the cells' decimals
    assert val(labels, "c:dLblPos") == "outEnd" and val(labels, "c:showVal") == "1"
    axes = [one(space, f"//c:{axis}/c:title//a:t").text for axis in ("catAx", "valAx")]
    assert axes == ["Year", "Market size (USD billion)"]
    scaling = one(space, "//c:valAx/c:scaling")
    assert (val(scaling, "c:min"), val(scaling, "c:max"), val(space, "//c:valAx/c:majorUnit")) == ("0", "7", "1")


def test_chart_part_text_is_in_the_office_font():
    space = xml(chart_space_xml(MARKET, Theme(office_font="Calibri")))
    faces = {f.get("typeface") for f in space.xpath("//a:latin", namespaces=NS)}
    assert faces == {"Calibri"}


def test_a_chart_without_title_is_not_titled_by_its_series():
    chart = SAMPLES["stacked"]
    space = xml(chart_space_xml(chart, THEME, title=False))
    assert space.xpath("c:chart/c:title", namespaces=NS) == []
    assert val(space, "c:chart/c:autoTitleDeleted") == "1"
    # With derived points the line telling the colours apart stays.
    title = [t.text for t in xml(chart_space_xml(MARKET, THEME, title=False)).xpath("//c:title//a:t", namespaces=NS)]
    assert title[0].startswith("Dark: Reported")


def test_hbar_reads_top_down_with_value_axis_below():
    space = xml(chart_space_xml(SAMPLES["hbar"], THEME))
    assert val(space, "//c:catAx/c:axPos") == "l"
    assert val(space, "//c:catAx/c:scaling/c:orientation") == "maxMin"
    assert val(space, "//c:valAx/c:crosses") == "max"
    # Negative values: the scale holds them, and the currency's code stays before the sign.
    assert float(val(space, "//c:valAx/c:scaling/c:min")) < -2
    assert {f.get("formatCode") for f in space.xpath("//c:dLbls/c:numFmt", namespaces=NS)} == {
        '"EUR "#,##0.0;"EUR "-#,##0.0'
    }


def test_hbar_with_long_names_places_its_plot_by_hand():
    long = Chart("Regions", "hbar", ("North America and the Caribbean islands, including overseas territories", "EU"),
                 (Series("2024", (1.0, 2.0)),))
    layout = one(xml(chart_space_xml(long, THEME)), "c:chart/c:plotArea/c:layout/c:manualLayout")
    assert val(layout, "c:layoutTarget") == "inner"
    assert 0.3 < float(val(layout, "c:x")) < 0.5
    assert xml(chart_space_xml(SAMPLES["hbar"], THEME)).xpath("//c:manualLayout", namespaces=NS) == []


def test_close_lines_label_below_in_the_chart_part_too():
    sers = xml(chart_space_xml(SAMPLES["line"], THEME)).xpath("//c:ser", namespaces=NS)
    below = {(i, int(val(d, "c:idx"))) for i, ser in enumerate(sers) for d in ser.xpath("c:dLbls/c:dLbl", namespaces=NS)
             if val(d, "c:dLblPos") == "b"}
    assert below == labels_below(SAMPLES["line"])


def test_chart_part_is_reproducible_and_refuses_an_empty_chart():
    assert chart_space_xml(MARKET, THEME) == chart_space_xml(MARKET, THEME)
    assert data_workbook(MARKET) == data_workbook(MARKET)
    with pytest.raises(ValueError, match="no categories or no series"):
        chart_space_xml(Chart("Empty", "bar", (), ()), THEME)


def test_texts_xml_cannot_carry_are_dropped():
    chart = Chart("bell\x07 chart", "bar", ("a\x00b",), (Series("s\x1f", (1.0,)),))
    space = xml(chart_space_xml(chart, THEME))
    assert one(space, "//c:title//a:t").text == "bell chart"
    assert cached_texts(one(space, "//c:cat/c:strRef")) == ["ab"]


# --- the workbook ------------------------------------------------------------------------------


def workbook_with(chart: Chart, sheet: str, row: int, col: int) -> bytes:
    """A workbook holding *chart*'s data table at (row, col) of *sheet* and the chart bound to it."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    header, rows = data_table(chart)
    for r, values in enumerate((header, *rows), row):
        for c, value in enumerate(values, col):
            ws.cell(row=r, column=c, value=value)
    ws.add_chart(build_chart(chart, THEME, ChartCells(sheet, row, col), width_cm=22, height_cm=13.5), "H2")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_workbook_chart_refers_to_its_cells_and_caches_them(kind):
    chart = SAMPLES[kind]
    sheet = "Bob's data 2024"  # an apostrophe and spaces: the reference must quote it
    book = workbook_with(chart, sheet, row=3, col=2)
    with zipfile.ZipFile(io.BytesIO(book)) as package:
        space = xml(package.read("xl/charts/chart1.xml"))
        anchor = xml(package.read("xl/drawings/drawing1.xml"))
    quoted = "'Bob''s data 2024'"
    n = len(chart.categories)
    drawn = chart.series[:1] if kind == "pie" else chart.series
    sers = space.xpath("//c:ser", namespaces=NS)
    assert len(sers) == len(drawn)
    for i, (ser, series) in enumerate(zip(sers, drawn)):
        column = "CDEF"[i]
        assert one(ser, "c:tx/c:strRef/c:f").text == f"{quoted}!${column}$3"
        values = one(ser, "c:val/c:numRef")
        assert values.findtext("c:f", namespaces=NS) == f"{quoted}!${column}$4:${column}${n + 3}"
        assert cached_numbers(values) == present(series.values)
        assert one(ser, "c:cat/*/c:f").text == f"{quoted}!$B$4:$B${n + 3}"
    # The cells hold what the caches say.
    ws = load_workbook(io.BytesIO(book))[sheet]
    for i, series in enumerate(drawn):
        assert [ws.cell(row=4 + k, column=3 + i).value for k in range(n)] == [
            None if v is None else pytest.approx(v, rel=1e-15) for v in series.values
        ]
    assert [ws.cell(row=4 + k, column=2).value for k in range(n)] == list(chart.categories)
    # The size asked for: 22 x 13.5 cm.
    extent = one(anchor, "//*[local-name()='ext']")
    assert (int(extent.get("cx")), int(extent.get("cy"))) == (22 * 360000, 135 * 36000)


def test_workbook_market_chart_keeps_todays_look():
    with zipfile.ZipFile(io.BytesIO(workbook_with(MARKET, "Forecast", 1, 1))) as package:
        space = xml(package.read("xl/charts/chart1.xml"))
    [ser] = space.xpath("//c:ser", namespaces=NS)
    assert one(ser, "c:val/c:numRef/c:f").text == "'Forecast'!$B$2:$B$6"
    assert [int(val(p, "c:idx")) for p in ser.xpath("c:dPt", namespaces=NS)] == [1, 2, 3]
    assert space.xpath("//c:valAx/c:majorGridlines", namespaces=NS) == []  # the bars carry their values
    assert val(space, "//c:dLbls/c:dLblPos") == "outEnd"


# --- the DOCX ----------------------------------------------------------------------------------


def docx_with_charts(*charts: Chart, **options) -> bytes:
    document = docx.Document()
    for chart in charts:
        document.add_paragraph(chart.title)
        add_docx_chart(document.add_paragraph(), chart, THEME, width_emu=Cm(16).emu, height_emu=Cm(9).emu,
                       description=f"Chart: {chart.title}", **options)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_holds_chart_parts_related_and_typed():
    data = docx_with_charts(MARKET, SAMPLES["pie"])
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = set(package.namelist())
        types = xml(package.read("[Content_Types].xml"))
        body = xml(package.read("word/document.xml"))
        rels = xml(package.read("word/_rels/document.xml.rels"))
        parts = {name: package.read(name) for name in names if name.startswith("word/")}
    assert {"word/charts/chart1.xml", "word/charts/chart2.xml"} <= names
    overrides = {o.get("PartName"): o.get("ContentType") for o in types}
    assert overrides["/word/charts/chart1.xml"] == overrides["/word/charts/chart2.xml"] == CHART_CONTENT_TYPE
    targets = {r.get("Id"): r.get("Target") for r in rels if r.get("Type") == RT.CHART}
    assert sorted(targets.values()) == ["charts/chart1.xml", "charts/chart2.xml"]

    wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    inlines = body.xpath("//wp:inline", namespaces={"wp": wp})
    assert len(inlines) == 2
    ids = [i.find(f"{{{wp}}}docPr").get("id") for i in inlines]
    assert len(set(ids)) == 2
    assert [i.find(f"{{{wp}}}docPr").get("descr") for i in inlines] == [f"Chart: {MARKET.title}", "Chart: Share by segment"]
    assert [i.find(f"{{{wp}}}extent").get("cx") for i in inlines] == [str(Cm(16).emu)] * 2
    rids = [one(i, ".//c:chart").get(f"{{{NS['r']}}}id") for i in inlines]
    assert [targets[r] for r in rids] == ["charts/chart1.xml", "charts/chart2.xml"]
    assert cached_numbers(one(xml(parts["word/charts/chart1.xml"]), "//c:val/c:numRef")) == present(MARKET.series[0].values)

    # The embedded workbook: bound by the chart's externalData, holding the data at Sheet1!A1.
    chart_rels = xml(parts["word/charts/_rels/chart1.xml.rels"])
    [rel] = chart_rels
    assert rel.get("Type") == RT.PACKAGE
    external = one(xml(parts["word/charts/chart1.xml"]), "c:externalData")
    assert external.get(f"{{{NS['r']}}}id") == rel.get("Id")
    assert val(external, "c:autoUpdate") == "0"
    embedded = "word/" + rel.get("Target").removeprefix("../")
    ws = load_workbook(io.BytesIO(parts[embedded]))["Sheet1"]
    header, rows = data_table(MARKET)
    assert [c.value for c in ws[1]] == list(header)
    assert [(row[0].value, pytest.approx(row[1].value, rel=1e-15), row[2].value)
            for row in ws.iter_rows(min_row=2)] == rows
    assert ws["B2"].number_format == "#,##0.00"


def test_docx_reopens_and_saves_again():
    data = docx_with_charts(MARKET, SAMPLES["hbar"], SAMPLES["line"])
    document = docx.Document(io.BytesIO(data))
    assert [p.text for p in document.paragraphs if p.text] == [MARKET.title, "Revenue by region", "Units sold"]
    # A chart added to a reopened document takes the next free part names.
    add_docx_chart(document.add_paragraph(), SAMPLES["pie"], THEME, width_emu=Cm(8).emu, height_emu=Cm(8).emu,
                   description="pie")
    out = io.BytesIO()
    document.save(out)
    with zipfile.ZipFile(out) as package:
        names = package.namelist()
    assert sorted(n for n in names if n.startswith("word/charts/chart")) == [f"word/charts/chart{n}.xml" for n in range(1, 5)]
    assert len([n for n in names if n.startswith("word/embeddings/")]) == 4


def test_embedded_data_keeps_texts_literal():
    chart = Chart("Injected", "bar", ('=HYPERLINK("http://x")', "-1"), (Series("=1+1", (1.0, 2.0)),))
    ws = load_workbook(io.BytesIO(data_workbook(chart)))["Sheet1"]
    assert (ws["A2"].value, ws["A2"].data_type) == ('=HYPERLINK("http://x")', "s")
    assert (ws["B1"].value, ws["B1"].data_type) == ("=1+1", "s")


def test_docx_without_embedded_data():
    data = docx_with_charts(MARKET, embed_data=False)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert not [n for n in package.namelist() if "embeddings" in n]
        assert xml(package.read("word/charts/chart1.xml")).xpath("c:externalData", namespaces=NS) == []


# --- the PDF's vector chart --------------------------------------------------------------------


@pytest.fixture(scope="module")
def font() -> str:
    return register_fonts()


def colour(hex_colour: str) -> colors.Color:
    return colors.HexColor(f"#{hex_colour}")


def drawn_text(drawing, tmp_path) -> str:
    return flat(pdftotext(renderPDF.drawToString(drawing), tmp_path))


def test_market_drawing_looks_as_before(font):
    drawing = chart_drawing(MARKET, THEME, width=451, font=font)
    bars = drawing.chart
    assert isinstance(bars, VerticalBarChart)
    assert bars.data == [list(MARKET.series[0].values)]
    fills = [bars.bars[(0, i)].fillColor for i in range(5)]
    assert fills == [colour(THEME.accent), *[colour(THEME.secondary)] * 3, colour(THEME.accent)]
    # forecast_drawing's layout numbers and scale.
    assert (bars.x, bars.y, bars.width, bars.height) == (58, 48, 451 - 68, 240 - 86)
    assert (bars.valueAxis.valueMin, bars.valueAxis.valueMax, bars.valueAxis.valueStep) == (0, 7, 1)
    assert bars.categoryAxis.categoryNames == ["2022", "2023", "2024", "2025", "2026"]
    assert bars.barLabelFormat(3.7281041629090317) == "3.73"
    assert drawing.legend.colorNamePairs == [(colour(THEME.accent), "Reported"),
                                             (colour(THEME.secondary), "Derived (estimate)")]


@pytest.mark.parametrize("kind", CHART_KINDS)
def test_drawing_of_every_kind_shows_its_data(kind, font, tmp_path):
    chart = SAMPLES[kind]
    drawing = chart_drawing(chart, THEME, width=451, font=font)
    widget = drawing.chart
    expected = {"bar": VerticalBarChart, "stacked": VerticalBarChart, "hbar": HorizontalBarChart,
                "line": HorizontalLineChart, "pie": Pie}[kind]
    assert isinstance(widget, expected)
    if kind in ("bar", "hbar", "stacked"):
        assert widget.data == [list(s.values) for s in chart.series]
        for i in range(len(chart.series)):
            if kind != "bar":
                assert widget.bars[i].fillColor == colour(THEME.series_colour(i))
    if kind == "stacked":
        assert widget.categoryAxis.style == "stacked"
        assert widget.valueAxis.valueMax >= max(sum(vs) for vs in zip(*(s.values for s in chart.series)))
    if kind == "line":
        # One row per run between missing values.
        assert widget.data == [[100, 120, None, None], [None, None, None, 160], [80, 85, 90, 92]]
        assert [widget.lines[r].strokeColor for r in range(3)] == [colour(THEME.series_colour(s)) for s in (0, 0, 1)]
    if kind == "pie":
        assert widget.data == [0.55, 0.3, 0.15]
        assert [widget.slices[i].fillColor for i in range(3)] == [colour(THEME.series_colour(i)) for i in range(3)]
        assert [name for _, name in drawing.legend.colorNamePairs] == list(chart.categories)
    elif len(chart.series) > 1:
        assert [name for _, name in drawing.legend.colorNamePairs] == [s.name for s in chart.series]
    text = drawn_text(drawing, tmp_path)
    shown = label_format(chart.format, [v for s in chart.series for v in s.values])
    for series in chart.series[:1] if kind == "pie" else chart.series:
        for value in series.values:
            if value is not None:
                assert shown.text(value) in text, (shown.text(value), text)
    if kind != "pie":
        for name in chart.categories:
            assert str(name) in text
        for label in (chart.x_label, chart.y_label):
            assert label in text


def test_negative_bar_labels_sit_past_the_bar_end(font):
    drawing = chart_drawing(SAMPLES["hbar"], THEME, width=451, font=font)
    bars = drawing.chart
    group = bars.draw()
    labels = {label._text: label for label in _labels(group)}
    negative, positive = labels["EUR -2.0"], labels["EUR 12.5"]
    zero = bars.valueAxis.scale(0)
    assert negative.x < zero - 20 and negative._getBoxAnchor() == "e"  # left of the bar, text ending there
    assert positive.x > zero and positive._getBoxAnchor() == "w"


def _labels(group):
    for item in getattr(group, "contents", ()):
        if hasattr(item, "_text"):
            yield item
        yield from _labels(item)


def test_long_names_are_cut_or_slanted_not_overprinted(font):
    long = ("Hospital purchasing groups and integrated delivery networks", "Ambulatory surgical centres",
            "Specialty clinics", "Home care")
    chart = Chart("Channels", "bar", long, (Series("Revenue", (1.0, 2.0, 3.0, 4.0)),))
    bars = chart_drawing(chart, THEME, width=300, font=font).chart
    assert bars.categoryAxis.labels.angle == 30
    assert bars.categoryAxis.categoryNames[0].endswith("…")
    assert bars.y > 48  # room below for the slanted names
    hbar = chart_drawing(Chart("Channels", "hbar", long, chart.series), THEME, width=451, font=font).chart
    names = hbar.categoryAxis.categoryNames
    assert names[0].endswith("…") and names[2:] == list(long[2:])  # cut only when too long
    widest = max(stringWidth(name, font, 8) for name in names)
    assert widest <= 110 and hbar.x >= widest  # the names fit left of the plot


def test_drawing_of_derived_line_points_marks_them_lighter(font):
    chart = Chart("Forecast", "line", (2022, 2023, 2024), (Series("Market", (1.0, 2.0, 3.0), (False, True, True)),))
    lines = chart_drawing(chart, THEME, width=451, font=font).chart
    assert lines.data[-1] == [None, 2.0, 3.0]
    assert lines.lines[len(lines.data) - 1].symbol.fillColor == colour(THEME.secondary)


ODD = [
    Chart("No values", "bar", ("a", "b"), (Series("s", (None, None)),), value_labels=True),
    Chart("Pie without values", "pie", ("a", "b"), (Series("s", (None, None)),), value_labels=True),
    Chart("Pie with a negative", "pie", ("a", "b", "c"), (Series("s", (1.0, -2.0, None)),), value_labels=True),
    Chart("Lone points", "line", (1, 2, 3, 4), (Series("s", (1.0, None, 2.0, None), (False, False, True, False)),),
          value_labels=True),
    Chart("One category", "line", (2024,), (Series("s", (1.0,)),), value_labels=True),
    Chart("Stacked negatives", "stacked", ("a", "b"), (Series("s", (1.0, -2.0)), Series("t", (-1.0, 3.0))),
          value_labels=True),
    Chart("Mixed categories", "bar", (2024, "2025e"), (Series("s", (1.0, float("nan"))),), value_labels=True),
    Chart("Ten series", "hbar", ("a",), tuple(Series(f"Series {i}", (float(i),)) for i in range(10))),
]


@pytest.mark.parametrize("chart", ODD, ids=[c.title for c in ODD])
def test_odd_charts_draw_in_every_format(chart, font):
    renderPDF.drawToString(chart_drawing(chart, THEME, width=451, font=font))
    space = xml(chart_space_xml(chart, THEME))
    load_workbook(io.BytesIO(data_workbook(chart)))
    for values in space.xpath("//c:val/c:numRef", namespaces=NS):  # NaN and None: no point
        assert all(not math.isnan(v) for v in cached_numbers(values).values())


def page_pixels(pdf: bytes, tmp_path, name: str) -> bytes:
    """The page as poppler draws it at 150 dpi (PNG bytes)."""
    (tmp_path / f"{name}.pdf").write_bytes(pdf)
    return page_png(tmp_path / f"{name}.pdf", 1, 150, tmp_path / f"{name}.png").read_bytes()


def one_page(draw) -> bytes:
    """A page on which *draw(canvas)* draws, inside a state of its own (as a frame draws a flowable)."""
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(500, 320), invariant=1)
    canvas.setFont("Helvetica", 12)  # the state a page leaves: the chart must set its own font
    canvas.setFillColor(colors.red)
    canvas.setLineWidth(3)
    draw(canvas)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


# Labels of every placement: slanted category names, values below a falling line, a multi-line name.
LABELLED = [
    Chart("Slanted names", "bar", tuple(f"Region number {i} with a long name" for i in range(6)),
          (Series("s", (1.0, -2.5, 3.0, 4.25, -0.5, 2.0)),), y_label="EUR", value_labels=True),
    Chart("Falling line", "line", ("a", "b", "c", "d"), (Series("s", (3.0, -1.0, -4.0, 2.0)), Series("t", (1, 2, 3, 4))),
          x_label="Quarter", y_label="Change", value_labels=True),
    Chart("Two-line name", "hbar", ("First\nsecond", "Other"), (Series("s", (1.0, 2.0)),), value_labels=True),
]


@pytest.mark.parametrize("chart", [*SAMPLES.values(), *ODD, *LABELLED],
                         ids=[*SAMPLES, *(c.title for c in ODD), *(c.title for c in LABELLED)])
def test_the_pdf_paints_charts_as_renderpdf_draws_them(chart, font, tmp_path):
    """The PDF draws its charts with shapepaint, not renderPDF: the page is the same, pixel for pixel."""
    drawing = chart_drawing(chart, THEME, width=451, font=font)
    theirs = one_page(lambda canvas: renderPDF.draw(drawing, canvas, 20, 40))
    ours = one_page(lambda canvas: drawing.drawOn(canvas, 20, 40))  # as platypus draws a flowable
    assert ours != theirs  # two different ways of writing the page...
    assert page_pixels(ours, tmp_path, "ours") == page_pixels(theirs, tmp_path, "theirs")  # ...drawn the same
    assert word_boxes(ours, tmp_path) == word_boxes(theirs, tmp_path)  # every text where it was, to 1/1000 pt


def word_boxes(pdf: bytes, tmp_path) -> str:
    """Each word of the page with its box, as poppler reads them (finer than the pixels)."""
    return pdftotext(pdf, tmp_path, "-bbox")


def test_shapes_and_strings_beyond_the_charts_paint_as_renderpdf_draws_them(font, tmp_path):
    """What a chart could come to draw: a self-crossing polygon filled by the non-zero rule, strings and labels
    aligned on their decimal point, a label in a box."""
    from reportlab.graphics.charts.textlabels import Label
    from reportlab.graphics.shapes import FILL_NON_ZERO, Drawing, Polygon, String

    drawing = Drawing(300, 200)
    drawing.add(Polygon([50, 10, 80, 100, 110, 10, 20, 70, 140, 70], fillColor=colors.orange, fillMode=FILL_NON_ZERO,
                        strokeColor=colors.black))
    for y, value in ((150, "12.5"), (135, "1,234.75"), (120, "7")):
        drawing.add(String(250, y, value, fontName=font, fontSize=9, textAnchor="numeric"))
    label = Label(x=200, y=40, fontName=font, fontSize=9, textAnchor="numeric", boxAnchor="e")
    label.setText("3.25")
    boxed = Label(x=200, y=20, fontName=font, fontSize=8, boxStrokeColor=colors.black, boxFillColor=colors.yellow,
                  leftPadding=3, rightPadding=3, angle=15)
    boxed.setText("boxed\nlabel")
    drawing.add(label)
    drawing.add(boxed)
    theirs = one_page(lambda canvas: renderPDF.draw(drawing, canvas, 20, 40))
    ours = one_page(lambda canvas: paint(drawing, canvas, 20, 40))
    assert ours != theirs
    assert page_pixels(ours, tmp_path, "ours") == page_pixels(theirs, tmp_path, "theirs")
    assert word_boxes(ours, tmp_path) == word_boxes(theirs, tmp_path)


def test_shapes_a_chart_never_draws_are_refused(tmp_path):
    from reportlab.graphics.shapes import Drawing, Image, Rect
    from reportlab.pdfgen.canvas import Canvas


    for shape in (Rect(0, 0, 10, 10, fillOpacity=0.5), Rect(0, 0, 10, 10, fillOverprint=True),
                  Image(0, 0, 10, 10, str(tmp_path / "none.png"))):
        drawing = Drawing(100, 100)
        drawing.add(shape)
        with pytest.raises(TypeError, match="cannot paint"):
            paint(drawing, Canvas(io.BytesIO()))


# --- LibreOffice -------------------------------------------------------------------------------


@pytest.mark.slow
def test_libreoffice_draws_native_docx_charts(tmp_path):
    source = tmp_path / "charts.docx"
    source.write_bytes(docx_with_charts(MARKET, SAMPLES["pie"]))
    assert len(docx.Document(str(source)).inline_shapes) == 2  # python-docx opens it again
    pdf = libreoffice(source, "pdf", tmp_path / "out", tmp_path / "profile")
    text = flat(subprocess.run([need("pdftotext"), "-layout", str(pdf), "-"], check=True,
                               capture_output=True, text=True).stdout)
    # Titles, categories and value labels come from the chart parts' caches: LibreOffice drew them.
    for expected in (MARKET.title, "Dark: Reported · Light: Derived (estimate)", "2022", "2026", "3.73", "5.80",
                     "Share by segment", "Programmable pumps", "Constant-rate pumps", "55%"):
        assert expected in text, (expected, text)
    # A picture to look at: tmp_path/out/page-1.png.
    subprocess.run([need("pdftoppm"), "-png", "-r", "60", str(pdf), str(tmp_path / "out" / "page")], check=True)
    assert (tmp_path / "out" / "page-1.png").stat().st_size > 5_000
