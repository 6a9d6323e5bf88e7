"""PDF deliverable: cover, contents, outline and the document body, laid out with reportlab platypus.

Every text from the data goes through `markup` before it reaches a `Paragraph`, because platypus
parses paragraph text as markup. The only font is DejaVu Sans, embedded from matplotlib's bundle,
so no base-14 font (Latin-1 only) appears and every viewer shows the same glyphs. Output is
reproducible: reportlab runs in invariant mode and the creation date comes from the document.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.textlabels import Label
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table as PdfTable,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable
from reportlab.platypus.tableofcontents import TableOfContents

from ..derive import Basis
from ..document import QA, Bullets, Chart, Document, Paragraph as TextParagraph, Section, Table
from ..glyphs import font_folder
from . import RenderJob

__all__ = ["render", "forecast_drawing", "markup", "register_fonts", "FONT"]

FONT = "DejaVuSans"
LANGUAGE = "en-US"  # BCP 47, the form PDF /Lang takes
_FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    f"{FONT}-Bold": "DejaVuSans-Bold.ttf",
    f"{FONT}-Oblique": "DejaVuSans-Oblique.ttf",
    f"{FONT}-BoldOblique": "DejaVuSans-BoldOblique.ttf",
}
BOLD = f"{FONT}-Bold"
ITALIC = f"{FONT}-Oblique"

ACCENT = colors.HexColor("#1F4E79")
ACCENT_LIGHT = colors.HexColor("#9DB8D3")
INK = colors.HexColor("#1D232B")
MUTED = colors.HexColor("#5B6472")
RULE = colors.HexColor("#C9D1DB")
ZEBRA = colors.HexColor("#F1F4F8")

PAGE = A4
MARGIN_X = 22 * mm
MARGIN_TOP = 26 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_WIDTH = PAGE[0] - 2 * MARGIN_X


def markup(text: str) -> str:
    """Escape a data string so that platypus shows it literally instead of parsing it as markup."""
    return escape(text)


@functools.cache
def register_fonts() -> str:
    """Register DejaVu Sans and its bold/oblique faces once per process; return the family name.

    matplotlib is imported only to locate its bundled fonts: importing pyplot would start a
    plotting backend for nothing.
    """
    folder = font_folder()
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / filename)))
    registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=f"{FONT}-BoldOblique")
    return FONT


# --- styles ---------------------------------------------------------------------------------


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14.5, textColor=INK, spaceAfter=7)
    return {
        "body": body,
        "lead": ParagraphStyle("lead", body, fontSize=12, leading=17, spaceAfter=9),
        "note": ParagraphStyle("note", body, fontName=ITALIC, fontSize=8.5, leading=12, textColor=MUTED),
        "h1": ParagraphStyle(
            "h1", body, fontName=BOLD, fontSize=16, leading=20, textColor=ACCENT,
            spaceBefore=16, spaceAfter=8, keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2", body, fontName=BOLD, fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=5, keepWithNext=1,
        ),
        "caption": ParagraphStyle(
            "caption", body, fontName=BOLD, fontSize=9, leading=12, textColor=MUTED, spaceBefore=4, spaceAfter=4,
        ),
        "cell": ParagraphStyle("cell", body, fontSize=9, leading=12, spaceAfter=0),
        "cell-num": ParagraphStyle("cell-num", body, fontSize=9, leading=12, spaceAfter=0, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", body, fontName=BOLD, fontSize=9, leading=12, spaceAfter=0,
                               textColor=colors.white),
        "head-num": ParagraphStyle("head-num", body, fontName=BOLD, fontSize=9, leading=12, spaceAfter=0,
                                   textColor=colors.white, alignment=TA_RIGHT),
        "question": ParagraphStyle("question", body, fontName=BOLD, spaceBefore=4, spaceAfter=2, keepWithNext=1),
        "answer": ParagraphStyle("answer", body, leftIndent=12),
        "bullet": ParagraphStyle("bullet", body, spaceAfter=3),
        "cover-title": ParagraphStyle("cover-title", body, fontName=BOLD, fontSize=28, leading=34,
                                      textColor=ACCENT, spaceAfter=14),
        "cover-subtitle": ParagraphStyle("cover-subtitle", body, fontSize=14, leading=19, textColor=INK,
                                         spaceAfter=28),
        "cover-meta": ParagraphStyle("cover-meta", body, fontSize=11, leading=16, textColor=MUTED, spaceAfter=2),
        "contents": ParagraphStyle("contents", body, fontName=BOLD, fontSize=16, leading=20, textColor=ACCENT,
                                   spaceAfter=14),
        "toc0": ParagraphStyle("toc0", body, fontName=BOLD, fontSize=10, leading=14, spaceBefore=5, spaceAfter=0,
                               leftIndent=0, firstLineIndent=0, rightIndent=28),
        "toc1": ParagraphStyle("toc1", body, fontSize=9.5, leading=13, spaceAfter=0, leftIndent=16,
                               firstLineIndent=0, rightIndent=28),
    }


def _para(text: str, style: str) -> Paragraph:
    return Paragraph(markup(text), _styles()[style])


# --- flowables with a job to do ----------------------------------------------------------------


class _Heading(Paragraph):
    """A section title that drops a bookmark and an outline entry where it is drawn."""

    def __init__(self, text, style, *args, key: str | None = None, title: str = "", level: int = 0, **kwargs):
        super().__init__(text, style, *args, **kwargs)
        self.key, self.title, self.outline_level = key, title, level

    def split(self, availWidth, availHeight):
        parts = super().split(availWidth, availHeight)
        if parts:  # only the first part may carry the bookmark, or the outline would list it twice
            parts[0].key, parts[0].title, parts[0].outline_level = self.key, self.title, self.outline_level
        return parts

    def draw(self):
        super().draw()
        if self.key:
            self.canv.bookmarkHorizontal(self.key, 0, self.height + 4)
            self.canv.addOutlineEntry(self.title, self.key, level=self.outline_level)


class _PageCount(Flowable):
    """Learn the page count in one pass so the footers of the next pass can say "of N".

    It takes part in `multiBuild` as an indexing flowable: the build repeats until the count the
    footers used equals the count the pass produced.
    """

    def __init__(self):
        super().__init__()
        self.total = 0  # what the footers of this pass print
        self._seen = 0  # where this pass ended

    def isIndexing(self):
        return 1

    def beforeBuild(self):
        self.total, self._seen = self._seen, 0

    def afterBuild(self):
        pass

    def notify(self, kind, stuff):
        pass

    def isSatisfied(self):
        return self.total == self._seen

    def wrap(self, availWidth, availHeight):
        return 0, 0

    def draw(self):
        self._seen = self.canv.getPageNumber()


class _ReportTemplate(BaseDocTemplate):
    """Build the report with a dated, outline-first canvas and feed headings to the contents page."""

    def __init__(self, buffer, document: Document, **kwargs):
        self.document = document
        self.page_count = _PageCount()
        super().__init__(buffer, **kwargs)

    def beforeDocument(self):
        self.canv.showOutline()
        self.canv.setDateFormatter(functools.partial(_pdf_date, self.document.meta.created))

    def afterFlowable(self, flowable):
        if isinstance(flowable, _Heading) and flowable.key:
            self.notify("TOCEntry", (flowable.outline_level, markup(flowable.title), self.page, flowable.key))


def _pdf_date(created: dt.datetime, *_ignored) -> str:
    """Format the document's own date for the PDF Info dictionary (the clock is never read)."""
    if created.tzinfo is not None:
        created = created.astimezone(dt.timezone.utc)
    return created.strftime("D:%Y%m%d%H%M%S+00'00'")


# --- page decoration ---------------------------------------------------------------------------


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Shorten *text* with an ellipsis until it fits *width*."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _decorate_page(canvas, doc: _ReportTemplate):
    """Draw the running header (report title) and footer (date, publisher, page X of Y)."""
    document = doc.document
    width, height = PAGE
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.setFillColor(MUTED)
    top = height - MARGIN_TOP + 10 * mm
    canvas.drawString(MARGIN_X, top, _fit(document.title, FONT, 8, FRAME_WIDTH))
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN_X, top - 2.5 * mm, width - MARGIN_X, top - 2.5 * mm)
    bottom = MARGIN_BOTTOM - 10 * mm
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_X, bottom + 4 * mm, width - MARGIN_X, bottom + 4 * mm)
    page = f"Page {canvas.getPageNumber()} of {doc.page_count.total or '?'}"
    canvas.drawRightString(width - MARGIN_X, bottom, page)
    left = f"As of {document.as_of.isoformat()} · {document.publisher}"
    canvas.drawString(MARGIN_X, bottom, _fit(left, FONT, 8, FRAME_WIDTH - stringWidth(page, FONT, 8) - 10 * mm))
    canvas.restoreState()


def _page_templates() -> list[PageTemplate]:
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, FRAME_WIDTH, PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    return [
        PageTemplate(id="cover", frames=[frame]),
        PageTemplate(id="body", frames=[frame], onPage=_decorate_page),
    ]


# --- the chart -----------------------------------------------------------------------------------


def _nice_axis(top: float) -> tuple[float, float]:
    """Return an axis maximum and step that leave room for value labels above the tallest bar."""
    if top <= 0:
        return 1.0, 0.2
    raw = top * 1.12 / 7
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(top * 1.12 / step) * step, step


def forecast_drawing(chart: Chart, width: float = FRAME_WIDTH, height: float = 240) -> Drawing:
    """Draw the forecast as vector columns: reported in the accent colour, derived lighter.

    The bar chart is reachable as ``drawing.chart`` so callers (and tests) can read its data.
    """
    register_fonts()
    points = chart.forecast.points
    drawing = Drawing(width, height, initialFontName=FONT)  # else the renderer's state starts in Helvetica
    bars = VerticalBarChart()
    bars.x, bars.y = 58, 48
    bars.width, bars.height = width - bars.x - 10, height - bars.y - 38
    bars.data = [[p.value for p in points]]
    bars.barWidth = 2
    bars.groupSpacing = 1
    bars.strokeColor = None
    bars.bars.strokeColor = None
    for i, point in enumerate(points):
        bars.bars[(0, i)].fillColor = ACCENT if point.basis is Basis.reported else ACCENT_LIGHT
    bars.barLabelFormat = "%.2f"
    bars.barLabels.fontName = FONT
    bars.barLabels.fontSize = 7.5
    bars.barLabels.fillColor = INK
    bars.barLabels.boxAnchor = "s"
    bars.barLabels.nudge = 3

    bars.categoryAxis.categoryNames = [str(p.year) for p in points]
    bars.categoryAxis.labels.fontName = FONT
    bars.categoryAxis.labels.fontSize = 8
    bars.categoryAxis.labels.fillColor = INK
    bars.categoryAxis.strokeColor = MUTED
    bars.categoryAxis.tickDown = 0

    top, step = _nice_axis(max(p.value for p in points))
    axis = bars.valueAxis
    axis.valueMin, axis.valueMax, axis.valueStep = 0, top, step
    axis.labels.fontName = FONT
    axis.labels.fontSize = 8
    axis.labels.fillColor = MUTED
    axis.strokeColor = None
    axis.visibleGrid = 1
    axis.gridStrokeColor = RULE
    axis.gridStrokeWidth = 0.4
    axis.tickLeft = 0
    drawing.add(bars, name="chart")

    legend = Legend()
    legend.alignment = "right"
    legend.x, legend.y = bars.x, height - 8
    legend.columnMaximum = 1
    legend.deltax = 120
    legend.fontName = FONT
    legend.fontSize = 8
    legend.fillColor = INK
    legend.boxAnchor = "nw"
    legend.dxTextSpace = 5
    legend.strokeColor = None
    legend.colorNamePairs = [(ACCENT, Basis.reported.label), (ACCENT_LIGHT, Basis.derived.label)]
    drawing.add(legend, name="legend")

    drawing.add(String(bars.x + bars.width / 2, 12, chart.x_label, fontName=FONT, fontSize=8.5,
                       fillColor=MUTED, textAnchor="middle"), name="x_label")
    y_label = Label()
    y_label.setOrigin(12, bars.y + bars.height / 2)
    y_label.angle = 90
    y_label.setText(chart.y_label)
    y_label.fontName, y_label.fontSize, y_label.fillColor = FONT, 8.5, MUTED
    y_label.boxAnchor = "c"
    drawing.add(y_label, name="y_label")
    return drawing


# --- blocks --------------------------------------------------------------------------------------


def _column_widths(table: Table, width: float) -> list[float]:
    """Share *width* among the columns by their longest text, so layout never depends on a pass."""
    columns = len(table.header)
    weights = []
    for i in range(columns):
        longest = max(len(row[i]) if i < len(row) else 0 for row in (table.header, *table.rows))
        weights.append(min(max(longest, 8), 48))
    total = sum(weights)
    return [width * w / total for w in weights]


def _table(table: Table) -> list[Flowable]:
    numeric = list(table.numeric) + [False] * (len(table.header) - len(table.numeric))
    head = [_para(text, "head-num" if num else "head") for text, num in zip(table.header, numeric)]
    rows = [
        [_para(text, "cell-num" if num else "cell") for text, num in zip(row, numeric)]
        for row in table.rows
    ]
    grid = PdfTable(
        [head, *rows],
        colWidths=_column_widths(table, FRAME_WIDTH),
        repeatRows=1,
        splitInRow=1,  # a row longer than a page splits instead of raising LayoutError
        hAlign="LEFT",
    )
    grid.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),  # the cell default is Helvetica, even around Paragraphs
                ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
                ("LINEBELOW", (0, -1), (-1, -1), 0.6, ACCENT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [_para(table.caption, "caption"), grid, Spacer(1, 12)]


def _chart(chart: Chart) -> list[Flowable]:
    figure = KeepTogether([forecast_drawing(chart), Spacer(1, 4), _para(chart.title, "caption")])
    return [figure, Spacer(1, 8)]


def _bullets(bullets: Bullets) -> list[Flowable]:
    items = [ListItem(_para(item, "bullet"), value="•") for item in bullets.items]
    return [
        ListFlowable(items, bulletType="bullet", start="•", bulletFontName=FONT, bulletFontSize=9,
                     bulletColor=ACCENT, leftIndent=14, bulletDedent=10, spaceAfter=6)
    ]


def _qa(qa: QA) -> list[Flowable]:
    return [
        Paragraph(f"{qa.number}. {markup(qa.question)}", _styles()["question"]),
        _para(qa.answer, "answer"),
    ]


def _paragraph(paragraph: TextParagraph) -> list[Flowable]:
    style = paragraph.role if paragraph.role in ("lead", "note") else "body"
    return [_para(paragraph.text, style)]


_BLOCKS = {TextParagraph: _paragraph, Bullets: _bullets, Table: _table, Chart: _chart, QA: _qa}


def _block(block) -> list[Flowable]:
    try:
        return _BLOCKS[type(block)](block)
    except KeyError:
        raise TypeError(f"the PDF renderer cannot lay out a {type(block).__name__} block") from None


def _section(section: Section, index: int, outline_level: int) -> list[Flowable]:
    style = _styles()["h1" if section.level <= 1 else "h2"]
    heading = _Heading(markup(section.title), style, key=f"section-{index}", title=section.title,
                       level=outline_level)
    story: list[Flowable] = [heading]
    for block in section.blocks:
        story += _block(block)
    return story


# --- the story -------------------------------------------------------------------------------------


def _cover(document: Document) -> list[Flowable]:
    return [
        Spacer(1, 55 * mm),
        HRFlowable(width="22%", thickness=4, color=ACCENT, hAlign="LEFT", spaceAfter=12 * mm),
        _para(document.title, "cover-title"),
        _para(document.subtitle, "cover-subtitle"),
        _para(f"As of {document.as_of.isoformat()}", "cover-meta"),
        _para(document.publisher, "cover-meta"),
    ]


def _contents() -> list[Flowable]:
    layout = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), FONT, 10),  # the cell default is Helvetica, a base-14 font
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ]
    )
    toc = TableOfContents(levelStyles=[_styles()["toc0"], _styles()["toc1"]], dotsMinLevel=0, tableStyle=layout)
    return [Paragraph("Contents", _styles()["contents"]), toc]


def _outline_levels(sections: tuple[Section, ...]) -> list[int]:
    """Map section levels to outline levels that never skip one (the PDF outline forbids it)."""
    levels, previous = [], -1
    for section in sections:
        level = max(0, min(section.level - 1, previous + 1))
        levels.append(level)
        previous = level
    return levels


def build_story(document: Document, page_count: Flowable) -> list[Flowable]:
    """Lay out the cover, the contents page and every section of *document* as flowables."""
    story = _cover(document)
    story += [NextPageTemplate("body"), PageBreak(), *_contents(), PageBreak()]
    for index, (section, level) in enumerate(zip(document.sections, _outline_levels(document.sections))):
        story += _section(section, index, level)
    story.append(page_count)
    return story


def render(job: RenderJob) -> bytes:
    """Render the job's document as PDF bytes."""
    register_fonts()
    document = job.document
    meta = document.meta
    buffer = io.BytesIO()
    template = _ReportTemplate(
        buffer,
        document,
        pagesize=PAGE,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=meta.title,
        author=meta.author,
        subject=meta.subject,
        keywords=list(meta.keywords),
        creator="exporter",
        invariant=1,
        initialFontName=FONT,  # else every page's resources name Helvetica, a base-14 font
        displayDocTitle=1,
        lang=LANGUAGE,  # the catalog's /Lang: screen readers pick their voice and rules by it
    )
    template.addPageTemplates(_page_templates())
    template.multiBuild(build_story(document, template.page_count))
    return buffer.getvalue()
