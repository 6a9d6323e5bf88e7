"""Shared fixtures: the shipped report as a render job, a report full of hostile text, servers the tests start,
and `exporter` run as a user runs it."""

from __future__ import annotations

import copy
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import exporter.render.reportlab_speed  # noqa: F401 -- first, as in production: before any test imports reportlab.graphics

# isort: split

import pytest
from aiosmtpd.controller import Controller
from hypothesis import settings

from exporter.core.model import Report
from exporter.layout import lay_out
from exporter.render import RenderJob
from exporter.source.reader import read_yaml
from exporter.source.validate import validate

# In CI (CI set, as CI services and `.ci/run`'s documented use set it) the property tests draw the
# same examples every run, so that a run's verdict is the change's, not the draw's; elsewhere each
# run draws new ones, which is how a developer's runs find what CI then pins with @example (the
# scheduler's missed midnight after a spring change was found so, 2026-11-30).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Golden files (tests/golden) are rewritten from what the code makes now with EXPORTER_ACCEPT_GOLDEN=1.
ACCEPT_VAR = "EXPORTER_ACCEPT_GOLDEN"


def accepting_golden() -> bool:
    return os.environ.get(ACCEPT_VAR, "").strip() not in ("", "0", "false", "no")


ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
SHIPPED = DATA_DIR / "reports" / "us-intrathecal-pump-market.yaml"


class ScheduleService:
    """`exporter schedule ARGS` in a child process; whatever a test leaves running is killed after it
    (`no_schedule_service_left_behind`). *env*: the whole environment (default: this process's)."""

    running: list[ScheduleService] = []

    def __init__(self, *args: str, env: Mapping[str, str] | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "exporter", "schedule", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=dict(os.environ if env is None else env))
        ScheduleService.running.append(self)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _, stderr = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture(autouse=True)
def no_schedule_service_left_behind():
    yield
    while ScheduleService.running:
        ScheduleService.running.pop().kill()


def exporter(*args: str, cwd: Path | None = ROOT, env: Mapping[str, str] | None = None, timeout: float = 300,
             **kwargs) -> subprocess.CompletedProcess:
    """`python -m exporter ARGS` in a child process, as a user runs it; *env* adds to this process's environment."""
    return subprocess.run([sys.executable, "-m", "exporter", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, **kwargs)

# Texts a renderer must show literally; the control character \x07 must be cleaned away.
HOSTILE = {
    "amp": "AT&T",
    "markup": "<b>not bold</b>",
    "formula": '=HYPERLINK("x")',
    "control": "bell\x07char",
}


def make_job(report: Report) -> RenderJob:
    return RenderJob(lay_out(report))


def shipped_data() -> dict:
    return read_yaml(SHIPPED).data


@pytest.fixture(scope="session")
def shipped_report() -> Report:
    return validate(read_yaml(SHIPPED)).report


@pytest.fixture(scope="session")
def shipped_forecast(shipped_report):
    from exporter.core.derive import forecast

    return forecast(shipped_report.figures)


@pytest.fixture(scope="session")
def shipped_job(shipped_report) -> RenderJob:
    return make_job(shipped_report)


def hostile_data() -> dict:
    """The shipped data with hostile strings in a company name, an FAQ, a paragraph and a title."""
    data = copy.deepcopy(shipped_data())
    data["companies"]["entries"].append({"name": HOSTILE["amp"]})
    data["companies"]["entries"].append({"name": HOSTILE["formula"]})
    data["faqs"]["entries"][0]["question"] = HOSTILE["markup"]
    data["faqs"]["entries"][0]["answer"] = HOSTILE["control"]
    data["trends"]["paragraphs"].append(f"{HOSTILE['amp']} {HOSTILE['markup']} {HOSTILE['formula']}")
    data["regions"]["entries"][0]["name"] = HOSTILE["formula"]
    return data


@pytest.fixture(scope="session")
def hostile_job() -> RenderJob:
    return make_job(Report.model_validate(hostile_data()))


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 for the session (a `PostgresServer`, see tests/postgres.py)."""
    from postgres import running_server

    with running_server() as server:
        yield server


def need(tool: str) -> str:
    """Return the path of a command-line tool the test needs; fail (not skip) when it is missing."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: run `bash .ci/run` (it installs the test tools)")
    return path


def pdftotext(pdf: bytes, tmp_path: Path, *options: str) -> str:
    """The text poppler reads from *pdf*: laid out as on the page, or as *options* say (``-bbox``: each word's box)."""
    src = tmp_path / "in.pdf"
    src.write_bytes(pdf)
    out = subprocess.run([need("pdftotext"), *(options or ("-layout",)), str(src), "-"], check=True,
                         capture_output=True)
    return out.stdout.decode("utf-8")


def page_png(pdf: Path, page: int, dpi: int, out: Path) -> Path:
    """Page *page* of *pdf* as poppler draws it at *dpi*, written to *out* (a .png path)."""
    subprocess.run([need("pdftoppm"), "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(out.with_suffix(""))], check=True, capture_output=True, timeout=120)
    return out


def colour_share(pdf: Path, page: int, colour: str, tmp_path: Path) -> float:
    """The share of page *page*'s pixels in *colour* (six hex digits), rendered as a viewer would.

    Charts are drawn in colours that no text uses (the derived bars' light blue, the second
    series' orange), so a share above zero says the chart was drawn, not only labelled.
    """
    from PIL import Image

    target = tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))
    with Image.open(page_png(pdf, page, 40, tmp_path / f"page{page}.png")) as image:
        rgb = image.convert("RGB")
        counts = rgb.getcolors(maxcolors=1 << 24) or []
        total = rgb.width * rgb.height
    near = sum(n for n, pixel in counts if max(abs(a - b) for a, b in zip(pixel, target)) <= 12)
    return near / total


def flat(text: str) -> str:
    """Join wrapped lines so a phrase is found wherever the layout broke it."""
    return " ".join(text.split())


def pdf_body(pages: list[str]) -> str:
    """All text of pdftotext *pages* in reading order, without the running header and footer of pages 2 on."""
    body = [pages[0]]
    for page in pages[1:]:
        lines = [line for line in page.splitlines() if line.strip()]
        body += lines[1:-1]
    return flat(" ".join(body))


SOFFICE_TIMEOUT = 180  # seconds; a first start creates the profile, which is the slow part


def libreoffice(source: Path, target: str, outdir: Path, profile: Path) -> Path:
    """Convert *source* with LibreOffice headless to *target* (a --convert-to value) in *outdir*.

    *profile* is a LibreOffice user profile folder of the test's own: it keeps a user's settings,
    and a running LibreOffice holding the default profile's lock, out of the result. Return the
    one file written.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    command = [need("soffice"), "--headless", f"-env:UserInstallation={profile.as_uri()}",
               "--convert-to", target, "--outdir", str(outdir), str(source)]
    # soffice is a wrapper script: on a timeout the whole process group must go, or a
    # soffice.bin would linger holding the profile.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=SOFFICE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"LibreOffice took over {SOFFICE_TIMEOUT} s to convert {source.name} to {target}")
    # LibreOffice exits 0 even when it cannot load a file; it says so on a stream instead.
    assert process.returncode == 0, stderr
    errors = [line for line in (stdout + stderr).splitlines() if line.startswith("Error")]
    assert not errors, stdout + stderr
    extension = target.split(":", 1)[0]
    written = list(outdir.glob(f"{source.stem}*.{extension}"))
    assert len(written) == 1, f"LibreOffice wrote {written} for {source.name}: {stdout}{stderr}"
    return written[0]


# --- servers on loopback, shared by the delivery tests -------------------------------------------


class Recorder:
    """An SMTP handler that keeps what it accepts and follows a script of failures.

    ``script`` holds what to do with the next DATA commands, in order: "451" or "550" (reply with
    that code), "drop" (close the connection without replying); when it runs out, accept.
    ``refuse`` holds addresses answered 550 at RCPT.
    """

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.script: list[str] = []
        self.refuse: set[str] = set()
        self.attempts = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            step = self.script.pop(0) if self.script else None
        if step == "drop":
            server.transport.close()
            return "421 closing"  # never reaches the client: the connection is gone
        if step in ("451", "550"):
            return f"{step} {'4.3.0 try again later' if step == '451' else '5.7.1 rejected'}"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


TOKEN = "5f1c2e0a-secret-token"  # of the health check the tests ping: it must never reach logs or messages


class HealthChecks:
    """A stand-in healthchecks.io: records every request; ``script`` says how to answer the next ones.

    Steps: "500" (answer 500), "hang" (answer nothing until the test ends); when it runs out, 200 OK.
    """

    def __init__(self):
        self.requests: list[tuple[str, str, str]] = []  # (method, path, body)
        self.script: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        watch = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                with watch.lock:
                    watch.requests.append((self.command, self.path, body))
                    step = watch.script.pop(0) if watch.script else None
                if step == "hang":
                    watch.release.wait(60)
                    return
                self.send_response(500 if step == "500" else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/{TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def paths(self) -> list[str]:
        return [path.removeprefix(f"/ping/{TOKEN}") or "(success)" for _, path, _ in self.requests]

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hc():
    server = HealthChecks()
    yield server
    server.stop()
