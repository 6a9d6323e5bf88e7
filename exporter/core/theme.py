"""The look shared by every renderer: one palette, one page size, one set of fonts and margins.

Colours are hex strings without "#" (the form Word and Excel store); each renderer converts them
to its library's colour type. The publisher named in headers and source lines comes from the
document, never from here. A theme file (`exporter.source.themes`) makes one of these; without
one, `DEFAULT_THEME` is the look. Client-facing files never name the tool unless a theme's
`creator` does.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import NamedTuple

from .messages import DEFAULT_LANGUAGE, Words

__all__ = ["Theme", "PdfFonts", "DEFAULT_THEME", "PAGE_SIZES_MM", "PUBLISHER"]

# Width and height in millimetres, portrait.
PAGE_SIZES_MM = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
MM_PER_INCH = 25.4
PUBLISHER = "{publisher}"  # in a source line, replaced by the document's publisher (never str.format)


class FontSet(NamedTuple):
    """Fonts a character may be drawn in: in every face (None: DejaVu Sans), or in one fallback."""

    faces: tuple[pathlib.Path, ...] | None
    fallbacks: tuple[pathlib.Path, ...] = ()


@dataclass(frozen=True)
class PdfFonts:
    """TrueType font files the PDF embeds instead of DejaVu Sans: a face for each style."""

    regular: pathlib.Path
    bold: pathlib.Path
    italic: pathlib.Path
    bold_italic: pathlib.Path


@dataclass(frozen=True)
class Theme:
    accent: str = "1F4E79"  # headings, table headers, reported columns
    secondary: str = "9DB8D3"  # derived (estimated) columns: the accent's hue, lighter
    ink: str = "262626"  # body text
    muted: str = "595959"  # captions, notes, header and footer
    rule: str = "BFBFBF"  # thin lines and gridlines
    zebra: str = "F1F4F8"  # alternate table rows
    office_font: str = "Arial"  # Word and Excel: LibreOffice maps it to metric-equal Liberation Sans
    pdf_font: str = "DejaVuSans"  # embedded in the PDF (and drawn into chart pictures)
    base_size: float = 10.0  # body text, points
    page_size: str = "A4"  # "A4" or "Letter"
    margin_top_mm: float = 26.0
    margin_bottom_mm: float = 22.0
    margin_side_mm: float = 22.0
    logo: pathlib.Path | None = None  # a PNG for the cover/title page and the Summary sheet
    # Chart series in order (the first is the accent); told apart in greyscale print too.
    palette: tuple[str, ...] = ("1F4E79", "E07B39", "5B9A68", "8E6BB0", "C9A227", "4FA3B8", "B5524B", "7F7F7F")
    pdf_fonts: PdfFonts | None = None  # None: DejaVu Sans (pdf_font)
    fallback_fonts: tuple[pathlib.Path, ...] = ()  # TrueType files for the characters the PDF faces lack (CJK)
    header: str | None = None  # the running header's text; None: the document's title
    footer: str | None = None  # the running footer's text, beside "Page X of Y"; None: as of date and publisher
    source_line_text: str | None = None  # under each chart; None: the document language's own words
    derived_source_line_text: str | None = None  # under a chart with derived values; None: as above
    creator: str = ""  # the files' Creator / Application property; empty: none is named
    word_template: pathlib.Path | None = None  # a customer's .docx/.dotx: its styles, page, header and footer
    excel_template: pathlib.Path | None = None  # a customer's .xlsx/.xltx: its sheets, styles and defined names
    name: str = "default"  # the theme file's name, for messages

    def __post_init__(self) -> None:
        if self.page_size not in PAGE_SIZES_MM:
            raise ValueError(f"unknown page size {self.page_size!r} (known: {', '.join(PAGE_SIZES_MM)})")
        for name, value in (*((n, getattr(self, n)) for n in ("accent", "secondary", "ink", "muted", "rule",
                                                                  "zebra")), *(("palette", c) for c in self.palette)):
            if len(value) != 6 or any(c not in "0123456789ABCDEFabcdef" for c in value):
                raise ValueError(f"{name} must be six hex digits, not {value!r}")

    @property
    def font_files(self) -> tuple[pathlib.Path, ...] | None:
        """The PDF's font files, every face; None for the default (DejaVu Sans)."""
        f = self.pdf_fonts
        return None if f is None else tuple(dict.fromkeys((f.regular, f.bold, f.italic, f.bold_italic)))

    @property
    def glyph_fonts(self) -> FontSet | None:
        """What the glyph check checks text against: the PDF's faces and fallbacks; None for the default."""
        if self.pdf_fonts is None and not self.fallback_fonts:
            return None
        return FontSet(self.font_files, self.fallback_fonts)

    def series_colour(self, index: int) -> str:
        """The colour of chart series (or pie slice) *index*: the accent first, then the palette."""
        colours = (self.accent, *(c for c in self.palette if c.upper() != self.accent.upper()))
        return colours[index % len(colours)]

    @property
    def page_mm(self) -> tuple[float, float]:
        return PAGE_SIZES_MM[self.page_size]

    @property
    def page_inches(self) -> tuple[float, float]:
        width, height = self.page_mm
        return width / MM_PER_INCH, height / MM_PER_INCH

    @staticmethod
    def rgb(hex_colour: str) -> tuple[float, float, float]:
        """Return *hex_colour* as red, green, blue fractions (0..1)."""
        return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]

    def source_line(self, publisher: str, derived: bool = True, language: str = DEFAULT_LANGUAGE) -> str:
        """The line under a chart, naming who reported the figures (and saying derived ones are estimates)."""
        text = self.derived_source_line_text if derived else self.source_line_text
        if text is None:
            text = Words(language)("source_derived" if derived else "source")
        return text.replace(PUBLISHER, publisher)


DEFAULT_THEME = Theme()
