"""Helvetica's widths without reportlab are reportlab's, character for character and float for float."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings, strategies as st
from reportlab.pdfbase.pdfmetrics import stringWidth

from exporter.core.helvetica import FONTS, string_width


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
    from pathlib import Path

    from exporter.core import helvetica

    assert helvetica._generate() == Path(helvetica.__file__).with_name("_helvetica_widths.py").read_text("utf-8")


def test_writing_a_workbook_or_a_word_file_loads_neither_reportlab_nor_pillow():
    code = ("import sys, exporter.render.xlsx, exporter.render.docx, exporter.render.nativechart;"
            "print(sorted(m for m in ('reportlab', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
