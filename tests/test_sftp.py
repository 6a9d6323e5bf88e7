"""SFTP delivery against a real OpenSSH sshd on loopback (tests/sshd.py), with real faults."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sshd import free_port, keygen, running_sshd

from exporter.cli import cli

from conftest import DATA_DIR

REPORT_ID = "us-intrathecal-pump-market"
NAMES = sorted(f"{REPORT_ID}{ext}" for ext in (".docx", ".xlsx", ".pdf"))
PASSPHRASE = "pass-phr4se-not-for-logs"


@pytest.fixture
def server(tmp_path):
    with running_sshd(tmp_path / "sshd", passphrase=PASSPHRASE) as sshd:
        yield sshd


@pytest.fixture
def site(tmp_path, server):
    """A data folder whose one list goes only by SFTP, an output folder with one build, and the environment."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    out = tmp_path / "out"
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(server.known_hosts_line())
    env = {
        "EXPORTER_SFTP_KEY": str(server.client_key), "EXPORTER_SFTP_KEY_PASSPHRASE": PASSPHRASE,
        "EXPORTER_SFTP_KNOWN_HOSTS": str(known_hosts), "EXPORTER_SFTP_ATTEMPTS": "3",
        "EXPORTER_SFTP_BACKOFF": "0.05", "EXPORTER_SFTP_TIMEOUT": "10", "SSH_AUTH_SOCK": "",
        "EXPORTER_DATA_DIR": str(data), "EXPORTER_OUTPUT_DIR": str(out),
    }
    site = type("Site", (), {"data": data, "out": out, "env": env, "tmp": tmp_path, "known_hosts": known_hosts})
    assert run(site, "build").exit_code == 0
    sftp_list(site, server)
    return site


def sftp_list(site, server, *, path="inbox/na", port=None, extra="") -> None:
    (site.data / "recipients.yaml").write_text(
        "lists:\n  - id: sales-sftp\n    name: Sales by SFTP\n"
        f"    sftp: {{host: 127.0.0.1, port: {port or server.port}, path: '{path}', user: {server.user}}}\n{extra}")


def run(site, *args):
    return CliRunner().invoke(cli, list(args), env=site.env, catch_exceptions=False)


def history(site) -> list[dict]:
    return json.loads(run(site, "history", "--json").stdout)


def sftp_deliveries(site) -> list[dict]:
    return [d for d in history(site)[0]["deliveries"] if d["channel"] == "sftp"]


def published(site, name: str) -> bytes:
    return (site.out / REPORT_ID / name).read_bytes()


def target(server, path="inbox/na", port=None) -> str:
    shown = path if path.startswith("/") else f"/~/{path}"
    return f"sftp://{server.user}@127.0.0.1:{port or server.port}{shown}"


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_every_file_arrives_whole_under_its_name(site, server, where):
    path = "inbox/na" if where == "relative" else str(server.folder / "elsewhere" / "na")
    folder = server.served / "inbox" / "na" if where == "relative" else server.folder / "elsewhere" / "na"
    sftp_list(site, server, path=path)
    result = run(site, "deliver")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{REPORT_ID}: sales-sftp: sftp: sent ({target(server, path)})"]
    assert sorted(p.name for p in folder.iterdir()) == NAMES  # no .part file left behind
    for name in NAMES:
        assert (folder / name).read_bytes() == published(site, name)
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "sent" and delivery["attempts"] == 1
    assert delivery["target"] == target(server, path) and delivery["list_id"] == "sales-sftp"


def test_files_are_replaced_by_rename_so_a_reader_never_sees_half_a_file(site, server):
    """An old file held open keeps its whole old content; the name then points to a new, whole file."""
    folder = server.served / "inbox" / "na"
    folder.mkdir(parents=True)
    pdf = f"{REPORT_ID}.pdf"
    (folder / pdf).write_bytes(b"last week's report " * 1000)
    (folder / f".{pdf}.part").write_bytes(b"left by a run that crashed mid-upload")
    old_inode = (folder / pdf).stat().st_ino
    with (folder / pdf).open("rb") as reader:
        result = run(site, "deliver")
        assert result.exit_code == 0, result.output
        assert reader.read() == b"last week's report " * 1000  # rewriting in place would have changed this
    assert (folder / pdf).stat().st_ino != old_inode
    assert (folder / pdf).read_bytes() == published(site, pdf)
    assert sorted(p.name for p in folder.iterdir()) == NAMES


def test_delivering_again_sends_nothing_and_a_change_sends_once_more(site, server):
    assert run(site, "deliver").exit_code == 0
    logins = server.logins()
    again = run(site, "deliver")
    assert again.exit_code == 0
    assert again.stdout.splitlines() == [f"{REPORT_ID}: sales-sftp: sftp: already delivered ({target(server)})"]
    assert server.logins() == logins  # not even a connection
    source = site.data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace("- name: Flowonix", "- name: Flowonix Medical"))
    rebuilt = run(site, "build", "--deliver")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{REPORT_ID}: sales-sftp: sftp: sent ({target(server)})" in rebuilt.stdout
    assert server.logins() == logins + 1
    folder = server.served / "inbox" / "na"
    for name in NAMES:
        assert (folder / name).read_bytes() == published(site, name)
    assert "already delivered" in run(site, "deliver").stdout
    assert server.logins() == logins + 1


def test_an_unknown_host_key_is_refused_with_what_to_do(site, server):
    site.known_hosts.write_text("")
    result = run(site, "deliver")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {REPORT_ID}: sales-sftp: sftp: the host key of [127.0.0.1]:{server.port} "
                           "(it offers ssh-ed25519 key SHA256:")
    assert f"is not in {site.known_hosts}: refused." in line
    assert line.endswith(f"then add it: ssh-keyscan -p {server.port} 127.0.0.1 > host.key; ssh-keygen -lf host.key "
                         f"(its fingerprint must be the one the administrator gave); cat host.key >> {site.known_hosts}")
    assert fingerprint(server) in line
    assert server.logins() == 0 and not (server.served / "inbox").exists()
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1  # permanent: not retried


def test_a_missing_known_hosts_file_is_refused(site, server):
    site.known_hosts.unlink()
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert (f"the known_hosts file {site.known_hosts} does not exist (EXPORTER_SFTP_KNOWN_HOSTS): refusing to trust "
            f"[127.0.0.1]:{server.port} blindly.") in result.stderr
    assert server.logins() == 0


def test_a_changed_host_key_is_refused_and_only_sftp_is_retried_once_fixed(site, server):
    sftp_list(site, server, extra=f"    drop_folder: {site.tmp / 'share'}\n")
    other = keygen(site.tmp / "impostor")
    site.known_hosts.write_text(server.known_hosts_line(other))
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert (f"sftp: the host key of [127.0.0.1]:{server.port} (it offers ssh-ed25519 key {fingerprint(server)}) "
            f"does not match the one in {site.known_hosts}: refused, as someone may be in between.") in result.stderr
    assert f"ssh-keygen -R '[127.0.0.1]:{server.port}' -f {site.known_hosts}" in result.stderr  # quoted for a shell
    assert f"{REPORT_ID}: sales-sftp: drop: sent" in result.stdout
    assert server.logins() == 0
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    site.known_hosts.write_text(server.known_hosts_line())
    second = run(site, "deliver")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == [f"{REPORT_ID}: sales-sftp: drop: already delivered ({site.tmp / 'share'})",
                                          f"{REPORT_ID}: sales-sftp: sftp: sent ({target(server)})"]


def test_a_key_the_server_does_not_accept_fails_at_once(site, server):
    keygen(site.tmp / "stranger")
    site.env["EXPORTER_SFTP_KEY"] = str(site.tmp / "stranger")
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {REPORT_ID}: sales-sftp: sftp: {server.user}@[127.0.0.1]:{server.port} refused "
                             f"the login with the key in EXPORTER_SFTP_KEY ({site.tmp / 'stranger'}): is its public "
                             "key in that account's authorized_keys?\n")
    assert "Failed publickey for" in server.log
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1


def test_a_refused_port_is_retried_then_recorded_failed(site, server):
    port = free_port()  # nothing listens there
    sftp_list(site, server, port=port)
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {REPORT_ID}: sales-sftp: sftp: gave up after 3 attempts: cannot reach "
                             f"[127.0.0.1]:{port}: Connection refused\n")
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    assert delivery["target"] == target(server, port=port)
    sftp_list(site, server)  # the server is back where it belongs: the next deliver sends
    assert run(site, "deliver").exit_code == 0
    assert sorted(p.name for p in (server.served / "inbox" / "na").iterdir()) == NAMES


def test_a_server_that_never_answers_times_out_and_is_retried(site, server):
    with socket.socket() as silent:  # accepts connections (the backlog) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        sftp_list(site, server, port=silent.getsockname()[1])
        site.env.update(EXPORTER_SFTP_TIMEOUT="0.5", EXPORTER_SFTP_ATTEMPTS="2")
        result = run(site, "deliver")
    assert result.exit_code == 1
    assert "gave up after 2 attempts: cannot reach" in result.stderr and "timed out (EXPORTER_SFTP_TIMEOUT)" in result.stderr
    assert sftp_deliveries(site)[0]["attempts"] == 2


def test_dry_run_shows_the_route_and_sends_nothing(site, server):
    result = run(site, "deliver", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"{REPORT_ID}: sales-sftp: sftp: would send ({target(server)})"]
    assert server.logins() == 0 and not (server.served / "inbox").exists()


def test_history_lists_the_sftp_outcome(site, server):
    assert run(site, "deliver").exit_code == 0
    assert f"    {REPORT_ID} -> sales-sftp by sftp: sent" in run(site, "history").stdout.splitlines()
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "sent" and delivery["target"] == target(server)


def test_an_agent_can_hold_the_key(site, server):
    agent_socket = site.tmp / "agent.sock"
    agent = subprocess.Popen([shutil.which("ssh-agent") or "/usr/bin/ssh-agent", "-D", "-a", str(agent_socket)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30  # the agent makes its socket after it starts
        while not agent_socket.exists() and agent.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        added = subprocess.run(["ssh-add", str(server.client_key)], env={**os.environ, "SSH_AUTH_SOCK": str(agent_socket),
                               "SSH_ASKPASS": str(askpass(site.tmp)), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"},
                               capture_output=True, stdin=subprocess.DEVNULL)
        assert added.returncode == 0, added.stderr
        del site.env["EXPORTER_SFTP_KEY"], site.env["EXPORTER_SFTP_KEY_PASSPHRASE"]
        site.env["SSH_AUTH_SOCK"] = str(agent_socket)
        result = run(site, "deliver")
        assert result.exit_code == 0, result.output
        for name in NAMES:
            assert (server.served / "inbox" / "na" / name).read_bytes() == published(site, name)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(agent.pid, signal.SIGTERM)
        agent.wait()


def test_without_a_key_or_an_agent_the_channel_says_what_to_set(site, server):
    del site.env["EXPORTER_SFTP_KEY"]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert ("sftp: SFTP is not configured: set EXPORTER_SFTP_KEY to a private key file (or run an ssh-agent and set "
            "SSH_AUTH_SOCK)") in result.stderr


@pytest.mark.parametrize("passphrase", [PASSPHRASE, "a-wrong-passphrase-123", ""])
def test_no_secret_reaches_output_history_or_files(site, server, passphrase):
    site.env["EXPORTER_SFTP_KEY_PASSPHRASE"] = passphrase
    result = run(site, "-v", "deliver")
    assert result.exit_code == (0 if passphrase == PASSPHRASE else 1), result.output
    if passphrase == "a-wrong-passphrase-123":
        assert "Incorrect passphrase; check EXPORTER_SFTP_KEY_PASSPHRASE" in result.stderr
    if passphrase == "":
        assert "is not a usable private key; if it is encrypted, set EXPORTER_SFTP_KEY_PASSPHRASE" in result.stderr
    key_text = server.client_key.read_text()
    secrets = [PASSPHRASE, "a-wrong-passphrase-123"] + [line for line in key_text.splitlines() if "PRIVATE KEY" not in line]
    recorded = json.dumps(history(site)) + run(site, "history", "-v").output
    files = [p.read_bytes() for root in (site.out, server.served) for p in root.rglob("*") if p.is_file()]
    for secret in secrets:
        assert secret not in result.output and secret not in recorded
        assert not any(secret.encode() in data for data in files)


def test_a_list_may_go_by_sftp_alone_and_bad_targets_are_located(site, server):
    assert run(site, "validate").exit_code == 0
    (site.data / "recipients.yaml").write_text(
        "lists:\n  - id: bad\n    name: Bad\n"
        "    sftp: {host: '-oProxyCommand=sh', port: 0, path: '../etc', user: 'a b'}\n"
        "  - id: worse\n    name: Worse\n    sftp: {host: example.com, path: \"in\\nbox\", user: x, key: secret}\n")
    result = run(site, "validate")
    assert result.exit_code == 2
    path = site.data / "recipients.yaml"
    errors = result.stderr.splitlines()
    assert f"Error: {path}:4: lists[0].sftp.host: '-oProxyCommand=sh' is not a host name or IP address" in errors
    assert any(e.startswith(f"Error: {path}:4: lists[0].sftp.port: ") for e in errors)
    assert f"Error: {path}:4: lists[0].sftp.path: may not contain '..'" in errors
    assert any(e.startswith(f"Error: {path}:4: lists[0].sftp.user: 'a b' is not a user name") for e in errors)
    assert f"Error: {path}:7: lists[1].sftp.path: must be a folder path on one line" in errors
    assert any(e.startswith(f"Error: {path}:7: lists[1].sftp.key: ") for e in errors)
    assert run(site, "deliver").exit_code == 2


def fingerprint(server) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(server.folder / "host_ed25519.pub")],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def askpass(folder: Path) -> Path:
    """A program ssh-add runs for the passphrase (it never reads one from its arguments)."""
    script = folder / "askpass"
    script.write_text(f"#!/bin/sh\necho '{PASSPHRASE}'\n")
    script.chmod(0o700)
    return script


def test_a_hashed_known_hosts_entry_is_trusted(site, server):
    subprocess.run(["ssh-keygen", "-H", "-f", str(site.known_hosts)], check=True, capture_output=True)
    assert site.known_hosts.read_text().startswith("|1|")
    result = run(site, "deliver")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (server.served / "inbox" / "na").iterdir()) == NAMES


def test_a_refused_file_operation_fails_at_once(site, server):
    (server.served / "inbox").write_text("a file where the folder should be")
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {REPORT_ID}: sales-sftp: sftp: [127.0.0.1]:{server.port} refused to "
                                    "create the folder inbox/na: ")
    (delivery,) = sftp_deliveries(site)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
