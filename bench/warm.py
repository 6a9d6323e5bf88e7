"""Time a warm in-process render of one report in one format; print one JSON line.

    python3 -m bench.warm FORMAT ours|bare YAML REPEAT [without-charts]

The report is loaded once (read, validated, derived: `exporter.runs.catalog.load`); the timed part is
turning that `RenderJob` into the bytes of a file, by our renderer (`exporter.render.get_renderer`)
or by the bare-library writer of `bench/baselines.py`. One untimed render first (imports, font
registration, caches), then REPEAT timed ones; the fastest and the median are reported. Run each in
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
    if impl == "ours":
        write = get_renderer(fmt)
    else:
        from bench.baselines import WRITERS

        write = WRITERS[fmt]
    job = load(ReportSource.at(path)).job
    if argv[4:] == ["without-charts"]:
        job = without_charts(job)
    elif argv[4:]:
        sys.exit(f"unknown option {argv[4]!r}")
    size = len(write(job))
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
