"""Time a warm in-process render of one report in one format; print one JSON line.

    python3 -m bench.warm FORMAT ours|bare|PEER YAML REPEAT [without-charts] [--out FILE]

The report is loaded once (read, validated, derived: `exporter.runs.catalog.load`); the timed part is
turning that `RenderJob` into the bytes of a file, by our renderer (`exporter.render.get_renderer`),
by the bare-library writer of `bench/baselines.py`, or by a peer of `bench/peers.py` (typst,
typst-reused, weasyprint for a PDF; docxtpl for a DOCX). One untimed render first (imports, font
registration, caches; a peer's compiler or template is made before it), then REPEAT timed ones; the
fastest and the median are reported. ``--out FILE`` writes the untimed render's bytes there, for
checking that the file is real. Run each in
a fresh process: the peak resident set it reports (``maxrss_mib``, ru_maxrss of this process) covers
one side only. ``without-charts`` drops the document's chart blocks first (both sides alike): what
the rest of the document costs, apart from a native chart part against a matplotlib PNG.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from exporter.core.document import Chart
from exporter.render import RenderJob, get_renderer
from exporter.runs.catalog import ReportSource, load


def without_charts(job: RenderJob) -> RenderJob:
    doc = job.document
    sections = tuple(dataclasses.replace(s, blocks=tuple(b for b in s.blocks if not isinstance(b, Chart)))
                     for s in doc.sections)
    return dataclasses.replace(job, document=dataclasses.replace(doc, sections=sections))


def main(argv: list[str]) -> None:
    fmt, impl, path, repeat = argv[0], argv[1], Path(argv[2]), int(argv[3])
    options, out = argv[4:], None
    if "--out" in options:
        at = options.index("--out")
        out, options = Path(options[at + 1]), options[:at] + options[at + 2:]
    if impl == "ours":
        write = get_renderer(fmt)
    elif impl == "bare":
        from bench.baselines import WRITERS

        write = WRITERS[fmt]
    else:
        from bench.peers import PEERS

        if PEERS.get(impl, (None,))[0] != fmt:
            sys.exit(f"no peer {impl!r} for {fmt}: {', '.join(n for n, (f, _) in PEERS.items() if f == fmt)}")
        write = PEERS[impl][1]()
    job = load(ReportSource.at(path)).job
    if options == ["without-charts"]:
        job = without_charts(job)
    elif options:
        sys.exit(f"unknown option {options[0]!r}")
    first = write(job)
    size = len(first)
    if out is not None:
        out.write_bytes(first)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        write(job)
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "median_s": statistics.median(times),
        "min_s": min(times),
        "bytes": size,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
