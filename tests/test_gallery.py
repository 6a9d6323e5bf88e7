"""docs/gallery.py: builds the shipped report and the document example, renders twelve small PNG previews, and they show something."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from conftest import ROOT, need

GALLERY = ROOT / "docs" / "gallery.py"
MARKET_NAMES = (
    "docx-page1.png",
    "docx-chart.png",
    "xlsx-summary.png",
    "xlsx-forecast.png",
    "pdf-page1.png",
    "pdf-chart.png",
)
# examples/sales-pipeline: the page with the key-figure cards and the first chart, the Excel template's cover sheet,
# the Summary sheet, that chart's sheet, and the mail its list receives (HTML in Chromium, a phone's width).
EXAMPLE_NAMES = (
    "example-docx-summary.png",
    "example-pdf-summary.png",
    "example-xlsx-cover.png",
    "example-xlsx-summary.png",
    "example-xlsx-chart.png",
    "example-mail-phone.png",
)
NAMES = MARKET_NAMES + EXAMPLE_NAMES


@pytest.mark.slow
def test_gallery_script_writes_twelve_readable_pngs(tmp_path):
    for tool in ("soffice", "pdftoppm", "pdftotext", "chromium"):
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
    assert sorted(p.name for p in out.iterdir()) == sorted(NAMES), result.stdout
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
    # The example's pages are the ones asked for: the first chart's page (not the cover) and its sheet (not the Summary).
    for name, where in (("example-docx-summary.png", "DOCX page 1,"), ("example-pdf-summary.png", "PDF page 1,"),
                        ("example-xlsx-chart.png", "XLSX page 1,")):
        line = next(line for line in result.stdout.splitlines() if name in line)
        assert where not in line, line


def test_the_committed_gallery_holds_every_preview():
    """The README shows docs/gallery/*.png: each is there, a PNG, and under the script's size aim."""
    for name in NAMES:
        path = ROOT / "docs" / "gallery" / name
        assert path.is_file(), f"{name} missing: run python3 docs/gallery.py"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert path.stat().st_size < 100 * 1024, f"{name} is {path.stat().st_size} bytes"
