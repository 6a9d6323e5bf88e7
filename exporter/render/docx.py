"""Render the document as a Word file: title page, contents, styled sections, tables and chart.

Headings use Word's own Heading styles and the contents is a real TOC field, so the navigation
pane and "Update field" work as readers expect. The raw WordprocessingML this needs (fields,
borders, shading, settings) is built here and nowhere else.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.simpletypes import ST_HpsMeasure
from docx.shared import Emu, Inches, Mm, Pt, RGBColor, Twips
from docx.text.paragraph import Paragraph as DocxParagraph
from lxml import etree  # type: ignore[import-untyped]

from ..core.document import QA, WORKBOOK_ONLY, Block, Bullets, Chart, Document, Figures, Meta, Paragraph, Table
from ..core.helvetica import string_width
from ..core.messages import Words
from . import RenderJob, RenderOptions
from .docxchart import add_docx_chart
from .ooxml import write_package
from .theme import Theme
from .wordtemplate import has_style, header_and_footer, open_template

CHART_WIDTH_IN = 6.0
CHART_ASPECT = 0.5  # height / width of a chart
CHART_ASPECT_PIE = 0.6
CARDS_PER_ROW = 4
CARD_VALUE_SIZES = (18, 16, 14, 12, 11, 10)  # points: a card's value takes the largest that fits
CARD_PADDING_PT = 12  # the cell's margins, left and right
METRIC_HELVETICA = ("Arial", "Helvetica", "Liberation Sans")  # fonts with Helvetica's widths
OTHER_FONT_SPREAD = 1.2  # how much wider than Helvetica another font may set the same text
LOGO_WIDTH = Mm(40)
TOC_INSTRUCTION = 'TOC \\o "1-3" \\h \\z \\u'
# Shown only for a document without sections; otherwise the field result lists the sections.
TOC_PLACEHOLDER = "Right-click to update the table of contents."
TOC_INDENT = Pt(14)  # per level below the first
# Tables up to this many rows are kept on one page; longer ones split and repeat their header.
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
KEEP_TOGETHER_ROWS = 20
# What may follow w:pBdr inside w:pPr (ECMA-376 schema order).
PPR_AFTER_BORDER = (
    "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct", "topLinePunct",
    "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid", "spacing", "ind",
    "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection", "textAlignment",
    "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange",
)  # fmt: skip


def _w(name: str) -> str:
    return qn(f"w:{name}")


# The WordprocessingML names the body writer uses (Clark notation, resolved once).
W_P, W_PPR, W_PSTYLE, W_R, W_RPR, W_T, W_TAB, W_BR = map(_w, ("p", "pPr", "pStyle", "r", "rPr", "t", "tab", "br"))
W_B, W_I, W_COLOR, W_SZ, W_SPACING, W_JC = map(_w, ("b", "i", "color", "sz", "spacing", "jc"))
W_KEEPNEXT, W_PAGEBREAKBEFORE, W_SECTPR = map(_w, ("keepNext", "pageBreakBefore", "sectPr"))
W_TR, W_TRPR, W_CANTSPLIT, W_TBLHEADER = map(_w, ("tr", "trPr", "cantSplit", "tblHeader"))
W_TC, W_TCPR, W_TCW, W_SHD, W_VALIGN = map(_w, ("tc", "tcPr", "tcW", "shd", "vAlign"))
W_FLDCHAR, W_FLDCHARTYPE, W_INSTRTEXT = map(_w, ("fldChar", "fldCharType", "instrText"))
W_VAL, W_TYPE, W_W, W_FILL, W_COLOR_ATTR = map(_w, ("val", "type", "w", "fill", "color"))
W_BEFORE, W_AFTER, W_LINE, W_LINERULE = map(_w, ("before", "after", "line", "lineRule"))
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
_BREAKS = re.compile(r"([\t\r\n])")  # each of these is its own element in a run


@dataclass
class _Numbers:
    """Running caption numbers, mirrored by Word's SEQ fields when it updates them."""

    counts: dict[str, int] = field(default_factory=dict)

    def next(self, kind: str) -> int:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.counts[kind]


@dataclass(frozen=True)
class _Look:
    """The theme in python-docx's units, plus what the body needs to know about the document."""

    theme: Theme
    publisher: str  # named in the line under each chart
    words: Words = Words()  # the document language's fixed words
    text_width: int | None = None  # EMU between the margins, when a template's page setup decides it
    bullet: str = ""  # written before each bullet item when the List Bullet style has no bullet of its own

    @property
    def accent(self) -> RGBColor:
        return RGBColor.from_string(self.theme.accent.upper())

    @property
    def ink(self) -> RGBColor:
        return RGBColor.from_string(self.theme.ink.upper())

    @property
    def muted(self) -> RGBColor:
        return RGBColor.from_string(self.theme.muted.upper())

    @property
    def rule(self) -> str:
        return self.theme.rule.upper()

    @property
    def content_width(self) -> int:
        if self.text_width is not None:
            return self.text_width
        return Mm(self.theme.page_mm[0] - 2 * self.theme.margin_side_mm)


def render_with(job: RenderJob, theme: Theme) -> bytes:
    """Return the bytes of a .docx file presenting *job*'s document in *theme*."""
    return render(dataclasses.replace(job, options=RenderOptions(theme)))


def render(job: RenderJob) -> bytes:
    """Return the bytes of a .docx file presenting *job*'s document."""
    doc, theme = job.document, job.options.theme
    look = _Look(theme, doc.publisher, doc.words)
    template = theme.word_template
    stamp = _file_stamp(template) if template else None  # before reading it: a later change is a new key
    word = open_template(template) if template else docx.Document()
    if template is None:  # a template brings its own page setup
        _set_up_page(word, theme)
    else:
        page = word.sections[0]
        width = (page.page_width or 0) - (page.left_margin or 0) - (page.right_margin or 0)
        look = dataclasses.replace(look, text_width=width if width > 0 else None)
    if not _prepare_styles(word, look, template=template is not None, stamp=stamp):
        look = dataclasses.replace(look, bullet="• ")  # a template's List Bullet without a bullet
    body = _Body(word, look)
    _add_title_page(body, doc)
    _add_contents(body, doc)
    if template is None:
        _add_header_footer(word, theme.header or doc.title, look)
    else:  # a template's header and footer stay; ours fill in what it lacks
        has_header, has_footer = header_and_footer(word)
        if not (has_header and has_footer):
            _add_header_footer(word, theme.header or doc.title, look, header=not has_header, footer=not has_footer,
                               title_page=False)
    numbers = _Numbers()
    for n, section in enumerate(doc.sections):
        # What python-docx's add_heading writes: a paragraph in the "Heading N" style.
        heading = body.paragraph(section.title, f"Heading {_heading_level(section.level)}")
        if n == 0:
            _pPr(heading, page_break_before=True)
        for block in section.blocks:
            _add_block(body, block, numbers)
    _set_properties(word, doc.meta, doc.language)
    _ask_to_update_fields(word)
    _drop_thumbnail(word)
    parts = _package_parts(word)
    parts["docProps/app.xml"] = _app_properties(theme.creator)
    return write_package(parts, doc.meta.created)


# --- page and styles -------------------------------------------------------------------------


def _heading_level(level: int) -> int:
    return min(max(level, 1), 9)


def _set_up_page(word, theme: Theme) -> None:
    section = word.sections[0]
    width, height = theme.page_mm
    section.page_width, section.page_height = Mm(width), Mm(height)
    section.left_margin = section.right_margin = Mm(theme.margin_side_mm)
    section.top_margin, section.bottom_margin = Mm(theme.margin_top_mm), Mm(theme.margin_bottom_mm)
    section.header_distance = section.footer_distance = Inches(0.5)


# Styles as `_set_up_styles` leaves them, by everything it reads: the starting styles (python-docx's
# default template, or a customer's template file as of its modification time and size), the theme,
# the language and the text width. The reports of a catalog share a theme, so a worker sets the
# styles up once (about a third of a warm render otherwise) and copies them for each document.
_STYLES: dict[tuple, tuple[etree._Element, bool]] = {}
STYLES_KEPT = 8  # looks remembered; the oldest is forgotten first


def _file_stamp(path: Path) -> tuple[str, int, int]:
    status = path.stat()
    return str(path), status.st_mtime_ns, status.st_size


def _prepare_styles(word, look: _Look, *, template: bool, stamp: tuple | None) -> bool:
    """Set up *word*'s styles for *look* (see `_set_up_styles`); tell whether List Bullet has a bullet."""
    key = (stamp, template, look.theme, look.words.language, look.content_width)
    kept = _STYLES.get(key)
    if kept is None:
        _set_up_styles(word, look, template=template)
        kept = copy.deepcopy(word.styles.element), _numbered(word.styles["List Bullet"])
        while len(_STYLES) >= STYLES_KEPT:
            _STYLES.pop(next(iter(_STYLES)))
        _STYLES[key] = kept
    else:
        # The styles part takes a copy as its whole tree: moving the children of a copy into the
        # part's own root would cost three times as much (lxml fixes each node's namespaces).
        word.part._styles_part._element = copy.deepcopy(kept[0])
    return kept[1]


def _set_up_styles(word, look: _Look, template: bool = False) -> None:
    """Give the styles the document uses our look; with a customer's *template*, only those it lacks.

    A template's own styles (Normal, Title, Heading 1, …) keep its look; a style it does not define
    (only latent, or not at all) is added under Word's built-in name, in the default look.
    """
    styles = word.styles
    base = look.theme.base_size
    accent, ink, muted = look.accent, look.ink, look.muted
    ours = {name for name in (*BUILT_IN_STYLES, *OWN_STYLES) if not (template and has_style(word, name))}
    if not template:
        _use_one_font(styles.element, look.theme.office_font)
    for name in BUILT_IN_STYLES:
        if name in ours and not has_style(word, name):
            _add_built_in_style(styles, name)
    _set_language(styles["Normal"], look.words.language)

    def style(name: str, **formats) -> None:
        if name in ours:
            _paragraph_style(styles[name], **formats)

    style("Normal", size=base + 0.5, color=ink, after=6, line=1.15)
    style("Title", size=28, color=accent, bold=True, after=12, line=1.0)
    if "Title" in ours:
        _set_border(styles["Title"].element.get_or_add_pPr(), "bottom", accent, size=12, space=8)
    style("Subtitle", size=14, color=muted, italic=False, after=24)
    if "Subtitle" in ours:
        _plain_subtitle(styles["Subtitle"])
    style("Heading 1", size=16, color=accent, bold=True, before=18, after=6)
    style("Heading 2", size=12.5, color=accent, bold=True, before=12, after=4)
    style("TOC Heading", before=0, after=12)
    style("Caption", size=base - 1, color=muted, bold=True, before=6, after=4, line=1.0)
    style("List Bullet", after=3)
    style("Header", size=8, color=muted)
    style("Footer", size=8, color=muted)
    for name, formats in (
        ("Lead", {"size": base + 2, "after": 8}),
        ("Note", {"size": base - 1, "color": muted, "italic": True, "before": 6}),
        ("Source", {"size": base - 1.5, "color": muted, "before": 0, "after": 8, "line": 1.0}),
        ("Table Text", {"size": base - 0.5, "after": 0, "line": 1.0}),
        ("Question", {"bold": True, "before": 8, "after": 2, "keep_with_next": True}),
    ):
        if name in ours:
            _new_paragraph_style(styles, name, **formats)
    for level in (1, 2, 3):
        if not has_style(word, f"TOC {level}"):
            _toc_style(styles, level, look.content_width)


# The built-in styles the body uses, and the ones it adds; a template may define any of them.
BUILT_IN_STYLES = ("Normal", "Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "TOC Heading", "Caption",
                   "List Bullet", "Header", "Footer")
OWN_STYLES = ("Lead", "Note", "Source", "Table Text", "Question")


def _add_built_in_style(styles, name: str) -> None:
    """Add a built-in style a template lacks (Word keeps many only as latent styles until used)."""
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH, builtin=True)
    if name == "Normal":
        style.element.set(qn("w:default"), "1")  # the style of every paragraph that names none
    else:
        style.base_style = styles["Normal"]


def _numbered(style) -> bool:
    """Tell whether paragraphs of *style* get a list number or bullet (a numPr in it or a style it is based on)."""
    seen = set()
    while style is not None and style.style_id not in seen:  # a template's styles may be based in a circle
        seen.add(style.style_id)
        pPr = style.element.pPr
        if pPr is not None and pPr.find(qn("w:numPr")) is not None:
            return True
        style = style.base_style
    return False


def _toc_style(styles, level: int, content_width: int) -> None:
    """Add Word's built-in "toc N" style (the template lacks it), so Word's own TOC uses it too."""
    style = styles.add_style(f"TOC {level}", WD_STYLE_TYPE.PARAGRAPH)
    style.element.attrib.pop(qn("w:customStyle"), None)
    style.element.name_val = f"toc {level}"  # Word's built-in name; the UI shows "TOC N"
    style.base_style = styles["Normal"]
    style.next_paragraph_style = styles["Normal"]
    fmt = style.paragraph_format
    fmt.left_indent = TOC_INDENT * (level - 1)
    fmt.space_before = Pt(5 if level == 1 else 0)
    fmt.space_after = Pt(3)
    if level == 1:
        style.font.bold = True
    # Word puts page numbers at a right tab with a dot leader; the built-in style carries it.
    tabs = OxmlElement("w:tabs")
    tab = OxmlElement("w:tab")
    tab.set(qn("w:val"), "right")
    tab.set(qn("w:leader"), "dot")
    tab.set(qn("w:pos"), str(int(content_width / 635)))  # EMU to twips
    tabs.append(tab)
    _insert_in_order(style.element.get_or_add_pPr(), tabs, PPR_AFTER_BORDER[2:])


def _use_one_font(styles_element, font: str) -> None:
    """Name *font* in every style, dropping theme fonts, which Word would otherwise prefer."""
    for fonts in styles_element.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts.attrib.pop(qn(attr), None)
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(attr), font)


def _set_language(style, language: str) -> None:
    """Name the text's language in *style*, so spelling, hyphenation and screen readers use it.

    The template's document defaults say en-US too, but readers that ignore docDefaults (and
    anyone changing the template) still find it on the style every other one is based on.
    """
    rPr = style.element.get_or_add_rPr()
    for old in rPr.findall(qn("w:lang")):
        rPr.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), language)
    _insert_in_order(rPr, lang, ("eastAsianLayout", "specVanish", "oMath"))


def _paragraph_style(
    style,
    *,
    size: float | None = None,
    color: RGBColor | None = None,
    bold: bool | None = None,
    italic: bool | None = None,
    before: float | None = None,
    after: float | None = None,
    line: float | None = None,
    keep_with_next: bool | None = None,
) -> None:
    font, fmt = style.font, style.paragraph_format
    if size is not None:
        font.size = Pt(size)
    if color is not None:
        font.color.rgb = color
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    if before is not None:
        fmt.space_before = Pt(before)
    if after is not None:
        fmt.space_after = Pt(after)
    if line is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.MULTIPLE
        fmt.line_spacing = line
    if keep_with_next is not None:
        fmt.keep_with_next = keep_with_next


def _new_paragraph_style(styles, name: str, **formats) -> None:
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    style.quick_style = True
    _paragraph_style(style, **formats)


def _plain_subtitle(style) -> None:
    """Drop the template's dangling list level and letter-spacing from the Subtitle style."""
    for parent, child in (("w:pPr", "w:numPr"), ("w:rPr", "w:spacing")):
        for element in style.element.findall(f"{qn(parent)}/{qn(child)}"):
            element.getparent().remove(element)


# --- title page, contents, header and footer ---------------------------------------------------


def _add_title_page(body: _Body, doc: Document) -> None:
    look = body.look
    space = Inches(2.2)
    if look.theme.logo is not None:
        logo = body.proxy(body.paragraph())
        logo.paragraph_format.space_before = Inches(1.0)
        picture = logo.add_run().add_picture(str(look.theme.logo), width=LOGO_WIDTH)
        picture._inline.docPr.set("descr", f"{doc.publisher} logo")
        space = Inches(0.6)
    _pPr(body.paragraph(doc.title, "Title"), before=space)
    body.paragraph(doc.subtitle, "Subtitle")
    if doc.edition:
        _add_run(body.paragraph(), doc.edition, size=14, color=look.accent, bold=True)
    as_of = _pPr(body.paragraph(), before=Pt(36)).getparent()
    _add_run(as_of, doc.words("as_of", date=doc.as_of_text), size=12, color=look.muted, bold=False)
    _add_run(body.paragraph(), doc.publisher, size=12, color=look.accent, bold=True)


def _add_contents(body: _Body, doc: Document) -> None:
    """Add the contents page: a TOC field whose result already lists the section titles.

    Word replaces the result (adding page numbers) when it updates fields on opening; viewers
    that never update fields show the titles as they are.
    """
    heading = body.paragraph(doc.words("contents"), "TOC Heading")
    _pPr(heading, page_break_before=True)
    entries = [(s.title, _heading_level(s.level)) for s in doc.sections]
    if not entries:
        _add_field(body.paragraph(), TOC_INSTRUCTION, TOC_PLACEHOLDER)
        return
    paragraphs = [body.paragraph(title, f"toc {min(level, 3)}") for title, level in entries]
    first, last = paragraphs[0], paragraphs[-1]
    # The field begins before the first entry's text and ends after the last entry's.
    begin = first.findall(W_R)[0]
    for kind, content in (("begin", None), ("instr", TOC_INSTRUCTION), ("separate", None)):
        run = first.makeelement(W_R)
        begin.addprevious(run)
        if content is None:
            etree.SubElement(run, W_FLDCHAR).set(W_FLDCHARTYPE, kind)
        else:
            _instruction(run, content)
    _field_char(last, "end")


def _add_header_footer(word, title: str, look: _Look, *, header: bool = True, footer: bool = True,
                       title_page: bool = True) -> None:
    """Add the running header (*title*) and footer ("Page X of Y"); with *title_page*, none on the cover."""
    section = word.sections[0]
    if title_page:
        # The title page shows neither: an empty first-page header and footer are defined for it.
        section.different_first_page_header_footer = True
        section.first_page_header.is_linked_to_previous = False
        section.first_page_footer.is_linked_to_previous = False
    if header:
        _add_header(section, title, look)
    if footer:
        _add_footer(section, look)


def _add_header(section, title: str, look: _Look) -> None:
    header = section.header.paragraphs[0]
    header.text = title
    _set_border(header._p.get_or_add_pPr(), "bottom", RGBColor.from_string(look.rule), size=4, space=4)


def _add_footer(section, look: _Look) -> None:
    footer = section.footer.paragraphs[0]
    if look.theme.footer:
        # The theme's text at the left, the page number at a right tab.
        footer.add_run(look.theme.footer)
        footer.paragraph_format.tab_stops.add_tab_stop(look.content_width, WD_TAB_ALIGNMENT.RIGHT)
        footer.add_run("\t")
    else:
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    # "Page {page} of {pages}" in the document's words, the numbers as fields Word fills in.
    before, _, rest = look.words("page_of").partition("{page}")
    between, _, after = rest.partition("{pages}")
    footer.add_run(before)
    _add_field(footer, "PAGE", "1")
    footer.add_run(between)
    _add_field(footer, "NUMPAGES", "1")
    if after:
        footer.add_run(after)


# --- blocks ------------------------------------------------------------------------------------


class _Body:
    """Appends the body's paragraphs and tables as the elements python-docx would write, directly.

    Profiling showed python-docx's proxies spend most of a render resolving a style name per
    paragraph (`paragraph.style = name` scans every style for the default one, `styles.default_for`)
    and in per-cell proxies. Here each style name is resolved once, through python-docx, and the
    paragraphs, runs and table rows are made with lxml: the same tags, attributes and order as
    python-docx's, so the same bytes. Every text is set as element text (lxml escapes it); nothing
    from the data is formatted into XML. A python-docx `Paragraph` proxy over any of these
    paragraphs (`proxy`) is there for what python-docx does best (pictures, chart parts).
    """

    def __init__(self, word, look: _Look):
        self.word, self.look = word, look
        self._body = word.element.body
        self._end = self._body.find(W_SECTPR)  # python-docx adds blocks before the final sectPr
        self._style_ids: dict[str, str | None] = {}
        self._default = word.styles.default(WD_STYLE_TYPE.PARAGRAPH)

    def style_id(self, name: str) -> str | None:
        """The id python-docx writes for the paragraph style *name*: None for the default style.

        As `paragraph.style = name` decides it (`Styles.get_style_id`), with the default style looked
        up once per document rather than once per paragraph.
        """
        try:
            return self._style_ids[name]
        except KeyError:
            pass
        style = self.word.styles[name]  # KeyError for a style the document lacks, as python-docx
        if style.type != WD_STYLE_TYPE.PARAGRAPH:
            raise ValueError(f"assigned style is type {style.type}, need type {WD_STYLE_TYPE.PARAGRAPH}")
        found = self._style_ids[name] = None if style == self._default else style.style_id
        return found

    def _append(self, tag: str):
        element = etree.SubElement(self._body, tag)
        if self._end is not None:
            self._end.addprevious(element)
        return element

    def paragraph(self, text: str = "", style: str | None = None):
        """Append a paragraph as `word.add_paragraph(text, style)` does; return its `w:p`."""
        p = self._append(W_P)
        if style is not None:
            pPr = etree.SubElement(p, W_PPR)
            style_id = self.style_id(style)
            if style_id is not None:
                etree.SubElement(pPr, W_PSTYLE).set(W_VAL, style_id)
        if text:
            _set_text(etree.SubElement(p, W_R), text)
        return p

    def table(self, cols: int):
        """Append a table without rows as `word.add_table(rows=0, cols=cols)` does; return the proxy."""
        table = self.word.add_table(rows=0, cols=cols)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        return table

    def proxy(self, p) -> DocxParagraph:
        return DocxParagraph(p, self.word)


def _add_block(body: _Body, block: Block, numbers: _Numbers) -> None:
    look = body.look
    if isinstance(block, Paragraph):
        body.paragraph(block.text, {"lead": "Lead", "note": "Note"}.get(block.role, "Normal"))
    elif isinstance(block, Bullets):
        for item in block.items:
            body.paragraph(look.bullet + item, "List Bullet")
    elif isinstance(block, Table):
        _add_table(body, block, numbers.next("Table"))
    elif isinstance(block, Chart):
        _add_chart(body, block, numbers.next("Figure"))
    elif isinstance(block, QA):
        _add_qa(body, block)
    elif isinstance(block, Figures):
        if block.style == "table":
            _add_table(body, block.as_table(), numbers.next("Table"))
        else:
            _add_cards(body, block)
    elif isinstance(block, WORKBOOK_ONLY):
        pass
    else:
        raise TypeError(f"the docx renderer has no layout for {type(block).__name__} blocks")


def _add_qa(body: _Body, block: QA) -> None:
    question = body.paragraph(style="Question")
    _add_run(question, f"Q{block.number}. ", color=body.look.accent)
    _add_run(question, block.question)
    body.paragraph(block.answer)


def _add_caption(body: _Body, kind: str, number: int, text: str):
    """Append a caption, kept with what follows: the label, a SEQ field numbering it, the text."""
    caption = body.paragraph(style="Caption")
    _pPr(caption, keep_with_next=True)
    # The label in the document's words; the SEQ field keeps its fixed name, which numbers it.
    _add_run(caption, f"{body.look.words(kind.lower())} ")
    _add_field(caption, f"SEQ {kind} \\* ARABIC", str(number))
    _add_run(caption, f": {text}")
    return caption


def _add_table(body: _Body, block: Table, number: int) -> None:
    look = body.look
    _add_caption(body, "Table", number, block.caption)
    table = body.table(len(block.header))
    _style_table(table, look)
    widths = _column_widths(block, look.content_width)
    for column, width in zip(table.columns, widths):
        column.width = width
    tbl = table._tbl
    twips = [str(Emu(width).twips) for width in widths]
    text_style = body.style_id("Table Text")
    accent = str(look.accent)
    keep = len(block.rows) <= KEEP_TOGETHER_ROWS
    rows = [block.header, *block.rows]
    template = None
    for index, values in enumerate(rows):
        if template is not None and _plain(values):
            _copy_row(tbl, template, values)
            continue
        header = index == 0
        tr = etree.SubElement(tbl, W_TR)
        trPr = etree.SubElement(tr, W_TRPR)
        etree.SubElement(trPr, W_CANTSPLIT)
        if header:
            etree.SubElement(trPr, W_TBLHEADER)
        keep_next = keep and index < len(rows) - 1
        for value, cell_width, numeric in zip(values, twips, block.numeric):  # every row has a value per column
            tc = etree.SubElement(tr, W_TC)
            tcPr = etree.SubElement(tc, W_TCPR)
            _width(tcPr, cell_width)
            p = etree.SubElement(tc, W_P)
            if header:
                _shading(tcPr, accent)
            etree.SubElement(tcPr, W_VALIGN).set(W_VAL, "center")
            pPr = etree.SubElement(p, W_PPR)
            if text_style is not None:
                etree.SubElement(pPr, W_PSTYLE).set(W_VAL, text_style)
            _on_off(etree.SubElement(pPr, W_KEEPNEXT), keep_next)
            etree.SubElement(pPr, W_JC).set(W_VAL, "right" if numeric else "left")
            if header:
                _add_run(p, value, bold=True, color=WHITE)
            else:
                _add_run(p, value)
        if index > 0 and not keep and _plain(values):
            # Long tables: later rows are copies of this one with their texts replaced.
            template = tr
    # Space after the table, which Word would otherwise butt against the next paragraph.
    _pPr(body.paragraph(style="Table Text"), after=Pt(6))


def _plain(values) -> bool:
    """Tell whether every text of a row is a single run of text (no tabs or line breaks) that is not empty."""
    return all(value and "\n" not in value and "\t" not in value and "\r" not in value for value in values)


def _copy_row(tbl, template, values) -> None:
    row = copy.deepcopy(template)
    for text, value in zip(row.iter(W_T), values):
        text.text = value
        if value[0].isspace() or value[-1].isspace():
            text.set(XML_SPACE, "preserve")
    tbl.append(row)


def _column_widths(block: Table, content_width: int) -> list[int]:
    """Share the text width among columns by their longest text, so no column wraps needlessly."""
    longest = [max(len(row[i]) for row in (block.header, *block.rows)) for i in range(len(block.header))]
    weights = [max(n, 10) for n in longest]
    total = sum(weights)
    return [int(content_width * w / total) for w in weights]


def _style_table(table, look: _Look) -> None:
    tblPr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge, size, color in (
        ("top", 8, str(look.accent)),
        ("left", 0, None),
        ("bottom", 8, str(look.accent)),
        ("right", 0, None),
        ("insideH", 4, look.rule),
        ("insideV", 0, None),
    ):
        borders.append(_border(edge, size, color))
    _insert_in_order(tblPr, borders, ("shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption"))
    margins = OxmlElement("w:tblCellMar")
    for edge, twips in (("top", 50), ("left", 100), ("bottom", 50), ("right", 100)):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), str(twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    _insert_in_order(tblPr, margins, ("tblLook", "tblCaption", "tblDescription"))


def _add_chart(body: _Body, block: Chart, number: int) -> None:
    """A native Word chart (a chart part with cached values): every viewer draws it, Word edits it."""
    look = body.look
    holder = body.paragraph()
    _pPr(holder, keep_with_next=True, before=Pt(6), line=1.0, align="center")
    width = Inches(CHART_WIDTH_IN)
    height = int(width * (CHART_ASPECT_PIE if block.kind == "pie" else CHART_ASPECT))
    # The caption below names the chart, so the chart itself carries no title.
    add_docx_chart(body.proxy(holder), block, look.theme, width_emu=width, height_emu=height,
                   description=block.title, title=False)
    _add_caption(body, "Figure", number, block.title)
    body.paragraph(look.theme.source_line(look.publisher, block.has_derived, look.words.language), "Source")


def _add_cards(body: _Body, block: Figures) -> None:
    """Key figures as cards: a row of cells, each a large value over its label (four to a row)."""
    look = body.look
    figures = block.figures
    per_row = min(len(figures), CARDS_PER_ROW)
    table = body.table(per_row)
    width = int(look.content_width / per_row)
    # The largest size at which the longest value fits its card on one line. Arial has Helvetica's
    # widths; another font (a theme's) is measured as Helvetica with a margin, as it may run wider.
    room = width / 12700 - CARD_PADDING_PT  # EMU to points
    spread = 1.0 if look.theme.office_font in METRIC_HELVETICA else OTHER_FONT_SPREAD
    fits = [size for size in CARD_VALUE_SIZES
            if max(string_width(f.text, "Helvetica-Bold", size) for f in figures) * spread <= room]
    size = fits[0] if fits else CARD_VALUE_SIZES[-1]
    tbl = table._tbl
    grid = [str(Emu(col.w).twips) for col in tbl.tblGrid.gridCol_lst]  # as add_row sizes a new cell
    card_width = str(Emu(width).twips)
    fill = look.theme.zebra.upper()
    for start in range(0, len(figures), per_row):
        tr = etree.SubElement(tbl, W_TR)
        row = figures[start:start + per_row]
        for column, grid_width in enumerate(grid):
            tc = etree.SubElement(tr, W_TC)
            tcPr = etree.SubElement(tc, W_TCPR)
            value = etree.SubElement(tc, W_P)
            if column >= len(row):  # the last row's empty cells, as python-docx adds them
                _width(tcPr, grid_width)
                continue
            figure = row[column]
            _width(tcPr, card_width)
            _shading(tcPr, fill)
            _pPr(value, style=body.style_id("Table Text"), before=Pt(6))
            _add_run(value, figure.text, size=size, color=look.accent, bold=True, italic=figure.derived)
            label = etree.SubElement(tc, W_P)
            _pPr(label, style=body.style_id("Table Text"), after=Pt(0 if figure.note else 6))
            if figure.label:
                _add_run(label, figure.label, color=look.muted)
            if figure.note:
                note = etree.SubElement(tc, W_P)
                _pPr(note, style=body.style_id("Table Text"), after=Pt(6))
                _add_run(note, figure.note, size=look.theme.base_size - 1.5, color=look.muted, bold=False)
    _pPr(body.paragraph(style="Table Text"), after=Pt(6))


# --- raw WordprocessingML ----------------------------------------------------------------------
# The elements python-docx writes for the same calls, in its order (ECMA-376 schema order).


def _set_text(r, text: str) -> None:
    """Put *text* in the run *r* as python-docx's `run.text` does: a tab is a w:tab, CR and LF each a w:br."""
    if "\t" in text or "\n" in text or "\r" in text:
        for piece in _BREAKS.split(text):
            if piece == "\t":
                etree.SubElement(r, W_TAB)
            elif piece in ("\n", "\r"):
                etree.SubElement(r, W_BR)
            elif piece:
                _text(r, piece)
    else:
        _text(r, text)


def _text(r, text: str) -> None:
    t = etree.SubElement(r, W_T)
    t.text = text  # lxml escapes it, and refuses control characters as python-docx does (ValueError)
    if len(text.strip()) < len(text):
        t.set(XML_SPACE, "preserve")


def _add_run(p, text: str, *, size: float | None = None, color: RGBColor | None = None, bold: bool | None = None,
             italic: bool | None = None):
    """Append a run of *text* (empty: an empty run, as `paragraph.add_run("")`) with these font settings."""
    r = etree.SubElement(p, W_R)
    if size is not None or color is not None or bold is not None or italic is not None:
        rPr = etree.SubElement(r, W_RPR)
        if bold is not None:
            _on_off(etree.SubElement(rPr, W_B), bold)
        if italic is not None:
            _on_off(etree.SubElement(rPr, W_I), italic)
        if color is not None:
            etree.SubElement(rPr, W_COLOR).set(W_VAL, str(color))
        if size is not None:
            etree.SubElement(rPr, W_SZ).set(W_VAL, ST_HpsMeasure.convert_to_xml(Pt(size)))
    if text:
        _set_text(r, text)
    return r


def _on_off(element, value: bool) -> None:
    if not value:  # true is the default, which python-docx leaves out
        element.set(W_VAL, "0")


def _pPr(p, *, style: str | None = None, keep_with_next: bool | None = None, page_break_before: bool = False,
         before: int | None = None, after: int | None = None, line: float | None = None,
         align: str | None = None):
    """Add paragraph properties to *p* (its pPr, if any, holds at most a pStyle); return the pPr."""
    pPr = p.find(W_PPR)
    if pPr is None:
        pPr = etree.Element(W_PPR)
        p.insert(0, pPr)
    if style is not None:
        etree.SubElement(pPr, W_PSTYLE).set(W_VAL, style)
    if keep_with_next is not None:
        _on_off(etree.SubElement(pPr, W_KEEPNEXT), keep_with_next)
    if page_break_before:
        etree.SubElement(pPr, W_PAGEBREAKBEFORE)
    if before is not None or after is not None or line is not None:
        spacing = etree.SubElement(pPr, W_SPACING)
        if before is not None:
            spacing.set(W_BEFORE, str(Emu(before).twips))
        if after is not None:
            spacing.set(W_AFTER, str(Emu(after).twips))
        if line is not None:  # a multiple of single spacing
            spacing.set(W_LINE, str(Emu(line * Twips(240)).twips))  # type: ignore[arg-type]  # as python-docx
            spacing.set(W_LINERULE, "auto")
    if align is not None:
        etree.SubElement(pPr, W_JC).set(W_VAL, align)
    return pPr


def _width(tcPr, twips: str) -> None:
    width = etree.SubElement(tcPr, W_TCW)
    width.set(W_TYPE, "dxa")
    width.set(W_W, twips)


def _shading(tcPr, fill: str) -> None:
    shading = etree.SubElement(tcPr, W_SHD)
    shading.set(W_VAL, "clear")
    shading.set(W_COLOR_ATTR, "auto")
    shading.set(W_FILL, fill)


def _instruction(run, instruction: str) -> None:
    code = etree.SubElement(run, W_INSTRTEXT)
    code.set(XML_SPACE, "preserve")
    code.text = f" {instruction} "


def _add_field(paragraph, instruction: str, shown: str) -> None:
    """Append a complex field showing *shown* until Word recalculates *instruction* (a `w:p` or a proxy)."""
    p = getattr(paragraph, "_p", paragraph)
    _field_char(p, "begin")
    _instruction(etree.SubElement(p, W_R), instruction)
    _field_char(p, "separate")
    _add_run(p, shown)
    _field_char(p, "end")


def _field_char(p, kind: str) -> None:
    etree.SubElement(etree.SubElement(p, W_R), W_FLDCHAR).set(W_FLDCHARTYPE, kind)


def _border(edge: str, size: int, color: str | None):
    element = OxmlElement(f"w:{edge}")
    element.set(qn("w:val"), "single" if size else "nil")
    if size:
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), color)
    return element


def _set_border(pPr, edge: str, color: RGBColor, *, size: int, space: int) -> None:
    for old in pPr.findall(qn("w:pBdr")):
        pPr.remove(old)
    borders = OxmlElement("w:pBdr")
    line = _border(edge, size, str(color))
    line.set(qn("w:space"), str(space))
    borders.append(line)
    _insert_in_order(pPr, borders, PPR_AFTER_BORDER)


def _insert_in_order(parent, child, successors) -> None:
    """Insert *child* before the first of its schema *successors*, as Word insists on the order."""
    tags = {qn(f"w:{name}") for name in successors}
    following = next((element for element in parent if element.tag in tags), None)
    if following is None:
        parent.append(child)
    else:
        following.addprevious(child)


def _ask_to_update_fields(word) -> None:
    """Make Word offer to update fields on opening, which fills in the table of contents."""
    settings = word.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    # Schema order puts updateFields right before the compatibility settings.
    anchor = settings.find(qn("w:compat"))
    if anchor is None:
        settings.append(update)
    else:
        anchor.addprevious(update)


# --- package -----------------------------------------------------------------------------------


def _set_properties(word, meta: Meta, language: str) -> None:
    props = word.core_properties
    props.title = meta.title
    props.subject = meta.subject
    props.author = meta.author
    props.last_modified_by = meta.author
    props.keywords = ", ".join(meta.keywords)
    props.comments = ""
    props.category = ""
    # A template's own values must not reach a client's copy.
    props.content_status = props.identifier = props.version = ""
    props.language = language
    props.revision = 1
    props.created = props.modified = props.last_printed = meta.created


class _Parts(dict):
    """Collects what python-docx's package writer would zip: member name to contents."""

    def write(self, pack_uri, blob: bytes) -> None:
        self[pack_uri.membername] = blob


def _package_parts(word) -> dict[str, bytes]:
    """Return the members of *word*'s package as `word.save` writes them (names to bytes), unzipped.

    The same steps as python-docx's `OpcPackage.save` and `PackageWriter.write`, so the same bytes,
    but into a mapping that `write_package` zips once, reproducibly.
    """
    package = word.part.package
    for part in package.parts:
        part.before_marshal()
    parts = _Parts()
    PackageWriter._write_content_types_stream(parts, package.parts)
    PackageWriter._write_pkg_rels(parts, package.rels)
    PackageWriter._write_parts(parts, package.parts)  # type: ignore[arg-type]  # a writer by duck typing
    return parts


def _drop_thumbnail(word) -> None:
    # The template's thumbnail shows python-docx's blank sample page, not this document.
    rels = word.part.package.rels
    for rId in [rId for rId, rel in rels.items() if rel.reltype == RT.THUMBNAIL]:
        del rels[rId]


def _app_properties(creator: str) -> bytes:
    # The template's app.xml claims a Mac Word install and stale page and word counts. The
    # application is named only when a theme asks: client files do not advertise the tool.
    application = f"<Application>{escape(creator)}</Application>".encode() if creator else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        b'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        + application +
        b"<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate>"
        b"<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
        b"</Properties>"
    )
