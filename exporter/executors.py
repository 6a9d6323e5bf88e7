"""Where reports are rendered: in this process, or in local worker processes.

An executor maps a pure function (a rendering: job in, bytes out) over items and yields each
item with its result as results arrive. It never publishes, writes files or records history:
that stays with the coordinating process. Items are pulled from the iterable only as workers
free up (a bounded window), so a catalog of thousands of reports is never held in memory at once.

A result is the function's return value, the exception it raised, or None when a stop was
requested before the item was started.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Callable, Iterable, Iterator, TypeVar

I = TypeVar("I")
R = TypeVar("R")

Result = object  # R | BaseException | None
EXECUTORS = ("local",)

# Items handed to workers ahead of the ones they are on: enough to keep them busy, few enough
# to keep memory flat in the catalog's size.
AHEAD_PER_WORKER = 2


def run_serial(work: Callable[[I], R], items: Iterable[I], should_stop: Callable[[], bool]) -> Iterator[tuple[I, Result]]:
    for item in items:
        if should_stop():
            yield item, None
            continue
        try:
            yield item, work(item)
        except Exception as exc:  # one item's failure is its result, not the run's
            yield item, exc


def run_processes(work: Callable[[I], R], items: Iterable[I], should_stop: Callable[[], bool],
                  workers: int) -> Iterator[tuple[I, Result]]:
    """Run *work* in *workers* fresh interpreters (spawned: a fork would inherit the run lock and open databases)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from run_windowed(pool.submit, work, items, should_stop, workers * (1 + AHEAD_PER_WORKER))


def run_windowed(submit: Callable[..., Future], work: Callable[[I], R], items: Iterable[I],
                 should_stop: Callable[[], bool], window: int) -> Iterator[tuple[I, Result]]:
    """Keep at most *window* items submitted; yield (item, result) as each completes."""
    source = iter(items)
    running: dict[Future, I] = {}
    stopped = False
    try:
        while True:
            while not stopped and len(running) < window:
                item = next(source, _END)
                if item is _END:
                    break
                running[submit(work, item)] = item
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                item = running.pop(future)
                try:
                    yield item, future.result()
                except Exception as exc:  # includes a worker that died (BrokenProcessPool)
                    yield item, exc
            if not stopped and should_stop():
                stopped = True
                for future in list(running):
                    if future.cancel():
                        yield running.pop(future), None
        if stopped:
            for item in source:
                yield item, None
    finally:
        for future in running:
            future.cancel()


_END = object()


def run(work: Callable[[I], R], items: Iterable[I], *, jobs: int = 1, should_stop: Callable[[], bool] = lambda: False,
        executor: str = "local", address: str | None = None) -> Iterator[tuple[I, Result]]:
    """Map *work* over *items* with the chosen executor; see the module docstring."""
    if executor != "local":
        raise ValueError(f"unknown executor {executor!r}")
    if jobs <= 1:
        return run_serial(work, items, should_stop)
    return run_processes(work, items, should_stop, jobs)
