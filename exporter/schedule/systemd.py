"""systemd's service notification protocol (sd_notify(3)) for the scheduler service, without libsystemd.

For ``Type=notify`` systemd passes ``NOTIFY_SOCKET``: a unix datagram socket, a path or, when it starts
with ``@``, an abstract socket. The service sends one datagram per notice, newline-separated assignments:

    READY=1                  start-up done: `systemctl start` returns, dependent units start
    STATUS=text              one line that `systemctl status` shows
    RELOADING=1 … READY=1    around a reload of the timetable (SIGHUP)
    WATCHDOG=1               alive; with WatchdogSec= set (systemd then passes WATCHDOG_USEC), a service
                             silent for that long is killed and, with Restart=, started again
    STOPPING=1               shutting down

Without NOTIFY_SOCKET nothing is sent, so the service behaves the same outside systemd.

Not the ``sdnotify`` package: its last release (0.3.2) dates from 2017 and it drops send errors unless in
debug mode; the protocol is a datagram. A failed send is logged here (once, until a send works again),
never fatal: a service that cannot reach systemd still builds the reports.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping

log = logging.getLogger(__name__)

# What systemd sets for the service; taken out of the environment so the service's children
# (each run is an `exporter run-job` process) do not take the notices as theirs.
NOTIFY_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")

WATCHDOG_JOB_ID = "systemd-watchdog"
_WATCHDOG_STORE = _WATCHDOG_EXECUTOR = "systemd"


class Notifier:
    """Sends notices to the socket systemd named; does nothing when it named none."""

    def __init__(self, environ: Mapping[str, str], *, pid: int | None = None) -> None:
        name = environ.get("NOTIFY_SOCKET", "")
        # '@' stands for the leading NUL byte of a Linux abstract socket name.
        self.address: str | None = ("\0" + name[1:] if name.startswith("@") else name) or None
        self.watchdog_seconds = _watchdog_seconds(environ, os.getpid() if pid is None else pid)
        self._lock = threading.Lock()
        self._failing = False

    @classmethod
    def take_from(cls, environ: MutableMapping[str, str]) -> Notifier:
        """The notifier for *environ* (the process's own), with systemd's variables removed from it."""
        notifier = cls(environ)
        for name in NOTIFY_VARIABLES:
            environ.pop(name, None)
        return notifier

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def ready(self, status: str) -> None:
        self.send(READY="1", STATUS=status)

    def reloading(self) -> None:
        # MONOTONIC_USEC: systemd 253 and later want it with RELOADING=1 (Type=notify-reload); older ones ignore it.
        self.send(RELOADING="1", MONOTONIC_USEC=str(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000))

    def status(self, text: str) -> None:
        self.send(STATUS=text)

    def watchdog(self) -> None:
        self.send(WATCHDOG="1")

    def stopping(self, status: str) -> None:
        self.send(STOPPING="1", STATUS=status)

    def send(self, **fields: str) -> None:
        if self.address is None:
            return
        # A newline would start another assignment: a status line stays one line.
        message = "\n".join(f"{key}={' '.join(value.splitlines())}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode("utf-8"), self.address)
        except OSError as exc:
            with self._lock:
                first, self._failing = not self._failing, True
            # Said once, not at every watchdog ping; said again after sending has worked in between.
            log.log(logging.WARNING if first else logging.DEBUG, "systemd notice not sent to NOTIFY_SOCKET %s: %s",
                    self.address.replace("\0", "@"), exc.strerror or exc)
            return
        with self._lock:
            self._failing = False


def _watchdog_seconds(environ: Mapping[str, str], pid: int) -> float | None:
    """WatchdogSec= as systemd passes it, or None when there is none for this process."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    watched_pid = environ.get("WATCHDOG_PID")
    if usec > 0 and watched_pid and watched_pid != str(pid):
        # The unit's main process is another (a wrapper script?): systemd would kill the service for silence.
        log.warning("WATCHDOG_PID is %s, not this process (%d): no watchdog pings; start exporter itself as the "
                    "unit's main process (ExecStart=…/exporter schedule, or exec in a wrapper)", watched_pid, pid)
        return None
    return usec / 1_000_000 if usec > 0 else None


def add_watchdog(scheduler, notifier: Notifier, healthy: Callable[[], bool]) -> None:
    """Send WATCHDOG=1 from the scheduler's own loop at half WatchdogSec, while *healthy()* says so.

    The ping is a job of the scheduler, so it stops when the scheduler's loop stops dispatching; it has
    its own in-memory store and its own thread, so it is never in the job store (nor in `exporter status`)
    and never waits behind a build. A pending (not yet started) scheduler takes it at start.
    """
    if not notifier.enabled or notifier.watchdog_seconds is None:
        return
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore

    def ping() -> None:
        if healthy():
            notifier.watchdog()

    scheduler.add_jobstore(MemoryJobStore(), _WATCHDOG_STORE)
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), _WATCHDOG_EXECUTOR)
    scheduler.add_job(ping, "interval", seconds=notifier.watchdog_seconds / 2, id=WATCHDOG_JOB_ID,
                      name=WATCHDOG_JOB_ID, jobstore=_WATCHDOG_STORE, executor=_WATCHDOG_EXECUTOR,
                      coalesce=True, max_instances=1, misfire_grace_time=None, replace_existing=True)
