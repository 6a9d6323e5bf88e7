"""Profile a warm render of the shipped report (cProfile) and print where the time goes.

    python3 -m bench.profile docx|xlsx|pdf [--bare] [--repeat N] [--top N] [--sort tottime|cumulative] [--report YAML]

--report profiles another report, e.g. the `kind: document` example
(examples/sales-pipeline/data/reports/sales-pipeline.yaml).

One untimed render first (imports, fonts, caches), then N profiled renders of the same job; the
table lists the functions with the most time, as `bench/run.py` rows are explained in the README.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from pathlib import Path

from exporter.render import get_renderer
from exporter.runs.catalog import ReportSource, load

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "reports" / "us-intrathecal-pump-market.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=("docx", "xlsx", "pdf"))
    parser.add_argument("--bare", action="store_true", help="profile the bare-library baseline instead")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", choices=("tottime", "cumulative"))
    parser.add_argument("--report", type=Path, default=SHIPPED)
    args = parser.parse_args()
    if args.bare:
        from bench.baselines import WRITERS

        write = WRITERS[args.format]
    else:
        write = get_renderer(args.format)
    job = load(ReportSource.at(args.report)).job
    write(job)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.repeat):
        write(job)
    profiler.disable()
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
