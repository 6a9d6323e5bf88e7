"""Measure what a no-op rebuild costs per report, against the floor of the work it must do.

A no-op `exporter build` reads each report's manifest, hashes its data file and checks every
published file's size and sha256. The baseline, measured in the same run on the same files, is
that floor done by hand: read and hash the data file and the deliverables. Process start-up
(imports) is excluded from both. Target: at most 5 ms per report.

    python bench/noop_rebuild.py [--reports N] [--repeat R]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.pipeline import BuildRequest, run_build  # noqa: E402

SOURCE = ROOT / "data" / "reports" / "us-intrathecal-pump-market.yaml"


def median_seconds(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="exporter-bench-"))
    try:
        data, out = work / "data", work / "out"
        (data / "reports").mkdir(parents=True)
        for n in range(args.reports):
            shutil.copy(SOURCE, data / "reports" / f"report-{n:03d}.yaml")
        request = BuildRequest(data_dir=data, output_dir=out)
        start = time.perf_counter()
        first = run_build(request)
        full = time.perf_counter() - start
        assert all(o.status == "built" for o in first.outcomes)

        def noop():
            result = run_build(request)
            assert all(o.status == "unchanged" for o in result.outcomes), result.outcomes

        def floor():
            for path in sorted((data / "reports").iterdir()):
                hashlib.sha256(path.read_bytes()).hexdigest()
                for published in (out / path.stem).glob(f"{path.stem}.*"):
                    hashlib.sha256(published.read_bytes()).hexdigest()

        noop_s = median_seconds(noop, args.repeat)
        floor_s = median_seconds(floor, args.repeat)
        per_report_ms = noop_s / args.reports * 1000
        print(f"reports: {args.reports}, full build: {full:.2f} s ({full / args.reports * 1000:.0f} ms per report)")
        print(f"no-op rebuild: {noop_s * 1000:.1f} ms in all, {per_report_ms:.2f} ms per report (target <= 5 ms)")
        print(f"baseline (hash data and deliverables by hand): {floor_s / args.reports * 1000:.2f} ms per report")
        print(f"ratio no-op / baseline: {noop_s / floor_s:.1f}x; no-op / full build: {noop_s / full:.4f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
