"""A customer's Word template (`.docx` or `.dotx`) as the starting point of a Word file.

What the template brings stays: its styles, page setup, headers and footers (with their logos),
first-page settings and theme fonts. Its body does not: the body is ours. The traps this module
handles, each checked with python-docx 1.2:

- python-docx refuses a `.dotx` ("content type is …template.main+xml"): the content type of
  `word/document.xml` is rewritten in memory before opening;
- a template's leftover body paragraphs: the body is cleared, keeping the final `w:sectPr`, which
  holds the page setup and the references to the headers and footers;
- a template saved by Word may hold some built-in styles only as *latent* styles, so
  `styles["Heading 1"]` raises `KeyError` (Word shows it anyway). A style the template lacks is
  added with the default look (see `docx._set_up_styles`);
- Word stores some built-in names in lower case ("heading 1", "caption") and python-docx looks
  them up so; LibreOffice writes them as shown ("Heading 1"), which python-docx then does not
  find (checked with LibreOffice 7.4): such names are written back the way Word stores them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
from docx.oxml.ns import qn
from docx.styles import BabelFish

CONTENT_TYPES = "[Content_Types].xml"
DOCUMENT_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
TEMPLATE_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
# Relationship types (their last part) of what a template's authors leave behind.
PRIVATE_PARTS = ("comments", "commentsExtended", "commentsIds", "commentsExtensible", "people", "custom-properties")


def as_document_package(data: bytes) -> bytes:
    """Return the bytes of a `.dotx` as a `.docx` package (the same parts, the document's content type)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    types = source.read(CONTENT_TYPES)
    if TEMPLATE_TYPE not in types:
        return data
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == CONTENT_TYPES:
                content = content.replace(TEMPLATE_TYPE, DOCUMENT_TYPE)
            target.writestr(entry, content)
    return out.getvalue()


def open_template(path: Path):
    """Open the Word template at *path* with an empty body; return the python-docx document."""
    word = docx.Document(io.BytesIO(as_document_package(path.read_bytes())))
    _word_style_names(word)
    body = word.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    # What the template's authors left that a client must not receive: their comments and the names
    # of who made them, and custom document properties (file paths, matter numbers, …).
    for rels in (word.part.rels, word.part.package.rels):
        for rId in [rId for rId, rel in rels.items() if rel.reltype.rsplit("/", 1)[-1] in PRIVATE_PARTS]:
            rels.pop(rId)
    return word


def _word_style_names(word) -> None:
    """Write built-in style names the way Word stores them, so that python-docx finds them."""
    internal = {ui.casefold(): stored for ui, stored in BabelFish.style_aliases}
    for style in word.styles.element.iterchildren(qn("w:style")):
        name = style.name_val
        if name is not None and name.casefold() in internal and name != internal[name.casefold()]:
            style.name_val = internal[name.casefold()]


def has_style(word, name: str) -> bool:
    """Tell whether *word* defines style *name* (not merely as a latent style)."""
    try:
        word.styles[name]
    except KeyError:
        return False
    return True


def header_and_footer(word) -> tuple[bool, bool]:
    """Tell whether the template's first section brings a header, and a footer, with any content
    (text, a picture, a field such as PAGE), on any of its pages."""
    section = word.sections[0]
    first = section.different_first_page_header_footer
    headers = [section.header, *([section.first_page_header] if first else [])]
    footers = [section.footer, *([section.first_page_footer] if first else [])]
    return any(map(_has_content, headers)), any(map(_has_content, footers))


def _has_content(part) -> bool:
    if part.is_linked_to_previous:
        return False
    element = part._element
    if any(text.text and text.text.strip() for text in element.iter(qn("w:t"))):
        return True
    return any(next(element.iter(qn(tag)), None) is not None
               for tag in ("w:drawing", "w:pict", "w:fldSimple", "w:fldChar", "w:instrText"))
