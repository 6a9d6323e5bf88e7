"""Where reports are rendered: in this process, in local worker processes, or on a Dask cluster.

An executor maps a pure function (a rendering: job in, bytes out) over items and yields each
item with its result as results arrive. It never publishes, writes files or records history:
that stays with the coordinating process. Items are pulled from the iterable only as workers
free up (a bounded window), so a catalog of thousands of reports is never held in memory at once.

A result is the function's return value, the exception it raised, or None when a stop was
requested before a submitted item started. After a stop, items not yet pulled from the iterable
are not yielded at all: the caller reports them.

The "dask" executor sends each item, pickled, to the workers of an existing dask.distributed
cluster and gets the function's return value back, pickled; `distributed` is imported only there
(the optional extra ``exporter[dask]``), so the package works and starts fast without it.
"""

from __future__ import annotations

import functools
import gc
import importlib
import itertools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar, cast

from .. import __version__
from ..core.errors import BuildError, ExporterError, UsageError

log = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741 -- the item type
R = TypeVar("R")

Result = object  # R | BaseException | None
EXECUTORS = ("local", "dask")

# Items handed to workers ahead of the ones they are on: enough to keep them busy, few enough
# to keep memory flat in the catalog's size.
AHEAD_PER_WORKER = 2

# How often a wait for results looks at should_stop, in seconds: a stop is seen while work is running.
STOP_POLL = 0.5

# Seconds to wait for the Dask scheduler to answer and for a worker to be there.
DASK_TIMEOUT_ENV = "EXPORTER_DASK_TIMEOUT"
DASK_TIMEOUT = 10.0


def run_serial(work: Callable[[I], R], items: Iterable[I], should_stop: Callable[[], bool]) -> Iterator[tuple[I, Result]]:
    for item in items:
        if should_stop():
            return  # the items not yet pulled are the caller's to report (pulling one would load it)
        try:
            yield item, work(item)
        except Exception as exc:  # one item's failure is its result, not the run's
            yield item, exc


def start_pool(workers: int, modules: tuple[str, ...] = ()) -> ProcessPoolExecutor:
    """Start *workers* fresh interpreters now, each importing *modules*, so that their start-up
    (about half a second) overlaps the coordinator's checks instead of delaying the first report.

    Spawned, not forked: a fork would inherit the run lock and the open databases.
    """
    # Forked from a fork server, which is itself a fresh interpreter (it inherits neither the lock
    # nor the databases) and imports *modules* once for every worker it forks.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(modules))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_import, initargs=(modules,))

    def spawn() -> None:
        try:
            for _ in range(workers):  # each submit finding no idle worker spawns one
                pool.submit(int)
        except Exception:  # a pool shut down meanwhile, or one that cannot start: the first real submit says why
            log.debug("cannot start the worker processes ahead", exc_info=True)

    # Each spawn waits for the fork server, which starts by importing *modules* (half a second or
    # more): in a thread of its own, so that the coordinator goes on checking the data meanwhile. A
    # submit made before it is done waits for the pool's lock, then finds the workers started.
    threading.Thread(target=spawn, name="exporter-pool-start", daemon=True).start()
    return pool


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut *pool* down and end the fork server, so that no process outlives the build."""
    pool.shutdown(wait=True, cancel_futures=True)
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)  # not public API; without it the server ends when we exit
    if stop is not None:
        stop()


def _import(modules: tuple[str, ...]) -> None:
    # A stop is the coordinator's to handle: systemd or a terminal signals the whole process
    # group, and a worker dying of it would turn "stopped" reports into failed ones.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in modules:
        importlib.import_module(name)
    # What the imports made lives as long as the worker: out of the collector's sight, so that
    # `_collected`'s collection after each item only walks what that item left behind.
    gc.collect()
    gc.freeze()


def _collected(work: Callable[[I], R], item: I) -> R:
    """*work*(*item*) in a worker, then a full collection of the garbage it left.

    A rendering leaves reference cycles behind (python-docx and openpyxl objects, with the XML trees
    and buffers they hold), which only a full collection frees; Python runs one when the objects that
    survived its young collections grow by a quarter, so a worker that had rendered a few hundred reports
    held many reports' garbage at once: its peak grew with the catalog (1,000 reports: 136 MiB against
    102 MiB for 100). Collected after each item, it stays at one report's (about 3 ms a report, with
    the imports frozen).
    """
    try:
        return work(item)
    finally:
        gc.collect()


def run_processes(work: Callable[[I], R], items: Iterable[I], should_stop: Callable[[], bool],
                  workers: int, pool: ProcessPoolExecutor | None = None) -> Iterator[tuple[I, Result]]:
    """Run *work* in *workers* worker processes: those of *pool*, or of a pool of its own."""
    own = pool is None
    pool = start_pool(workers) if pool is None else pool
    try:
        yield from run_windowed(pool.submit, functools.partial(_collected, work), items, should_stop,
                                workers * (1 + AHEAD_PER_WORKER))
    finally:
        if own:
            stop_pool(pool)


def run_windowed(submit: Callable[..., Future], work: Callable[[I], R], items: Iterable[I],
                 should_stop: Callable[[], bool], window: int,
                 check: Callable[[], None] | None = None) -> Iterator[tuple[I, Result]]:
    """Keep at most *window* items submitted; yield (item, result) as each completes.

    *check*, when given, is called after each wait: the executor's chance to settle futures it
    knows will never complete on their own.
    """
    source = iter(items)
    running: dict[Future, I] = {}
    stopped = False
    try:
        while True:
            while not stopped and len(running) < window:
                item = cast(I, next(source, _END))
                if item is _END:
                    break
                try:
                    running[submit(work, item)] = item
                except Exception as exc:  # a pool broken by a worker that died (BrokenProcessPool)
                    yield item, exc
            if not running:
                break
            done, _ = wait(running, timeout=STOP_POLL, return_when=FIRST_COMPLETED)
            if check is not None:
                check()
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
    finally:
        for future in running:
            future.cancel()


_END = object()


def run_dask(work: Callable[[I], R], items: Iterable[I], should_stop: Callable[[], bool], address: str,
             timeout: float | None = None) -> Iterator[tuple[I, Result]]:
    """Run *work* on the workers of the Dask cluster whose scheduler is at *address*.

    Nothing is contacted when there are no items. The window is three tasks per worker thread
    present at the start. Raise `UsageError` when `distributed` is missing and `BuildError` when
    the scheduler cannot be reached, no worker is there, or the workers run another exporter.
    """
    source = iter(items)
    first = cast(I, next(source, _END))
    if first is _END:
        return
    source = itertools.chain([first], source)
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--executor dask needs the distributed package: pip install 'exporter[dask]'") from None
    if timeout is None:
        timeout = dask_timeout(os.environ)
    client = connect(Client, address, timeout)
    try:
        threads = check_workers(client, address, timeout)
        tasks = _DaskTasks(client, address)
        for item, result in run_windowed(tasks.submit, work, source, should_stop, threads * (1 + AHEAD_PER_WORKER),
                                         check=tasks.check):
            yield item, _cluster_error(result, address)
    finally:
        client.close()


class _DaskTasks:
    """Dask tasks behind concurrent.futures Futures, whose cancel() also cancels the Dask task.

    A task the cluster dropped (the scheduler went away), one that cannot be submitted any more
    and one still open when the client has given up reconnecting fail with an error naming the
    scheduler, so a build never waits for a scheduler that is gone.
    """

    def __init__(self, client, address: str):
        self.client = client
        self.address = address
        self.open: dict[Future, Any] = {}  # relay -> Dask future, until settled
        self.lock = threading.Lock()

    def submit(self, work: Callable[[I], R], item: I) -> Future:
        relay: Future = Future()
        try:
            task = self.client.submit(work, item, pure=False)  # pure=False: no hashing the item for a key
        except Exception as exc:  # the client is closed
            self._settle(relay, error=self._lost(exc))
            return relay
        self.open[relay] = task
        relay.add_done_callback(self._cancel_task)
        task.add_done_callback(functools.partial(self._task_done, relay))  # runs in distributed's callback thread
        return relay

    def check(self) -> None:
        """Fail every open task once the client has closed (it gave up reconnecting to the scheduler)."""
        if self.client.status == "closed":
            for relay in list(self.open):
                self._settle(relay, error=self._lost(None))

    def _task_done(self, relay: Future, task) -> None:
        try:
            if task.status == "finished":
                self._settle(relay, result=task.result())
            elif task.status == "cancelled":
                self._settle(relay, error=self._lost(None))  # cancelled by distributed, not by us
            else:
                self._settle(relay, error=task.exception())
        except BaseException as exc:  # e.g. a result that cannot be unpickled here
            self._settle(relay, error=exc)

    def _settle(self, relay: Future, *, result=None, error: BaseException | None = None) -> None:
        with self.lock:  # the callback thread and check() may race; the first one wins
            self.open.pop(relay, None)
            if relay.done() or relay.running() or not relay.set_running_or_notify_cancel():
                return  # settled already, or cancelled by a stop: the result is not wanted
        if error is not None:
            relay.set_exception(error)
        else:
            relay.set_result(result)

    def _cancel_task(self, relay: Future) -> None:
        task = self.open.pop(relay, None)
        if relay.cancelled() and task is not None:
            try:
                task.cancel()
            except Exception:  # the client is closed: the scheduler forgets the task by itself
                log.debug("cannot cancel a Dask task", exc_info=True)

    def _lost(self, exc: BaseException | None) -> ExporterError:
        if exc is not None:
            log.debug("cannot submit to the Dask scheduler at %s", self.address, exc_info=exc)
        return ExporterError(f"lost the connection to the Dask scheduler at {self.address}; the cluster dropped "
                             "the task")


def dask_timeout(env) -> float:
    value = env.get(DASK_TIMEOUT_ENV) or DASK_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(f"{DASK_TIMEOUT_ENV} must be a positive number of seconds, not {value!r}")
    return seconds


def check_settings(executor: str, address: str | None) -> None:
    """Refuse an unknown executor, a Dask build without `distributed` or with a malformed address.

    Checked at the start of every build, so that a typo in a crontab shows even when nothing
    needs building that day.
    """
    if executor == "local":
        return
    if executor != "dask":
        raise UsageError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")
    if not address:
        raise UsageError("--executor dask needs --scheduler-address tcp://HOST:PORT")
    try:
        from distributed.comm.addressing import parse_address
        from distributed.comm.registry import get_backend
    except ImportError:
        raise UsageError("--executor dask needs the distributed package: pip install 'exporter[dask]'") from None
    try:  # a Client given a malformed address hangs for 20 s when it is collected
        scheme, location = parse_address(address)
        try:
            get_backend(scheme).get_address_host_port(location)
        except NotImplementedError:  # a scheme without host and port (inproc, ucx): the Client decides
            pass
    except ValueError as exc:
        raise UsageError(f"--scheduler-address: {address!r} is not a Dask scheduler address "
                         f"(like tcp://HOST:8786): {_one_line(exc)}") from None


def connect(client_class, address: str, timeout: float):
    """Return a client of the scheduler at *address*; raise `BuildError` when it does not answer."""
    check_settings("dask", address)
    try:
        return client_class(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # refused, unreachable, timed out, a TLS handshake failed
        raise BuildError(f"cannot reach the Dask scheduler at {address}: {_one_line(exc)}; nothing was built") from exc


def check_workers(client, address: str, timeout: float) -> int:
    """Wait for a worker; check every worker runs this exporter version; return the worker threads."""
    def exporter_version():  # defined here so it is pickled by value: workers need not import exporter
        try:
            import exporter
        except ImportError:
            return None
        return exporter.__version__

    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise BuildError(f"no Dask worker joined the scheduler at {address} within {timeout:g} s "
                         f"(start one with `dask worker {address}`); nothing was built") from None
    try:
        versions = client.run(exporter_version)
        threads = sum(client.nthreads().values())
    except Exception as exc:  # a worker that died or left while being asked
        raise BuildError(f"cannot ask the Dask workers at {address} for their exporter version: "
                         f"{_one_line(exc)}; nothing was built") from exc
    wrong = {worker: version for worker, version in sorted(versions.items()) if version != __version__}
    if wrong:
        found = ", ".join(f"{w} has {'no exporter' if v is None else 'exporter ' + str(v)}" for w, v in wrong.items())
        raise BuildError(f"the Dask workers at {address} must run exporter {__version__} "
                         f"(pip install 'exporter[dask]=={__version__}'): {found}; nothing was built")
    return max(1, threads)


def _cluster_error(result: Result, address: str) -> Result:
    """Name the cluster in failures that come from it rather than from the work."""
    if type(result).__name__ == "KilledWorker":
        return ExporterError(f"Dask workers at {address} died while rendering it: {_one_line(result)}")
    return result


def _one_line(exc: object) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def run(work: Callable[[I], R], items: Iterable[I], *, jobs: int = 1, should_stop: Callable[[], bool] = lambda: False,
        executor: str = "local", address: str | None = None,
        pool: ProcessPoolExecutor | None = None) -> Iterator[tuple[I, Result]]:
    """Map *work* over *items* with the chosen executor; see the module docstring.

    *jobs* sizes the local pool; a Dask cluster is sized by its workers, and *jobs* is ignored.
    """
    if executor == "dask":
        if not address:
            raise UsageError("--executor dask needs --scheduler-address tcp://HOST:PORT")
        return run_dask(work, items, should_stop, address)
    if executor != "local":
        raise UsageError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")
    if jobs <= 1:
        return run_serial(work, items, should_stop)
    return run_processes(work, items, should_stop, jobs, pool)
