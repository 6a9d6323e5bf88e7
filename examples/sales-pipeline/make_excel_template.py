#!/usr/bin/env python3
"""Write data/themes/acme.xltx: the corporate Excel template of the SYNTHETIC example brand "Acme".

What a customer's workbook template typically brings, made here with openpyxl so that nothing is
downloaded: a cover sheet with the logo, the company's named styles ("Acme Title", "Acme Figure"),
a defined name other sheets can use (AcmeContact), a link to the company's site, and a header and
footer for printing. Saved as a .xltx (a template's content type), with fixed dates so that the
same script writes the same bytes. Run it again after changing it: `python3 make_excel_template.py`.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.writer.excel import ExcelWriter

HERE = Path(__file__).resolve().parent
THEMES = HERE / "data" / "themes"
WINE = "7A1F3D"
WHEN = dt.datetime(2026, 1, 1)


def build() -> bytes:
    book = Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.sheet_properties.tabColor = WINE
    title = NamedStyle(name="Acme Title", font=Font(name="Georgia", size=22, bold=True, color=WINE))
    figure = NamedStyle(name="Acme Figure", font=Font(name="Georgia", size=11), number_format='#,##0 "USD"',
                        alignment=Alignment(horizontal="right"))
    book.add_named_style(title)
    book.add_named_style(figure)
    cover.column_dimensions["A"].width = 4
    cover.column_dimensions["B"].width = 28
    cover.column_dimensions["C"].width = 44
    logo = Image(str(THEMES / "acme-logo.png"))
    logo.height, logo.width = 48, round(48 * logo.width / logo.height)
    cover.add_image(logo, "B2")
    cover.row_dimensions[2].height = 40
    cover["B5"] = "Acme Corp · Sales Operations"
    cover["B5"].style = "Acme Title"
    cover.merge_cells("B5:C5")
    cover["B7"] = "Prepared for"
    cover["C7"] = "Named clients of Acme Corp (synthetic example)"
    cover["B8"] = "Contact"
    cover["C8"] = "sales-ops@acme.example"
    cover["B9"] = "Web"
    cover["C9"] = "https://acme.example/"
    cover["C9"].hyperlink = "https://acme.example/"
    cover["C9"].font = Font(color="0563C1", underline="single")
    for row in (7, 8, 9):
        cover.cell(row, 2).font = Font(name="Georgia", bold=True, color="5C5C5C")
    band = PatternFill("solid", fgColor="F7F0F2")
    for col in (2, 3):
        cover.cell(11, col).fill = band
    cover["B11"] = "The sheets after this one are the report's."
    cover["B11"].font = Font(name="Georgia", italic=True, color="5C5C5C")
    book.defined_names["AcmeContact"] = DefinedName("AcmeContact", attr_text="Cover!$C$8")
    cover.oddHeader.right.text = "Acme Corp · Confidential"
    cover.oddFooter.center.text = "Page &P of &N"
    cover.page_setup.paperSize = cover.PAPERSIZE_LETTER
    cover.sheet_properties.pageSetUpPr.fitToPage = True  # one page wide, whatever the reader's fonts
    cover.page_setup.fitToWidth, cover.page_setup.fitToHeight = 1, 0
    book.template = True
    props = book.properties
    props.creator = props.lastModifiedBy = "Acme Corp (synthetic)"
    props.created = props.modified = WHEN
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as package:
        ExcelWriter(book, package).save()  # wb.save() would stamp `modified` with the clock
    return fixed_dates(raw.getvalue())


def fixed_dates(package: bytes) -> bytes:
    """The same parts with fixed entry dates: the template is part of every report's inputs."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=WHEN.timetuple()[:6]), source.read(entry),
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


if __name__ == "__main__":
    target = THEMES / "acme.xltx"
    target.write_bytes(build())
    print(f"wrote {target}", file=sys.stderr)
