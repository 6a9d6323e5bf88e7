"""PDF deliverable: cover, contents, outline and the document body, laid out with reportlab platypus.

Every text from the data goes through `markup` before it reaches a `Paragraph`, because platypus
parses paragraph text as markup. The only font is DejaVu Sans, embedded from matplotlib's bundle,
so no base-14 font (Latin-1 only) appears and every viewer shows the same glyphs. Output is
reproducible: reportlab runs in invariant mode and the creation date comes from the document.
The report is laid out once: the contents page's page numbers and the footers' "of N" are
placeholders filled in when the last page is done (`pdflater`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import io
import itertools
from pathlib import Path
from xml.sax.saxutils import escape

from . import reportlab_speed  # noqa: F401 -- first: faster streams, no shape checks (see there)

# isort: split

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    LongTable,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table as PdfTable,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from ..core.document import (
    QA,
    WORKBOOK_ONLY,
    Bullets,
    Chart,
    Document,
    Figures,
    Paragraph as TextParagraph,
    Section,
    Table,
)
from ..core.messages import Words
from ..source.glyphs import covered, font_folder
from . import RenderJob, RenderOptions
from .pdflater import Contents, Later, LaterCanvas
from .pdfparagraph import Paragraph as _Paragraph
from .theme import DEFAULT_THEME, PdfFonts, Theme
from .vectorchart import chart_drawing

__all__ = ["render", "render_with", "chart_drawing", "markup", "register_fonts", "FONT"]

FONT = DEFAULT_THEME.pdf_font  # the family the files below provide
_FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    f"{FONT}-Bold": "DejaVuSans-Bold.ttf",
    f"{FONT}-Oblique": "DejaVuSans-Oblique.ttf",
    f"{FONT}-BoldOblique": "DejaVuSans-BoldOblique.ttf",
}
BOLD = f"{FONT}-Bold"
ITALIC = f"{FONT}-Oblique"

_PAGES = {"A4": A4, "Letter": LETTER}
LOGO_WIDTH = 40 * mm
CHART_HEIGHT = 240  # points
HEADING_ROOM = 60  # points: a heading and the space around it
TABLE_START = 80  # points: a table's caption, header and first rows start a page rather than end one
CARDS_PER_ROW = 4
CARD_VALUE_SIZES = (18, 16, 14, 12, 11, 10)  # points: a card's value takes the largest that fits
CARD_PADDING = 16  # points left and right of a card's text


class _Look:
    """The theme in reportlab's units: colours, page size and margins."""

    def __init__(self, theme: Theme):
        self.theme = theme
        self.accent = colors.HexColor(f"#{theme.accent}")
        self.secondary = colors.HexColor(f"#{theme.secondary}")
        self.ink = colors.HexColor(f"#{theme.ink}")
        self.muted = colors.HexColor(f"#{theme.muted}")
        self.rule = colors.HexColor(f"#{theme.rule}")
        self.zebra = colors.HexColor(f"#{theme.zebra}")
        self.page = _PAGES[theme.page_size]
        self.margin_x = theme.margin_side_mm * mm
        self.margin_top = theme.margin_top_mm * mm
        self.margin_bottom = theme.margin_bottom_mm * mm
        self.frame_width = self.page[0] - 2 * self.margin_x
        # The embedded faces: the theme's TrueType files, else DejaVu Sans.
        self.font, self.bold, self.italic = (register_theme_fonts(theme.pdf_fonts) if theme.pdf_fonts
                                             else (FONT, BOLD, ITALIC))
        # Fallback fonts draw the characters the faces lack (a CJK font beside a Latin one).
        self.covered = covered(theme.font_files)
        self.fallbacks = tuple((register_fallback_font(path), covered((path,))) for path in theme.fallback_fonts)

    def markup(self, text: str) -> str:
        """*text* as paragraph markup: escaped, and runs the faces lack set in the fallback that has them."""
        if not self.fallbacks or self.covered.issuperset(map(ord, text)):
            return escape(text)
        out = []
        for font, run in itertools.groupby(text, key=self._font_of):
            run_text = escape("".join(run))
            out.append(run_text if font is None else f'<font name="{font}">{run_text}</font>')
        return "".join(out)

    def _font_of(self, char: str) -> str | None:
        if ord(char) in self.covered or char in "\n\t":
            return None
        return next((name for name, have in self.fallbacks if ord(char) in have), None)

    def font_for(self, text: str) -> str:
        """One font for a whole string drawn without markup (a header, a chart label): the faces' or a fallback's."""
        needed = set(map(ord, text))
        if self.covered.issuperset(needed):
            return self.font
        return next((name for name, have in self.fallbacks if have.issuperset(needed)),
                    self.fallbacks[0][0] if self.fallbacks else self.font)


@functools.cache
def _look(theme: Theme) -> _Look:
    return _Look(theme)


_DEFAULT = _look(DEFAULT_THEME)
ACCENT = _DEFAULT.accent
ACCENT_LIGHT = _DEFAULT.secondary
INK = _DEFAULT.ink
MUTED = _DEFAULT.muted


def markup(text: str) -> str:
    """Escape a data string so that platypus shows it literally instead of parsing it as markup."""
    return escape(text)


@functools.cache
def register_theme_fonts(fonts: PdfFonts) -> tuple[str, str, str]:
    """Register a theme's four faces once per process under names of their own; return (regular, bold, italic)."""
    tag = hashlib.sha1("\0".join(str(p) for p in (fonts.regular, fonts.bold, fonts.italic, fonts.bold_italic))
                       .encode()).hexdigest()[:10]
    names = {f"Theme{tag}": fonts.regular, f"Theme{tag}-Bold": fonts.bold, f"Theme{tag}-Italic": fonts.italic,
             f"Theme{tag}-BoldItalic": fonts.bold_italic}
    for name, path in names.items():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    regular, bold, italic, bold_italic = names
    registerFontFamily(regular, normal=regular, bold=bold, italic=italic, boldItalic=bold_italic)
    return regular, bold, italic


@functools.cache
def register_fallback_font(path: Path) -> str:
    """Register a theme's fallback font once per process under a name of its own; return the name."""
    name = "Fallback" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


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
def _styles(theme: Theme = DEFAULT_THEME) -> dict[str, ParagraphStyle]:
    register_fonts()
    look = _look(theme)
    ACCENT, INK, MUTED, size = look.accent, look.ink, look.muted, theme.base_size  # noqa: N806
    FONT, BOLD, ITALIC = look.font, look.bold, look.italic  # noqa: N806
    body = ParagraphStyle("body", fontName=FONT, fontSize=size, leading=size * 1.45, textColor=INK, spaceAfter=7)
    return {
        "body": body,
        "lead": ParagraphStyle("lead", body, fontSize=12, leading=17, spaceAfter=9),
        "note": ParagraphStyle("note", body, fontName=ITALIC, fontSize=8.5, leading=12, textColor=MUTED),
        "source": ParagraphStyle("source", body, fontSize=8, leading=10, textColor=MUTED, spaceAfter=0),
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
        "card-value": ParagraphStyle("card-value", body, fontName=BOLD, fontSize=18, leading=22, textColor=ACCENT,
                                     spaceAfter=2),
        "card-label": ParagraphStyle("card-label", body, fontSize=9, leading=12, textColor=MUTED, spaceAfter=0),
        "question": ParagraphStyle("question", body, fontName=BOLD, spaceBefore=4, spaceAfter=2, keepWithNext=1),
        "answer": ParagraphStyle("answer", body, leftIndent=12),
        "bullet": ParagraphStyle("bullet", body, spaceAfter=3),
        "cover-title": ParagraphStyle("cover-title", body, fontName=BOLD, fontSize=28, leading=34,
                                      textColor=ACCENT, spaceAfter=14),
        "cover-edition": ParagraphStyle("cover-edition", body, fontName=BOLD, fontSize=14, leading=19,
                                        textColor=ACCENT, spaceBefore=4),
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


def _para(text: str, style: str, theme: Theme = DEFAULT_THEME) -> Paragraph:
    return _Paragraph(_look(theme).markup(text), _styles(theme)[style])


# --- flowables with a job to do ----------------------------------------------------------------


class _Heading(_Paragraph):
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


class _ReportTemplate(BaseDocTemplate):
    """Build the report with a dated, outline-first canvas; note each heading's page and the page count."""

    def __init__(self, buffer, document: Document, look: _Look, **kwargs):
        self.document = document
        self.look = look
        self.later = Later()
        super().__init__(buffer, **kwargs)

    def beforeDocument(self):
        # reportlab seeds the file's /ID from SOURCE_DATE_EPOCH in the environment of the process
        # that renders; seed it from the document's own date so that every worker writes the same bytes.
        signature = hashlib.md5(b"a reportlab document", usedforsecurity=False)
        signature.update(self.document.meta.created.isoformat().encode())
        self.canv._doc.signature = signature
        self.canv.showOutline()
        self.canv.setDateFormatter(functools.partial(_pdf_date, self.document.meta.created))

    def afterFlowable(self, flowable):
        if isinstance(flowable, _Heading) and flowable.key:
            self.later.pages[flowable.key] = self.page

    def afterPage(self):
        self.later.total = self.page


def _pdf_date(created: dt.datetime, *_ignored) -> str:
    """Format the document's own date for the PDF Info dictionary (the clock is never read)."""
    if created.tzinfo is not None:
        created = created.astimezone(dt.UTC)
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
    document, look = doc.document, doc.look
    width, height = look.page
    margin_x, frame_width = look.margin_x, look.frame_width
    canvas.saveState()
    font, theme = look.font, look.theme
    canvas.setFont(font, 8)
    canvas.setFillColor(look.muted)
    top = height - look.margin_top + 10 * mm
    header = theme.header or document.title
    canvas.setFont(look.font_for(header), 8)
    canvas.drawString(margin_x, top, _fit(header, look.font_for(header), 8, frame_width))
    canvas.setFont(font, 8)
    canvas.setStrokeColor(look.accent)
    canvas.setLineWidth(0.8)
    canvas.line(margin_x, top - 2.5 * mm, width - margin_x, top - 2.5 * mm)
    bottom = look.margin_bottom - 10 * mm
    canvas.setStrokeColor(look.rule)
    canvas.setLineWidth(0.5)
    canvas.line(margin_x, bottom + 4 * mm, width - margin_x, bottom + 4 * mm)
    # "of N" is known when the last page is done, and the footer's left text makes room for it.
    number = canvas.getPageNumber()
    doc.later.draw(canvas, f"footer-{number}", lambda late: _footer(late, doc, number, doc.later.total))
    canvas.restoreState()


def _footer(canvas, doc: _ReportTemplate, number: int, total: int):
    """The footer's texts: date and publisher (or the theme's footer) left, "Page X of Y" right."""
    document, look = doc.document, doc.look
    font, margin_x, frame_width = look.font, look.margin_x, look.frame_width
    bottom = look.margin_bottom - 10 * mm
    canvas.setFont(font, 8)
    canvas.setFillColor(look.muted)
    page = document.words("page_of", page=str(number), pages=str(total))
    canvas.drawRightString(look.page[0] - margin_x, bottom, page)
    left = look.theme.footer or f"{document.words('as_of', date=document.as_of_text)} · {document.publisher}"
    canvas.setFont(look.font_for(left), 8)
    canvas.drawString(margin_x, bottom, _fit(left, look.font_for(left), 8,
                                             frame_width - stringWidth(page, font, 8) - 10 * mm))


def _page_templates(look: _Look) -> list[PageTemplate]:
    frame = Frame(look.margin_x, look.margin_bottom, look.frame_width,
                  look.page[1] - look.margin_top - look.margin_bottom, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    return [
        PageTemplate(id="cover", frames=[frame]),
        PageTemplate(id="body", frames=[frame], onPage=_decorate_page),
    ]


# --- blocks --------------------------------------------------------------------------------------


def _column_widths(table: Table, width: float, look: _Look) -> list[float]:
    """Share *width* among the columns, so layout never depends on a pass.

    Each column gets at least its longest word (a figure or date never breaks), then the rest of
    the width in proportion to how much more its longest text wants; when everything fits on one
    line, columns grow in proportion to their text.
    """
    columns = len(table.header)
    numeric = list(table.numeric) + [False] * (columns - len(table.numeric))
    sample = (table.header, *table.rows[:WIDTH_SAMPLE_ROWS])
    natural, least = [], []
    for i in range(columns):
        # The header row is set in bold.
        texts = [(row[i] if i < len(row) else "", look.bold if n == 0 else look.font) for n, row in enumerate(sample)]
        longest = max(stringWidth(text, font, 9) for text, font in texts) + CELL_PADDING
        word = max((stringWidth(w, font, 9) for text, font in texts for w in text.split()), default=0) + CELL_PADDING
        natural.append(max(min(longest, width * 0.6), MIN_COLUMN))
        least.append(max(min(longest if numeric[i] else word, width * 0.4), MIN_COLUMN))
    if sum(natural) <= width:
        return [width * n / sum(natural) for n in natural]
    if sum(least) >= width:
        return [width * n / sum(least) for n in least]
    spare, wants = width - sum(least), [n - m for n, m in zip(natural, least)]
    return [m + spare * w / sum(wants) for m, w in zip(least, wants)]


CELL_PADDING = 14  # points: the cell's left and right padding, and a little air
MIN_COLUMN = 36  # points
WIDTH_SAMPLE_ROWS = 200


# Tables longer than this are data tables: their cells are drawn as plain strings where they fit
# (a Paragraph per cell costs ~50x more) and they split page by page as a LongTable.
LONG_TABLE_ROWS = 200
PLAIN_ROW_HEIGHT = 12 + 4 + 4  # leading and paddings of the table style below


def _table(table: Table, number: int, look: _Look, words: Words) -> list[Flowable]:
    theme = look.theme
    numeric = list(table.numeric) + [False] * (len(table.header) - len(table.numeric))
    widths = _column_widths(table, look.frame_width, look)
    head = [_para(text, "head-num" if num else "head", theme) for text, num in zip(table.header, numeric)]
    long = len(table.rows) > LONG_TABLE_ROWS
    rows = [
        [_cell(text, num, width, long, theme) for text, num, width in zip(row, numeric, widths)]
        for row in table.rows
    ]
    # A row of plain strings is one line high: stating it spares measuring every row at every page split.
    heights = [None] + [PLAIN_ROW_HEIGHT if all(isinstance(c, str) for c in row) else None for row in rows]
    grid = (LongTable if long else PdfTable)(
        [head, *rows],
        colWidths=widths,
        rowHeights=heights if long else None,
        repeatRows=1,
        splitInRow=1,  # a row longer than a page splits instead of raising LayoutError
        hAlign="LEFT",
    )
    grid.setStyle(
        TableStyle(
            [
                *[("ALIGN", (i, 1), (i, -1), "RIGHT") for i, num in enumerate(numeric) if num],
                ("TEXTCOLOR", (0, 1), (-1, -1), look.ink),
                ("LEADING", (0, 1), (-1, -1), 12),
                ("FONT", (0, 0), (-1, -1), look.font, 9),  # the cell default is Helvetica, even around Paragraphs
                ("BACKGROUND", (0, 0), (-1, 0), look.accent),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, look.zebra]),
                ("LINEBELOW", (0, -1), (-1, -1), 0.6, look.accent),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    # Numbered as in the Word file ("Table 1: ..."), which numbers them with SEQ fields. The caption
    # starts a new page rather than sit alone at the foot of one.
    caption = _para(f"{words('table')} {number}: {table.caption}", "caption", theme)
    return [CondPageBreak(TABLE_START), caption, grid, Spacer(1, 12)]


def _cell(text: str, numeric: bool, width: float, plain: bool, theme: Theme) -> Flowable | str:
    """A table cell: a plain string (drawn as is, never read as markup) when allowed and it fits, else a Paragraph."""
    look = _look(theme)
    if plain and "\n" not in text and look.covered.issuperset(map(ord, text)) and stringWidth(text, look.font, 9) <= width - 12:
        return text
    return _para(text, "cell-num" if numeric else "cell", theme)


def _chart(chart: Chart, number: int, look: _Look, publisher: str, words: Words) -> list[Flowable]:
    theme = look.theme
    register_fonts()
    figure = KeepTogether([
        chart_drawing(chart, theme, width=look.frame_width, height=CHART_HEIGHT, font=look.font_for(_chart_text(chart))),
        Spacer(1, 4),
        _para(f"{words('figure')} {number}: {chart.title}", "caption", theme),
        _para(theme.source_line(publisher, chart.has_derived, words.language), "source", theme),
    ])
    return [figure, Spacer(1, 10)]


def _chart_text(chart: Chart) -> str:
    """Every text a chart draws (its labels share one font)."""
    return "".join((chart.x_label, chart.y_label, *map(str, chart.categories), *(s.name for s in chart.series),
                    *chart.basis_labels))


def _cards(block: Figures, look: _Look) -> list[Flowable]:
    """Key figures as cards: a large value over its label, up to four in a row."""
    styles = _styles(look.theme)
    per_row = min(len(block.figures), CARDS_PER_ROW)
    cells: list[list[Flowable] | str] = []
    width = look.frame_width / per_row
    # The largest size at which the longest value fits its card on one line.
    fits = [size for size in CARD_VALUE_SIZES
            if max(stringWidth(f.text, look.bold, size) for f in block.figures) <= width - CARD_PADDING]
    size = fits[0] if fits else CARD_VALUE_SIZES[-1]
    value_style = ParagraphStyle("card-value", styles["card-value"], fontSize=size, leading=size * 1.2)
    for figure in block.figures:
        parts = [_Paragraph(look.markup(figure.text), value_style), _para(figure.label, "card-label", look.theme)]
        if figure.note:
            parts.append(_para(figure.note, "source", look.theme))
        cells.append(parts)
    rows: list[list[list[Flowable] | str]] = [cells[i:i + per_row] for i in range(0, len(cells), per_row)]
    rows[-1] += [""] * (per_row - len(rows[-1]))
    grid = PdfTable(rows, colWidths=[width] * per_row, hAlign="LEFT")
    grid.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), look.font, 10),  # the cell default is Helvetica, a base-14 font
        ("BACKGROUND", (0, 0), (-1, -1), look.zebra),
        ("LINEBEFORE", (1, 0), (-1, -1), 3, colors.white),
        ("LINEBELOW", (0, 0), (-1, -2), 3, colors.white),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
        ("LEFTPADDING", (0, 0), (-1, -1), CARD_PADDING / 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), CARD_PADDING / 2),
    ]))
    return [grid, Spacer(1, 12)]


def _bullets(bullets: Bullets, look: _Look) -> list[Flowable]:
    items = [ListItem(_para(item, "bullet", look.theme), value="•") for item in bullets.items]
    return [
        ListFlowable(items, bulletType="bullet", start="•", bulletFontName=look.font, bulletFontSize=9,
                     bulletColor=look.accent, leftIndent=14, bulletDedent=10, spaceAfter=6)
    ]


def _qa(qa: QA, look: _Look) -> list[Flowable]:
    return [
        _Paragraph(f"{qa.number}. {look.markup(qa.question)}", _styles(look.theme)["question"]),
        _para(qa.answer, "answer", look.theme),
    ]


def _paragraph(paragraph: TextParagraph, look: _Look) -> list[Flowable]:
    style = paragraph.role if paragraph.role in ("lead", "note") else "body"
    return [_para(paragraph.text, style, look.theme)]


class _Numbers:
    """Running caption numbers per kind ("Table", "Figure"), counted in reading order."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def next(self, kind: str) -> int:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.counts[kind]


def _block(block, look: _Look, numbers: _Numbers, publisher: str, words: Words) -> list[Flowable]:
    kind = type(block)
    if kind is Table:
        return _table(block, numbers.next("Table"), look, words)
    if kind is Chart:
        return _chart(block, numbers.next("Figure"), look, publisher, words)
    if kind is TextParagraph:
        return _paragraph(block, look)
    if kind is Bullets:
        return _bullets(block, look)
    if kind is QA:
        return _qa(block, look)
    if kind is Figures:
        if block.style == "table":
            return _table(block.as_table(), numbers.next("Table"), look, words)
        return _cards(block, look)
    if isinstance(block, WORKBOOK_ONLY):
        return []
    raise TypeError(f"the PDF renderer cannot lay out a {kind.__name__} block")


def _section(
    section: Section, index: int, outline_level: int, look: _Look, numbers: _Numbers, publisher: str, words: Words
) -> list[Flowable]:
    style = _styles(look.theme)["h1" if section.level <= 1 else "h2"]
    heading = _Heading(look.markup(section.title), style, key=_key(index), title=section.title,
                       level=outline_level)
    story: list[Flowable] = [heading]
    first = section.blocks[0] if section.blocks else None
    # A heading must not stay behind at the foot of a page its chart or table does not start on
    # (both begin with a conditional page break of their own, which would fall after the heading).
    if isinstance(first, Chart):
        story.insert(0, CondPageBreak(CHART_HEIGHT + HEADING_ROOM))
    elif isinstance(first, Table):
        story.insert(0, CondPageBreak(TABLE_START + HEADING_ROOM))
    for block in section.blocks:
        story += _block(block, look, numbers, publisher, words)
    return story


# --- the story -------------------------------------------------------------------------------------


def _logo(path) -> Image:
    """The theme's logo, LOGO_WIDTH wide at its own aspect ratio, flush left."""
    from reportlab.lib.utils import ImageReader

    width, height = ImageReader(str(path)).getSize()
    return Image(str(path), width=LOGO_WIDTH, height=LOGO_WIDTH * height / width, hAlign="LEFT")


def _cover(document: Document, look: _Look) -> list[Flowable]:
    theme = look.theme
    top: list[Flowable] = [Spacer(1, 55 * mm)]
    if theme.logo is not None:
        top = [Spacer(1, 20 * mm), _logo(theme.logo), Spacer(1, 20 * mm)]
    return [
        *top,
        HRFlowable(width="22%", thickness=4, color=look.accent, hAlign="LEFT", spaceAfter=12 * mm),
        _para(document.title, "cover-title", theme),
        _para(document.subtitle, "cover-subtitle", theme),
        *([_para(document.edition, "cover-edition", theme)] if document.edition else []),
        _para(document.words("as_of", date=document.as_of_text), "cover-meta", theme),
        _para(document.publisher, "cover-meta", theme),
    ]


def _contents(theme: Theme, words: Words, entries: list[tuple[int, str, str]], later: Later) -> list[Flowable]:
    layout = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), _look(theme).font, 10),  # the cell default is Helvetica, a base-14 font
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ]
    )
    styles = _styles(theme)
    toc = Contents(entries, later, levelStyles=[styles["toc0"], styles["toc1"]], dotsMinLevel=0, tableStyle=layout)
    return [Paragraph(_look(theme).markup(words("contents")), styles["contents"]), toc]


def _outline_levels(sections: tuple[Section, ...]) -> list[int]:
    """Map section levels to outline levels that never skip one (the PDF outline forbids it)."""
    levels, previous = [], -1
    for section in sections:
        level = max(0, min(section.level - 1, previous + 1))
        levels.append(level)
        previous = level
    return levels


def build_story(document: Document, later: Later, theme: Theme = DEFAULT_THEME) -> list[Flowable]:
    """Lay out the cover, the contents page and every section of *document* as flowables."""
    look = _look(theme)
    numbers = _Numbers()
    levels = _outline_levels(document.sections)
    entries = [(level, look.markup(section.title), _key(index)) for index, (section, level)
               in enumerate(zip(document.sections, levels))]
    story = _cover(document, look)
    story += [NextPageTemplate("body"), PageBreak(), *_contents(theme, document.words, entries, later), PageBreak()]
    for index, (section, level) in enumerate(zip(document.sections, levels)):
        story += _section(section, index, level, look, numbers, document.publisher, document.words)
    return story


def _key(index: int) -> str:
    """The bookmark of the *index*-th section's heading (the outline and the contents page link to it)."""
    return f"section-{index}"


def render_with(job: RenderJob, theme: Theme) -> bytes:
    """Render the job's document as PDF bytes in *theme*."""
    return render(dataclasses.replace(job, options=RenderOptions(theme)))


def render(job: RenderJob) -> bytes:
    """Render the job's document as PDF bytes."""
    theme = job.options.theme
    register_fonts()
    look = _look(theme)
    document = job.document
    meta = document.meta
    buffer = io.BytesIO()
    template = _ReportTemplate(
        buffer,
        document,
        look,
        pagesize=look.page,
        leftMargin=look.margin_x,
        rightMargin=look.margin_x,
        topMargin=look.margin_top,
        bottomMargin=look.margin_bottom,
        title=meta.title,
        author=meta.author,
        subject=meta.subject,
        keywords=list(meta.keywords),
        creator=theme.creator,  # empty unless a theme names one: client files do not advertise the tool
        invariant=1,
        initialFontName=look.font,  # else every page's resources name Helvetica, a base-14 font
        displayDocTitle=1,
        lang=document.language,  # the catalog's /Lang: screen readers pick their voice and rules by it
    )
    template.addPageTemplates(_page_templates(look))
    later = template.later
    template.build(build_story(document, later, theme), canvasmaker=functools.partial(LaterCanvas, later=later))
    return buffer.getvalue()
