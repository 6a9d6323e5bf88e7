"""Render the document as a Word file: title page, contents, styled sections, tables and chart.

Headings use Word's own Heading styles and the contents is a real TOC field, so the navigation
pane and "Update field" work as readers expect. The raw WordprocessingML this needs (fields,
borders, shading, settings) is built here and nowhere else.
"""

from __future__ import annotations

import copy
import dataclasses
import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Mm, Pt, RGBColor
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..core.document import QA, WORKBOOK_ONLY, Block, Bullets, Chart, Document, Figures, Meta, Paragraph, Table
from ..core.messages import Words
from . import RenderJob, RenderOptions
from .nativechart import add_docx_chart
from .ooxml import reproducible_zip
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
    word = open_template(template) if template else docx.Document()
    if template is None:  # a template brings its own page setup
        _set_up_page(word, theme)
    else:
        page = word.sections[0]
        width = (page.page_width or 0) - (page.left_margin or 0) - (page.right_margin or 0)
        look = dataclasses.replace(look, text_width=width if width > 0 else None)
    _set_up_styles(word, look, template=template is not None)
    if not _numbered(word.styles["List Bullet"]):  # a template's List Bullet without a bullet
        look = dataclasses.replace(look, bullet="• ")
    _add_title_page(word, doc, look)
    _add_contents(word, doc)
    if template is None:
        _add_header_footer(word, theme.header or doc.title, look)
    else:  # a template's header and footer stay; ours fill in what it lacks
        has_header, has_footer = header_and_footer(word)
        if not (has_header and has_footer):
            _add_header_footer(word, theme.header or doc.title, look, header=not has_header, footer=not has_footer,
                               title_page=False)
    numbers = _Numbers()
    for n, section in enumerate(doc.sections):
        heading = word.add_heading(section.title, level=_heading_level(section.level))
        if n == 0:
            heading.paragraph_format.page_break_before = True
        for block in section.blocks:
            _add_block(word, block, numbers, look)
    _set_properties(word, doc.meta, doc.language)
    _ask_to_update_fields(word)
    _drop_thumbnail(word)
    out = io.BytesIO()
    word.save(out)
    return reproducible_zip(
        out.getvalue(), doc.meta.created, replace={"docProps/app.xml": _app_properties(theme.creator)}
    )


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


def _add_title_page(word, doc: Document, look: _Look) -> None:
    space = Inches(2.2)
    if look.theme.logo is not None:
        logo = word.add_paragraph()
        logo.paragraph_format.space_before = Inches(1.0)
        picture = logo.add_run().add_picture(str(look.theme.logo), width=LOGO_WIDTH)
        picture._inline.docPr.set("descr", f"{doc.publisher} logo")
        space = Inches(0.6)
    title = word.add_paragraph(doc.title, style="Title")
    title.paragraph_format.space_before = space
    word.add_paragraph(doc.subtitle, style="Subtitle")
    if doc.edition:
        _format_run(word.add_paragraph().add_run(doc.edition), size=14, color=look.accent, bold=True)
    as_of = word.add_paragraph()
    as_of.paragraph_format.space_before = Pt(36)
    _format_run(as_of.add_run(doc.words("as_of", date=doc.as_of_text)), size=12, color=look.muted)
    publisher = word.add_paragraph()
    _format_run(publisher.add_run(doc.publisher), size=12, color=look.accent, bold=True)


def _format_run(run, *, size: float, color: RGBColor, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.color.rgb = color
    run.bold = bold


def _add_contents(word, doc: Document) -> None:
    """Add the contents page: a TOC field whose result already lists the section titles.

    Word replaces the result (adding page numbers) when it updates fields on opening; viewers
    that never update fields show the titles as they are.
    """
    heading = word.add_paragraph(doc.words("contents"), style="TOC Heading")
    heading.paragraph_format.page_break_before = True
    entries = [(s.title, _heading_level(s.level)) for s in doc.sections]
    if not entries:
        _add_field(word.add_paragraph(), TOC_INSTRUCTION, TOC_PLACEHOLDER)
        return
    paragraphs = [word.add_paragraph(title, style=word.styles[f"toc {min(level, 3)}"]) for title, level in entries]
    first, last = paragraphs[0], paragraphs[-1]
    # The field begins before the first entry's text and ends after the last entry's.
    begin = first.runs[0]._r
    for kind, content in (("begin", None), ("instr", TOC_INSTRUCTION), ("separate", None)):
        run = OxmlElement("w:r")
        if content is None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run.append(char)
        else:
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = f" {content} "
            run.append(code)
        begin.addprevious(run)
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


def _add_block(word, block: Block, numbers: _Numbers, look: _Look) -> None:
    if isinstance(block, Paragraph):
        _add_paragraph(word, block)
    elif isinstance(block, Bullets):
        for item in block.items:
            word.add_paragraph(look.bullet + item, style="List Bullet")
    elif isinstance(block, Table):
        _add_table(word, block, numbers.next("Table"), look)
    elif isinstance(block, Chart):
        _add_chart(word, block, numbers.next("Figure"), look)
    elif isinstance(block, QA):
        _add_qa(word, block, look)
    elif isinstance(block, Figures):
        if block.style == "table":
            _add_table(word, block.as_table(), numbers.next("Table"), look)
        else:
            _add_cards(word, block, look)
    elif isinstance(block, WORKBOOK_ONLY):
        pass
    else:
        raise TypeError(f"the docx renderer has no layout for {type(block).__name__} blocks")


def _add_paragraph(word, block: Paragraph) -> None:
    style = {"lead": "Lead", "note": "Note"}.get(block.role, "Normal")
    word.add_paragraph(block.text, style=style)


def _add_qa(word, block: QA, look: _Look) -> None:
    question = word.add_paragraph(style="Question")
    number = question.add_run(f"Q{block.number}. ")
    number.font.color.rgb = look.accent
    question.add_run(block.question)
    word.add_paragraph(block.answer)


def _add_caption(word, kind: str, number: int, text: str, look: _Look):
    caption = word.add_paragraph(style="Caption")
    # The label in the document's words; the SEQ field keeps its fixed name, which numbers it.
    caption.add_run(f"{look.words(kind.lower())} ")
    _add_field(caption, f"SEQ {kind} \\* ARABIC", str(number))
    caption.add_run(f": {text}")
    return caption


def _add_table(word, block: Table, number: int, look: _Look) -> None:
    _add_caption(word, "Table", number, block.caption, look).paragraph_format.keep_with_next = True
    table = word.add_table(rows=0, cols=len(block.header))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _style_table(table, look)
    widths = _column_widths(block, look.content_width)
    for column, width in zip(table.columns, widths):
        column.width = width
    keep = len(block.rows) <= KEEP_TOGETHER_ROWS
    rows = [block.header, *block.rows]
    template = None
    for index, values in enumerate(rows):
        if template is not None and _plain(values):
            _copy_row(table, template, values)
            continue
        row = table.add_row()
        trPr = row._tr.get_or_add_trPr()
        trPr.append(OxmlElement("w:cantSplit"))
        if index == 0:
            trPr.append(OxmlElement("w:tblHeader"))
        for cell, value, width, numeric in zip(row.cells, values, widths, block.numeric):
            _fill_cell(
                cell, value, width, numeric, header=index == 0, keep=keep and index < len(rows) - 1, look=look
            )
        if index > 0 and not keep and _plain(values):
            # Long tables: later rows are copies of this one with their texts replaced, which is
            # ~30x faster than building each through python-docx.
            template = row._tr
    # Space after the table, which Word would otherwise butt against the next paragraph.
    word.add_paragraph(style="Table Text").paragraph_format.space_after = Pt(6)


def _plain(values) -> bool:
    """Tell whether every text of a row is a single run of text (no tabs or line breaks) that is not empty."""
    return all(value and "\n" not in value and "\t" not in value and "\r" not in value for value in values)


def _copy_row(table, template, values) -> None:
    row = copy.deepcopy(template)
    for text, value in zip(row.iter(qn("w:t")), values):
        text.text = value
        if value[0].isspace() or value[-1].isspace():
            text.set(XML_SPACE, "preserve")
    table._tbl.append(row)


def _fill_cell(cell, value: str, width, numeric: bool, *, header: bool, keep: bool, look: _Look) -> None:
    cell.width = width
    if header:
        _shade(cell, str(look.accent))
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.style = "Table Text"
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.keep_with_next = keep
    run = paragraph.add_run(value)
    if header:
        run.bold = True
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)


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


def _add_chart(word, block: Chart, number: int, look: _Look) -> None:
    """A native Word chart (a chart part with cached values): every viewer draws it, Word edits it."""
    holder = word.add_paragraph()
    holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
    holder.paragraph_format.keep_with_next = True
    holder.paragraph_format.space_before = Pt(6)
    holder.paragraph_format.line_spacing = 1.0
    width = Inches(CHART_WIDTH_IN)
    height = int(width * (CHART_ASPECT_PIE if block.kind == "pie" else CHART_ASPECT))
    # The caption below names the chart, so the chart itself carries no title.
    add_docx_chart(holder, block, look.theme, width_emu=width, height_emu=height, description=block.title,
                   title=False)
    _add_caption(word, "Figure", number, block.title, look).paragraph_format.keep_with_next = True
    word.add_paragraph(look.theme.source_line(look.publisher, block.has_derived, look.words.language), style="Source")


def _add_cards(word, block: Figures, look: _Look) -> None:
    """Key figures as cards: a row of cells, each a large value over its label (four to a row)."""
    figures = block.figures
    per_row = min(len(figures), CARDS_PER_ROW)
    table = word.add_table(rows=0, cols=per_row)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    width = int(look.content_width / per_row)
    # The largest size at which the longest value fits its card on one line. Arial has Helvetica's
    # widths; another font (a theme's) is measured as Helvetica with a margin, as it may run wider.
    room = width / 12700 - CARD_PADDING_PT  # EMU to points
    spread = 1.0 if look.theme.office_font in METRIC_HELVETICA else OTHER_FONT_SPREAD
    fits = [size for size in CARD_VALUE_SIZES
            if max(stringWidth(f.text, "Helvetica-Bold", size) for f in figures) * spread <= room]
    size = fits[0] if fits else CARD_VALUE_SIZES[-1]
    for start in range(0, len(figures), per_row):
        cells = table.add_row().cells
        for cell, figure in zip(cells, figures[start:start + per_row]):
            cell.width = width
            _shade(cell, look.theme.zebra.upper())
            value = cell.paragraphs[0]
            value.style = "Table Text"
            value.paragraph_format.space_before = Pt(6)
            run = value.add_run(figure.text)
            _format_run(run, size=size, color=look.accent, bold=True)
            run.italic = figure.derived
            label = cell.add_paragraph(figure.label, style="Table Text")
            label.paragraph_format.space_after = Pt(0 if figure.note else 6)
            for r in label.runs:
                r.font.color.rgb = look.muted
            if figure.note:
                note = cell.add_paragraph(figure.note, style="Table Text")
                note.paragraph_format.space_after = Pt(6)
                for r in note.runs:
                    _format_run(r, size=look.theme.base_size - 1.5, color=look.muted)
    word.add_paragraph(style="Table Text").paragraph_format.space_after = Pt(6)


# --- raw WordprocessingML ----------------------------------------------------------------------


def _add_field(paragraph, instruction: str, shown: str) -> None:
    """Append a complex field showing *shown* until Word recalculates *instruction*."""
    _field_char(paragraph, "begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    paragraph.add_run()._r.append(code)
    _field_char(paragraph, "separate")
    paragraph.add_run(shown)
    _field_char(paragraph, "end")


def _field_char(paragraph, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    paragraph.add_run()._r.append(char)


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


def _shade(cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    _insert_in_order(
        cell._tc.get_or_add_tcPr(),
        shading,
        ("noWrap", "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark"),
    )


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
