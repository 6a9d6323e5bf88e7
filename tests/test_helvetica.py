"""Helvetica's widths without reportlab are reportlab's, character for character and float for float."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings, strategies as st
from reportlab.pdfbase.pdfmetrics import stringWidth

from exporter.core.helvetica import FONTS, string_width

from conftest import ROOT, SHIPPED


def test_every_character_of_the_basic_plane_has_reportlabs_width():
    for font in FONTS:
        for code in range(0x10000):
            character = chr(code)
            assert string_width(character, font, 1000) == stringWidth(character, font, 1000), (font, hex(code))


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("aZ09 .,-–—€é\u00a0\u2022αΣЯ✓\n\t\x81\U0001f600")), max_size=40),
       size=st.floats(0.5, 72), font=st.sampled_from(FONTS))
def test_a_text_measures_as_reportlab_measures_it(text, size, font):
    assert string_width(text, font, size) == stringWidth(text, font, size)


def test_the_table_is_what_reportlab_gives_now():
    """Regenerating the table from the installed reportlab changes nothing."""
    from exporter.core import helvetica

    assert helvetica._generate() == Path(helvetica.__file__).with_name("_helvetica_widths.py").read_text("utf-8")


def test_writing_a_workbook_or_a_word_file_loads_neither_reportlab_nor_pillow():
    """A process that renders the shipped report's workbook and Word file (charts, wrapped rows, column widths)."""
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from exporter.render import get_renderer\n"
            "from exporter.runs.catalog import ReportSource, load\n"
            "job = load(ReportSource.at(Path(sys.argv[1]))).job\n"
            "assert get_renderer('xlsx')(job)[:2] == b'PK' and get_renderer('docx')(job)[:2] == b'PK'\n"
            "print(sorted(m for m in ('reportlab', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(SHIPPED)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_openpyxl_gets_pillow_when_a_template_holds_a_picture():
    """openpyxl was imported without Pillow; a template's picture is still kept (and a logo added), Pillow loaded then."""
    code = ("import sys\n"
            "from pathlib import Path\n"
            "import exporter.render.xlsx\n"
            "from exporter.render.exceltemplate import open_template\n"
            "from openpyxl.drawing.image import Image\n"
            "assert 'PIL' not in sys.modules\n"
            "themes = Path('examples/sales-pipeline/data/themes')\n"
            "book = open_template(themes / 'acme.xltx')\n"
            "book.worksheets[0].add_image(Image(str(themes / 'acme-logo.png')), 'H1')\n"
            "print(sum(len(ws._images) for ws in book.worksheets), 'PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.split() == ["2", "True"]
