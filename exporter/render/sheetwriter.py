"""openpyxl's package writer (`ExcelWriter`) with every sheet serialised in memory.

openpyxl writes each sheet to a temporary file through lxml's `xmlfile`, and lxml does not report
a failed write of a part small enough to stay in its buffer until the file is closed: with /tmp
full, a Word chart's "Edit Data" workbook got an empty sheet and the document was published as
if nothing had happened. A sheet serialised in memory has no such error to lose, and costs no file.
"""

from __future__ import annotations

from ..core import openpyxl_lean  # noqa: F401 -- first: openpyxl without NumPy and Pillow (see there)

# isort: split

import io

from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

__all__ = ["SheetsInMemory"]


class SheetsInMemory(ExcelWriter):
    """`ExcelWriter`, whose archive gets each sheet's part from `write_part`, serialised in memory."""

    def write_worksheet(self, ws: Worksheet) -> None:  # as ExcelWriter's for an ordinary workbook
        if self.workbook.write_only:  # its rows went to openpyxl's temporary files as they were added
            raise TypeError("SheetsInMemory writes ordinary workbooks, not write-only ones")
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = WorksheetWriter(ws, out=io.BytesIO())
        writer.write()
        ws._rels = writer._rels
        self.write_part(ws, writer.out.getvalue())
        self.manifest.append(ws)

    def write_part(self, ws: Worksheet, xml: bytes) -> None:
        """Put the part of *ws*, its XML serialised by openpyxl, into the archive."""
        self._archive.writestr(ws.path[1:], xml)
