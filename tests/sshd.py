"""A throwaway OpenSSH sshd on loopback, for the tests of SFTP delivery.

`running_sshd(folder)` generates a host key and a client key pair with ssh-keygen into *folder*, writes
an sshd config of its own (listening on 127.0.0.1 only, public-key login only with the client key,
no PAM, SFTP only: `ForceCommand internal-sftp`, starting in ``folder/served``, which is therefore
the login folder relative paths resolve against), and starts Debian's `/usr/sbin/sshd -D -e -f
CONFIG` on a free port. sshd's log goes to ``folder/sshd.log`` (tests count its logins there).

Run as root (CI and this machine), sshd needs its privilege separation folder `/run/sshd`, which is
created if missing, and the login user is root; run as anyone else, sshd runs as that user without
privilege separation and the login user is that user. On leaving, sshd is terminated (killed if it
lingers) whatever happened in between.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
START_TIMEOUT = 30  # seconds to wait for sshd to listen

CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers {user}
MaxStartups 50
LogLevel VERBOSE
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d {served}
"""


@dataclass
class Sshd:
    port: int
    user: str
    folder: Path  # keys, config, log
    served: Path  # the login folder: relative paths land here
    host_public: str  # the host key's public line: "ssh-ed25519 AAAA…"
    client_key: Path  # a private key the server accepts (encrypted with *passphrase* when one was given)
    passphrase: str
    process: subprocess.Popen | None = None
    host = "127.0.0.1"

    @property
    def log(self) -> str:
        return (self.folder / "sshd.log").read_text(errors="replace")

    def known_hosts_line(self, public: str | None = None) -> str:
        """A known_hosts line for this server, with its own key or *public*."""
        return f"[{self.host}]:{self.port} {public or self.host_public}\n"

    def logins(self) -> int:
        return self.log.count("Accepted publickey for ")


def keygen(path: Path, passphrase: str = "", kind: str = "ed25519") -> str:
    """Make a key pair at *path* (and *path*.pub); return the public line's type and key."""
    subprocess.run([_tool("ssh-keygen"), "-q", "-t", kind, "-N", passphrase, "-C", "", "-f", str(path)],
                   check=True, capture_output=True)
    return " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_sshd(folder: Path, *, passphrase: str = "") -> Iterator[Sshd]:
    if not os.access(SSHD, os.X_OK):
        pytest.fail(f"{SSHD} is not installed (Debian's openssh-server): run `bash .ci/run` (it installs the test tools)")
    folder.mkdir(parents=True, exist_ok=True)
    served = folder / "served"
    served.mkdir(exist_ok=True)
    root = os.geteuid() == 0
    if root:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    host_public = keygen(folder / "host_ed25519")
    client_public = keygen(folder / "client", passphrase)
    (folder / "authorized_keys").write_text(client_public + "\n")
    server = Sshd(0, "root" if root else getpass.getuser(), folder, served, host_public, folder / "client",
                  passphrase)
    try:
        for _ in range(3):  # the free port may be taken in between: try another
            server.port = free_port()
            config = folder / "sshd_config"
            config.write_text(CONFIG.format(port=server.port, host_key=folder / "host_ed25519", folder=folder,
                                            user=server.user, served=served))
            with (folder / "sshd.log").open("ab") as log:
                server.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                                  stdout=log, stderr=log, start_new_session=True)
            if _listening(server):
                break
            _stop(server.process)
        else:
            pytest.fail(f"sshd did not start:\n{server.log}")
        yield server
    finally:
        if server.process is not None:
            _stop(server.process)


def _listening(server: Sshd) -> bool:
    assert server.process is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        if f"Server listening on 127.0.0.1 port {server.port}" in server.log:
            return True
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _tool(name: str) -> str:
    for folder in ("/usr/bin", "/bin"):
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    pytest.fail(f"{name} is not installed (Debian's openssh-client): run `bash .ci/run`")
