"""Render the document as an Excel workbook, every sheet from the document's blocks:

    Summary              title, facts, every key figure as a number, the texts (or the layout's note)
    one sheet per chart  the data behind it, and a native chart bound to those cells (the market's "Forecast")
    Scenario blocks      editable inputs and live formulas, with cached values (the market's "Assumptions")
    Document.sheets      record sheets a layout asks for (the market's Segments, FAQ, …)
    one sheet per table  every row of each dataset, typed, streamed

Every text from the data enters a cell through `_text`, which pins it as a string so that
``=HYPERLINK(...)`` stays text; the only formulas are the ones `_formula` builds from cell
addresses. Figures are numbers with number formats, never formatted strings, so the workbook
can be calculated with and read by pandas alike.

The report's own sheets are small and laid out with random access in an ordinary openpyxl
workbook (a template's sheets come first, as they are), and each is serialised in memory when
the workbook is saved (`_Writer`). A data table of a million rows is written with flat memory:
openpyxl writes each data sheet's frame (header row, widths, filter, page setup) and the rows
are streamed from their file into it, as XML serialised by `_rows_xml`, several times faster than
openpyxl's cell writer (which is slower than xlsxwriter); their texts are inline strings, never
formulas. Styles are given to cells through `_styled`, which finds each style object in the
workbook's lists once rather than on every assignment.
"""

from __future__ import annotations

from ..core import openpyxl_lean  # noqa: F401 -- first: openpyxl without NumPy and Pillow (see there)

# isort: split

import contextvars
import dataclasses
import datetime as dt
import functools
import io
import itertools
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from copy import copy
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.named_styles import NamedStyleList
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.pagebreak import ColBreak, RowBreak
from openpyxl.worksheet.worksheet import Worksheet

from ..core.document import QA, Bullets, Chart, Column, Dataset, Document, Figure, Figures, Paragraph, Scenario, Sheet
from ..core.errors import BuildError
from ..core.helvetica import string_width
from ..core.messages import Words
from ..core.numbers import PLAIN, NumberFormat, needed_decimals
from ..core.text import NOT_XML_CHARS, xml_safe, xml_text
from . import RenderJob, RenderOptions
from .exceltemplate import open_template
from .nativechart import ChartCells, build_chart, data_table, excel_format
from .ooxml import Parts, repack, utc_naive, write_package
from .sheetwriter import SheetsInMemory
from .theme import DEFAULT_THEME, Theme

# The first sheet's name is fixed, never taken from data: other tools find it by this name.
SUMMARY = "Summary"

class _Look:
    """The theme as openpyxl fonts, fills and borders."""

    # Declared for type checkers only; __init__ sets each one.
    font: str
    size: float
    accent: str
    secondary: str
    ink: str
    muted: str
    header_font: Font
    header_fill: PatternFill
    title_font: Font
    label_font: Font
    body_font: Font
    derived_font: Font
    note_font: Font
    explain_font: Font
    input_font: Font
    box: Border
    underline: Border

    def __init__(self, theme: Theme, words: Words | None = None):
        self.theme = t = theme
        self.words = words or Words()
        font, size = theme.office_font, theme.base_size
        set_ = functools.partial(setattr, self)
        set_("font", font)
        set_("size", size)
        set_("accent", t.accent.upper())
        set_("secondary", t.secondary.upper())  # derived bars: the same hue, so reported bars stand out
        set_("ink", t.ink.upper())
        set_("muted", t.muted.upper())
        set_("header_font", Font(name=font, size=size, bold=True, color="FFFFFF"))
        set_("header_fill", PatternFill("solid", fgColor=t.accent.upper()))
        set_("title_font", Font(name=font, bold=True, size=16, color=t.accent.upper()))
        set_("label_font", Font(name=font, size=size, bold=True, color=t.muted.upper()))
        set_("body_font", Font(name=font, size=size))
        set_("derived_font", Font(name=font, size=size, italic=True))
        set_("note_font", Font(name=font, size=size, italic=True, color=t.muted.upper()))
        set_("explain_font", Font(name=font, size=size, italic=True, color=t.accent.upper()))
        # The spreadsheet convention for "type here": blue figures on a light-yellow ground.
        set_("input_font", Font(name=font, size=size, bold=True, color="0000FF"))
        thin = Side(style="thin", color=t.rule.upper())
        set_("box", Border(left=thin, right=thin, top=thin, bottom=thin))
        set_("underline", Border(bottom=thin))


# The look of the workbook being written; `write` sets it for the duration of one render
# (a context variable, so renders in parallel threads never see each other's theme).
_LOOK: contextvars.ContextVar[_Look] = contextvars.ContextVar("xlsx_look", default=_Look(DEFAULT_THEME))  # noqa: B039 -- never mutated


def _look() -> _Look:
    return _LOOK.get()


# Arial renders with the same metrics everywhere (Liberation Sans on Linux), so the row
# heights estimated below fit wherever the workbook is opened.
FONT = DEFAULT_THEME.office_font
SIZE = DEFAULT_THEME.base_size
ACCENT = DEFAULT_THEME.accent.upper()
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")

TOP = Alignment(vertical="top")
WRAP = Alignment(vertical="top", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="top")
NUMBER = Alignment(horizontal="right", vertical="top", indent=1)  # keeps figures off the next column's text
MIDDLE = Alignment(vertical="center")
HEADER_TEXT = Alignment(vertical="center", wrap_text=True)
HEADER_NUMBER = Alignment(horizontal="right", vertical="center", wrap_text=True, indent=1)  # above its figures
# Data sheets: one line per row, all cells at the default (bottom) like their unstyled texts.
DATA_NUMBER = Alignment(horizontal="right", indent=1)
DATA_LEFT = Alignment(horizontal="left")

YEAR_FORMAT = "0"
DATE_FORMAT = "yyyy-mm-dd"

LINE_POINTS = 11.5  # pitch of 10 pt Arial lines: Excel 11.5, LibreOffice 11.25
ROW_PADDING = 3  # points above and below the text of a wrapped row
LOGO_HEIGHT_PX = 48  # the Summary sheet's logo, at the top
CHART_SIZE_CM = (22, 13.5)  # the Forecast chart: beside a 58-character table it fills a landscape page


# Data tables.
SHEET_NAME_LIMIT = 31  # characters (UTF-16 units) in an Excel sheet name
RESERVED_SHEET_NAMES = ("History",)  # Excel keeps this name for itself
WIDTH_SAMPLE_ROWS = 1_000  # column widths are estimated from the header and these first rows
MAX_DATA_WIDTH = 60  # characters; longer texts are cut off on screen, not in the cell
FILTER_BUTTON_POINTS = 12  # the filter button beside a header label
CELL_TEXT_LIMIT = 32_767  # characters in an Excel cell
INTEGER_FORMAT = "#,##0"
SPOOL_BYTES = 1 << 19  # a workbook with data sheets is packed in memory up to this, then in a temporary file


def render(job: RenderJob) -> bytes:
    """Return the bytes of the workbook for *job*."""
    out = io.BytesIO()
    write(job, out)
    return out.getvalue()  # no copy: the buffer becomes the bytes


def render_with(job: RenderJob, theme: Theme) -> bytes:
    """Return the bytes of the workbook for *job* in *theme*."""
    return render(dataclasses.replace(job, options=RenderOptions(theme)))


def write(job: RenderJob, out: IO[bytes]) -> None:
    """Write the workbook for *job* to the binary file *out*.

    Memory stays flat however many rows the document's datasets hold; only *out* grows.
    """
    theme = job.options.theme
    token = _LOOK.set(_Look(theme, job.document.words))
    try:
        _write(job, theme, out)
    finally:
        _LOOK.reset(token)


def _write(job: RenderJob, theme: Theme, out: IO[bytes]) -> None:
    doc = job.document
    if theme.excel_template is not None:
        book = _from_template(open_template(theme.excel_template))
    else:
        book = Workbook()
        book.remove(book.active)
        _default_font(book)
    kept = list(book.worksheets)  # the template's sheets, written as they are
    own = (SUMMARY, *(c.sheet for _, c in doc.blocks() if isinstance(c, (Chart, Scenario)) and c.sheet),
           *(sheet.name for sheet in doc.sheets))
    taken = {name.casefold() for name in (*own, *RESERVED_SHEET_NAMES)}
    clash = [ws.title for ws in kept if ws.title.casefold() in taken]
    if clash:
        raise BuildError(f"the Excel template {theme.excel_template} has a sheet named {clash[0]!r}, which the report"
                         " writes itself: rename it in the template")
    taken |= {ws.title.casefold() for ws in kept}
    _summary(book.create_sheet(SUMMARY), doc)
    charts = 0
    for _, block in doc.blocks():
        if isinstance(block, Chart):
            charts += 1
            name = block.sheet or _sheet_name(block.title, taken, fallback=f"Chart {charts}")
            _chart_sheet(book.create_sheet(name), block)
        elif isinstance(block, Scenario):
            _scenario(book.create_sheet(block.sheet), block)
    for sheet in doc.sheets:
        _records(book.create_sheet(sheet.name), sheet)
    for ws in book.worksheets[len(kept):]:
        _fit_rows(ws)
        _page_setup(ws, theme)
    for ws in book.worksheets:
        _register_styles(ws)
    streams = {}
    for dataset in doc.datasets:
        name = _sheet_name(dataset.title, taken, fallback=dataset.id)
        ws = book.create_sheet(name)
        streams[ws.title] = _data_sheet(ws, dataset, theme)
    _properties(book, doc)
    _save(book, utc_naive(doc.meta.created), out, streams)


def _from_template(template: Workbook) -> Workbook:
    """A new workbook holding the *template*'s sheets, styles and workbook settings, and nothing else
    of the template's workbook (its document properties, say)."""
    book = Workbook()
    book.remove(book.active)
    _share_styles(book, template)
    _share_workbook_settings(book, template)
    for ws in template.worksheets:
        _keep_sheet(ws)
        ws._parent = book
        book._sheets.append(ws)
    return book


def _keep_sheet(ws: Worksheet) -> None:
    """Make the template's sheet *ws* write as the report has always written it: every row from the
    first to its last, and without page breaks, scenarios or legacy drawings (the report never
    carried them). Comments (removed from templates), tables and pivot tables (refused in
    templates) are refused rather than dropped."""
    if ws.tables or ws._pivots:
        raise NotImplementedError(f"sheet {ws.title!r}: tables and pivot tables are not copied")
    ws.row_breaks, ws.col_breaks, ws.scenarios, ws.legacy_drawing = RowBreak(), ColBreak(), None, None
    last = max((ws.max_row, *ws.row_dimensions.keys()))
    for row in ws.iter_rows(min_row=1, max_row=last, max_col=ws.max_column):  # creates the empty cells
        for cell in row:
            if cell.comment is not None:
                raise NotImplementedError(f"{cell.coordinate}: comments are not copied")


def _register_styles(ws: Worksheet) -> None:
    """Register the style of each of *ws*'s styled cells in row order, before the data sheets add theirs,
    so that styles.xml lists them in the same order whichever sheets follow."""
    for _, cell in sorted(ws._cells.items()):
        if cell.has_style:
            cell.style_id  # noqa: B018 -- the property registers the style


def _default_font(wb: Workbook) -> None:
    """Make the body font the workbook's Normal font.

    Column widths are counted in digits of the Normal font, so with Calibri as Normal (openpyxl's
    default, replaced by a wider font where Calibri is missing) the wrapped-text heights estimated
    here would fit in one application and not another. openpyxl has no public setter for it.
    """
    body = _look().body_font
    wb._fonts = IndexedList([body])
    wb._named_styles = NamedStyleList()
    wb.add_named_style(NamedStyle(name="Normal", font=copy(body), border=Border(), builtinId=0))


# --- cells -----------------------------------------------------------------------------------


def _text(cell: Cell, value: str) -> Cell:
    """Put *value* in *cell* as a literal string: never a formula, never an error code.

    openpyxl turns any string starting with "=" into a formula and "#N/A" into an error, so the
    type is forced back after assignment. This is the one place data text enters a cell.
    """
    cell.value = value
    cell.data_type = "s"
    # Keeps the text literal when a user edits the cell in Excel too.
    cell.quotePrefix = value[:1] in ("=", "+", "-", "@")
    return cell


def _formula(cell: Cell, formula: str) -> Cell:
    """Put a formula this module built from cell addresses (never from data) in *cell*."""
    cell.value = formula
    assert cell.data_type == "f", formula
    return cell


def _put(ws: Worksheet, row: int, col: int, value, number_format: str | None = None) -> Cell:
    """Write a text, number or date to (row, col); texts go through `_text`."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        _text(cell, value)
    elif value is not None:
        cell.value = value
    if number_format:
        cell.number_format = number_format
    return _styled(cell, font=_look().body_font, alignment=_alignment(value, number_format))


# Where each kind of style sits: the workbook's list of them and the cell's index into it.
_STYLE_SLOTS = {"font": ("_fonts", "fontId"), "fill": ("_fills", "fillId"), "border": ("_borders", "borderId"),
                "alignment": ("_alignments", "alignmentId")}


def _styled(cell: Cell, **styles: Font | PatternFill | Border | Alignment) -> Cell:
    """Give *cell* these styles (font=, fill=, border=, alignment=), as `cell.font = …` does.

    openpyxl hashes the whole style object on every such assignment to find it in the workbook's
    list; here each object is looked up once per workbook and its index remembered by identity (the
    objects are never changed once made, and are kept alive with their index).
    """
    book = cell.parent.parent
    known = book.__dict__.setdefault("_exporter_style_ids", {})
    if cell._style is None:
        cell._style = StyleArray()
    for name, value in styles.items():
        found = known.get(id(value))
        if found is None:
            table, slot = _STYLE_SLOTS[name]
            found = known[id(value)] = (value, getattr(book, table).add(value), slot)
        setattr(cell._style, found[2], found[1])
    return cell


def _alignment(value, number_format: str | None) -> Alignment:
    if isinstance(value, (int, float)) and number_format != YEAR_FORMAT:
        return NUMBER
    if isinstance(value, (int, dt.date)):
        return LEFT  # years and dates label a row rather than being summed
    return TOP


def _header(ws: Worksheet, row: int, labels: Sequence[str], numeric: Sequence[int] = ()) -> None:
    """Write a header row; labels of the *numeric* columns (1-based) align with their figures."""
    for col, label in enumerate(labels, 1):
        _header_style(_put(ws, row, col, label), numeric=col in numeric)


def _header_style(cell: Cell, *, numeric: bool) -> Cell:
    """Give *cell* the look of a header cell; the label of a figures column sits right, above them."""
    return _styled(cell, font=_look().header_font, fill=_look().header_fill,
                   alignment=HEADER_NUMBER if numeric else HEADER_TEXT)


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[float],
    wrap: Sequence[bool] | None = None,
    formats: Sequence[str | None] | None = None,
) -> int:
    """Write a header row at the top of *ws*, freeze it, and the rows below; return the last row."""
    wrap = wrap or [False] * len(header)
    formats = formats or [None] * len(header)
    rows = list(rows)
    numeric = [
        col
        for col, (value, fmt) in enumerate(zip(rows[0] if rows else (), formats), 1)
        if isinstance(value, (int, float)) and fmt != YEAR_FORMAT
    ]
    _header(ws, 1, header, numeric)
    ws.freeze_panes = "A2"
    _widths(ws, widths)
    last = 1
    for last, values in enumerate(rows, 2):
        for col, value in enumerate(values, 1):
            cell = _put(ws, last, col, value, formats[col - 1])
            _styled(cell, border=_look().underline)
            if wrap[col - 1]:
                _styled(cell, alignment=WRAP)
    return last


def _note(ws: Worksheet, row: int, text: str, first_col: int, last_col: int, font: Font | None = None) -> None:
    """Write *text* across the columns first..last as one wrapped note."""
    cell = _put(ws, row, first_col, text)
    _styled(cell, font=font or _look().note_font, alignment=WRAP)
    if last_col > first_col:
        ws.merge_cells(start_row=row, start_column=first_col, end_row=row, end_column=last_col)


def _fit_rows(ws: Worksheet) -> None:
    """Size every row holding wrapped text to show all of it.

    Neither Excel nor LibreOffice reliably grows rows of a generated file to fit wrapped text
    (merged cells never), so the height is estimated from the text and the column widths.
    """
    merged = {
        (rng.min_row, rng.min_col): range(rng.min_col, rng.max_col + 1) for rng in ws.merged_cells.ranges
    }
    # The workbook's style lists, read by index: `cell.alignment` and `cell.font` make a proxy
    # object per call, which cost more than the measuring below. Only the cells written are read
    # (`iter_rows` would make an empty cell at every gap of the sheet's rectangle).
    book = ws.parent
    wrapping = {n for n, alignment in enumerate(book._alignments) if alignment.wrap_text}
    fonts = book._fonts
    widths: dict[int, float] = {}
    rows: dict[int, int] = {}
    for (row, column), cell in ws._cells.items():
        style, text = cell._style, cell._value
        if style is None or style.alignmentId not in wrapping or not isinstance(text, str):
            continue
        width = 0.0
        for c in merged.get((row, column), (column,)):
            if c not in widths:
                widths[c] = ws.column_dimensions[get_column_letter(c)].width or 8.43
            width += widths[c]
        font = fonts[style.fontId]
        lines = _lines(text, width, bold=bool(font.b), size=float(font.sz or SIZE))
        if lines > rows.get(row, 1):
            rows[row] = lines
    for row in sorted(rows):
        ws.row_dimensions[row].height = _row_height(rows[row])


def _row_height(lines: int) -> float:
    """Height in points of a row showing *lines* lines of body text."""
    return lines * _line_points() + 2 * ROW_PADDING


def _line_points() -> float:
    """Height of one line of body text: LINE_POINTS at 10 pt, in proportion for other sizes."""
    return LINE_POINTS * _look().size / 10


def _lines(text: str, width: float, bold: bool = False, size: float = SIZE) -> int:
    """Count the lines *text* wraps to in a cell *width* characters wide, wrapping word by word.

    Words are measured with Helvetica's metrics, which Arial and Liberation Sans share. A
    column-width unit comes out at 5.5 pt of text width in LibreOffice (measured on its PDF
    export; Excel's 7 px digit makes it about 5.3 pt), less the cell's padding.
    """
    font = "Helvetica-Bold" if bold else "Helvetica"
    usable = max(width * 5.5 - 6, size)
    space = _word_width(" ", font, size)
    count = 0
    for part in text.split("\n"):
        count += 1
        used = 0.0
        for word in part.split():
            need = _word_width(word, font, size)
            if used and used + space + need <= usable:
                used += space + need
            elif used:
                count += 1
                used = need
            else:
                used = need
            while used > usable:  # a word wider than the cell breaks across lines
                count += 1
                used -= usable
    return count


# Words recur from row to row and report to report: each is measured once.
_word_width = functools.lru_cache(maxsize=16_384)(string_width)


# --- sheets ----------------------------------------------------------------------------------


def _summary(ws: Worksheet, doc: Document) -> None:
    """The first sheet: the title, the document's facts, every key figure and (when asked) its texts."""
    _widths(ws, (38, 14, 18, 14, 22))
    title = _put(ws, 1, 1, doc.meta.title)  # with a variant's edition name
    _styled(title, font=_look().title_font, alignment=MIDDLE)
    ws.row_dimensions[1].height = 28
    logo = _look().theme.logo
    if logo is not None:
        image = SheetImage(str(logo))
        image.width, image.height = round(image.width * LOGO_HEIGHT_PX / image.height), LOGO_HEIGHT_PX
        ws.row_dimensions[1].height = LOGO_HEIGHT_PX * 0.75 + 6
        ws.add_image(image, "E1")
    ws.freeze_panes = "A2"

    row = 2
    for row, (label, value) in enumerate(doc.facts, 3):
        _styled(_put(ws, row, 1, label), font=_look().label_font)
        _styled(_put(ws, row, 2, value, DATE_FORMAT if isinstance(value, dt.date) else None), alignment=LEFT)

    figures = [f for _, block in doc.blocks() if isinstance(block, Figures) for f in block.figures]
    value_width = max((len(f.text) + 3 for f in figures if not isinstance(f.value, (int, float))
                       or f.format.currency or f.format.unit), default=0)
    if value_width > 14:  # a currency or text figure: room for it, or Excel shows ###
        _widths(ws, (38, min(value_width, 40)))
    if figures:
        row = _figures(ws, row + 2, figures, doc.words)
    if doc.workbook_texts:
        row = _texts(ws, row + 2, doc)
    if doc.summary_note:
        _note(ws, row + 2, doc.summary_note, 1, 5)


def _figures(ws: Worksheet, row: int, figures: Sequence[Figure], words: Words) -> int:
    """Write the key figures as a table from *row*: figure, value and what the figures say of themselves."""
    extra = [(words(key), attr) for key, attr in (("unit", "unit"), ("period", "period"), ("basis", "basis"),
                                                  ("note", "note"))
             if any(getattr(f, attr) for f in figures)]
    _header(ws, row, (words("figure_column"), words("value"), *(name for name, _ in extra)), numeric=(2,))
    for figure in figures:
        row += 1
        _put(ws, row, 1, figure.label)
        value = figure.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # Without the unit: the Unit column says it.
            _put(ws, row, 2, value, excel_format(dataclasses.replace(figure.format, unit=None), [value]))
        elif isinstance(value, dt.date):
            _put(ws, row, 2, value, DATE_FORMAT)
        else:
            _put(ws, row, 2, figure.text)
        for col, (_, attr) in enumerate(extra, 3):
            shown = getattr(figure, attr)
            _put(ws, row, col, shown, YEAR_FORMAT if isinstance(shown, int) else None)
        width = 2 + len(extra)
        if figure.derived:
            for col in (1, 2, *(c for c, (_, a) in enumerate(extra, 3) if a == "basis")):
                _styled(ws.cell(row=row, column=col), font=_look().derived_font)
        for col in range(1, width + 1):
            _styled(ws.cell(row=row, column=col), border=_look().underline)
    return row


def _texts(ws: Worksheet, row: int, doc: Document) -> int:
    """List the document's paragraphs, bullets and questions by section, each text across B to E."""
    lines: list[tuple[str, str]] = []
    for section, block in doc.blocks():
        if isinstance(block, Paragraph) and block.role != "note":  # notes speak of the Word and PDF pages
            lines.append((section.title, block.text))
        elif isinstance(block, Bullets):
            lines += [(section.title, f"• {item}") for item in block.items]
        elif isinstance(block, QA):
            lines.append((section.title, f"{block.question}\n{block.answer}"))
    if not lines:
        return row - 2
    _header(ws, row, (doc.words("section"), doc.words("text")))
    ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=5)
    for title, text in lines:
        row += 1
        _styled(_put(ws, row, 1, title), alignment=WRAP)
        _note(ws, row, text, 2, 5, font=_look().body_font)
    return row


def _chart_sheet(ws: Worksheet, chart: Chart) -> None:
    """The data behind *chart* as a table, and beside it a native chart bound to those cells."""
    header, rows = data_table(chart)
    years = bool(chart.categories) and all(isinstance(c, int) for c in chart.categories)
    value_format = excel_format(chart.format, (v for s in chart.series for v in s.values))
    formats = (YEAR_FORMAT if years else None, *(value_format for _ in chart.series),
               *((None,) * (len(header) - 1 - len(chart.series))))
    longest = max((len(str(c)) for c in chart.categories), default=0)
    widths = (min(max(10, longest + 2), 40),
              *(max(14, len(s.name) + 1, *(len(chart.format.text(v)) + 3 for v in s.values)) for s in chart.series),
              *((22,) * (len(header) - 1 - len(chart.series))))
    last = _table(ws, header, rows, widths=widths, formats=formats)
    for row, derived in enumerate(_derived_rows(chart), 2):
        if derived:
            for col in range(2, len(header) + 1):
                _styled(ws.cell(row=row, column=col), font=_look().derived_font)
    # A narrow gutter, then the chart beside the table, large enough to fill a landscape page
    # once the sheet is scaled to one page wide.
    gutter = len(header) + 1
    ws.column_dimensions[get_column_letter(gutter)].width = 3
    width, height = CHART_SIZE_CM
    native = build_chart(chart, _look().theme, ChartCells(ws.title, 1, 1), width_cm=width, height_cm=height)
    ws.add_chart(native, f"{get_column_letter(gutter + 1)}2")
    if chart.note:
        _note(ws, last + 2, chart.note, 1, len(header))


def _derived_rows(chart: Chart) -> list[bool]:
    if len(chart.series) != 1 or not chart.series[0].derived:
        return [False] * len(chart.categories)
    return list(chart.series[0].derived)


def _scenario(ws: Worksheet, scenario: Scenario) -> None:
    """Lay out editable inputs and a series computed from them by live formulas (with cached values)."""
    _header(ws, 1, ("Input", "Value", "Unit", "Basis"), numeric=(2,))
    ws.freeze_panes = "A2"
    _widths(ws, (54, 26, 30, 22))
    reported, derived = scenario.basis
    year_label, value_label, rate_label = scenario.labels
    inputs = (
        (year_label, scenario.base_year, YEAR_FORMAT, "year", reported, True),
        (value_label, scenario.base_value, excel_format(scenario.value_format), scenario.unit, reported, True),
        (rate_label, scenario.rate, excel_format(scenario.rate_format), scenario.rate_unit, derived, True),
        (scenario.reference_label, scenario.reference_rate, excel_format(scenario.reference_format), scenario.rate_unit,
         reported, False),
    )
    for row, (label, value, number_format, unit, basis, editable) in enumerate(inputs, 2):
        _put(ws, row, 1, label)
        cell = _put(ws, row, 2, value, number_format)
        _styled(cell, alignment=NUMBER, border=_look().box)  # the base year too: all inputs line up as figures
        if editable:
            _styled(cell, font=_look().input_font, fill=INPUT_FILL)
        else:
            _styled(cell, font=_look().note_font)
        _put(ws, row, 3, unit)
        _put(ws, row, 4, basis)
    year_ref, value_ref, rate_ref = "$B$2", "$B$3", "$B$4"

    _note(ws, 7, scenario.explanation, 1, 4, font=_look().explain_font)
    _header(ws, 9, ("Year", f"Market size ({scenario.unit})", "Basis"), numeric=(2,))
    cached = _cached_values(ws)
    for row, (year, value) in enumerate(zip(scenario.years, scenario.values), 10):
        _styled(_put(ws, row, 1, year, YEAR_FORMAT), border=_look().underline)
        cell = ws.cell(row=row, column=2)
        _formula(cell, f"={value_ref}*(1+{rate_ref})^(A{row}-{year_ref})")
        cached[cell.coordinate] = value
        cell.number_format = excel_format(scenario.value_format)
        _styled(cell, font=_look().body_font, alignment=NUMBER, border=_look().underline)
        _styled(_put(ws, row, 3, scenario.series_basis), border=_look().underline)


def _cached_values(ws: Worksheet) -> dict[str, float]:
    """The values of *ws*'s formula cells as Excel computes them, written beside the formulas.

    openpyxl writes a formula without its value; readers that never calculate (phone and mail
    previews, pandas through calamine, `data_only` openpyxl) would then show nothing.
    """
    cached = getattr(ws, "_exporter_cached", None)
    if cached is None:
        cached = {}
        ws._exporter_cached = cached
    return cached


def _records(ws: Worksheet, sheet: Sheet) -> None:
    _table(ws, sheet.header, sheet.rows, widths=sheet.widths, wrap=sheet.wrap)


# --- helpers ---------------------------------------------------------------------------------


def _page_setup(ws: Worksheet, theme: Theme) -> None:
    """Print each sheet landscape, one page wide, repeating its header row."""
    ws.page_setup.orientation = "landscape"
    letter = theme.page_size == "Letter"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_LETTER if letter else Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.oddFooter.right.text = _look().words("page_of", page="&P", pages="&N")
    # A theme's header and footer print on every sheet too ("&" is a code there: written "&&").
    if theme.header:
        ws.oddHeader.left.text = theme.header.replace("&", "&&")
    if theme.footer:
        ws.oddFooter.left.text = theme.footer.replace("&", "&&")
    ws.oddFooter.right.size = 8


def _properties(wb: Workbook, doc: Document) -> None:
    meta = doc.meta
    when = utc_naive(meta.created)
    props = wb.properties
    props.title = meta.title
    props.subject = meta.subject
    props.creator = meta.author
    props.lastModifiedBy = meta.author
    props.keywords = ", ".join(meta.keywords)
    props.description = doc.subtitle
    props.language = doc.language
    props.created = props.modified = props.lastPrinted = when


# --- the package -----------------------------------------------------------------------------

# The workbook's style tables: a workbook made from a template shares the template's, so that the
# template's cells keep their look, and styles.xml lists the same styles in the same order.
_STYLE_TABLES = (
    "_fonts",
    "_fills",
    "_borders",
    "_alignments",
    "_protections",
    "_number_formats",
    "_date_formats",
    "_timedelta_formats",
    "_cell_styles",
    "_named_styles",
    "_table_styles",
    "_differential_styles",
    "_colors",
)


def _share_styles(book: Workbook, template: Workbook) -> None:
    for name in _STYLE_TABLES:
        setattr(book, name, getattr(template, name))


def _share_workbook_settings(book: Workbook, template: Workbook) -> None:
    """Give *book* what a template's workbook holds beyond its sheets: defined names, theme
    colours (which its cell styles may refer to), calculation settings and the sheet shown first."""
    book.defined_names = copy(template.defined_names)
    book.loaded_theme = template.loaded_theme
    book.calculation = copy(template.calculation)
    book.epoch = template.epoch
    if template.views:
        book.views = [copy(view) for view in template.views]


def _with_cached_values(xml: str, cached: dict[str, float], title: str) -> str:
    """Give each formula cell in the sheet part *xml* its cached value (`<v>` after `<f>`)."""
    found = 0

    def with_value(match: re.Match) -> str:
        nonlocal found
        value = cached.get(match.group(2))
        if value is None:
            return match.group(0)
        found += 1
        return f"{match.group(1)}<v>{value!r}</v></c>"

    xml = _FORMULA_CELL.sub(with_value, xml)
    if found != len(cached):
        raise AssertionError(f"sheet {title!r}: {found} of {len(cached)} formula cells found")
    return xml


# openpyxl writes a formula cell as <c r="B10" s="8"><f>…</f><v></v></c> (or without the <v>).
_FORMULA_CELL = re.compile(r'(<c r="([A-Z]+[0-9]+)"[^>]*><f>[^<]*</f>)(?:<v></v>|<v/>)?</c>')


def _declare_dimension(ws: Worksheet, ref: str) -> None:
    """Have openpyxl write *ref* as the used range of the data sheet *ws*, whose rows it never sees;
    readers such as openpyxl's read-only mode take the sheet's size from it."""
    ws.calculate_dimension = lambda: ref


# Writes a data sheet's part: openpyxl's XML of the sheet around an empty body, and the rows streamed in.
_Splice = Callable[[bytes, IO[bytes]], None]


class _Writer(SheetsInMemory):
    """openpyxl's package writer, with each sheet serialised in memory, the formula cells' cached
    values added, and each data sheet's rows streamed into its part."""

    def __init__(self, wb: Workbook, archive: zipfile.ZipFile | Parts, streams: dict[str, _Splice]):
        super().__init__(wb, archive)
        self._streams = streams

    def write_part(self, ws: Worksheet, xml: bytes) -> None:
        splice = self._streams.get(ws.title)
        if splice is not None:
            # ZIP64 whatever the size, since the rows may pass zipfile's 2 GiB limit (`repack` writes the entry anew).
            with self._archive.open(ws.path[1:], "w", force_zip64=True) as part:
                splice(xml, part)
            return
        cached = getattr(ws, "_exporter_cached", None)
        if cached:
            xml = _with_cached_values(xml.decode("utf-8"), cached, ws.title).encode("utf-8")
        super().write_part(ws, xml)


def _save(wb: Workbook, when: dt.datetime, out: IO[bytes], streams: dict[str, _Splice]) -> None:
    """Write *wb* to *out* reproducibly: fixed zip entry dates and order, no `modified = now`.

    openpyxl's package writer is used (ExcelWriter rather than wb.save(), which stamps `modified`
    with the clock). A workbook without data sheets is small (the shipped report: 0.1 MiB): its
    parts are kept in memory and zipped once (`ooxml.write_package`). With data sheets, whose rows
    stream in (*streams*, by sheet title), openpyxl packs the workbook uncompressed into memory, or
    into a temporary file once it outgrows `SPOOL_BYTES`; its entries are then compressed into
    *out* one by one, streamed (`ooxml.repack`). Both give the same parts in the same order and
    dates (the first deflates them faster, the second smaller: see ooxml).
    """
    if not streams:
        parts = Parts()
        _Writer(wb, parts, streams).save()
        out.write(write_package(parts.entries, when))
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as package:
            _Writer(wb, package, streams).save()
        raw.seek(0)
        repack(raw, out, when)


# --- data tables -----------------------------------------------------------------------------


def _sheet_name(title: str, taken: set[str], *, fallback: str) -> str:
    """Return a sheet name for *title* that Excel accepts and *taken* (casefolded) lacks; take it.

    Excel refuses the characters []:*?/\\, names of more than 31 characters, names starting or
    ending with an apostrophe, and names equal to another sheet's but for case.
    """
    name = " ".join(_SHEET_NAME_BAD.sub(" ", title).split()).strip("'").strip()
    name = name or fallback
    candidate, number = _clip(name, SHEET_NAME_LIMIT), 1
    while candidate.casefold() in taken:
        number += 1
        suffix = f" ({number})"
        candidate = _clip(name, SHEET_NAME_LIMIT - len(suffix)) + suffix
    taken.add(candidate.casefold())
    return candidate


_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")


def _clip(text: str, limit: int) -> str:
    """Cut *text* to *limit* UTF-16 units (Excel's count), without an apostrophe or space at the end."""
    text = text[:limit]
    while len(text.encode("utf-16-le")) > 2 * limit:
        text = text[:-1]
    return text.rstrip(" '")


def _data_sheet(ws: Worksheet, table: Dataset, theme: Theme) -> _Splice:
    """Lay out *ws* for *table*: a bold header row, frozen, filtered and printed on every page; return
    what streams the data rows into the sheet's part when the workbook is saved, one row per data row.

    The rows are read once, as they stream from the file; the column widths and number formats
    come from the header and the first `WIDTH_SAMPLE_ROWS` rows.
    """
    columns = table.columns
    rows = iter(table.source.iter_rows())
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    header, styles = [], []
    for n, column in enumerate(columns):
        values = [row[n] for row in sample if n < len(row)]
        fmt = _data_format(column, values)
        width = _data_width(column.name, fmt, values, None if column.format == PLAIN else column.format)
        ws.column_dimensions[get_column_letter(n + 1)].width = width
        numeric = column.type in ("integer", "number") and fmt != YEAR_FORMAT
        header.append(_header_style(_text(ws.cell(row=1, column=n + 1), column.name), numeric=numeric))
        # Texts need no style; figures and dates one per column, shared by all their cells.
        styles.append(_style_attribute(ws, fmt, DATA_NUMBER if numeric else DATA_LEFT) if fmt else "")
        lines = _lines(column.name, width, bold=True)
        if lines > 1:
            ws.row_dimensions[1].height = max(ws.row_dimensions[1].height or 0, _row_height(lines))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = used = f"A1:{get_column_letter(len(columns))}{table.rows + 1}"
    _declare_dimension(ws, used)
    _page_setup(ws, theme)
    for cell in header:
        cell.style_id  # noqa: B018 -- registers the header's styles, then the quoted one's, in this order
    quoted = WriteOnlyCell(ws)
    quoted.quotePrefix = True
    quoted_style = f' s="{quoted.style_id}"'

    def splice(xml: bytes, part: IO[bytes]) -> None:
        # openpyxl writes the sheet around an empty body (settings, header row, filter, page setup);
        # the data rows then go in before its </sheetData>.
        count = _insert_rows(xml, part, itertools.chain(sample, rows), styles, quoted_style)
        if count != table.rows:
            raise BuildError(f"data table {table.id!r}: {count} rows read, {table.rows} expected")

    return splice


def _style_attribute(ws: Worksheet, number_format: str, alignment: Alignment) -> str:
    """Return the style attribute of a cell with *number_format* and *alignment* (registering it)."""
    cell = WriteOnlyCell(ws)
    cell.number_format = number_format
    _styled(cell, alignment=alignment)
    return f' s="{cell.style_id}"'


def _data_format(column: Column, sample: Sequence) -> str | None:
    """Return the number format of *column*: its declared one, else thousands separators and as
    many decimals as its first rows need; ISO dates; None for text."""
    if column.type == "date":
        return DATE_FORMAT
    if column.type == "text":
        return None
    fmt = column.format
    if column.type == "number" and fmt.decimals is None:  # as the DOCX and PDF show it (layout.datasets)
        scale = 100 if fmt.percent else 1  # a percent shows the fraction times 100
        fmt = dataclasses.replace(fmt, decimals=max((needed_decimals(v * scale) for v in sample
                                                     if isinstance(v, float)), default=0))
    return excel_format(fmt)


def _data_width(label: str, fmt: str | None, sample: Sequence, declared: NumberFormat | None = None) -> float:
    """Estimate the width of a data column from its bold label (and filter button) and values.

    Values are measured as the *declared* format shows them (currency, percent), else as *fmt* does.
    """
    size = _look().size
    points = string_width(label, "Helvetica-Bold", size) + FILTER_BUTTON_POINTS
    for value in sample:
        if value is None:
            continue
        shown = declared.text(value) if declared is not None and not isinstance(value, str) else _shown(value, fmt)
        if isinstance(value, str):
            points = max(points, string_width(shown[: 2 * MAX_DATA_WIDTH], "Helvetica", size))
        else:  # digits, separators and dashes: about one width unit each
            points = max(points, len(shown) * string_width("0", "Helvetica", size))
    return round(min((points + 6) / 5.5 + 1, MAX_DATA_WIDTH), 1)


def _shown(value, fmt: str | None) -> str:
    """Return *value* about as *fmt* shows it."""
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    figure = isinstance(value, (int, float)) and not isinstance(value, bool)
    if figure and fmt and fmt.startswith(INTEGER_FORMAT):
        return f"{value:,.{fmt.count('0') - 1}f}"  # "#,##0.00": two decimals
    return str(value)


def _insert_rows(xml: bytes, part: IO[bytes], rows: Iterable[Sequence], styles: Sequence[str], quoted: str) -> int:
    """Write the sheet part *xml* to *part* with *rows*, from row 2 on, before its `</sheetData>`.

    Return the number of rows written.
    """
    head, end, tail = xml.rpartition(b"</sheetData>")
    if not end:
        raise AssertionError("openpyxl wrote a sheet without </sheetData>")
    part.write(head)
    count = 0
    for chunk in _rows_xml(rows, styles, quoted):
        part.write(chunk.encode("utf-8"))
        count += chunk.count("</row>")
    part.write(end + tail)
    return count


def _rows_xml(
    rows: Iterable[Sequence], styles: Sequence[str], quoted: str, batch: int = 500
) -> Iterator[str]:
    """Yield the XML of *rows*, numbered from 2, in pieces of *batch* rows.

    *styles* holds each column's style attribute (number format); a text starting with "=",
    "+", "-" or "@" gets the *quoted* style, which keeps it literal when edited in Excel.
    """
    letters = [get_column_letter(n) for n in range(1, len(styles) + 1)]
    parts: list[str] = []
    for number, values in enumerate(rows, 2):
        r = str(number)
        parts.append(f'<row r="{r}">')
        for letter, style, value in zip(letters, styles, values):
            kind = type(value)
            if kind is str:
                if not value:
                    continue
                if _NEEDS_CARE.search(value) or len(value) > CELL_TEXT_LIMIT:
                    value = _xml_text(value)
                    if not value:
                        continue
                space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
                style = quoted if value[0] in "=+-@" else ""
                parts.append(f'<c r="{letter}{r}" t="inlineStr"{style}><is><t{space}>{value}</t></is></c>')
            elif kind is int:
                parts.append(f'<c r="{letter}{r}"{style}><v>{value}</v></c>')
            elif kind is float:
                if value - value == 0:  # finite; Excel has no infinities or NaN
                    parts.append(f'<c r="{letter}{r}"{style}><v>{value!r}</v></c>')
            elif kind is dt.date:
                serial = value.toordinal() - _EXCEL_DAY_ZERO
                if serial < 61:  # Excel's 1900 calendar counts a 29 February 1900
                    serial = to_excel(value)
                parts.append(f'<c r="{letter}{r}"{style}><v>{serial}</v></c>')
            elif value is None:
                continue
            elif isinstance(value, dt.datetime):
                parts.append(f'<c r="{letter}{r}"{style}><v>{to_excel(value)!r}</v></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{letter}{r}" t="b"><v>{int(value)}</v></c>')
            else:
                raise TypeError(f"{letter}{r}: cannot write a {kind.__name__} to a data sheet")
        parts.append("</row>")
        if number % batch == 0:
            yield "".join(parts)
            parts.clear()
    if parts:
        yield "".join(parts)


_EXCEL_DAY_ZERO = dt.date(1899, 12, 30).toordinal()
# What a text needs done before it goes between <t> and </t>: markup escaped; characters XML
# cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF) removed.
_NEEDS_CARE = re.compile(f"[&<>\r{NOT_XML_CHARS}]")


def _xml_text(value: str) -> str:
    """Return *value* cut to what a cell holds, without characters XML cannot carry, escaped."""
    return xml_text(xml_safe(value)[:CELL_TEXT_LIMIT])
