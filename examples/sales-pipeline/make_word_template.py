#!/usr/bin/env python3
"""Write data/themes/acme.dotx: the corporate Word template of the SYNTHETIC example brand "Acme".

What a customer's template typically brings, made here with python-docx so that nothing is
downloaded: the company's styles (Georgia, wine-red headings), Letter paper and margins, a header
with the logo and a footer, and a leftover body paragraph (which exporter must drop). Saved as a
.dotx (a template's content type). Run it again after changing it: `python3 make_word_template.py`.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor

HERE = Path(__file__).resolve().parent
THEMES = HERE / "data" / "themes"
WINE = RGBColor(0x7A, 0x1F, 0x3D)
TEMPLATE_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
DOCUMENT_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def build() -> bytes:
    word = docx.Document()
    section = word.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = Inches(0.9)
    section.top_margin, section.bottom_margin = Inches(1.1), Inches(0.9)
    styles = word.styles
    for name in ("Normal", "Title", "Subtitle", "Heading 1", "Heading 2", "Caption"):
        styles[name].font.name = "Georgia"
    styles["Normal"].font.size = Pt(10.5)
    for name, size in (("Title", 30), ("Heading 1", 18), ("Heading 2", 13)):
        styles[name].font.size = Pt(size)
        styles[name].font.color.rgb = WINE
        styles[name].font.bold = True
    header = section.header.paragraphs[0]
    header.add_run().add_picture(str(THEMES / "acme-logo.png"), height=Inches(0.35))
    header.add_run("   Acme Corp · Sales Operations").font.size = Pt(8)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Acme Corp · Confidential · for internal use and named clients · Page ").font.size = Pt(8)
    field(footer, "PAGE")
    footer.add_run(" of ").font.size = Pt(8)
    field(footer, "NUMPAGES")
    word.add_paragraph("Template body text: replaced by the report.")
    word.core_properties.author = "Acme Corp (synthetic)"
    # python-docx stamps the clock into the properties; fixed, so that the template's bytes do not change.
    when = dt.datetime(2026, 1, 1)
    word.core_properties.created = word.core_properties.modified = word.core_properties.last_printed = when
    out = io.BytesIO()
    word.save(out)
    return as_template(out.getvalue())


def field(paragraph, instruction: str) -> None:
    """Append a complex field (PAGE, NUMPAGES) that Word and LibreOffice fill in."""
    for kind, text in (("begin", None), (None, f" {instruction} "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        run.font.size = Pt(8)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text.strip() == instruction:
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = text
            run._r.append(code)
        else:
            run.text = text


def as_template(package: bytes) -> bytes:
    """The same parts with the template's content type, as Word saves a .dotx."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "[Content_Types].xml":
                data = data.replace(DOCUMENT_TYPE, TEMPLATE_TYPE)
            # A fixed date: the same script writes the same bytes (the template is part of every report's inputs).
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=(2026, 1, 1, 0, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


if __name__ == "__main__":
    target = THEMES / "acme.dotx"
    target.write_bytes(build())
    print(f"wrote {target}", file=sys.stderr)
