"""Measure what a no-op rebuild costs per report, against the floor of the work it must do.

A no-op `exporter build` reads each report's manifest, hashes its data file and checks every
published file's size and sha256. The baseline, measured in the same run on the same files, is
that floor done by hand: read and hash the data file and the deliverables. Process start-up
(imports) is excluded from both. Target: at most 5 ms per report. Part of `bench/run.py`.

    python3 bench/noop_rebuild.py [--reports N] [--repeat R]            # builds a synthetic catalog first
    python3 bench/noop_rebuild.py --data-dir D --output-dir O --json     # measures an already built catalog
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.catalog import write_catalog  # noqa: E402
from exporter.api import Workers, Workspace, build  # noqa: E402


def median_seconds(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(data: Path, out: Path, repeat: int) -> dict:
    """Time a no-op `run_build` of the built catalog in *out* and the hashing floor, per report."""
    workspace = Workspace(data, out)
    sources = sorted((data / "reports").glob("*.yaml"))

    def noop():
        result = build(workspace)
        assert all(o.status == "unchanged" for o in result.outcomes), result.outcomes

    def floor():
        for path in sources:
            hashlib.sha256(path.read_bytes()).hexdigest()
            for published in (out / path.stem).glob(f"{path.stem}.*"):
                hashlib.sha256(published.read_bytes()).hexdigest()

    noop()  # warm: imports, caches
    noop_s = median_seconds(noop, repeat)
    floor_s = median_seconds(floor, repeat)
    return {
        "reports": len(sources),
        "noop_ms": noop_s / len(sources) * 1000,
        "floor_ms": floor_s / len(sources) * 1000,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, help="a catalog already built into --output-dir")
    parser.add_argument("--output-dir", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    if args.data_dir:
        result = measure(args.data_dir, args.output_dir, args.repeat)
    else:
        work = Path(tempfile.mkdtemp(prefix="exporter-bench-"))
        try:
            data, out = work / "data", work / "out"
            write_catalog(data, args.reports)
            start = time.perf_counter()
            first = build(Workspace(data, out), workers=Workers(jobs=1))
            result = {"full_s": time.perf_counter() - start}
            assert all(o.status == "built" for o in first.outcomes)
            result.update(measure(data, out, args.repeat))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    n = result["reports"]
    if "full_s" in result:
        print(f"reports: {n}, full build: {result['full_s']:.2f} s ({result['full_s'] / n * 1000:.0f} ms per report)")
    print(f"no-op rebuild: {result['noop_ms']:.2f} ms per report (target <= 5 ms)")
    print(f"baseline (hash data and deliverables by hand): {result['floor_ms']:.2f} ms per report")
    print(f"ratio no-op / baseline: {result['noop_ms'] / result['floor_ms']:.1f}x")


if __name__ == "__main__":
    main()
