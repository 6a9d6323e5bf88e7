"""The PDF is laid out once: the contents page's numbers and "Page X of Y" are filled in at the end.

What a reader checks: each contents entry names the page its heading is on, right-aligned after
dot leaders even where numbers have one or two digits and the contents run over several pages;
every page's footer counts the pages right; the numbers drawn at the end are real glyphs of the
embedded font, visible on the page.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from reportlab.platypus import BaseDocTemplate

from exporter.core.document import Paragraph, Section
from exporter.render import RenderJob
from exporter.render.pdf import render

from conftest import flat, need, page_png


def long_job(base: RenderJob, count: int = 60) -> RenderJob:
    """*count* sections at two levels, some with titles that wrap, some long: contents over two pages, 40+ pages."""
    sections = []
    for i in range(count):
        title = f"Part {i}: " + ("a title long enough to wrap onto a second line of the contents page" if i % 7 == 3
                                 else "findings")
        body = tuple(Paragraph("Text of the part. " * (40 + 30 * (i % 5))) for _ in range(1 + i % 2))
        sections.append(Section(title, 1 if i % 3 == 0 else 2, body, f"part-{i}"))
    return dataclasses.replace(base, document=dataclasses.replace(base.document, sections=tuple(sections)))


def pages_of(pdf: bytes, folder: Path, *options: str) -> list[str]:
    path = folder / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([need("pdftotext"), "-layout", *options, str(path), "-"], check=True,
                          capture_output=True).stdout.decode()
    return text.split("\f")[:-1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("one-pass")


@pytest.fixture(scope="module")
def long_pdf(shipped_job) -> tuple[RenderJob, bytes]:
    job = long_job(shipped_job)
    return job, render(job)


def contents_numbers(job: RenderJob, pages: list[str]) -> dict[str, int]:
    """The page number the contents give each section, read in order from page 2 on (an entry's title is
    followed by dots and its number; in the body, a heading is followed by text)."""
    text = flat(" ".join(pages[1:]))
    numbers, at = {}, 0
    for section in job.document.sections:
        found = re.compile(re.escape(section.title) + r"[\s.]*?(\d+)\b").search(text, at)
        assert found, f"{section.title!r} is not on the contents page"
        numbers[section.title], at = int(found.group(1)), found.end()
    return numbers


@pytest.mark.parametrize("which", ["shipped", "long"])
def test_contents_numbers_are_the_pages_the_headings_are_on(which, shipped_job, long_pdf, folder):
    job, pdf = (shipped_job, render(shipped_job)) if which == "shipped" else long_pdf
    pages = pages_of(pdf, folder)
    numbers = contents_numbers(job, pages)
    body_start = min(numbers.values())  # the first section starts the page after the contents
    assert len(set(numbers.values())) > 1
    for title, number in numbers.items():
        first = next(n for n, page in enumerate(pages[body_start - 1:], body_start) if title in flat(page))
        assert number == first, title


def test_the_long_contents_run_over_two_pages_with_one_and_two_digit_numbers(long_pdf, folder):
    job, pdf = long_pdf
    pages = pages_of(pdf, folder)
    numbers = contents_numbers(job, pages).values()
    assert min(numbers) >= 4  # cover, two pages of contents or more
    assert min(numbers) < 10 <= max(numbers)


def test_contents_numbers_are_right_aligned_after_dot_leaders(long_pdf, folder):
    """Every number ends at the same x, whether it has one digit or two; dots fill the gap before it."""
    job, pdf = long_pdf
    path = folder / "bbox.pdf"
    path.write_bytes(pdf)
    html = subprocess.run([need("pdftotext"), "-bbox", "-f", "2", "-l", "3", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)
    numbers = [(float(x1), float(x0), text) for x0, y, x1, text in words
               if text.isdigit() and float(x1) > 400 and float(y) < 780]  # the numbers' column, not the footer
    assert len({len(text) for _, _, text in numbers}) == 2  # one- and two-digit numbers
    right = max(x1 for x1, _, _ in numbers)
    assert all(abs(x1 - right) < 0.05 for x1, _, _ in numbers)
    dots = [text for *_, text in words if text == "."]
    assert len(dots) > 10 * len(numbers)


def test_every_page_after_the_cover_counts_the_pages(long_pdf, folder):
    _, pdf = long_pdf
    pages = pages_of(pdf, folder)
    total = len(pages)
    assert total >= 20
    assert "Page" not in pages[0]
    for number, page in enumerate(pages[1:], 2):
        assert flat(page).endswith(f"Page {number} of {total}"), number


def test_the_layout_runs_once(shipped_job, monkeypatch):
    builds = []
    original = BaseDocTemplate.build
    monkeypatch.setattr(BaseDocTemplate, "build", lambda self, *a, **k: builds.append(1) or original(self, *a, **k))
    monkeypatch.setattr(BaseDocTemplate, "multiBuild", lambda *a, **k: pytest.fail("multiBuild lays out twice"))
    render(shipped_job)
    assert builds == [1]


def test_numbers_drawn_at_the_end_are_embedded_glyphs_that_show(long_pdf, folder):
    """The digits of "of N" and of the contents are drawn last: they must still be in the embedded subset,
    and ink must show where pdftotext finds them."""
    _, pdf = long_pdf
    path = folder / "glyphs.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run([need("pdffonts"), str(path)], check=True, capture_output=True, text=True).stdout
    for row in fonts.splitlines()[2:]:
        assert row.split()[-5:-2] == ["yes", "yes", "yes"], row  # embedded, subset, with a ToUnicode map
    subprocess.run([need("qpdf"), "--check", str(path)], check=True, capture_output=True)
    for page in (2, 12):  # the contents page and a body page with a two-digit number
        html = subprocess.run([need("pdftotext"), "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
                              check=True, capture_output=True, text=True).stdout
        words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(\d+)</word>',
                           html)
        picture = Image.open(page_png(path, page, 72, folder / f"page-{page}.png")).convert("L")
        assert words
        for x0, y0, x1, y1, digits in words:
            box = picture.crop((int(float(x0)), int(float(y0)), int(float(x1)) + 1, int(float(y1)) + 1))
            assert box.getextrema()[0] < 160, f"no ink where page {page} says {digits}"


def test_numbers_are_drawn_in_the_pages_own_content(long_pdf, folder):
    """No form per number, and no placeholder left behind in any page (qpdf writes the streams uncompressed)."""
    _, pdf = long_pdf
    (folder / "streams.pdf").write_bytes(pdf)
    subprocess.run([need("qpdf"), "--qdf", "--object-streams=disable", str(folder / "streams.pdf"),
                    str(folder / "plain.pdf")], check=True)
    plain = (folder / "plain.pdf").read_bytes()
    assert plain.count(b"/Type /Page\n") == len(pages_of(pdf, folder))
    assert b"/Subtype /Form" not in plain
    assert b"%later-" not in plain
    # Each number is its own lines of operators: poppler reads every page without a syntax error.
    read = subprocess.run([need("pdftotext"), str(folder / "streams.pdf"), "-"], capture_output=True, text=True)
    assert read.returncode == 0 and read.stderr == "", read.stderr


def test_plain_contents_entries_draw_the_page_parsed_ones_draw(long_pdf, folder, monkeypatch):
    """Titles of plain text are laid out as one fragment, not parsed: the contents pages look the same, pixel for
    pixel, and keep a link per title line and per number."""
    from exporter.render import pdflater

    job, ours = long_pdf
    monkeypatch.setattr(pdflater, "entry_paragraph", lambda text, key, index, style, _at_end:
                        pdflater.parsed_entry(text, key, index, style))
    theirs = render(job)
    pictures = []
    for name, pdf in (("plain", ours), ("parsed", theirs)):
        (folder / f"{name}.pdf").write_bytes(pdf)
        pictures.append([page_png(folder / f"{name}.pdf", page, 100, folder / f"{name}-{page}.png").read_bytes()
                         for page in (2, 3)])
    assert pictures[0] == pictures[1]
    assert ours.count(b"/Subtype /Link") == theirs.count(b"/Subtype /Link") > 60



def test_a_late_drawing_keeps_to_what_the_page_can_hold(shipped_job):
    """A late number is text and lines; a late drawing that needs a page resource, or a name drawn twice, is refused
    rather than drawn wrong."""
    import io

    from exporter.render.pdflater import Later, LaterCanvas

    later = Later()
    canvas = LaterCanvas(io.BytesIO(), later=later)
    later.draw(canvas, "n", lambda late: late.drawString(0, 0, "1"))
    with pytest.raises(ValueError, match="already drawn late"):
        later.draw(canvas, "n", lambda late: None)
    later.draw(canvas, "faded", lambda late: late.setFillAlpha(0.5))
    canvas.showPage()
    with pytest.raises(ValueError, match="cannot use transparency"):
        canvas.save()


@pytest.mark.parametrize("change", [{"alignment": 1}, {"alignment": 2}, {"autoLeading": "max"},
                                    {"linkUnderline": 1}])
def test_a_contents_style_the_plain_entry_cannot_follow_is_parsed(change):
    from reportlab.lib.styles import ParagraphStyle

    from exporter.render.pdf import _styles
    from exporter.render.pdflater import entry_paragraph

    style = ParagraphStyle("changed", _styles()["toc0"], **change)
    assert type(entry_paragraph("Market size", "section-1", 1, _styles()["toc0"], print)).__name__ == "_PlainEntry"
    assert type(entry_paragraph("Market size", "section-1", 1, style, print)).__name__ == "Paragraph"
