"""Numbers a PDF page shows before they are known: left as placeholders in the page, filled in at the end.

The contents page lists the page of every section and each footer says "Page X of Y", but those
pages are known only once the whole document is laid out. Rather than lay it out twice
(reportlab's `multiBuild`, until the numbers settle), the report is laid out once: where such a
number goes, the page's content gets a placeholder line, and when the last page is done, just
before the file is written, each placeholder is replaced by the drawing of its number (wrapped in
its own graphics state, `q … Q`, as a form would be). The layout never depends on these numbers: a
contents entry wraps in the width left of the numbers' column (its style's right indent), and the
footer is drawn outside the body's frame.

Every number is drawn with the canvas calls the page itself would have made, at the same
coordinates: the pages look exactly as a second pass would have drawn them. Characters drawn late
are added to the embedded font subsets like any other, since they are drawn before the file is
written. (Until 2026-11-30 each number was a form XObject: seventeen more objects in the shipped
report, 1.5 ms of its 25.)
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable

from reportlab.lib.enums import TA_LEFT
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Spacer, Table
from reportlab.platypus.paragraph import paraFontSizeHeightOffset
from reportlab.platypus.tableofcontents import TableOfContents, drawPageNumbers
from reportlab.rl_config import platypus_link_underline

from .pdfparagraph import Paragraph, clean

__all__ = ["Later", "LaterCanvas", "Contents"]


class Later:
    """The numbers learnt while laying out, and the placeholders that draw them once the last page is done."""

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}  # a heading's bookmark key → the page it is drawn on
        self.total = 0  # pages so far; all of them once the layout is done
        # A PDF comment line of its own: a page's text never starts a line with it (nor knows the token).
        self._mark = f"%later-{secrets.token_hex(8)} "
        self._late: dict[str, Callable[[Canvas], None]] = {}

    def draw(self, canvas: Canvas, name: str, draw: Callable[[Canvas], None]) -> None:
        """Draw *name* here; *draw* draws it at the end, in the current user space and graphics state.

        A late drawing may set fonts, colours and lines, and draw text and paths: anything that
        needs a page resource of its own (transparency, an image, a link) belongs to the page itself.
        One `Later` serves one document: a name drawn twice is a mistake.
        """
        if name in self._late:
            raise ValueError(f"{name!r} is already drawn late in this document")
        canvas._code.append(self._mark + name)  # the page's lines are joined by newlines
        self._late[name] = draw

    def fill_in(self, canvas: Canvas) -> None:
        """Replace every placeholder of the finished pages by what it draws."""
        drawn = {name: _drawn(canvas, draw) for name, draw in self._late.items()}
        for page in canvas._doc.Pages.pages:
            first, *rest = page.stream.split(self._mark)  # each placeholder starts a part: its name, a newline
            if rest:
                page.stream = "".join([first, *(f"{drawn[name]}\n{after}" for name, after in
                                                 (part.split("\n", 1) for part in rest))])
        self._late.clear()


def _drawn(canvas: Canvas, draw: Callable[[Canvas], None]) -> str:
    """The content-stream operators of *draw*, from a fresh graphics state (as `beginForm` starts a form)."""
    canvas.push_state_stack()
    canvas.init_graphics_state()
    canvas._pushAccumulators()
    try:
        draw(canvas)
        code = "\n".join([canvas._preamble, *canvas._code])
        # A page's resources are gathered when the page ends: what a late drawing added here would be lost.
        extra = [kind for kind, used in (("transparency or blending", canvas._extgstate._c),
                                         ("a colour space", canvas._colorsUsed), ("a shading", canvas._shadingUsed),
                                         ("an image or form", canvas._formsinuse), ("a link", canvas._annotationrefs))
                 if used]
        if extra:
            raise ValueError(f"a late drawing cannot use {', '.join(extra)}: draw it on the page")
    finally:
        canvas._restartAccumulators()
        canvas.pop_state_stack()
    return f"q\n{code}\nQ"


class LaterCanvas(Canvas):
    """A canvas that fills in the late numbers just before it writes the file (and keeps its words' widths)."""

    def __init__(self, *args, later: Later, **kwargs):
        super().__init__(*args, **kwargs)
        self.later = later
        # (font, size, encoding) → word → width: what pdfparagraph measured in this document.
        self.word_widths: dict[tuple, dict[str, float]] = {}

    def save(self):
        self.later.fill_in(self)
        super().save()


CALLBACK = "contentsEntryEnd"


class Contents(TableOfContents):
    """The contents page: its entries known before the layout, their page numbers filled in at the end.

    The entries and their look are reportlab's `TableOfContents` as its last `multiBuild` pass draws
    them (a table of one paragraph per entry, dot leaders, the page number right-aligned and linked
    to the heading); only the dots and the number are drawn late, since the dots fill the space the
    number leaves.
    """

    def __init__(self, entries: list[tuple[int, str, str]], later: Later, **kwargs):
        """*entries*: (level, title as paragraph markup, bookmark key) in reading order."""
        super().__init__(**kwargs)
        self.entries, self.later = entries, later

    def isIndexing(self):
        return 0  # nothing to learn from a pass: the entries are known

    def wrap(self, availWidth, availHeight):
        def told(canvas: Canvas, _kind, label) -> None:  # the callback at the end of a title with markup
            info = canvas._curr_tx_info
            self._entry_end(canvas, info["cur_x"], info["cur_y"], index=int(label), width=availWidth)

        self.canv.setNamedCB(CALLBACK, told)
        rows = []
        for index, (level, text, key) in enumerate(self.entries):
            style = self.getLevelStyle(level)
            if style.spaceBefore:
                rows.append([Spacer(1, style.spaceBefore)])
            rows.append([entry_paragraph(text, key, index, style,
                                         functools.partial(self._entry_end, index=index, width=availWidth))])
        # No sections, no entries (reportlab's own would show a placeholder line).
        self._table = Table(rows, colWidths=(availWidth,), style=self.tableStyle) if rows else Spacer(0, 0)
        self.width, self.height = self._table.wrapOn(self.canv, availWidth, availHeight)
        return self.width, self.height

    def _entry_end(self, canvas: Canvas, x: float, y: float, index: int, width: float) -> None:
        """An entry's title ends at (*x*, *y*): draw its dots and page number later, and link the number now."""
        level, _, key = self.entries[index]
        style = self.getLevelStyle(level)
        dot = " . " if 0 <= self.dotsMinLevel <= level else ""
        matrix = canvas._currentMatrix
        rect = [0.0, 0.0, 0.0, 0.0]  # the number's box on the page, known at the end

        def draw(late: Canvas) -> None:
            late._curr_tx_info = {"cur_x": x, "cur_y": y}
            try:
                drawPageNumbers(late, style, [(self.later.pages[key], None)], width, 0, dot)
            finally:
                del late._curr_tx_info
            rect[:] = _number_box(str(self.later.pages[key]), style, x, y, width, matrix)

        self.later.draw(canvas, f"contents-{index}", draw)
        canvas.linkAbsolute("", key, rect)  # reportlab reads the rectangle when it writes the file


def entry_paragraph(text: str, key: str, index: int, style, at_end: Callable[..., None]) -> Paragraph:
    """A contents entry: its title (paragraph markup) linked to the heading *key*; where it ends is told to *at_end*.

    A title of plain, clean text (most) is one fragment carrying the link, laid out by `Paragraph`'s
    plain shortcuts: platypus's parser and its line breaking of several fragments were most of the
    contents page. It tells where its text ends once drawn. Any other title is parsed, with a
    callback fragment at its end (`CALLBACK`) that tells the same; both draw the same page
    (tests/test_pdf_fast.py, tests/test_pdf_one_pass.py).
    """
    if ("<" in text or "&" in text or not text or text != clean(text) or style.alignment != TA_LEFT
            or getattr(style, "autoLeading", "") not in ("", "off", None) or getattr(style, "linkUnderline", None)
            or platypus_link_underline):
        # Markup, whitespace the parser keeps (at the ends, inside the link) and the plain lines drop, or a
        # style whose lines do not start at the left indent, on the leading, without underlined links.
        return parsed_entry(text, key, index, style)
    return _PlainEntry(text, style, key, at_end)


def parsed_entry(text: str, key: str, index: int, style) -> Paragraph:
    """A contents entry as platypus's markup: the title in a link, then the callback that tells where it ends."""
    return Paragraph(f'<a href="#{key}">{text}</a><onDraw name="{CALLBACK}" label="{index}"/>', style)


class _PlainEntry(Paragraph):
    """A plain title in a left-aligned style, told where it ends from its last line (a table cell never splits it)."""

    def __init__(self, text: str, style, key: str, at_end: Callable[..., None]):
        super().__init__(text, style)
        self.frags[0].link = [(0, f"#{key}")]  # the fragment is this paragraph's own
        self._at_end = at_end

    def draw(self):
        super().draw()
        # Where platypus leaves the text of the last line, left-aligned: its origin and its width.
        lines, style = self.blPara.lines, self.style
        last = len(lines) - 1
        x = style.leftIndent + (style.firstLineIndent if last == 0 else 0) + stringWidth(
            " ".join(lines[last][1]), self.blPara.fontName, self.blPara.fontSize)
        first_baseline = self.height - (self.blPara.fontSize if paraFontSizeHeightOffset else self.blPara.ascent)
        y = first_baseline - last * style.leading
        self._at_end(self.canv, x, y)


def _number_box(number: str, style, x: float, y: float, width: float, matrix) -> list[float]:
    """The page's box around the number `drawPageNumbers` right-aligns at *width* (its link's rectangle)."""
    size = style.fontSize
    number_width = stringWidth(number, style.fontName, size)
    while number_width > width - x and size >= 1.0:  # drawPageNumbers shrinks a number too wide to fit
        size *= 0.9
        number_width = stringWidth(number, style.fontName, size)
    left = width - number_width
    a, b, c, d, e, f = matrix
    corners = [(left, y), (left + number_width, y + style.leading), (left, y + style.leading), (left + number_width, y)]
    xs = [a * px + c * py + e for px, py in corners]
    ys = [b * px + d * py + f for px, py in corners]
    return [min(xs), min(ys), max(xs), max(ys)]
