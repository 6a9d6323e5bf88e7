#!/usr/bin/env python3
"""Render small PNG previews of the shipped report's deliverables into docs/gallery/.

Run from anywhere as ``python3 docs/gallery.py [--out DIR]``. The script

1. builds the reports in ``<repo>/data`` into a temporary folder with the current code
   (``python -m exporter build``, SOURCE_DATE_EPOCH unset so dates come from the data);
2. converts the DOCX and the XLSX to PDF with LibreOffice (a fresh profile and out dir each);
3. finds the pages to show by their text (``pdftotext``): the first page, and the page holding
   the market-size chart (found by the chart's caption); for the workbook, the Summary sheet
   (page 1) and the Forecast sheet (the page with the chart);
4. renders each page with ``pdftoppm -png -r 50`` and re-encodes it with Pillow: adaptive
   128-colour palette, no dithering, ``optimize=True``, no metadata chunks, so the bytes depend
   only on the pixels.

Needs LibreOffice (``soffice``), poppler-utils (``pdftoppm``, ``pdftotext``; ``pdfimages`` is
used when present) and Pillow. Exits non-zero with a message when one is missing or a step fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "gallery"
TIMEOUT = 180  # seconds, for every subprocess
RESOLUTION = 50  # dpi: an A4/Letter page is ~410-430 px wide, a landscape sheet ~585 px
COLOURS = 128
SIZE_LIMIT = 100 * 1024

LEGEND = ("Reported", "Derived (estimate)")
# The chart's caption as document.py words it; used only when the exporter package cannot say.
CAPTION_PATTERN = re.compile(r"market size, \d{4} ?- ?\d{4}", re.IGNORECASE)


class GalleryError(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Tools:
    soffice: str
    pdftoppm: str
    pdftotext: str
    pdfimages: str | None


def find_tools() -> Tools:
    missing = []
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        missing.append("soffice (LibreOffice; e.g. apt-get install libreoffice-writer libreoffice-calc)")
    found = {}
    for name in ("pdftoppm", "pdftotext"):
        found[name] = shutil.which(name)
        if not found[name]:
            missing.append(f"{name} (poppler-utils; e.g. apt-get install poppler-utils)")
    if missing:
        raise GalleryError("missing required program(s): " + "; ".join(missing))
    return Tools(soffice, found["pdftoppm"], found["pdftotext"], shutil.which("pdfimages"))


def run(cmd: list[str], *, what: str, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run *cmd* with a timeout; on timeout kill its whole process group (soffice forks)."""
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    except OSError as exc:
        raise GalleryError(f"{what}: cannot start {cmd[0]}: {exc}") from exc
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise GalleryError(f"{what}: timed out after {TIMEOUT} s: {' '.join(cmd)}") from None
    if proc.returncode != 0:
        detail = (err or out).decode("utf-8", "replace").strip()
        raise GalleryError(f"{what}: exit code {proc.returncode}: {' '.join(cmd)}\n{detail}")
    return out.decode("utf-8", "replace")


# --- building and converting -----------------------------------------------------------------


def build(data_dir: Path, out_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run(
        [sys.executable, "-m", "exporter", "build", "--data-dir", str(data_dir), "--output-dir", str(out_dir)],
        what="building the reports", cwd=ROOT, env=env,
    )


def to_pdf(tools: Tools, source: Path, work: Path) -> Path:
    """Convert *source* to PDF with LibreOffice, in a fresh profile and a fresh out dir."""
    tag = source.suffix.lstrip(".")
    profile = Path(tempfile.mkdtemp(prefix=f"lo-profile-{tag}-", dir=work))
    out_dir = Path(tempfile.mkdtemp(prefix=f"lo-out-{tag}-", dir=work))
    run(
        [tools.soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "pdf", "--outdir", str(out_dir), str(source)],
        what=f"converting {source.name} to PDF with LibreOffice",
    )
    produced = out_dir / (source.stem + ".pdf")
    if not produced.is_file() or produced.stat().st_size == 0:
        raise GalleryError(f"LibreOffice produced no PDF for {source.name} in {out_dir}")
    return produced


# --- finding pages by their text -------------------------------------------------------------


def normalise(text: str) -> str:
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)  # dashes, as extracted, vary
    return re.sub(r"\s+", " ", text).strip()


def page_texts(tools: Tools, pdf: Path) -> list[str]:
    """The text of every page, whitespace collapsed (form feeds separate pages)."""
    raw = run([tools.pdftotext, "-enc", "UTF-8", str(pdf), "-"], what=f"reading the text of {pdf.name}")
    pages = raw.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    if not pages:
        raise GalleryError(f"{pdf.name} has no pages")
    return [normalise(p) for p in pages]


def pages_with_images(tools: Tools, pdf: Path) -> set[int]:
    if not tools.pdfimages:
        return set()
    listing = run([tools.pdfimages, "-list", str(pdf)], what=f"listing the images of {pdf.name}")
    pages = set()
    for line in listing.splitlines()[2:]:
        fields = line.split()
        if len(fields) > 2 and fields[0].isdigit() and fields[2] == "image":
            pages.add(int(fields[0]))
    return pages


def expected_texts(report_id: str) -> tuple[str | None, str | None]:
    """(report title, chart caption) as the current code words them, or Nones if it cannot say."""
    sys.path.insert(0, str(ROOT))
    try:
        from exporter.core.derive import forecast
        from exporter.core.document import Chart
        from exporter.layout.market import build_document
        from exporter.source.reader import read_yaml
        from exporter.source.validate import validate

        report = validate(read_yaml(ROOT / "data" / "reports" / f"{report_id}.yaml")).report
        document = build_document(report, forecast(report.figures))
        title = getattr(document, "title", None)
        captions = [block.title for block in _blocks(document) if isinstance(block, Chart)]
        return (normalise(title) if isinstance(title, str) else None,
                normalise(captions[0]) if captions else None)
    except Exception as exc:  # the gallery must not break on an internal API change
        print(f"note: could not read the chart caption from the exporter package ({exc!r}); "
              "falling back to a pattern", file=sys.stderr)
        return None, None
    finally:
        sys.path.remove(str(ROOT))


def _blocks(node, depth: int = 0):
    """Every block reachable from the document, whatever its nesting (sections, children...)."""
    if depth > 6:
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from _blocks(item, depth + 1)
        return
    yield node
    for name in ("sections", "blocks", "children", "body"):
        value = getattr(node, name, None)
        if isinstance(value, (list, tuple)):
            yield from _blocks(value, depth + 1)


def has_caption(text: str, caption: str | None) -> bool:
    if caption:
        return caption.lower() in text.lower()
    return bool(CAPTION_PATTERN.search(text))


def chart_page(tools: Tools, pdf: Path, texts: list[str], caption: str | None, label: str) -> int:
    """1-based number of the page holding the chart.

    The first page that carries the chart caption; if that page shows no chart (neither the
    legend words nor an embedded picture) while the page before does, the caption was pushed to
    the next page and the chart is on the one before.
    """
    images = pages_with_images(tools, pdf)

    def shows_chart(n: int) -> bool:
        text = texts[n - 1]
        return n in images or (all(word in text for word in LEGEND) and re.search(r"\b20\d\d\b", text))

    for n, text in enumerate(texts, start=1):
        if has_caption(text, caption):
            if not shows_chart(n) and n > 1 and shows_chart(n - 1):
                return n - 1
            return n
    # No caption anywhere: the first page after the contents with the legend and a year.
    for n, text in enumerate(texts, start=1):
        if "Contents" in text[:200] and n < len(texts):
            continue
        if all(word in text for word in LEGEND) and re.search(r"\b20\d\d\b", text) and "Year" in text:
            print(f"warning: {label}: chart caption not found; using page {n} by its legend", file=sys.stderr)
            return n
    raise GalleryError(f"{label}: no page carries the chart caption {caption or CAPTION_PATTERN.pattern!r}")


def check_first_page(texts: list[str], title: str | None, label: str) -> None:
    if not texts[0]:
        print(f"warning: {label}: page 1 has no text", file=sys.stderr)
    elif title and title.lower() not in texts[0].lower():
        print(f"warning: {label}: page 1 does not show the title {title!r}", file=sys.stderr)


# --- rendering -------------------------------------------------------------------------------


def render_png(tools: Tools, pdf: Path, page: int, target: Path, work: Path) -> None:
    from PIL import Image

    prefix = work / f"{target.stem}-raw"
    run([tools.pdftoppm, "-png", "-r", str(RESOLUTION), "-f", str(page), "-l", str(page),
         "-singlefile", str(pdf), str(prefix)],
        what=f"rendering page {page} of {pdf.name}")
    raw = prefix.with_suffix(".png")
    if not raw.is_file():
        raise GalleryError(f"pdftoppm wrote no image for page {page} of {pdf.name}")
    with Image.open(raw) as opened:
        rgb = opened.convert("RGB")
    # Adaptive palette without dithering: text stays crisp and the bytes stay deterministic.
    small = rgb.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.info.clear()  # no ICC profile, dpi, text or time chunks: only pixels
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    small.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, target)


# --- main ------------------------------------------------------------------------------------


def default_report_id(data_dir: Path) -> str:
    reports = sorted((data_dir / "reports").glob("*.yaml"))
    if not reports:
        raise GalleryError(f"no reports in {data_dir / 'reports'}")
    return reports[0].stem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the PNGs (default: docs/gallery)")
    parser.add_argument("--report", help="report id (default: the first in data/reports)")
    args = parser.parse_args(argv)

    try:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise GalleryError("Pillow is not installed (pip install Pillow)") from None
        tools = find_tools()
        data_dir = ROOT / "data"
        report_id = args.report or default_report_id(data_dir)
        out = args.out.resolve()
        title, caption = expected_texts(report_id)

        with tempfile.TemporaryDirectory(prefix="exporter-gallery-") as tmp:
            work = Path(tmp)
            build(data_dir, work / "build")
            folder = work / "build" / report_id
            deliverables = {ext: folder / f"{report_id}.{ext}" for ext in ("docx", "xlsx", "pdf")}
            for path in deliverables.values():
                if not path.is_file():
                    raise GalleryError(f"the build did not produce {path.name}")

            pdfs = {
                "pdf": deliverables["pdf"],
                "docx": to_pdf(tools, deliverables["docx"], work),
                "xlsx": to_pdf(tools, deliverables["xlsx"], work),
            }
            plan: list[tuple[str, str, int, str]] = []  # (png name, format, page, what)
            for fmt in ("docx", "pdf"):
                label = f"{fmt.upper()} ({pdfs[fmt].name})" if fmt == "pdf" else "DOCX via LibreOffice"
                texts = page_texts(tools, pdfs[fmt])
                check_first_page(texts, title, label)
                plan.append((f"{fmt}-page1.png", fmt, 1, "first page"))
                plan.append((f"{fmt}-chart.png", fmt, chart_page(tools, pdfs[fmt], texts, caption, label), "chart"))

            texts = page_texts(tools, pdfs["xlsx"])
            forecast_page = chart_page(tools, pdfs["xlsx"], texts, caption, "XLSX via LibreOffice")
            if forecast_page == 1:
                raise GalleryError("XLSX via LibreOffice: the chart is on page 1; expected the Summary sheet there")
            if not ("Year" in texts[forecast_page - 1] and "Derived (estimate)" in texts[forecast_page - 1]):
                print(f"warning: XLSX page {forecast_page} does not look like the Forecast sheet", file=sys.stderr)
            check_first_page(texts, title, "XLSX via LibreOffice (Summary)")
            plan.append(("xlsx-summary.png", "xlsx", 1, "Summary sheet"))
            plan.append(("xlsx-forecast.png", "xlsx", forecast_page, "Forecast sheet"))

            for name, fmt, page, what in plan:
                target = out / name
                render_png(tools, pdfs[fmt], page, target, work)
                from PIL import Image

                with Image.open(target) as im:
                    width, height = im.size
                size = target.stat().st_size
                print(f"wrote {target} ({fmt.upper()} page {page}, {what}; {width}x{height} px, {size / 1024:.1f} KB)")
                if size >= SIZE_LIMIT:
                    print(f"warning: {name} is {size / 1024:.0f} KB, over the {SIZE_LIMIT // 1024} KB aim", file=sys.stderr)
    except GalleryError as exc:
        print(f"gallery: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
