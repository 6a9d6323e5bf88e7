"""The font coverage the PDF check uses, read straight from the cmap table, against fontTools."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from exporter.source.cmap import code_points, outlines
from exporter.source.glyphs import covered, default_fonts

EXAMPLE_REPORT = Path(__file__).resolve().parent.parent / "examples" / "sales-pipeline" / "data" / "reports" / "sales-pipeline.yaml"

SYSTEM_FONTS = sorted(p for p in Path("/usr/share/fonts").rglob("*") if p.suffix.lower() in (".ttf", ".ttc", ".otf"))


def font_tools(path: Path) -> set[int]:
    with TTFont(path, lazy=True, fontNumber=0) as font:
        return {c for c, name in font.getBestCmap().items() if c <= 0xFFFF and name != ".notdef"}


@pytest.mark.parametrize("path", [*default_fonts(), *SYSTEM_FONTS], ids=lambda p: p.name)
def test_code_points_are_those_fonttools_reads(path):
    assert outlines(path) == font_tools_outlines(path)  # read from the header as fontTools reads the tables
    ours = code_points(path)
    if ours is None:  # a kind read by fontTools alone: the check falls back to it
        assert path.suffix.lower() == ".otf" or open(path, "rb").read(4) not in (b"\x00\x01\x00\x00", b"true")
        return
    assert ours == font_tools(path)
    assert ours  # some code points (a symbol font may have no "A")


def font_tools_outlines(path: Path) -> str:
    with TTFont(path, lazy=True, fontNumber=0) as font:
        return "woff" if font.flavor else "glyf" if "glyf" in font else "cff"


def test_the_shipped_faces_cover_latin_greek_cyrillic_but_not_cjk():
    have = covered()
    assert {ord(c) for c in "Aé€Ωж–…"} <= have
    assert ord("中") not in have and 0x1F600 not in have  # CJK; beyond the Basic Multilingual Plane


def test_not_a_font_is_left_to_fonttools(tmp_path):
    fake = tmp_path / "fake.ttf"
    fake.write_bytes(b"wOFF" + bytes(40))
    assert code_points(fake) is None
    cut = tmp_path / "cut.ttf"
    cut.write_bytes(default_fonts()[0].read_bytes()[:2000])
    assert code_points(cut) is None


def test_a_workbook_build_imports_neither_fonttools_nor_numpy_nor_python_docx():
    # Their imports cost a 100,000-row workbook build ~20 MiB of its peak (bench/tables.py).
    code = ("import sys; import exporter.render.xlsx; from exporter.source.glyphs import covered; covered();"
            "print(sorted(m for m in ('fontTools', 'numpy', 'docx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_themed_workbook_build_imports_no_fonttools_either():
    # A theme's own fonts are checked (web font? PostScript outlines?) from their headers, as their glyphs are.
    code = ("import sys; from pathlib import Path; from exporter.runs.catalog import ReportSource, load;"
            "from exporter.render.xlsx import render;"
            f"job = load(ReportSource.at(Path({str(EXAMPLE_REPORT)!r}))).job; assert job.options.theme.pdf_fonts;"
            "render(job); print('fontTools' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_font_says_what_outlines_it_has(tmp_path):
    assert [outlines(path) for path in default_fonts()] == ["glyf"] * 4
    for head, kind in ((b"wOFF", "woff"), (b"wOF2", "woff"), (b"OTTO", "cff")):
        (tmp_path / "font").write_bytes(head + bytes(40))
        assert outlines(tmp_path / "font") == kind
    (tmp_path / "font").write_bytes(b"not a font at all")
    assert outlines(tmp_path / "font") is None  # left to fontTools, which says why


def test_numpy_stays_importable_after_openpyxl():
    code = ("import exporter.render.xlsx, openpyxl, sys; assert 'numpy' not in sys.modules; import numpy;"
            "from exporter.render.xlsx import render; print(numpy.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "numpy"
