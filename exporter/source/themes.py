"""Theme files: a customer's look, `DATA/themes/<name>.yaml`, checked like report data.

A report names its theme (`theme: acme`) or a build picks one (`--theme acme`). Paths in a theme
(fonts, logo) are relative to the themes folder and must stay inside it; the name of the file comes
from a validated id, never from text in the data. Every problem is reported at once, located.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictStr

from ..core.errors import DataError, Problem
from ..core.ids import valid_id
from ..core.model import Line, _Strict
from ..core.theme import DEFAULT_THEME, PAGE_SIZES_MM, PUBLISHER, PdfFonts, Theme
from .cmap import outlines
from .reader import ParsedYaml, dotted, read_yaml
from .validate import parse_model

THEMES = "themes"  # the folder beside DATA/reports
THEME_SUFFIX = ".yaml"
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}

def _hex_digits(value):
    # YAML reads an all-digit colour such as 222222 as a number: it means the same six digits.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999_999 and len(str(value)) == 6:
        return str(value)
    if isinstance(value, float):
        raise ValueError("write the colour in quotes: YAML reads it as a number")
    return value


Colour = Annotated[StrictStr, BeforeValidator(_hex_digits),
                   Field(pattern=r"^[0-9A-Fa-f]{6}$", description="Six hex digits, e.g. 1F4E79.")]
RelativePath = Annotated[StrictStr, Field(min_length=1, max_length=500, description="Relative to the themes folder.")]
Points = Annotated[float, Field(ge=6, le=24)]
Millimetres = Annotated[float, Field(ge=5, le=60)]


class Colours(_Strict):
    accent: Colour | None = None
    secondary: Colour | None = None
    ink: Colour | None = None
    muted: Colour | None = None
    rule: Colour | None = None
    zebra: Colour | None = None


class Fonts(_Strict):
    pdf: Annotated[RelativePath | None, Field(description="The PDF's TrueType font file.")] = None
    pdf_bold: RelativePath | None = None
    pdf_italic: RelativePath | None = None
    pdf_bold_italic: RelativePath | None = None
    office: Annotated[Line | None, Field(description="The font Word and Excel use, by name, e.g. Calibri.")] = None
    fallbacks: Annotated[list[RelativePath], Field(max_length=8, description=(
        "TrueType fonts for characters the PDF font lacks (Chinese, Japanese, Korean), tried in order."))] = []


class Margins(_Strict):
    top: Millimetres | None = None
    bottom: Millimetres | None = None
    side: Millimetres | None = None


class ThemeFile(_Strict):
    """A theme: every field is optional; what a theme leaves out is the default look's."""

    page_size: Literal[tuple(PAGE_SIZES_MM)] | None = None  # type: ignore[valid-type]
    colours: Colours = Colours()
    palette: Annotated[list[Colour] | None, Field(min_length=1, max_length=12,
                                                  description="Chart series colours, in order.")] = None
    fonts: Fonts = Fonts()
    base_size: Points | None = None
    margins: Margins = Margins()
    logo: Annotated[RelativePath | None, Field(description="A PNG or JPEG for the cover and the Summary sheet.")] = None
    header: Line | None = None
    footer: Line | None = None
    source_line: Annotated[Line | None, Field(description=f"Under each chart; {PUBLISHER} is replaced.")] = None
    derived_source_line: Annotated[Line | None, Field(description=(
        f"Under a chart with derived values; {PUBLISHER} is replaced."))] = None
    creator: Annotated[Line | None, Field(description="The files' Creator/Application property.")] = None
    word_template: Annotated[RelativePath | None, Field(description=(
        "A .docx or .dotx whose styles, page setup, headers and footers the Word file uses."))] = None
    excel_template: Annotated[RelativePath | None, Field(description=(
        "A .xlsx or .xltx whose sheets, styles and defined names the workbook starts from."))] = None


def themes_dir(data_dir: Path) -> Path:
    return data_dir / THEMES


def theme_path(folder: Path, name: str) -> Path:
    return folder / f"{name}{THEME_SUFFIX}"


def theme_files(folder: Path) -> tuple[tuple[str, str], ...]:
    """(path relative to *folder*, sha256) of every file in the themes folder: what decides a theme's look."""
    if not folder.is_dir():
        return ()
    return tuple((path.relative_to(folder).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest())
                 for path in sorted(folder.rglob("*")) if path.is_file())


def load_theme(folder: Path, name: str) -> Theme:
    """Read and check theme *name* of the themes *folder*; raise `DataError` listing every problem.

    A catalog's reports share their themes: a theme is read once for as long as no file of the
    folder changes (its fonts and logo are opened to be checked, which is the slow part).
    """
    stamps = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.rglob("*")) if p.is_file()) \
        if folder.is_dir() else ()
    return _load_theme(folder, name, stamps)


@functools.lru_cache(maxsize=32)
def _load_theme(folder: Path, name: str, stamps: tuple) -> Theme:  # noqa: ARG001 -- stamps: the cache key
    if not valid_id(name):
        raise DataError([Problem(folder, None, "", f"{name!r} is not a theme name (an id: lower-case letters, "
                                                   "digits and '-')")])
    path = theme_path(folder, name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob(f"*{THEME_SUFFIX}"))) if folder.is_dir() else ""
        raise DataError([Problem(path, None, "", f"no theme {name!r}: {path} does not exist"
                                                 f" (themes: {known or 'none'})")])
    if path.resolve().parent != folder.resolve():
        raise DataError([Problem(path, None, "", "the theme file is a link leading outside the themes folder")])
    doc = read_yaml(path)
    spec = parse_model(doc, ThemeFile)
    problems: list[Problem] = []
    files = _Files(folder, doc, problems)
    fonts = None
    if spec.fonts.pdf is not None:
        regular = files.font(("fonts", "pdf"), spec.fonts.pdf)
        bold = files.font(("fonts", "pdf_bold"), spec.fonts.pdf_bold) if spec.fonts.pdf_bold else regular
        italic = files.font(("fonts", "pdf_italic"), spec.fonts.pdf_italic) if spec.fonts.pdf_italic else regular
        bold_italic = (files.font(("fonts", "pdf_bold_italic"), spec.fonts.pdf_bold_italic)
                       if spec.fonts.pdf_bold_italic else bold)
        if regular and bold and italic and bold_italic:
            fonts = PdfFonts(regular, bold, italic, bold_italic)
    elif any((spec.fonts.pdf_bold, spec.fonts.pdf_italic, spec.fonts.pdf_bold_italic)):
        problems.append(Problem(path, doc.line_of(("fonts",)), "fonts", "give pdf (the regular face) too"))
    fallbacks = [files.font(("fonts", "fallbacks", n), relative) for n, relative in enumerate(spec.fonts.fallbacks)]
    logo = files.logo(("logo",), spec.logo) if spec.logo else None
    word_template = files.word_template(("word_template",), spec.word_template) if spec.word_template else None
    excel_template = files.excel_template(("excel_template",), spec.excel_template) if spec.excel_template else None
    if problems:
        raise DataError(problems)
    d = DEFAULT_THEME
    colours = spec.colours
    return Theme(
        accent=(colours.accent or d.accent).upper(),
        secondary=(colours.secondary or d.secondary).upper(),
        ink=(colours.ink or d.ink).upper(),
        muted=(colours.muted or d.muted).upper(),
        rule=(colours.rule or d.rule).upper(),
        zebra=(colours.zebra or d.zebra).upper(),
        office_font=spec.fonts.office or d.office_font,
        base_size=spec.base_size or d.base_size,
        page_size=spec.page_size or d.page_size,
        margin_top_mm=spec.margins.top or d.margin_top_mm,
        margin_bottom_mm=spec.margins.bottom or d.margin_bottom_mm,
        margin_side_mm=spec.margins.side or d.margin_side_mm,
        logo=logo,
        palette=tuple(c.upper() for c in spec.palette) if spec.palette else
        ((colours.accent.upper(), *d.palette[1:]) if colours.accent else d.palette),
        pdf_fonts=fonts,
        fallback_fonts=tuple(f for f in fallbacks if f is not None),
        header=spec.header,
        footer=spec.footer,
        source_line_text=spec.source_line,
        derived_source_line_text=spec.derived_source_line,
        creator=spec.creator or "",
        word_template=word_template,
        excel_template=excel_template,
        name=name,
    )


class _Files:
    """Checks the files a theme names: inside the themes folder, present, of the right kind.

    Each kind's check returns what is wrong with a file, as the rest of a sentence that starts with
    its name (None: nothing); a file with a problem is reported at its field and not used.
    """

    def __init__(self, folder: Path, doc: ParsedYaml, problems: list[Problem]):
        self.folder, self.doc, self.problems = folder, doc, problems

    def font(self, where: tuple, relative: str) -> Path | None:
        return self._checked(where, relative, _font_problem)

    def word_template(self, where: tuple, relative: str) -> Path | None:
        return self._checked(where, relative, _word_template_problem)

    def excel_template(self, where: tuple, relative: str) -> Path | None:
        return self._checked(where, relative, _excel_template_problem)

    def logo(self, where: tuple, relative: str) -> Path | None:
        return self._checked(where, relative, _logo_problem)

    def _checked(self, where: tuple, relative: str, problem_of: Callable[[Path], str | None]) -> Path | None:
        path, message = self._resolved(relative)
        if path is not None:
            message = problem_of(path)
        if message is not None:
            self.problems.append(Problem(self.doc.path, self.doc.line_of(where), dotted(where),
                                         f"{relative!r}{message}"))
            return None
        return path

    def _resolved(self, relative: str) -> tuple[Path | None, str | None]:
        if Path(relative).is_absolute() or "\\" in relative:
            return None, ": give a path relative to the themes folder, with '/'"
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            return None, " leads outside the themes folder"
        if not path.is_file():
            return None, f": no such file in {self.folder}"
        return path, None


def _font_problem(path: Path) -> str | None:
    kind = outlines(path)  # from the file's header: fontTools (5 MiB) only for a file that does not say
    if kind is None:
        from fontTools.ttLib import TTFont, TTLibError

        try:
            with TTFont(path, lazy=True, fontNumber=0) as font:
                kind = "woff" if font.flavor is not None else "glyf" if "glyf" in font else "cff"
        except (TTLibError, OSError, AssertionError) as exc:
            return f" is not a font file: {exc}"
    if kind == "woff":  # fontTools unpacks them, reportlab cannot
        return " is a web font (WOFF); give the TrueType file (.ttf)"
    if kind == "cff":  # PostScript outlines: reportlab cannot embed them
        return " has PostScript (CFF) outlines; the PDF needs a TrueType font (glyf outlines), e.g. a .ttf"
    return None


def _word_template_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as package:
            types = package.read("[Content_Types].xml")
            body = package.read("word/document.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        return " is not a Word file (.docx or .dotx)"
    if b"macroEnabled" in types:
        return " holds macros (.docm/.dotm): save it as .docx or .dotx"
    if b"sectPr" not in body or b"pgSz" not in body:  # its page setup is what a template brings
        return " has no page setup (a section with a page size): save it from Word or LibreOffice again"
    return None


MACROS = "xl/vbaProject.bin"
# Sheets every workbook of a report has (or Excel keeps for itself): a template's sheets must be named otherwise.
REPORT_SHEETS = ("Summary", "History")
# Parts of a package openpyxl drops or the streaming copy cannot carry, and what a user calls them.
_UNKEPT_PARTS = (
    (re.compile(r"xl/(ctrlProps|activeX)/"), "form controls"),
    (re.compile(r"xl/(slicers|slicerCaches|timelines|timelineCaches)/"), "slicers or timelines"),
    (re.compile(r"xl/threadedComments/"), "threaded comments"),
    (re.compile(r"xl/pivotTables/"), "pivot tables"),
    (re.compile(r"xl/externalLinks/"), "links to other workbooks"),
    (re.compile(r"xl/tables/"), "tables (Format as Table)"),
    (re.compile(r"xl/chartsheets/"), "chart sheets"),
)
# A drawing element other than a picture or a chart: a shape, text box, connector or group.
_SHAPE = re.compile(rb"<(?:\w+:)?(?:sp|cxnSp|grpSp)[ >]")
_SPARKLINES = b"sparklineGroups"


def _excel_template_problem(path: Path) -> str | None:
    """Return what keeps *path* from being a workbook template, as the end of a sentence naming it
    (None: nothing). See `render.exceltemplate` for what openpyxl keeps of a template.
    """
    try:
        with zipfile.ZipFile(path) as package:
            names = package.namelist()
            if "xl/workbook.xml" not in names:
                return " is not an Excel workbook (.xlsx or .xltx)"
            if MACROS in names:
                return " holds macros (.xlsm/.xltm): save it as .xlsx or .xltx"
            unkept = sorted({what for name in names for pattern, what in _UNKEPT_PARTS if pattern.match(name)})
            drawings = [n for n in names if n.startswith("xl/drawings/drawing") and n.endswith(".xml")]
            if any(_SHAPE.search(package.read(n)) for n in drawings):
                unkept.append("shapes or text boxes")
            if any(_SPARKLINES in package.read(n) for n in names if n.startswith("xl/worksheets/sheet")):
                unkept.append("sparklines")
    except (zipfile.BadZipFile, OSError):
        return " is not an Excel workbook (.xlsx or .xltx)"
    if unkept:
        return (f" holds {', '.join(unkept)}, which the workbook could not keep: remove them from the template"
                " (pictures, charts, styles, defined names and cover sheets are kept)")
    from ..core import openpyxl_lean  # noqa: F401 -- first: openpyxl without NumPy and Pillow (see there)
    # isort: split
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
        titles = book.sheetnames
        book.close()
    except Exception as exc:  # noqa: BLE001 -- openpyxl raises many kinds on a damaged file
        return f" cannot be read as a workbook: {exc}"
    clash = [title for title in titles if title.casefold() in {r.casefold() for r in REPORT_SHEETS}]
    if clash:
        return f" has a sheet named {clash[0]!r}, which is the report's own: rename it in the template"
    return None


def _logo_problem(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if not any(head.startswith(magic) for magic in LOGO_TYPES):
        return " is not a PNG or JPEG image"
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    try:
        with Image.open(path) as image:
            image.verify()
            if image.width > 0 and image.height > 0:
                return None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        pass
    return " is not a readable PNG or JPEG image"
