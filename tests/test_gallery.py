"""docs/gallery.py: builds the shipped report, renders six small PNG previews, and they show something."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from conftest import ROOT, need

GALLERY = ROOT / "docs" / "gallery.py"
NAMES = (
    "docx-page1.png",
    "docx-chart.png",
    "xlsx-summary.png",
    "xlsx-forecast.png",
    "pdf-page1.png",
    "pdf-chart.png",
)


@pytest.mark.slow
def test_gallery_script_writes_six_readable_pngs(tmp_path):
    for tool in ("soffice", "pdftoppm", "pdftotext"):
        need(tool)
    out = tmp_path / "gallery"
    result = subprocess.run(
        [sys.executable, str(GALLERY), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    for name in NAMES:
        path = out / name
        assert path.is_file(), f"{name} missing; stdout:\n{result.stdout}"
        assert str(path) in result.stdout  # the script says what it wrote
        with Image.open(path) as image:
            assert image.format == "PNG"
            image.load()  # decodes the whole file: a truncated PNG fails here
            width, _ = image.size
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert 300 <= width <= 900, f"{name} is {width} px wide"
        assert colours is None or len(colours) > 20, f"{name} looks blank: {len(colours)} colours"
