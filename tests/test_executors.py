"""Executors: failures and stops are results of the items they hit, and a stop pulls no more items."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

from exporter.runs import executors


def counted(n: int, pulled: list[int]):
    for i in range(n):
        pulled.append(i)
        yield i


def test_a_stop_pulls_no_more_items_serially():
    pulled: list[int] = []
    stop = iter([False, False, True])
    results = list(executors.run_serial(lambda i: i * 10, counted(10, pulled), lambda: next(stop)))
    assert results == [(0, 0), (1, 10)]
    assert pulled == [0, 1, 2]  # the third was pulled when the stop was seen; nothing after it


def test_a_stop_in_a_pool_pulls_no_more_items():
    pulled: list[int] = []
    requests = {"n": 0}

    def should_stop():
        requests["n"] += 1
        return requests["n"] > 1

    def submit(work, item):
        future = Future()
        future.set_result(work(item))
        return future

    results = list(executors.run_windowed(submit, lambda i: i + 1, counted(100, pulled), should_stop, window=3))
    assert len(pulled) <= 6 and len(results) == len(pulled)


def test_a_pool_broken_by_a_dead_worker_fails_the_items_not_the_run():
    def submit(work, item):
        if item >= 2:
            raise BrokenProcessPool("A child process terminated abruptly")
        future = Future()
        future.set_result(work(item))
        return future

    results = dict(executors.run_windowed(submit, lambda i: i, range(5), lambda: False, window=2))
    assert results[0] == 0 and results[1] == 1
    assert all(isinstance(results[i], BrokenProcessPool) for i in (2, 3, 4))


def test_a_real_worker_killed_mid_run_fails_its_report_only(tmp_path):
    pool = executors.start_pool(2)
    try:
        results = dict(executors.run_processes(_die_on_three, range(6), lambda: False, 2, pool))
    finally:
        executors.stop_pool(pool)
    assert isinstance(results[3], BaseException)
    assert all(isinstance(r, (int, BaseException)) for r in results.values()) and len(results) == 6


def _die_on_three(i: int) -> int:
    if i == 3:
        import os

        os._exit(1)
    return i


def test_workers_leave_a_stop_signal_to_the_coordinator():
    import os
    import signal

    pool = executors.start_pool(1)
    try:
        pid = pool.submit(os.getpid).result(timeout=60)
        os.kill(pid, signal.SIGTERM)  # as systemd does to every process of the service's group
        assert pool.submit(os.getpid).result(timeout=60) == pid
    finally:
        executors.stop_pool(pool)


class _Cycle:
    """An object in a reference cycle, as a rendering leaves them (a document and its parts)."""

    def __init__(self):
        self.me = self


_LEFT: list = []  # in the worker: a weak reference to the cycle the previous item left behind


def _leave_a_cycle(i: int) -> bool:
    """Tell whether the previous item's cycle is gone, then leave one that survived the young collections."""
    import gc
    import weakref

    gone = not _LEFT or _LEFT[-1]() is None
    cycle = _Cycle()
    gc.collect(0)
    gc.collect(1)  # alive through both young collections: only a full one frees it once dropped
    _LEFT.append(weakref.ref(cycle))
    return gone


def test_a_worker_frees_what_each_item_left_before_the_next():
    """A worker's memory stays at one report's: the cycles each rendering leaves are collected after it."""
    pool = executors.start_pool(1)
    try:
        results = [r for _, r in executors.run_processes(_leave_a_cycle, range(4), lambda: False, 1, pool)]
        assert results == [True, True, True, True]
        assert pool.submit(_frozen).result(timeout=60) > 1000  # the imports are out of the collector's sight
    finally:
        executors.stop_pool(pool)


def _frozen() -> int:
    import gc

    return gc.get_freeze_count()
