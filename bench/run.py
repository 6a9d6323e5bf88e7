"""Benchmark exporter against baselines measured in the same run; print one Markdown table.

    python3 bench/run.py [--quick] [--catalog 100,1000] [--only warm,libreoffice,cold,noop,throughput,tables,catalog]

Needs the `bench` extra (`pip install -e '.[bench]'`: xlsxwriter, psutil, and the peers typst, docxtpl and
WeasyPrint, which needs Debian's Pango) and, for the LibreOffice rows, `soffice`; this command installs nothing
(a peer that is missing or fails to start gets a "not measured" row). Every figure stands beside a baseline measured in
the same run, on the same machine, with the same data:

- warm: our renderers vs the bare libraries writing the same content (`bench/baselines.py`), each
  in a fresh process (`bench/warm.py`): fastest render time, peak RSS of that process; for the
  shipped market report and the `kind: document` example (examples/sales-pipeline), the latter
  also against the market report's render of the same format; DOCX also without the charts on
  either side (the floor's charts are matplotlib PNGs, ours native chart parts); and our PDF and DOCX
  against the tools people would pick instead (`bench/peers.py`), writing the same content of the shipped
  report: typst (`typst.compile`, and a reused `typst.Compiler`), WeasyPrint and docxtpl, each in a fresh
  process too, their files checked (pdftotext: title, section titles, pages; python-docx: headings);
- libreoffice: our PDF vs `soffice --headless --convert-to pdf` of our own DOCX;
- cold: `exporter build` (one report, three formats) vs a bare-library script writing the three
  files; `exporter --help` vs `python3 -c "import click"`;
- noop: a no-op rebuild per report vs hashing the data and deliverables (`bench/noop_rebuild.py`);
- throughput: `exporter build -j 1` vs `-j 2` over a synthetic catalog (`bench/catalog.py`);
- tables: a 100,000-row data sheet vs xlsxwriter in constant-memory mode; the same sheet from a
  query of a SQLite file (and of a throwaway PostgreSQL server, `tests/postgres.py`, when its
  binaries and psycopg are installed) holding the same rows vs the CSV build, alternating, same run;
  10,000-row tables in the DOCX and PDF vs python-docx and reportlab (`bench/tables.py`);
- catalog: time and peak memory of `exporter build -j 2` (all three formats) over catalogs of 100
  and 1,000 reports: peak memory should not grow with the catalog; and the smaller catalog built
  again, in the same run, by the `exporter` package of the commit before issue 19 (`--against`;
  `git archive` of it, run with this checkout's virtual environment).

Peak memory: each command runs in a fresh wrapper (`bench/peak.py`). "max" is the kernel's peak
RSS of the largest single process of the command's tree; with workers, "sum" is the highest
sampled sum over the coordinator and its workers (an upper bound: shared pages count per process).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import tables as table_data  # noqa: E402
from bench.catalog import write_catalog  # noqa: E402
from bench.peak import busy_seconds  # noqa: E402
from bench.tables import REPORT_ID as TABLE_REPORT, write_table_report  # noqa: E402

SHIPPED = ROOT / "data" / "reports" / "us-intrathecal-pump-market.yaml"
# The `kind: document` example (sections of blocks, charts aggregated from its CSV table).
EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data" / "reports" / "sales-pipeline.yaml"
# The last commit before the work of issue 19 (performance), whose catalog throughput it asks to double.
BEFORE_ISSUE_19 = "a6923e4"
SECTIONS = ("warm", "libreoffice", "cold", "noop", "throughput", "tables", "catalog")
FORMATS = ("docx", "xlsx", "pdf")


@dataclass
class Row:
    measurement: str
    ours: str
    baseline: str
    ratio: str = "—"
    target: str = "—"
    met: str = "—"
    peak_ours: str = "—"
    peak_baseline: str = "—"


@dataclass
class Settings:
    repeat: int  # timed repetitions of a warm render
    runs: int  # runs of a cold command (median)
    noop_reports: int
    throughput_reports: int
    throughput_runs: int
    lo_batch: int
    catalogs: tuple[int, ...]
    against: str = ""  # the commit the catalog's throughput is compared with


FULL = Settings(repeat=15, runs=5, noop_reports=40, throughput_reports=40, throughput_runs=2, lo_batch=10, catalogs=(100, 1000))
QUICK = Settings(repeat=5, runs=3, noop_reports=20, throughput_reports=12, throughput_runs=1, lo_batch=4, catalogs=(20, 100))


# --- running things --------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def env(first: Path | None = None) -> dict[str, str]:
    """The children's environment: this checkout importable (after *first*, a folder whose packages win)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [first and str(first), str(ROOT), e.get("PYTHONPATH")]))
    e.pop("SOURCE_DATE_EPOCH", None)
    return e


def py(*args: str) -> list[str]:
    return [sys.executable, *args]


def exporter(*args: str) -> list[str]:
    """The installed `exporter` script (what users run), else `python -m exporter`."""
    script = shutil.which("exporter")
    return [script, *args] if script else py("-m", "exporter", *args)


def child_json(cmd: list[str], first: Path | None = None) -> dict:
    # From *first* when given: `python -m` puts its working folder first on the path.
    done = subprocess.run(cmd, capture_output=True, text=True, env=env(first), cwd=first or ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak(cmd: list[str], *, tree: bool = False, check: bool = True, first: Path | None = None) -> dict:
    """Run *cmd* in a fresh `bench.peak` wrapper: wall time, rc, peak RSS (see bench/peak.py)."""
    result = child_json(py("-m", "bench.peak", *(["--tree"] if tree else []), "--", *cmd), first)
    if check and result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result['rc']}: {result['stderr'].strip()[-1500:]}")
    return result


def median_run(cmd: list[str], runs: int, **kwargs) -> dict:
    """Run *cmd* *runs* times; return the median wall time and the highest peaks seen."""
    results = [peak(cmd, **kwargs) for _ in range(runs)]
    return {
        "wall_s": statistics.median(r["wall_s"] for r in results),
        "best_s": min(r["wall_s"] for r in results),
        "maxrss_mib": max(r["maxrss_mib"] for r in results),
        "tree_mib": max((r["tree_mib"] or 0) for r in results) or None,
    }


# --- formatting ------------------------------------------------------------------------------


def secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def mib(result: dict | None) -> str:
    if not result:
        return "—"
    text = f"{result['maxrss_mib']:.0f} MiB"
    if result.get("tree_mib"):
        text = f"max {text}, sum {result['tree_mib']:.0f} MiB"
    return text


def context(result: dict) -> str:
    """CPU time of the command and how busy the rest of the machine was meanwhile."""
    text = f"CPU {result['cpu_s']:.1f} s"
    if result.get("others_cores") is not None:
        text += f", others {result['others_cores']:.1f} cores"
    return text


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


# --- sections --------------------------------------------------------------------------------


# A warm render against its bare-library floor: 2x, and 1.5x for the workbook (issue 19).
FLOOR_TARGET = {"docx": 2.0, "xlsx": 1.5, "pdf": 2.0}


def bench_warm(s: Settings, work: Path, state: dict) -> list[Row]:
    rows, example_rows = [], []
    for fmt in FORMATS:
        log(f"warm {fmt}")
        ours = child_json(py("-m", "bench.warm", fmt, "ours", str(SHIPPED), str(s.repeat),
                             "--out", str(work / f"ours.{fmt}")))
        bare = child_json(py("-m", "bench.warm", fmt, "bare", str(SHIPPED), str(s.repeat)))
        state[f"warm_{fmt}"] = ours
        # The fastest of the repetitions: the least disturbed by whatever else runs on the machine.
        ratio = ours["min_s"] / bare["min_s"]
        rows.append(Row(
            f"Warm build, shipped report, {fmt.upper()} (fastest of {s.repeat}) vs bare library",
            secs(ours["min_s"]), secs(bare["min_s"]), f"{ratio:.2f}×", f"≤ {FLOOR_TARGET[fmt]:g}×",
            verdict(ratio <= FLOOR_TARGET[fmt]), mib(ours), mib(bare),
        ))
        if fmt == "docx":
            rows.append(warm_without_charts(s, SHIPPED, ours, bare))
        if EXAMPLE.exists():
            example_rows += warm_example(s, fmt, ours)
    return rows + warm_peers(s, work, state) + example_rows


# The tools people would pick instead (`bench/peers.py`): (format, peer, row, target ratio of ours to theirs).
PEERS = (
    ("pdf", "typst", "PDF: ours vs typst.compile", 1.0),
    ("pdf", "typst-reused", "PDF: ours vs typst (reused compiler)", None),
    ("pdf", "weasyprint", "PDF: ours vs WeasyPrint", None),
    ("docx", "docxtpl", "DOCX: ours vs docxtpl", 1.0),
)
PEER_PACKAGES = {"typst": "typst", "typst-reused": "typst", "weasyprint": "weasyprint", "docxtpl": "docxtpl"}


def warm_peers(s: Settings, work: Path, state: dict) -> list[Row]:
    """Ours against typst, WeasyPrint and docxtpl writing the same content, each in a fresh process, and a check
    that each peer's file is real: its PDF has the report's title and as many pages as ours, its DOCX the headings."""
    from importlib.metadata import PackageNotFoundError, version

    from exporter.runs.catalog import ReportSource, load

    doc = load(ReportSource.at(SHIPPED)).job.document
    rows = []
    for fmt, peer, label, target in PEERS:
        ours = state.get(f"warm_{fmt}")
        if ours is None:
            continue
        try:
            package = f"{PEER_PACKAGES[peer]} {version(PEER_PACKAGES[peer])}"
        except PackageNotFoundError:
            rows.append(Row(f"{label}: not measured ({PEER_PACKAGES[peer]} is not installed: "
                            "pip install -e '.[bench]')", secs(ours["min_s"]), "—"))
            continue
        log(f"warm {fmt}: {peer}")
        out = work / f"{peer}.{fmt}"
        try:
            theirs = child_json(py("-m", "bench.warm", fmt, peer, str(SHIPPED), str(s.repeat), "--out", str(out)))
        except RuntimeError as exc:  # e.g. WeasyPrint without Pango
            rows.append(Row(f"{label}: not measured ({str(exc).splitlines()[-1][:160]})", secs(ours["min_s"]), "—"))
            continue
        problem, check = peer_check(fmt, out, work / f"ours.{fmt}", doc)
        ratio = ours["min_s"] / theirs["min_s"]
        met = "—" if target is None else verdict(ratio <= target)
        if problem:
            met = f"**no**: {check}"
        rows.append(Row(f"{label} ({package}; fastest of {s.repeat}; {check})", secs(ours["min_s"]),
                        secs(theirs["min_s"]), f"{ratio:.2f}×", "—" if target is None else f"≤ {target:.1f}×",
                        met, mib(ours), mib(theirs)))
        if peer == "docxtpl":
            rows.append(warm_peer_without_charts(s, peer))
    return rows


def warm_peer_without_charts(s: Settings, peer: str) -> Row:
    """docxtpl draws the chart as the floor does (a matplotlib PNG); the rest of the document on its own."""
    log(f"warm docx: {peer} without charts")
    ours = child_json(py("-m", "bench.warm", "docx", "ours", str(SHIPPED), str(s.repeat), "without-charts"))
    theirs = child_json(py("-m", "bench.warm", "docx", peer, str(SHIPPED), str(s.repeat), "without-charts"))
    return Row(f"… the same DOCX without its charts on either side ({peer} draws each as a matplotlib PNG)",
               secs(ours["min_s"]), secs(theirs["min_s"]), f"{ours['min_s'] / theirs['min_s']:.2f}×", "—", "—",
               mib(ours), mib(theirs))


def peer_check(fmt: str, path: Path, ours: Path, doc) -> tuple[bool, str]:
    """(whether something is wrong, what the check found) for a peer's file."""
    if fmt == "docx":
        import docx

        word = docx.Document(str(path))
        headings = [p.text for p in word.paragraphs if p.style is not None and p.style.name.startswith("Heading")]
        wanted = [section.title for section in doc.sections]
        if headings != wanted:
            return True, f"headings {len(headings)} of {len(wanted)} section titles"
        return False, f"its DOCX: the {len(wanted)} section headings per python-docx"
    if not (shutil.which("pdftotext") and shutil.which("pdfinfo")):
        return False, "its PDF not checked: no pdftotext"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    pages, our_pages = (_pdf_pages(p) for p in (path, ours))
    found = " ".join(doc.title.split()) in " ".join(text.split())
    missing = [section.title for section in doc.sections if " ".join(section.title.split()) not in " ".join(text.split())]
    what = (f"its PDF: {pages} pages (ours {our_pages}), title {'found' if found else '**not found**'}"
            + (f", {len(missing)} section titles missing" if missing else ", every section title") + " per pdftotext")
    return not found or bool(missing), what


def _pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    return next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), 0)


def warm_without_charts(s: Settings, report: Path, ours: dict, bare: dict) -> Row:
    """The DOCX without its charts on both sides: the floor draws each chart as a matplotlib PNG,
    which costs more than our native chart part, so the whole-file ratio says little about the rest."""
    log(f"warm docx: {report.stem} without charts")
    ours_rest = child_json(py("-m", "bench.warm", "docx", "ours", str(report), str(s.repeat), "without-charts"))
    bare_rest = child_json(py("-m", "bench.warm", "docx", "bare", str(report), str(s.repeat), "without-charts"))
    return Row(
        f"… the same DOCX without its charts on either side (the charts: ours "
        f"{secs(ours['min_s'] - ours_rest['min_s'])} as native chart parts, the floor "
        f"{secs(bare['min_s'] - bare_rest['min_s'])} as matplotlib PNGs)",
        secs(ours_rest["min_s"]), secs(bare_rest["min_s"]), f"{ours_rest['min_s'] / bare_rest['min_s']:.2f}×",
        "—", "—", mib(ours_rest), mib(bare_rest))


def warm_example(s: Settings, fmt: str, market: dict) -> list[Row]:
    """The `kind: document` example: against the bare libraries writing the same content, and the market report."""
    log(f"warm {fmt}: {EXAMPLE.stem} (kind: document)")
    ours = child_json(py("-m", "bench.warm", fmt, "ours", str(EXAMPLE), str(s.repeat)))
    bare = child_json(py("-m", "bench.warm", fmt, "bare", str(EXAMPLE), str(s.repeat)))
    ratio = ours["min_s"] / bare["min_s"]
    rows = [
        Row(f"Warm build, example document report ({EXAMPLE.stem}), {fmt.upper()} (fastest of {s.repeat}) "
            "vs bare library", secs(ours["min_s"]), secs(bare["min_s"]), f"{ratio:.2f}×", f"≤ {FLOOR_TARGET[fmt]:g}×",
            verdict(ratio <= FLOOR_TARGET[fmt]), mib(ours), mib(bare)),
    ]
    if fmt == "docx":
        rows.append(warm_without_charts(s, EXAMPLE, ours, bare))
    rows.append(Row(f"… the example's render vs the shipped (market) report's warm {fmt.upper()} render",
                    secs(ours["min_s"]), secs(market["min_s"]), f"{ours['min_s'] / market['min_s']:.2f}×", "—", "—",
                    mib(ours), mib(market)))
    return rows


def bench_libreoffice(s: Settings, work: Path, state: dict) -> list[Row]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return [Row("PDF vs LibreOffice: not measured (no soffice on PATH)", "—", "—")]
    log("libreoffice: our DOCX and PDF")
    out = work / "lo-out"
    peak(exporter("-q", "build", "--data-dir", str(ROOT / "data"), "--output-dir", str(out), "--force", "-j", "1",
                  "-f", "docx", SHIPPED.stem))
    docx = out / SHIPPED.stem / f"{SHIPPED.stem}.docx"
    inputs = work / "lo-in"
    inputs.mkdir()
    copies = []
    for n in range(s.lo_batch):
        copies.append(inputs / f"report-{n}.docx")
        shutil.copy(docx, copies[-1])
    profile = (work / "lo-profile").as_uri()
    convert = [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
               "--outdir", str(work / "lo-pdf")]
    peak(convert + [str(copies[0])])  # creates the profile: not timed
    one = median_run(convert + [str(copies[0])], s.runs)
    log(f"libreoffice: batch of {s.lo_batch}")
    batch = peak(convert + [str(c) for c in copies])
    if len(list((work / "lo-pdf").glob("*.pdf"))) != s.lo_batch:
        raise RuntimeError("LibreOffice did not convert every DOCX")
    per_file = batch["wall_s"] / s.lo_batch
    cold = median_run(exporter("-q", "build", "--data-dir", str(ROOT / "data"), "--output-dir", str(out),
                               "--force", "-j", "1", "-f", "pdf", SHIPPED.stem), s.runs)
    warm = state.get("warm_pdf") or child_json(py("-m", "bench.warm", "pdf", "ours", str(SHIPPED), str(s.repeat)))
    rows = []
    # Fastest against fastest for the warm renders; medians for the cold commands.
    for label, ours, ours_peak, theirs, theirs_peak in (
        (f"PDF, warm render vs one `soffice --convert-to pdf` call per DOCX (fastest of {s.runs})",
         warm["min_s"], warm, one["best_s"], one),
        (f"PDF, warm render vs `soffice` converting {s.lo_batch} DOCX in one call (per file)", warm["min_s"],
         warm, per_file, batch),
        (f"PDF, cold `exporter build -f pdf` vs one `soffice` call (medians of {s.runs})", cold["wall_s"], cold,
         one["wall_s"], one),
    ):
        speedup = theirs / ours
        rows.append(Row(label, secs(ours), secs(theirs), f"{speedup:.1f}× faster", "≥ 20× faster",
                        verdict(speedup >= 20), mib(ours_peak), mib(theirs_peak)))
    return rows


def bench_cold(s: Settings, work: Path, state: dict) -> list[Row]:
    log("cold build")
    out = work / "cold-out"
    ours = median_run(exporter("-q", "build", "--data-dir", str(ROOT / "data"), "--output-dir", str(out),
                               "--force", "-j", "1", SHIPPED.stem), s.runs)
    bare = median_run(py("-m", "bench.baselines", str(work / "cold-bare"), str(SHIPPED)), s.runs)
    log("--help")
    runs = max(s.runs, 7)
    help_ = median_run(exporter("--help"), runs)
    click = median_run(py("-c", "import click"), runs)
    return [
        Row("Cold `exporter build`, shipped report, 3 formats vs a bare-library script writing them",
            secs(ours["wall_s"]), secs(bare["wall_s"]), f"{ours['wall_s'] / bare['wall_s']:.2f}×", "—", "—",
            mib(ours), mib(bare)),
        Row(f"`exporter --help` wall time (median of {runs}) vs `python3 -c 'import click'`",
            secs(help_["wall_s"]), secs(click["wall_s"]), f"{help_['wall_s'] / click['wall_s']:.2f}×", "≤ 0.3 s",
            verdict(help_["wall_s"] <= 0.3), mib(help_), mib(click)),
    ]


def bench_noop(s: Settings, work: Path, state: dict) -> list[Row]:
    log(f"no-op rebuild: building a catalog of {s.noop_reports}")
    data, out = work / "noop-data", work / "noop-out"
    write_catalog(data, s.noop_reports)
    peak(exporter("-q", "build", "--data-dir", str(data), "--output-dir", str(out), "-j", "2"))
    log("no-op rebuild: measuring")
    result = child_json(py(str(ROOT / "bench" / "noop_rebuild.py"), "--data-dir", str(data), "--output-dir",
                           str(out), "--repeat", str(max(s.repeat // 2, 3)), "--json"))
    cli = peak(exporter("-q", "build", "--data-dir", str(data), "--output-dir", str(out)))
    return [
        Row(f"No-op rebuild per report, in process ({result['reports']} reports) vs hashing data and files",
            ms(result["noop_ms"]), ms(result["floor_ms"]), f"{result['noop_ms'] / result['floor_ms']:.1f}×",
            "≤ 5 ms", verdict(result["noop_ms"] <= 5), f"{result['maxrss_mib']:.0f} MiB (both, one process)"),
        Row(f"No-op `exporter build` of {result['reports']} reports, cold CLI, whole run", secs(cli["wall_s"]), "—",
            peak_ours=mib(cli)),
    ]


def bench_throughput(s: Settings, work: Path, state: dict) -> list[Row]:
    n = s.throughput_reports
    data, out = work / "tp-data", work / "tp-out"
    write_catalog(data, n)
    results: dict[int, dict] = {}
    for attempt in range(s.throughput_runs):  # alternating; the fastest of each counts (least disturbed)
        for jobs in (1, 2):
            log(f"throughput: {n} reports, -j {jobs} ({attempt + 1}/{s.throughput_runs})")
            result = peak(exporter("-q", "build", "--data-dir", str(data), "--output-dir", str(out), "--force",
                                   "-j", str(jobs)), tree=True)
            if jobs not in results or result["wall_s"] < results[jobs]["wall_s"]:
                results[jobs] = result
    one, two = (n / results[j]["wall_s"] for j in (1, 2))
    best = f", fastest of {s.throughput_runs}" if s.throughput_runs > 1 else ""
    return [Row(f"Catalog throughput, {n} reports × 3 formats, `-j 2` vs `-j 1` (reports/s, cold CLI{best})",
                f"{two:.2f}/s ({secs(results[2]['wall_s'])}; {context(results[2])})",
                f"{one:.2f}/s ({secs(results[1]['wall_s'])}; {context(results[1])})",
                f"{two / one:.2f}×", "≥ 1.8×", verdict(two / one >= 1.8), mib(results[2]), mib(results[1])),
            # CPU time hardly depends on what else runs: it bounds the speedup two idle cores could give.
            Row("… the best 2 idle cores could do: 2 × CPU time of `-j 1` ÷ CPU time of `-j 2`",
                f"CPU {results[2]['cpu_s']:.1f} s", f"CPU {results[1]['cpu_s']:.1f} s",
                f"{2 * results[1]['cpu_s'] / results[2]['cpu_s']:.2f}×", "≥ 1.8×",
                verdict(2 * results[1]["cpu_s"] / results[2]["cpu_s"] >= 1.8))]


def _xlsx_rows(path: Path) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        return max(ws.max_row or 0 for ws in book.worksheets)
    finally:
        book.close()


def _docx_rows(path: Path) -> int:
    xml = zipfile.ZipFile(path).read("word/document.xml")
    return xml.count(b"<w:tr>") + xml.count(b"<w:tr ")


def _pdf_mentions(path: Path, word: str) -> int:
    if shutil.which("pdftotext") is None:
        return -1
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    return text.count(word)


def bench_tables(s: Settings, work: Path, state: dict) -> list[Row]:
    if not (ROOT / "exporter" / "source" / "datatable.py").exists():
        return [Row("Large data tables: not available yet (exporter/source/datatable.py does not exist)", "—", "—")]
    sheet_rows, doc_rows = 100_000, 10_000
    data = work / "tables-data"
    log(f"tables: writing a {sheet_rows:,}-row CSV")
    csv_path = write_table_report(data, sheet_rows, doc_rows)
    plain = work / "tables-plain"  # the same report without the table
    (plain / "reports").mkdir(parents=True)
    shutil.copy(SHIPPED, plain / "reports" / f"{TABLE_REPORT}.yaml")

    def build(data_dir: Path, fmt: str) -> tuple[dict, Path]:
        out = data_dir.with_name(data_dir.name + "-out")
        result = peak(exporter("-q", "build", "--data-dir", str(data_dir), "--output-dir", str(out), "--force",
                               "-j", "1", "-f", fmt, TABLE_REPORT), check=False)
        if result["rc"] != 0:
            raise _Unavailable(f"the build rejects the table ({result['stderr'].strip().splitlines()[-1:]})")
        return result, out / TABLE_REPORT / f"{TABLE_REPORT}.{fmt}"

    rows = []
    try:
        log("tables: XLSX")
        xlsx, path = build(data, "xlsx")
        if _xlsx_rows(path) < sheet_rows + 1:
            raise _Unavailable(f"the XLSX holds no sheet of {sheet_rows:,} rows")
        xlsx_plain, _ = build(plain, "xlsx")
        writer = peak(py("-m", "bench.tables", "xlsxwriter", str(csv_path), str(work / "xw.xlsx")))
        writer_empty = peak(py("-m", "bench.tables", "xlsxwriter", str(csv_path), str(work / "xw0.xlsx"), "0"))
        ratio = xlsx["wall_s"] / writer["wall_s"]
        sheet_s = xlsx["wall_s"] - xlsx_plain["wall_s"]
        writer_sheet_s = writer["wall_s"] - writer_empty["wall_s"]
        extra = xlsx["maxrss_mib"] - xlsx_plain["maxrss_mib"]
        rows += [
            Row(f"{sheet_rows:,}-row data sheet: `exporter build -f xlsx` vs xlsxwriter constant_memory script",
                secs(xlsx["wall_s"]), secs(writer["wall_s"]), f"{ratio:.2f}×", "≤ 1.3×", verdict(ratio <= 1.3),
                mib(xlsx), mib(writer)),
            Row("… the sheet alone: minus the same build without the table / the same script with 0 rows",
                secs(sheet_s), secs(writer_sheet_s), f"{sheet_s / writer_sheet_s:.2f}×", "≤ 1.3×",
                verdict(sheet_s <= 1.3 * writer_sheet_s), f"+{extra:.0f} MiB",
                f"+{writer['maxrss_mib'] - writer_empty['maxrss_mib']:.0f} MiB"),
            Row(f"{sheet_rows:,}-row data sheet: peak RSS of the whole `exporter build -f xlsx`",
                f"{xlsx['maxrss_mib']:.0f} MiB", f"{writer['maxrss_mib']:.0f} MiB",
                f"{xlsx['maxrss_mib'] / writer['maxrss_mib']:.2f}×", "≤ 64 MiB", verdict(xlsx["maxrss_mib"] <= 64)),
            Row(f"{sheet_rows:,}-row data sheet: peak RSS above the same build without the table",
                f"+{extra:.0f} MiB", f"{xlsx_plain['maxrss_mib']:.0f} MiB without", "—", "≤ 64 MiB",
                verdict(extra <= 64)),
        ]
        rows += _query_rows(s, work, data, csv_path, path, sheet_rows, doc_rows, build)
        for fmt, limit_s, _check in (("docx", 4, _docx_rows), ("pdf", 8, None)):
            log(f"tables: {fmt.upper()}")
            ours, path = build(data, fmt)
            ours_plain, _ = build(plain, fmt)
            if fmt == "docx" and _docx_rows(path) < doc_rows:
                raise _Unavailable(f"the DOCX holds no {doc_rows:,}-row table")
            if fmt == "pdf" and 0 <= _pdf_mentions(path, "Wyoming") < doc_rows // 50:
                raise _Unavailable(f"the PDF shows no {doc_rows:,}-row table")
            bare = peak(py("-m", "bench.tables", fmt, str(csv_path), str(work / f"bare.{fmt}"), str(doc_rows)))
            rows.append(Row(
                f"{doc_rows:,}-row table, `exporter build -f {fmt}` (whole report; without the table: "
                f"{secs(ours_plain['wall_s'])}) vs bare library",
                secs(ours["wall_s"]), secs(bare["wall_s"]), f"{ours['wall_s'] / bare['wall_s']:.2f}×",
                f"≤ {limit_s} s", verdict(ours["wall_s"] <= limit_s), mib(ours), mib(bare)))
    except _Unavailable as exc:
        rows.append(Row(f"Large data tables: not available yet: {exc}", "—", "—"))
    return rows


class _Unavailable(Exception):
    pass


QUERY_TIME = 1.5  # a query table's build against the same rows from CSV: at most this many times the time
QUERY_EXTRA_MIB = 16  # … and at most this much more peak RSS (SQLAlchemy and the driver are imported only then)
PG_URL_VARIABLE = "EXPORTER_BENCH_PG_URL"  # the server's URL reaches databases.yaml as ${...}, never in a file


def _query_rows(s: Settings, work: Path, csv_data: Path, csv_path: Path, csv_xlsx: Path, sheet_rows: int,
                doc_rows: int, build) -> list[Row]:
    """The CSV table's report with the table read by a query of the same rows, built alternately with it."""
    log(f"tables: the same {sheet_rows:,} rows in a SQLite file")
    sqlite_data = work / "tables-sqlite"
    sqlite_data.mkdir()
    table_data.write_sqlite(csv_path, sqlite_data / "shipments.sqlite")
    table_data.write_query_report(sqlite_data, "sqlite:///shipments.sqlite", doc_rows)
    sources = {"SQLite file": sqlite_data}
    missing = None
    runs: dict[str, list[dict]] = {"CSV": []}
    identical: dict[str, bool] = {}
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_postgres(work, csv_path, doc_rows, sources))
        except _Unavailable as exc:
            missing = Row(f"… the same from a PostgreSQL server: not measured ({exc})", "—", "—")
        runs.update({name: [] for name in sources})
        for n in range(s.runs):
            log(f"tables: XLSX from the CSV and from the {' and the '.join(sources)}, run {n + 1} of {s.runs}")
            runs["CSV"].append(build(csv_data, "xlsx")[0])
            for name, data in sources.items():
                try:
                    runs[name].append(build(data, "xlsx")[0])
                except _Unavailable as exc:
                    raise RuntimeError(f"the build of the table from the {name} fails: {exc}") from None
        for name, data in sources.items():
            path = _xlsx_of(data)
            if _xlsx_rows(path) < sheet_rows + 1:
                raise RuntimeError(f"the XLSX built from the {name} holds no sheet of {sheet_rows:,} rows")
            identical[name] = path.read_bytes() == csv_xlsx.read_bytes()
    csv = _summary(runs["CSV"])
    rows: list[Row] = []
    for name in sources:
        q = _summary(runs[name])
        ratio, extra = q["wall_s"] / csv["wall_s"], q["maxrss_mib"] - csv["maxrss_mib"]
        same = "byte-identical to" if identical[name] else "**not** byte-identical to"
        rows += [
            Row(f"{sheet_rows:,}-row data sheet from a query of a {name} holding the same rows, "
                f"`exporter build -f xlsx` vs the same build from the CSV (medians of {s.runs}, alternating; "
                f"workbook {same} the CSV build's)",
                f"{secs(q['wall_s'])} ({context(q)})", f"{secs(csv['wall_s'])} ({context(csv)})",
                f"{ratio:.2f}×", f"≤ {QUERY_TIME}×", verdict(ratio <= QUERY_TIME), mib(q), mib(csv)),
            Row(f"… peak RSS of the build from the {name} above the build from the CSV", f"+{extra:.0f} MiB",
                f"{csv['maxrss_mib']:.0f} MiB from CSV", "—", f"≤ +{QUERY_EXTRA_MIB} MiB",
                verdict(extra <= QUERY_EXTRA_MIB)),
        ]
    return rows + ([missing] if missing else [])


def _xlsx_of(data_dir: Path) -> Path:
    return data_dir.with_name(data_dir.name + "-out") / TABLE_REPORT / f"{TABLE_REPORT}.xlsx"


def _summary(results: list[dict]) -> dict:
    """Median wall and CPU time (and load of other processes), highest peak RSS."""
    others = [r["others_cores"] for r in results if r.get("others_cores") is not None]
    return {"wall_s": statistics.median(r["wall_s"] for r in results),
            "cpu_s": statistics.median(r["cpu_s"] for r in results),
            "others_cores": statistics.median(others) if others else None,
            "maxrss_mib": max(r["maxrss_mib"] for r in results)}


@contextlib.contextmanager
def _postgres(work: Path, csv_path: Path, doc_rows: int, sources: dict[str, Path]):
    """While open, a throwaway PostgreSQL server (tests/postgres.py) holds the rows, and *sources* has its report.

    Raise `_Unavailable` when there is no server to start (no PostgreSQL binaries, psycopg or pytest).
    """
    try:
        spec = importlib.util.spec_from_file_location("bench_postgres", ROOT / "tests" / "postgres.py")
        assert spec is not None and spec.loader is not None
        helpers = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(helpers)
    except ImportError as exc:
        raise _Unavailable(f"{exc.name} is not installed") from None
    except OSError as exc:
        raise _Unavailable(f"cannot read tests/postgres.py: {exc.strerror}") from None
    log("tables: starting a throwaway PostgreSQL server")
    try:
        server_context = helpers.running_server()
        server = server_context.__enter__()
    except (helpers.pytest.fail.Exception, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        raise _Unavailable(str(exc).strip().splitlines()[0][:200]) from None
    try:
        try:
            log(f"tables: the same rows in PostgreSQL at {server.host}:{server.port}")
            database = server.create_database("bench")
            with server.connect(database) as connection:
                table_data.fill_postgres(connection, csv_path)
            data = work / "tables-postgres"
            data.mkdir()
            table_data.write_query_report(data, "${" + PG_URL_VARIABLE + "}", doc_rows)
        except Exception as exc:  # psycopg's errors among them
            raise _Unavailable(f"loading the rows failed: {str(exc).strip()[:200]}") from None
        os.environ[PG_URL_VARIABLE] = server.url(database)  # env() passes it to the builds
        sources["PostgreSQL server"] = data
        yield
    finally:
        os.environ.pop(PG_URL_VARIABLE, None)
        server_context.__exit__(None, None, None)


def bench_catalog(s: Settings, work: Path, state: dict) -> list[Row]:
    results = {}
    against = None
    for n in s.catalogs:
        data, out = work / f"cat{n}-data", work / f"cat{n}-out"
        log(f"catalog of {n}: generating")
        write_catalog(data, n)
        log(f"catalog of {n}: exporter build -j 2")
        build = ("-q", "build", "--data-dir", str(data), "--output-dir", str(out), "-j", "2")
        results[n] = peak(exporter(*build), tree=True)
        shutil.rmtree(out, ignore_errors=True)
        if n == min(s.catalogs):  # the smallest catalog again, built by the code before issue 19
            log(f"catalog of {n}: exporter build -j 2 at {s.against}")
            against = _build_at(s.against, build, work)
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    rows = [Row(f"Catalog of {n:,} reports × 3 formats, `exporter build -j 2`, fresh output",
                f"{secs(r['wall_s'])} ({n / r['wall_s']:.2f} reports/s; {context(r)})", "—", peak_ours=mib(r))
            for n, r in results.items()]
    if results:
        n = min(s.catalogs)
        before = " (before issue 19)" if s.against == BEFORE_ISSUE_19 else ""
        label = f"Catalog of {n:,} reports × 3 formats, `-j 2`: this commit vs {s.against}{before}, same run"
        if isinstance(against, str):
            rows.append(Row(label, "—", f"not measured: {against}"))
        else:
            ours, theirs = n / results[n]["wall_s"], n / against["wall_s"]
            rows.append(Row(label, f"{ours:.2f} reports/s", f"{theirs:.2f} reports/s ({secs(against['wall_s'])})",
                            f"{ours / theirs:.2f}×", "≥ 2×" if before else "—", verdict(ours / theirs >= 2) if before else "—",
                            mib(results[n]), mib(against)))
    if len(results) >= 2:
        small, large = min(results), max(results)
        for key, label in (("maxrss_mib", "largest process"), ("tree_mib", "sum over processes")):
            a, b = results[large][key], results[small][key]
            rows.append(Row(f"Peak memory flat in catalog size: {large:,} vs {small:,} reports ({label})",
                            f"{a:.0f} MiB", f"{b:.0f} MiB", f"{a / b:.2f}×", "≤ 1.10×", verdict(a / b <= 1.10)))
    return rows


def _build_at(commit: str, build: tuple[str, ...], work: Path) -> dict | str:
    """Run `python -m exporter` *build* with the `exporter` package of *commit* (this checkout's
    virtual environment and bench); its peak result, or why it could not run."""
    tree = work / f"exporter-at-{commit}"
    tree.mkdir(exist_ok=True)
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "exporter"], capture_output=True, cwd=ROOT)
    if archive.returncode != 0:
        return f"`git archive {commit}` failed ({archive.stderr.decode(errors='replace').strip()[:200]})"
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    code = f"import exporter, sys; sys.exit(not exporter.__file__.startswith({str(tree)!r}))"
    if subprocess.run(py("-c", code), env=env(tree), cwd=tree).returncode != 0:
        return f"{commit}'s exporter package is not the one imported"
    result = peak(py("-m", "exporter", *build), tree=True, check=False, first=tree)
    if result["rc"] != 0:
        return f"its build exited {result['rc']}: {result['stderr'].strip()[-200:]}"
    return result


BENCHES = {
    "warm": bench_warm,
    "libreoffice": bench_libreoffice,
    "cold": bench_cold,
    "noop": bench_noop,
    "throughput": bench_throughput,
    "tables": bench_tables,
    "catalog": bench_catalog,
}


# --- output ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def markdown(rows: list[Row]) -> str:
    head = ("measurement", "ours", "baseline", "ratio", "target", "met?", "peak RSS ours", "peak RSS baseline")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = (r.measurement, r.ours, r.baseline, r.ratio, r.target, r.met, r.peak_ours, r.peak_baseline)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller catalogs (a few minutes)")
    parser.add_argument("--catalog", help="catalog sizes for the memory rows, e.g. 100,1000")
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--against", default=BEFORE_ISSUE_19,
                        help=f"the commit whose build the catalog row compares with (default {BEFORE_ISSUE_19})")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    settings.against = args.against
    if args.catalog:
        settings.catalogs = tuple(int(n) for n in args.catalog.split(","))
    sections = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    try:
        import psutil  # noqa: F401
        import xlsxwriter  # noqa: F401
    except ImportError as exc:
        parser.error(f"{exc.name} is missing: pip install -e '.[bench]'")

    started = time.time()
    busy_before = busy_seconds()
    rows: list[Row] = []
    state: dict = {}
    with tempfile.TemporaryDirectory(prefix="exporter-bench-") as tmp:
        work = Path(tmp)
        for name in SECTIONS:
            if name in sections:
                section = work / name
                section.mkdir()
                try:
                    rows += BENCHES[name](settings, section, state)
                except RuntimeError as exc:  # a failed command: say so in the table, run the rest
                    log(f"{name} failed: {exc}")
                    rows.append(Row(f"{name}: **failed**: {str(exc).splitlines()[-1][:200]}", "—", "—"))
    elapsed = time.time() - started
    ours = resource.getrusage(resource.RUSAGE_CHILDREN)
    others = ((busy_seconds() or 0) - (busy_before or 0) - ours.ru_utime - ours.ru_stime) / elapsed
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    command = "python3 bench/run.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    print(f"`{command}` — {dt.date.today().isoformat()}, {os.cpu_count()} cores ({cpu_model()}), "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}, commit {commit}; "
          f"run took {elapsed / 60:.1f} min, while other processes kept {max(others, 0):.2f} cores busy on average.")
    print()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
