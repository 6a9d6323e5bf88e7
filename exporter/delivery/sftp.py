"""SFTP delivery: each file of a set uploaded under a temporary name, then renamed into place.

Settings come only from the environment (`sftp_settings`): the client key is a private key file
(``EXPORTER_SFTP_KEY``, its passphrase in ``EXPORTER_SFTP_KEY_PASSPHRASE``) or, when no key file is
named, the keys of the ssh-agent at ``SSH_AUTH_SOCK``; nothing else (no ``~/.ssh/id_*``, no
``~/.ssh/config``) is consulted. The server's host key must be listed in the known_hosts file
(``EXPORTER_SFTP_KNOWN_HOSTS``, default ``~/.ssh/known_hosts``): an unknown or changed key is
refused, never added.

Each file goes to ``.NAME.part`` in the target folder, is fsynced where the server offers it, and is
renamed onto ``NAME`` with ``posix-rename@openssh.com`` (an atomic replace), so readers see the old
file or the new one, never half of one. Servers without that extension get remove-then-rename (a
moment with no file, never a partial one). Re-sending the same set writes the same bytes; the
ledger keeps it to once per content.

Failures: a refused, reset or timed-out connection is retried with exponential backoff
(``EXPORTER_SFTP_ATTEMPTS``, ``EXPORTER_SFTP_BACKOFF``; ``EXPORTER_SFTP_TIMEOUT`` bounds connecting
and each operation); a refused login, a host-key problem, an unreadable key and a refused file
operation are permanent. No message carries the key, its passphrase or the agent's socket.

asyncssh is asynchronous; each attempt runs in its own event loop (`asyncio.run`), in a worker
thread when the caller already runs one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import os
import posixpath
import shlex
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from ..core.env import env_number
from .channel import Parcel, PermanentDeliveryError, TemporaryDeliveryError, retried
from .recipients import SftpTarget

# asyncssh logs every connection and channel at INFO; a delivery's outcome is ours to report.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

CHUNK = 256 * 1024  # bytes per write: each is bounded by the timeout, so a stalled server cannot hang a run
_T = TypeVar("_T")


class PermanentSftpError(PermanentDeliveryError):
    """The server refused the login, its host key, or a file operation; or our own settings are wrong."""


class TemporarySftpError(TemporaryDeliveryError):
    """The server could not be reached, or the connection dropped or stalled."""


@dataclass(frozen=True)
class SftpSettings:
    key_file: Path | None
    passphrase: str | None = field(repr=False)
    agent: str | None = field(repr=False)
    known_hosts: Path
    timeout: float
    attempts: int
    backoff: float  # seconds before the first retry; doubles each time

    @property
    def key_source(self) -> str:
        """Where the client key comes from, for messages: a variable's name, never its secret."""
        return f"the key in EXPORTER_SFTP_KEY ({self.key_file})" if self.key_file else "the ssh-agent's keys"


def sftp_settings(env: Mapping[str, str]) -> SftpSettings:
    """Read the SFTP settings from *env*; raise `PermanentSftpError` naming the variable at fault."""
    key = env.get("EXPORTER_SFTP_KEY", "").strip()
    agent = env.get("SSH_AUTH_SOCK", "").strip()
    if not key and not agent:
        raise PermanentSftpError("SFTP is not configured: set EXPORTER_SFTP_KEY to a private key file "
                                 "(or run an ssh-agent and set SSH_AUTH_SOCK)")
    known = env.get("EXPORTER_SFTP_KNOWN_HOSTS", "").strip()
    if known:
        known_hosts = Path(known).expanduser()
    else:
        home = env.get("HOME", "").strip()
        known_hosts = (Path(home) if home else Path.home()) / ".ssh" / "known_hosts"

    def number(name: str, default: str, kind: Callable[[str], Any] = int):
        return env_number(env, name, default, kind, PermanentSftpError)

    return SftpSettings(
        key_file=Path(key).expanduser() if key else None,
        passphrase=env.get("EXPORTER_SFTP_KEY_PASSPHRASE") or None,
        agent=None if key else agent,
        known_hosts=known_hosts,
        timeout=number("EXPORTER_SFTP_TIMEOUT", "30", float) or 30.0,
        attempts=max(1, number("EXPORTER_SFTP_ATTEMPTS", "5")),
        backoff=number("EXPORTER_SFTP_BACKOFF", "2", float),
    )


def upload(parcel: Parcel, target: SftpTarget, settings: SftpSettings, *, sleep=None) -> int:
    """Upload every file of *parcel* to *target*, retrying temporary failures; return the attempts made.

    Raise `PermanentSftpError`, or `TemporarySftpError` once the attempts are used up.
    """
    if not settings.known_hosts.is_file():
        raise PermanentSftpError(
            f"the known_hosts file {settings.known_hosts} does not exist (EXPORTER_SFTP_KNOWN_HOSTS): refusing to "
            f"trust {_where(target)} blindly. Check the server's host key fingerprint with its administrator, then "
            f"add it: {_keyscan(target, settings.known_hosts)}")
    try:
        asyncssh.read_known_hosts(str(settings.known_hosts))
    except (OSError, ValueError) as exc:  # unreadable, or a line asyncssh cannot parse
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PermanentSftpError(f"cannot read the known_hosts file {settings.known_hosts}: {reason}") from None
    keys = _client_keys(settings) if settings.key_file else None
    return retried(lambda: _run(lambda: _attempt(parcel, target, settings, keys)), attempts=settings.attempts,
                   backoff=settings.backoff, sleep=sleep)


def _client_keys(settings: SftpSettings) -> list[asyncssh.SSHKey]:
    assert settings.key_file is not None
    try:
        return [asyncssh.read_private_key(settings.key_file, settings.passphrase)]
    except OSError as exc:
        raise PermanentSftpError(f"cannot read the key in EXPORTER_SFTP_KEY: {settings.key_file}: "
                                 f"{exc.strerror or exc}") from None
    except asyncssh.KeyEncryptionError as exc:  # its reason names no secret ("Incorrect passphrase")
        raise PermanentSftpError(f"cannot decrypt the key in EXPORTER_SFTP_KEY ({settings.key_file}): {exc}; "
                                 "check EXPORTER_SFTP_KEY_PASSPHRASE") from None
    except asyncssh.KeyImportError as exc:
        hint = "; if it is encrypted, set EXPORTER_SFTP_KEY_PASSPHRASE" if "assphrase" in str(exc) else ""
        raise PermanentSftpError(f"the key in EXPORTER_SFTP_KEY ({settings.key_file}) is not a usable private "
                                 f"key{hint}") from None


def _run(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to the end in a fresh event loop (in a worker thread if this thread has one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _where(target: SftpTarget) -> str:
    """The host as known_hosts names it: ``host``, or ``[host]:port`` off port 22."""
    return target.host if target.port == 22 else f"[{target.host}]:{target.port}"


def _keyscan(target: SftpTarget, known_hosts: Path) -> str:
    """How to add the host's key without trusting whatever answers: fetch it, compare its fingerprint, then add it."""
    port = "" if target.port == 22 else f"-p {target.port} "
    return (f"ssh-keyscan {port}{shlex.quote(target.host)} > host.key; ssh-keygen -lf host.key (its fingerprint "
            f"must be the one the administrator gave); cat host.key >> {shlex.quote(str(known_hosts))}")


class _Client(asyncssh.SSHClient):
    """Notes the host key the server offered when known_hosts does not trust it (for the message)."""

    def __init__(self, offered: list[asyncssh.SSHKey]):
        self._offered = offered

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self._offered.append(key)
        return False  # known_hosts alone decides


async def _attempt(parcel: Parcel, target: SftpTarget, settings: SftpSettings,
                   keys: list[asyncssh.SSHKey] | None) -> None:
    if keys is not None:
        await _upload_once(parcel, target, settings, keys)
        return
    assert settings.agent is not None
    try:
        agent = await asyncio.wait_for(asyncssh.connect_agent(settings.agent), settings.timeout)
    except (TimeoutError, OSError, asyncssh.Error):
        agent = None
    if agent is None:
        raise PermanentSftpError("cannot reach the ssh-agent named by SSH_AUTH_SOCK")
    async with agent:
        try:
            agent_keys = await asyncio.wait_for(agent.get_keys(), settings.timeout)
        except (TimeoutError, OSError, ValueError, asyncssh.Error):
            raise PermanentSftpError("cannot list the ssh-agent's keys (SSH_AUTH_SOCK)") from None
        if not agent_keys:
            raise PermanentSftpError("the ssh-agent (SSH_AUTH_SOCK) holds no keys: add one with ssh-add, "
                                     "or set EXPORTER_SFTP_KEY")
        await _upload_once(parcel, target, settings, list(agent_keys))


async def _upload_once(parcel: Parcel, target: SftpTarget, settings: SftpSettings, keys: list) -> None:
    offered: list[asyncssh.SSHKey] = []
    where = f"{target.user}@{_where(target)}"
    try:
        conn = await asyncssh.connect(
            target.host, target.port, username=target.user,
            known_hosts=str(settings.known_hosts), client_factory=lambda: _Client(offered),
            client_keys=keys, agent_path=None, passphrase=None, password=None, preferred_auth="publickey",
            gss_host=None, config=[], connect_timeout=settings.timeout,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise PermanentSftpError(_host_key_problem(target, settings, offered)) from None
    except asyncssh.PermissionDenied:
        raise PermanentSftpError(f"{where} refused the login with {settings.key_source}: is its public key in "
                                 f"that account's authorized_keys?") from None
    except (asyncssh.KeyExchangeFailed, asyncssh.ProtocolNotSupported, asyncssh.ProtocolError) as exc:
        raise PermanentSftpError(f"cannot agree on SSH algorithms with {_where(target)}: {exc.reason}") from None
    except asyncssh.DisconnectError as exc:  # connection lost, service unavailable, …
        raise TemporarySftpError(f"{_where(target)} closed the connection: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:  # refused, reset, unreachable, no answer in time
        raise TemporarySftpError(f"cannot reach {_where(target)}: {_os_reason(exc)}") from None
    async with conn:
        try:
            sftp = await _bounded(conn.start_sftp_client(), settings)
            async with sftp:
                await _put_all(sftp, parcel, target.path, settings)
        except asyncssh.SFTPConnectionLost as exc:
            raise TemporarySftpError(f"{_where(target)} dropped the connection: {exc.reason}") from None
        except _Refused as exc:
            raise PermanentSftpError(f"{_where(target)} refused {exc}") from None
        except asyncssh.SFTPError as exc:
            raise PermanentSftpError(f"{_where(target)} refused: {exc.reason}") from None
        except asyncssh.ChannelOpenError as exc:
            raise PermanentSftpError(f"{_where(target)} offers no SFTP: {exc.reason}") from None
        except asyncssh.DisconnectError as exc:
            raise TemporarySftpError(f"{_where(target)} closed the connection: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            raise TemporarySftpError(f"lost {_where(target)}: {_os_reason(exc)}") from None


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out (EXPORTER_SFTP_TIMEOUT)"
    assert isinstance(exc, OSError)
    return os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc) or type(exc).__name__)


class _Refused(Exception):
    """The server refused a file operation: "to write FILE: Permission denied"."""


async def _bounded(step: Awaitable[_T], settings: SftpSettings, what: str = "") -> _T:
    try:
        return await asyncio.wait_for(step, settings.timeout)
    except asyncssh.SFTPConnectionLost:
        raise
    except asyncssh.SFTPError as exc:
        raise _Refused(f"{what or 'SFTP'}: {exc.reason}") from None


async def _put_all(sftp: asyncssh.SFTPClient, parcel: Parcel, folder: str, settings: SftpSettings) -> None:
    await _bounded(sftp.makedirs(folder, exist_ok=True), settings, f"to create the folder {folder}")
    for _, name, path in parcel.files:
        # *name* is a published file name made from a validated report id: no '/', no '..'.
        final = posixpath.join(folder, name)
        temp = posixpath.join(folder, f".{name}.part")
        data = path.read_bytes()
        handle = await _bounded(sftp.open(temp, "wb"), settings, f"to write {temp}")
        async with handle:
            for start in range(0, len(data), CHUNK):
                await _bounded(handle.write(data[start:start + CHUNK], start), settings, f"to write {temp}")
            try:
                await asyncio.wait_for(handle.fsync(), settings.timeout)
            except asyncssh.SFTPOpUnsupported:
                pass  # the server cannot fsync: the rename still keeps readers from half a file
        try:
            await asyncio.wait_for(sftp.posix_rename(temp, final), settings.timeout)
        except asyncssh.SFTPOpUnsupported:
            try:
                await asyncio.wait_for(sftp.remove(final), settings.timeout)
            except asyncssh.SFTPNoSuchFile:
                pass
            await _bounded(sftp.rename(temp, final), settings, f"to rename {temp} to {name}")
        except asyncssh.SFTPError as exc:
            if isinstance(exc, asyncssh.SFTPConnectionLost):
                raise
            raise _Refused(f"to rename {temp} to {name}: {exc.reason}") from None


def _host_key_problem(target: SftpTarget, settings: SftpSettings, offered: list[asyncssh.SSHKey]) -> str:
    known_hosts = settings.known_hosts
    shown = (f" (it offers {offered[-1].get_algorithm()} key {offered[-1].get_fingerprint()})" if offered else "")
    addr = target.host if _is_address(target.host) else ""
    try:
        listed = asyncssh.match_known_hosts(str(known_hosts), target.host, addr, target.port)
        known = bool(listed[0] or listed[1])
    except (OSError, ValueError):
        known = False
    if not known:
        return (f"the host key of {_where(target)}{shown} is not in {known_hosts}: refused. Check that fingerprint "
                f"with the server's administrator, then add it: {_keyscan(target, known_hosts)}")
    return (f"the host key of {_where(target)}{shown} does not match the one in {known_hosts}: refused, as someone "
            f"may be in between. If the server's key really changed, check the new fingerprint with its "
            f"administrator, then replace the old line: ssh-keygen -R {shlex.quote(_where(target))} -f "
            f"{shlex.quote(str(known_hosts))}; {_keyscan(target, known_hosts)}")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
