#!/usr/bin/env python3
"""Render small PNG previews of the shipped report's deliverables into docs/gallery/.

Run from anywhere as ``python3 docs/gallery.py [--out DIR]``. Two reports are shown: the shipped
market report (``<repo>/data``) and the synthetic ``kind: document`` example
(``<repo>/examples/sales-pipeline/data``; its PNGs are named ``example-*.png``). The script

1. builds each data folder into a temporary folder with the current code
   (``python -m exporter build``, SOURCE_DATE_EPOCH unset so dates come from the data);
2. converts the DOCX and the XLSX to PDF with LibreOffice (a fresh profile and out dir each);
3. finds the pages to show by their text (``pdftotext``), with the captions, legend words and
   figure labels the exporter package's layout (``exporter.layout.lay_out``) gives:
   for the market report, the first page and the page holding the market-size chart (found by
   the chart's caption and legend); for its workbook, the Summary sheet (page 1) and the Forecast
   sheet (the page with the chart); for the example, the DOCX and PDF page with the key-figure
   cards and the first chart ("Amount by stage"), and the workbook's Summary sheet (page 1) and
   that chart's sheet (LibreOffice prints the sheets in order, one or more pages each). Charts are
   vector graphics in every format, so pages are told apart by text only;
4. renders each page with ``pdftoppm -png -r 50`` and re-encodes it with Pillow: adaptive
   128-colour palette, no dithering, ``optimize=True``, no metadata chunks, so the bytes depend
   only on the pixels.

Needs LibreOffice (``soffice``), poppler-utils (``pdftoppm``, ``pdftotext``) and Pillow. Exits
non-zero with a message when one is missing or a step fails.
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
EXAMPLE_DATA = ROOT / "examples" / "sales-pipeline" / "data"
TIMEOUT = 180  # seconds, for every subprocess
RESOLUTION = 50  # dpi: an A4/Letter page is ~410-430 px wide, a landscape sheet ~585 px
COLOURS = 128
SIZE_LIMIT = 100 * 1024

LEGEND = ("Reported", "Derived (estimate)")
# The market chart's caption as the market layout words it; used only when the exporter package cannot say.
CAPTION_PATTERN = re.compile(r"market size, \d{4} ?- ?\d{4}", re.IGNORECASE)
# The example's first chart, as examples/sales-pipeline/data/reports/sales-pipeline.yaml titles it.
EXAMPLE_CAPTION = "Amount by stage"
EXAMPLE_ID = "sales-pipeline"  # the example's main report (crm-accounts beside it reads the same deals from SQL)
MAIL_WIDTH = (390, 760)  # a phone's viewport, CSS pixels


class GalleryError(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Tools:
    soffice: str
    pdftoppm: str
    pdftotext: str


@dataclass(frozen=True)
class Expected:
    """What the pages to show say, as the current code words it (normalised); empty where it cannot say."""

    title: str | None = None
    caption: str | None = None  # the chart's title (the DOCX and PDF caption it, the workbook titles the chart)
    marks: tuple[str, ...] = ()  # texts the chart itself shows: legend words, category labels
    figures: tuple[str, ...] = ()  # the labels of the first key-figure cards


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
    return Tools(soffice, found["pdftoppm"], found["pdftotext"])


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
        what=f"building the reports in {data_dir}", cwd=ROOT, env=env,
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


# --- what the pages should say ---------------------------------------------------------------


def normalise(text: str) -> str:
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)  # dashes, as extracted, vary
    return re.sub(r"\s+", " ", text).strip()


def expected_texts(report_path: Path) -> Expected:
    """The report's title, its first chart's caption and marks and its first key figures, as laid out now.

    An empty `Expected` when the exporter package cannot say (the callers fall back to patterns).
    """
    sys.path.insert(0, str(ROOT))
    try:
        from exporter.core.document import Chart, Figures
        from exporter.layout import lay_out
        from exporter.source.datatable import open_tables
        from exporter.source.reader import read_yaml
        from exporter.source.validate import validate

        report = validate(read_yaml(report_path)).report
        document = lay_out(report, tables=open_tables(report_path, report.tables))
        blocks = [block for _, block in document.blocks()]
        charts = [block for block in blocks if isinstance(block, Chart)]
        cards = [block for block in blocks if isinstance(block, Figures)]
        marks: tuple[str, ...] = ()
        if charts:
            chart = charts[0]
            legend = chart.basis_labels if chart.has_derived else tuple(s.name for s in chart.series if len(chart.series) > 1)
            marks = tuple(normalise(str(m)) for m in (*legend, *chart.categories) if str(m).strip())
        return Expected(
            title=normalise(document.title),
            caption=normalise(charts[0].title) if charts else None,
            marks=marks,
            figures=tuple(normalise(f.label) for f in cards[0].figures) if cards else (),
        )
    except Exception as exc:  # the gallery must not break on an internal API change
        print(f"note: could not read the expected texts of {report_path.name} from the exporter package "
              f"({exc!r}); falling back to patterns", file=sys.stderr)
        return Expected()
    finally:
        sys.path.remove(str(ROOT))


# --- finding pages by their text -------------------------------------------------------------


def page_texts(tools: Tools, pdf: Path) -> list[str]:
    """The text of every page, whitespace collapsed (form feeds separate pages)."""
    raw = run([tools.pdftotext, "-enc", "UTF-8", str(pdf), "-"], what=f"reading the text of {pdf.name}")
    pages = raw.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    if not pages:
        raise GalleryError(f"{pdf.name} has no pages")
    return [normalise(p) for p in pages]


@dataclass(frozen=True)
class Subject:
    """One report the gallery shows, and how to recognise its chart page when the package cannot say."""

    data_dir: Path
    prefix: str  # of the PNG names
    fallback_caption: re.Pattern
    fallback_marks: tuple[str, ...]
    expected: Expected

    @property
    def caption(self) -> str:
        return self.expected.caption or self.fallback_caption.pattern

    @property
    def marks(self) -> tuple[str, ...]:
        return self.expected.marks or self.fallback_marks

    def has_caption(self, text: str) -> bool:
        if self.expected.caption:
            return self.expected.caption.lower() in text.lower()
        return bool(self.fallback_caption.search(text))

    def shows_chart(self, text: str) -> bool:
        """The page shows the chart's legend words and category labels (whole words)."""
        return all(re.search(rf"(?<!\w){re.escape(mark)}(?!\w)", text) for mark in self.marks)


def chart_page(subject: Subject, texts: list[str], label: str, *, first: int = 1) -> int:
    """1-based number of the page holding the chart, looking from page *first* on.

    The first page that carries the chart caption; if that page shows no chart (not all of its
    legend words and category labels) while the page before does, the caption was pushed to the
    next page and the chart is on the one before. Charts are vector graphics (no embedded
    picture), so only the text tells.
    """
    for n in range(first, len(texts) + 1):
        if subject.has_caption(texts[n - 1]):
            if not subject.shows_chart(texts[n - 1]) and n > first and subject.shows_chart(texts[n - 2]):
                return n - 1
            if not subject.shows_chart(texts[n - 1]):
                print(f"warning: {label}: page {n} carries the caption {subject.caption!r} but not all of "
                      f"{subject.marks}", file=sys.stderr)
            return n
    # No caption anywhere: the first page after the contents showing the chart's legend and labels.
    if subject.marks:
        for n in range(first, len(texts) + 1):
            text = texts[n - 1]
            if "Contents" in text[:200] and n < len(texts):
                continue
            if subject.shows_chart(text):
                print(f"warning: {label}: chart caption not found; using page {n} by its legend", file=sys.stderr)
                return n
    raise GalleryError(f"{label}: no page from page {first} on carries the chart caption {subject.caption!r}")


def check_first_page(texts: list[str], title: str | None, label: str) -> None:
    if not texts[0]:
        print(f"warning: {label}: page 1 has no text", file=sys.stderr)
    elif title and title.lower() not in texts[0].lower():
        print(f"warning: {label}: page 1 does not show the title {title!r}", file=sys.stderr)


def check_figures(text: str, figures: tuple[str, ...], page: int, label: str) -> None:
    missing = [f for f in figures if f.lower() not in text.lower()]
    if missing:
        print(f"warning: {label}: page {page} does not show the key figure(s) {missing}", file=sys.stderr)


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


# --- planning: which page of which PDF becomes which PNG -------------------------------------

Plan = list[tuple[str, str, int, str]]  # (png name, format, page, what)


def converted(tools: Tools, subject: Subject, report_id: str, work: Path) -> dict[str, Path]:
    """Build *subject*'s data folder and return the PDF of each format (the DOCX and XLSX via LibreOffice)."""
    build_dir = work / f"build-{subject.prefix.rstrip('-') or 'market'}"
    build(subject.data_dir, build_dir)
    folder = build_dir / report_id
    deliverables = {ext: folder / f"{report_id}.{ext}" for ext in ("docx", "xlsx", "pdf")}
    for path in deliverables.values():
        if not path.is_file():
            raise GalleryError(f"the build of {subject.data_dir} did not produce {path.name}")
    return {
        "pdf": deliverables["pdf"],
        "docx": to_pdf(tools, deliverables["docx"], work),
        "xlsx": to_pdf(tools, deliverables["xlsx"], work),
    }


def labels(pdfs: dict[str, Path]) -> dict[str, str]:
    return {"docx": "DOCX via LibreOffice", "pdf": f"PDF ({pdfs['pdf'].name})", "xlsx": "XLSX via LibreOffice"}


def xlsx_chart_page(tools: Tools, subject: Subject, pdfs: dict[str, Path], plan: Plan, name: str, what: str) -> None:
    """The workbook: the Summary sheet (page 1, or after a theme's Excel template's cover sheet), then the chart's
    sheet, a later page found by the chart's title."""
    label = labels(pdfs)["xlsx"]
    texts = page_texts(tools, pdfs["xlsx"])
    title = (subject.expected.title or "").lower()
    summary = next((n for n, text in enumerate(texts, 1) if title and title in text.lower()), 1)
    check_first_page(texts[summary - 1:], subject.expected.title, f"{label} (Summary)")
    if len(texts) < summary + 1:
        raise GalleryError(f"{label}: the workbook printed on one page; expected the Summary sheet, then the chart's sheet")
    page = chart_page(subject, texts, label, first=summary + 1)
    if not subject.shows_chart(texts[page - 1]):
        print(f"warning: {label}: page {page} does not look like the {what}", file=sys.stderr)
    if summary > 1:
        plan.append((f"{subject.prefix}xlsx-cover.png", "xlsx", 1, "the Excel template's cover sheet"))
    plan.append((f"{subject.prefix}xlsx-summary.png", "xlsx", summary, "Summary sheet"))
    plan.append((f"{subject.prefix}{name}", "xlsx", page, what))


def market_plan(tools: Tools, subject: Subject, pdfs: dict[str, Path]) -> Plan:
    """The market report: each document's first page and chart page; the Summary and Forecast sheets."""
    plan: Plan = []
    for fmt in ("docx", "pdf"):
        label = labels(pdfs)[fmt]
        texts = page_texts(tools, pdfs[fmt])
        check_first_page(texts, subject.expected.title, label)
        plan.append((f"{subject.prefix}{fmt}-page1.png", fmt, 1, "first page"))
        plan.append((f"{subject.prefix}{fmt}-chart.png", fmt, chart_page(subject, texts, label), "chart"))
    xlsx_chart_page(tools, subject, pdfs, plan, "xlsx-forecast.png", "Forecast sheet")
    return plan


def example_plan(tools: Tools, subject: Subject, pdfs: dict[str, Path]) -> Plan:
    """The document example: the page with the key-figure cards and first chart; the Summary and chart sheets."""
    plan: Plan = []
    for fmt in ("docx", "pdf"):
        label = labels(pdfs)[fmt]
        texts = page_texts(tools, pdfs[fmt])
        check_first_page(texts, subject.expected.title, label)
        page = chart_page(subject, texts, label, first=2 if len(texts) > 1 else 1)  # page 1 is the cover
        check_figures(texts[page - 1], subject.expected.figures, page, label)
        plan.append((f"{subject.prefix}{fmt}-summary.png", fmt, page, "key figures and first chart"))
    xlsx_chart_page(tools, subject, pdfs, plan, "xlsx-chart.png",
                    f"{subject.expected.caption or EXAMPLE_CAPTION!r} chart sheet")
    return plan


# --- main ------------------------------------------------------------------------------------


def default_report_id(data_dir: Path) -> str:
    reports = sorted((data_dir / "reports").glob("*.yaml"))
    if not reports:
        raise GalleryError(f"no reports in {data_dir / 'reports'}")
    return reports[0].stem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the PNGs (default: docs/gallery)")
    parser.add_argument("--report", help="market report id (default: the first in data/reports)")
    args = parser.parse_args(argv)

    try:
        try:
            import PIL  # noqa: F401
        except ImportError:
            raise GalleryError("Pillow is not installed (pip install Pillow)") from None
        tools = find_tools()
        out = args.out.resolve()
        market_dir = ROOT / "data"
        market_id = args.report or default_report_id(market_dir)
        example_id = EXAMPLE_ID
        market = Subject(
            market_dir, "", CAPTION_PATTERN, LEGEND,
            expected_texts(market_dir / "reports" / f"{market_id}.yaml"),
        )
        example = Subject(
            EXAMPLE_DATA, "example-", re.compile(re.escape(EXAMPLE_CAPTION), re.IGNORECASE), (),
            expected_texts(EXAMPLE_DATA / "reports" / f"{example_id}.yaml"),
        )
        if example.expected.caption and example.expected.caption.lower() != EXAMPLE_CAPTION.lower():
            print(f"warning: the example's first chart is now {example.expected.caption!r}, not "
                  f"{EXAMPLE_CAPTION!r}; showing it", file=sys.stderr)

        with tempfile.TemporaryDirectory(prefix="exporter-gallery-") as tmp:
            work = Path(tmp)
            jobs = [(market, market_id, market_plan), (example, example_id, example_plan)]
            plans: list[tuple[dict[str, Path], Plan]] = []
            for subject, report_id, make_plan in jobs:
                pdfs = converted(tools, subject, report_id, work)
                plans.append((pdfs, make_plan(tools, subject, pdfs)))

            from PIL import Image

            for pdfs, plan in plans:
                for name, fmt, page, what in plan:
                    target = out / name
                    render_png(tools, pdfs[fmt], page, target, work)
                    with Image.open(target) as im:
                        width, height = im.size
                    size = target.stat().st_size
                    print(f"wrote {target} ({fmt.upper()} page {page}, {what}; {width}x{height} px, {size / 1024:.1f} KB)")
                    if size >= SIZE_LIMIT:
                        print(f"warning: {name} is {size / 1024:.0f} KB, over the {SIZE_LIMIT // 1024} KB aim",
                              file=sys.stderr)
            mail_png(work / "build-example" / example_id, out / "example-mail-phone.png", work)
    except GalleryError as exc:
        print(f"gallery: error: {exc}", file=sys.stderr)
        return 1
    return 0


def mail_png(folder: Path, target: Path, work: Path) -> None:
    """The mail a list receives for the set in *folder* (its first edition), as headless Chromium shows it on a phone."""
    import base64

    sys.path.insert(0, str(ROOT))
    from exporter.core.messages import Words
    from exporter.delivery.mail import size_text
    from exporter.delivery.mailbody import CHART_ID, compose
    from exporter.publish.manifest import PublishedSet

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("warning: chromium is not installed; the mail's picture is left out", file=sys.stderr)
        return
    manifest = PublishedSet.read(folder)
    if manifest is None:
        raise GalleryError(f"no manifest in {folder}")
    body = compose(title=manifest.title, edition="", as_of=manifest.as_of, publisher=manifest.publisher,
                   headline=manifest.headline, summary=manifest.summary, previous=None, previous_as_of="",
                   attachments=[(f.name, size_text(f.size or 0)) for f in manifest.files.values()],
                   links=None, words=Words(), accent=str(manifest.summary.get("accent", "")))
    html = body.html
    if body.chart_png:  # as a mail client shows it: the picture from the message itself
        html = html.replace(f"cid:{CHART_ID}", "data:image/png;base64," + base64.b64encode(body.chart_png).decode())
    page = work / "mail.html"
    page.write_text(html, encoding="utf-8")
    width, height = MAIL_WIDTH
    run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={work / 'chromium'}", f"--screenshot={target}", f"--window-size={width},{height}",
         page.as_uri()], what="rendering the mail in Chromium")
    print(f"wrote {target} (the mail's HTML in Chromium, {width}x{height} px)")


if __name__ == "__main__":
    sys.exit(main())
