"""A customer's Excel template (`.xlsx` or `.xltx`) as the start of a workbook.

What the template brings stays, before the report's sheets: its sheets (a cover sheet, say) with
their cells, cell styles, merged cells, column widths, page setup, headers and footers, pictures
and charts, conditional formats and data validations; the workbook's named styles, defined names
and theme colours. Checked with openpyxl 3.1:

- `load_workbook` of a `.xltx` gives a workbook that would be saved as a template again:
  `template` is set to False;
- openpyxl keeps pictures and charts of a sheet, but drops drawn shapes and text boxes, form
  controls, slicers, timelines, threaded comments and sparklines, and the streaming copy here
  cannot carry pivot tables, external links, tables or chart sheets. A template holding any of
  them is refused when the theme is checked (`source.themes`), rather than losing them silently;
- what the template's authors left for themselves is not passed on: cell comments (as for Word)
  and custom document properties.
"""

from __future__ import annotations

from ..core import openpyxl_lean  # noqa: F401 -- first: openpyxl without NumPy and Pillow (see there)

# isort: split

from pathlib import Path

from openpyxl import Workbook, load_workbook


def open_template(path: Path) -> Workbook:
    """Open the workbook template at *path* as a workbook to add sheets to."""
    book = load_workbook(path, rich_text=True)
    book.template = False  # a .xltx is saved as a workbook (.xlsx content type)
    book.custom_doc_props.props.clear()  # file paths, matter numbers, …: not for clients
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.comment is not None:
                    cell.comment = None
    return book
