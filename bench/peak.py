"""Run a command; print its wall time and peak memory as one JSON line.

    python3 -m bench.peak [--tree] -- CMD [ARG]...

Run it as a fresh process per measurement: the peak comes from ``getrusage(RUSAGE_CHILDREN)``
after the command ends, which covers this wrapper's children and every descendant they waited
for, so it must not have measured anything before.

- ``maxrss_mib``: the kernel's peak resident set of the *largest single process* of the command's
  tree (ru_maxrss is a maximum over processes, not a sum). For ``exporter build -j 2`` that is
  the coordinator or one worker, whichever peaked higher.
- ``tree_mib`` (with ``--tree``, needs psutil): the highest *sum* of the resident sets of the command
  and all its descendants, sampled every 50 ms. It counts shared library pages once per process
  (an upper bound) and can miss a spike shorter than the interval.

``wall_s`` is measured from just before the command starts to just after it ends; ``cpu_s`` is
the CPU time (user + system) of the command's tree; ``others_cores`` is how many cores, on
average over the run, everything else on the machine kept busy (from /proc/stat, minus
``cpu_s``): on a shared machine it says how much of the machine the command actually had.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time

INTERVAL = 0.05


def _sample_tree(pid: int, stop: threading.Event, peak: list[int]) -> None:
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = 0
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        peak[0] = max(peak[0], total)
        stop.wait(INTERVAL)


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat), or None."""
    try:
        fields = open("/proc/stat").readline().split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str]) -> int:
    tree = False
    if argv[:1] == ["--tree"]:
        tree, argv = True, argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__.strip().splitlines()[2])
    busy_before = busy_seconds()
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop, peak = threading.Event(), [0]
    sampler = None
    if tree:
        sampler = threading.Thread(target=_sample_tree, args=(child.pid, stop, peak), daemon=True)
        sampler.start()
    _, err = child.communicate()
    wall = time.perf_counter() - start
    stop.set()
    if sampler is not None:
        sampler.join()
    busy_after = busy_seconds()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    others = None
    if busy_before is not None and busy_after is not None and wall > 0:
        others = max(0.0, (busy_after - busy_before - cpu) / wall)
    print(json.dumps({
        "wall_s": wall,
        "rc": child.returncode,
        "cpu_s": cpu,
        "others_cores": others,
        "maxrss_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "tree_mib": peak[0] / 2**20 if tree else None,
        "stderr": err.decode("utf-8", "replace")[-2000:],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
