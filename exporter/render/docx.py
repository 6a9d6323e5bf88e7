"""Render the document as a Word file: title page, contents, styled sections, tables and chart.

Headings use Word's own Heading styles and the contents is a real TOC field, so the navigation
pane and "Update field" work as readers expect. The raw WordprocessingML this needs (fields,
borders, shading, settings) is built here and nowhere else.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor

from ..document import QA, Block, Bullets, Chart, Document, Meta, Paragraph, Table
from . import RenderJob
from .chartimage import chart_png
from .ooxml import reproducible_zip

FONT = "Arial"  # on every Office install; LibreOffice maps it to the metric-equal Liberation Sans
LANGUAGE = "en-US"
ACCENT = RGBColor(0x1F, 0x4E, 0x79)
INK = RGBColor(0x26, 0x26, 0x26)
MUTED = RGBColor(0x59, 0x59, 0x59)
RULE = "BFBFBF"
PAGE_WIDTH, PAGE_HEIGHT, MARGIN = Inches(8.5), Inches(11), Inches(1)
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
CHART_WIDTH_IN = 6.0
CHART_DPI = 200
TOC_INSTRUCTION = 'TOC \\o "1-3" \\h \\z \\u'
TOC_PLACEHOLDER = "Right-click to update the table of contents."
# Tables up to this many rows are kept on one page; longer ones split and repeat their header.
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


def render(job: RenderJob) -> bytes:
    """Return the bytes of a .docx file presenting *job*'s document."""
    doc = job.document
    word = docx.Document()
    _set_up_page(word)
    _set_up_styles(word)
    _add_title_page(word, doc)
    _add_contents(word)
    _add_header_footer(word, doc.title)
    numbers = _Numbers()
    for n, section in enumerate(doc.sections):
        heading = word.add_heading(section.title, level=min(max(section.level, 1), 9))
        if n == 0:
            heading.paragraph_format.page_break_before = True
        for block in section.blocks:
            _add_block(word, block, numbers)
    _set_properties(word, doc.meta)
    _ask_to_update_fields(word)
    _drop_thumbnail(word)
    out = io.BytesIO()
    word.save(out)
    return reproducible_zip(
        out.getvalue(), doc.meta.created, replace={"docProps/app.xml": _app_properties()}
    )


# --- page and styles -------------------------------------------------------------------------


def _set_up_page(word) -> None:
    section = word.sections[0]
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.left_margin = section.right_margin = MARGIN
    section.top_margin = section.bottom_margin = MARGIN
    section.header_distance = section.footer_distance = Inches(0.5)


def _set_up_styles(word) -> None:
    styles = word.styles
    _use_one_font(styles.element)
    _set_language(styles["Normal"])
    _paragraph_style(styles["Normal"], size=10.5, color=INK, after=6, line=1.15)
    _paragraph_style(styles["Title"], size=28, color=ACCENT, bold=True, after=12, line=1.0)
    _set_border(styles["Title"].element.get_or_add_pPr(), "bottom", ACCENT, size=12, space=8)
    _paragraph_style(styles["Subtitle"], size=14, color=MUTED, italic=False, after=24)
    _plain_subtitle(styles["Subtitle"])
    _paragraph_style(styles["Heading 1"], size=16, color=ACCENT, bold=True, before=18, after=6)
    _paragraph_style(styles["Heading 2"], size=12.5, color=ACCENT, bold=True, before=12, after=4)
    _paragraph_style(styles["TOC Heading"], before=0, after=12)
    _paragraph_style(styles["Caption"], size=9, color=MUTED, bold=True, before=6, after=4, line=1.0)
    _paragraph_style(styles["List Bullet"], after=3)
    _paragraph_style(styles["Header"], size=8, color=MUTED)
    _paragraph_style(styles["Footer"], size=8, color=MUTED)
    _new_paragraph_style(styles, "Lead", size=12, after=8)
    _new_paragraph_style(styles, "Note", size=9, color=MUTED, italic=True, before=6)
    _new_paragraph_style(styles, "Table Text", size=9.5, after=0, line=1.0)
    _new_paragraph_style(styles, "Question", bold=True, before=8, after=2, keep_with_next=True)


def _use_one_font(styles_element) -> None:
    """Name FONT in every style, dropping theme fonts, which Word would otherwise prefer."""
    for fonts in styles_element.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts.attrib.pop(qn(attr), None)
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(attr), FONT)


def _set_language(style) -> None:
    """Name the text's language in *style*, so spelling, hyphenation and screen readers use it.

    The template's document defaults say en-US too, but readers that ignore docDefaults (and
    anyone changing the template) still find it on the style every other one is based on.
    """
    rPr = style.element.get_or_add_rPr()
    for old in rPr.findall(qn("w:lang")):
        rPr.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANGUAGE)
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


def _add_title_page(word, doc: Document) -> None:
    title = word.add_paragraph(doc.title, style="Title")
    title.paragraph_format.space_before = Inches(2.2)
    word.add_paragraph(doc.subtitle, style="Subtitle")
    as_of = word.add_paragraph()
    as_of.paragraph_format.space_before = Pt(36)
    _format_run(as_of.add_run(f"As of {doc.as_of.isoformat()}"), size=12, color=MUTED)
    publisher = word.add_paragraph()
    _format_run(publisher.add_run(doc.publisher), size=12, color=ACCENT, bold=True)


def _format_run(run, *, size: float, color: RGBColor, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.color.rgb = color
    run.bold = bold


def _add_contents(word) -> None:
    heading = word.add_paragraph("Contents", style="TOC Heading")
    heading.paragraph_format.page_break_before = True
    _add_field(word.add_paragraph(), TOC_INSTRUCTION, TOC_PLACEHOLDER)


def _add_header_footer(word, title: str) -> None:
    section = word.sections[0]
    # The title page shows neither: an empty first-page header and footer are defined for it.
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    section.first_page_footer.is_linked_to_previous = False
    header = section.header.paragraphs[0]
    header.text = title
    _set_border(header._p.get_or_add_pPr(), "bottom", RGBColor.from_string(RULE), size=4, space=4)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run("Page ")
    _add_field(footer, "PAGE", "1")
    footer.add_run(" of ")
    _add_field(footer, "NUMPAGES", "1")


# --- blocks ------------------------------------------------------------------------------------


def _add_block(word, block: Block, numbers: _Numbers) -> None:
    if isinstance(block, Paragraph):
        _add_paragraph(word, block)
    elif isinstance(block, Bullets):
        for item in block.items:
            word.add_paragraph(item, style="List Bullet")
    elif isinstance(block, Table):
        _add_table(word, block, numbers.next("Table"))
    elif isinstance(block, Chart):
        _add_chart(word, block, numbers.next("Figure"))
    elif isinstance(block, QA):
        _add_qa(word, block)
    else:
        raise TypeError(f"the docx renderer has no layout for {type(block).__name__} blocks")


def _add_paragraph(word, block: Paragraph) -> None:
    style = {"lead": "Lead", "note": "Note"}.get(block.role, "Normal")
    word.add_paragraph(block.text, style=style)


def _add_qa(word, block: QA) -> None:
    question = word.add_paragraph(style="Question")
    number = question.add_run(f"Q{block.number}. ")
    number.font.color.rgb = ACCENT
    question.add_run(block.question)
    word.add_paragraph(block.answer)


def _add_caption(word, kind: str, number: int, text: str):
    caption = word.add_paragraph(style="Caption")
    caption.add_run(f"{kind} ")
    _add_field(caption, f"SEQ {kind} \\* ARABIC", str(number))
    caption.add_run(f": {text}")
    return caption


def _add_table(word, block: Table, number: int) -> None:
    _add_caption(word, "Table", number, block.caption).paragraph_format.keep_with_next = True
    table = word.add_table(rows=0, cols=len(block.header))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _style_table(table)
    widths = _column_widths(block)
    for column, width in zip(table.columns, widths):
        column.width = width
    keep = len(block.rows) <= KEEP_TOGETHER_ROWS
    rows = [block.header, *block.rows]
    for index, values in enumerate(rows):
        row = table.add_row()
        trPr = row._tr.get_or_add_trPr()
        trPr.append(OxmlElement("w:cantSplit"))
        if index == 0:
            trPr.append(OxmlElement("w:tblHeader"))
        for cell, value, width, numeric in zip(row.cells, values, widths, block.numeric):
            _fill_cell(cell, value, width, numeric, header=index == 0, keep=keep and index < len(rows) - 1)
    # Space after the table, which Word would otherwise butt against the next paragraph.
    word.add_paragraph(style="Table Text").paragraph_format.space_after = Pt(6)


def _fill_cell(cell, value: str, width, numeric: bool, *, header: bool, keep: bool) -> None:
    cell.width = width
    if header:
        _shade(cell, str(ACCENT))
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    paragraph = cell.paragraphs[0]
    paragraph.style = "Table Text"
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.keep_with_next = keep
    run = paragraph.add_run(value)
    if header:
        run.bold = True
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)


def _column_widths(block: Table) -> list[int]:
    """Share the text width among columns by their longest text, so no column wraps needlessly."""
    longest = [max(len(row[i]) for row in (block.header, *block.rows)) for i in range(len(block.header))]
    weights = [max(n, 10) for n in longest]
    total = sum(weights)
    return [int(CONTENT_WIDTH * w / total) for w in weights]


def _style_table(table) -> None:
    tblPr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge, size, color in (
        ("top", 8, str(ACCENT)),
        ("left", 0, None),
        ("bottom", 8, str(ACCENT)),
        ("right", 0, None),
        ("insideH", 4, RULE),
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


def _add_chart(word, block: Chart, number: int) -> None:
    png = chart_png(block, width_in=CHART_WIDTH_IN, dpi=CHART_DPI)
    holder = word.add_paragraph()
    holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
    holder.paragraph_format.keep_with_next = True
    holder.paragraph_format.space_before = Pt(6)
    holder.paragraph_format.line_spacing = 1.0
    picture = holder.add_run().add_picture(io.BytesIO(png), width=Inches(CHART_WIDTH_IN))
    # Alt text for screen readers and for Word's "Alt Text" pane.
    picture._inline.docPr.set("descr", block.title)
    _add_caption(word, "Figure", number, block.title)


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


def _set_properties(word, meta: Meta) -> None:
    props = word.core_properties
    props.title = meta.title
    props.subject = meta.subject
    props.author = meta.author
    props.last_modified_by = meta.author
    props.keywords = ", ".join(meta.keywords)
    props.comments = ""
    props.category = ""
    props.revision = 1
    props.created = props.modified = props.last_printed = meta.created


def _drop_thumbnail(word) -> None:
    # The template's thumbnail shows python-docx's blank sample page, not this document.
    rels = word.part.package.rels
    for rId in [rId for rId, rel in rels.items() if rel.reltype == RT.THUMBNAIL]:
        del rels[rId]


def _app_properties() -> bytes:
    # The template's app.xml claims a Mac Word install and stale page and word counts.
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>exporter</Application>"
        "<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><LinksUpToDate>false</LinksUpToDate>"
        "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged>"
        "</Properties>"
    ).encode("utf-8")
