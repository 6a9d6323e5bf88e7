"""The mail a salesperson reads: HTML with a plain-text alternative, key figures, what changed since the
edition the list last received, the first chart inline, a link, and Bcc mode.

Sent through a real SMTP server on loopback (aiosmtpd), parsed back with the standard library's email
parser, and the HTML rendered by headless Chromium at phone width.
"""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import io
import shutil
import struct
import subprocess
import sys

import pytest
from click.testing import CliRunner

from exporter.cli import cli

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
REPORT = "sales-pipeline"
TITLE = "Weekly sales pipeline — EMEA"


@pytest.fixture
def site(tmp_path, smtp):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    (data / "recipients.yaml").write_text(
        "lists:\n"
        "  - id: emea\n    name: Sales EMEA\n    email: [emea@example.com, lead@example.com]\n"
        "    reports: [sales-pipeline]\n    formats: [pdf, xlsx]\n"
        "  - id: partners\n    name: Partners\n    email: [a@partner.example, b@other.example]\n    bcc: true\n"
        "    reports: [sales-pipeline]\n    formats: [pdf]\n", encoding="utf-8")
    env = {"EXPORTER_SMTP_HOST": "127.0.0.1", "EXPORTER_SMTP_PORT": str(smtp.port), "EXPORTER_SMTP_TLS": "none",
           "EXPORTER_SMTP_FROM": "reports@example.com", "EXPORTER_DATA_DIR": str(data),
           "EXPORTER_OUTPUT_DIR": str(tmp_path / "out"), "EXPORTER_PUBLIC_URL": "https://reports.example.com/sales/"}
    return type("Site", (), {"data": data, "env": env, "tmp": tmp_path})


def run(site, *args: str):
    result = CliRunner().invoke(cli, list(args), env=site.env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def parts(message: email.message.EmailMessage) -> dict[str, object]:
    """The message's structure as a reader's mail client walks it."""
    alternative = next(p for p in message.iter_parts() if p.get_content_type() == "multipart/alternative")
    plain, related = list(alternative.iter_parts())
    html, image = list(related.iter_parts())
    attachments = {p.get_filename(): p for p in message.iter_attachments()}
    return {"plain": plain, "related": related, "html": html, "image": image, "attachments": attachments}


def mails(smtp) -> dict[str, email.message.EmailMessage]:
    return {rcpts[0]: message for rcpts, message in smtp.messages}


def test_the_mail_is_html_with_a_plain_alternative_figures_chart_and_link(site, smtp):
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    run(site, "deliver")
    message = mails(smtp)["emea@example.com"]
    assert message.get_content_type() == "multipart/mixed"
    p = parts(message)
    assert p["plain"].get_content_type() == "text/plain" and p["html"].get_content_type() == "text/html"
    assert p["related"].get_content_type() == "multipart/related"
    # The picture is the one the HTML shows, by its Content-ID.
    cid = p["image"]["Content-ID"].strip().strip("<>")
    html = p["html"].get_content()
    assert f'src="cid:{cid}"' in html and p["image"].get_content_type() == "image/png"
    png = p["image"].get_content()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24])[0] >= 1000
    assert sorted(p["attachments"]) == [f"{REPORT}.pdf", f"{REPORT}.xlsx"]
    text = p["plain"].get_content()
    for needle in (TITLE, "As of 2026-11-27 · Sales Operations", "Key figures", "Open pipeline: EUR 3,036,000",
                   "Deals: 24", "This is the first edition sent to this list.", "(Chart: Amount by stage)",
                   f"  - {REPORT}.pdf (", "Open the shared folder: https://reports.example.com/sales/sales-pipeline/"):
        assert needle in text, needle
    # The HTML says the same, its CSS inlined, and the link is the set's folder.
    for needle in (TITLE, "EUR 3,036,000", "Open pipeline", "This is the first edition sent to this list.",
                   'href="https://reports.example.com/sales/sales-pipeline/"'):
        assert needle in html, needle
    assert 'style="' in html and "max-width: 600px" in html


def test_what_changed_since_the_edition_the_list_last_received(site, smtp):
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    run(site, "deliver", "--list", "emea")
    deals = site.data / "reports" / f"{REPORT}.deals.csv"
    with deals.open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source))
    rows[1][4] = str(int(rows[1][4]) + 1000)  # one deal grows by EUR 1,000
    rows.append(["Fabrikam Retail (synthetic)", "A. Keller", "DACH", "Proposal", "5000", "0.3", "2027-06-30"])
    with deals.open("w", encoding="utf-8", newline="") as target:
        csv.writer(target, lineterminator="\n").writerows(rows)
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    run(site, "deliver", "--list", "emea")
    second = [m for rcpts, m in smtp.messages if rcpts[0] == "emea@example.com"][1]
    text = parts(second)["plain"].get_content()
    assert "What changed since the edition you last received (as of 2026-11-27)" in text
    assert "  Open pipeline: EUR 3,036,000 → EUR 3,042,000 (+EUR 6,000)" in text
    assert "  Deals: 24 → 25 (+1)" in text
    assert "  Open deals: 1 rows added (25 rows)" in text
    assert "first edition" not in text
    html = parts(second)["html"].get_content()
    assert "EUR 3,036,000 → EUR 3,042,000 (+EUR 6,000)" in html
    # Delivering again sends nothing; the comparison is with what this list received, not the last build.
    assert "already delivered" in run(site, "deliver", "--list", "emea").stdout


def test_bcc_lists_do_not_see_each_other(site, smtp):
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    run(site, "deliver", "--list", "partners")
    ((rcpts, message),) = smtp.messages
    assert sorted(rcpts) == ["a@partner.example", "b@other.example"]  # both in the envelope
    assert message["To"] == "undisclosed-recipients:;"
    # What a recipient can read: every header of the message and its parts, and the text of its bodies (an
    # attachment's base64 may hold any three letters by chance).
    seen = "\n".join([*(f"{name}: {value}" for part in message.walk() for name, value in part.items()),
                       *(part.get_content() for part in message.walk() if part.get_content_maintype() == "text")])
    assert "partner.example" not in seen and "other.example" not in seen and "Bcc" not in seen
    assert "undisclosed-recipients" in seen  # the headers are in what was searched
    listing = run(site, "deliver", "--list", "partners", "--dry-run").stdout
    assert "(Bcc)" in listing


def test_every_data_string_is_escaped(site, smtp):
    report = site.data / "reports" / f"{REPORT}.yaml"
    text = report.read_text(encoding="utf-8").replace(f"title: {TITLE}", 'title: "Pipeline <b>bold</b> & <img src=x>"')
    text = text.replace("{label: Open pipeline,", "{label: \"<script>alert('x')</script>\",")
    report.write_text(text, encoding="utf-8")
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    run(site, "deliver", "--list", "emea")
    html = parts(mails(smtp)["emea@example.com"])["html"].get_content()
    assert "<script>" not in html and "<b>bold</b>" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;" in html and "Pipeline &lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x&gt;" in html


def test_a_german_edition_is_a_german_mail(site, smtp):
    report = site.data / "reports" / f"{REPORT}.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("    language: de-DE", "    lists: [emea]\n"
                                                                   "    language: de-DE"), encoding="utf-8")
    run(site, "build", "-f", "pdf", "-f", "xlsx")
    run(site, "deliver", "--list", "emea")
    german = next(m for _, m in smtp.messages if "DACH" in m["Subject"])
    text = parts(german)["plain"].get_content()
    assert "Stand: 27. November 2026 · Sales Operations" in text and "Kennzahlen" in text
    assert "Dies ist die erste Ausgabe für diesen Verteiler." in text and "Im Anhang:" in text


@pytest.mark.slow
def test_chromium_renders_the_mail_on_a_phone(site, smtp, tmp_path):
    from PIL import Image

    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    run(site, "deliver", "--list", "emea")
    p = parts(mails(smtp)["emea@example.com"])
    html = p["html"].get_content()
    cid = p["image"]["Content-ID"].strip().strip("<>")
    page = tmp_path / "mail.html"  # as a mail client shows it: the cid: picture from the message itself
    page.write_text(html.replace(f"cid:{cid}", "data:image/png;base64," +
                                 base64.b64encode(p["image"].get_content()).decode()), encoding="utf-8")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run bash .ci/run")
    shot = tmp_path / "mail.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=390,1400",
                    "--hide-scrollbars", page.as_uri()], capture_output=True, check=True, timeout=120)
    with Image.open(io.BytesIO(shot.read_bytes())) as image:
        rgb = image.convert("RGB")
        assert image.size == (390, 1400)
        assert rgb.getpixel((195, 2)) == (0x7A, 0x1F, 0x3D)  # the band in the theme's accent (acme)
        assert len(rgb.getcolors(maxcolors=1 << 20)) > 200  # text and the chart were drawn


def test_chart_text_with_dollar_signs_is_text_not_a_formula(site, smtp):
    """matplotlib reads $…$ as mathtext: a category or title from the data must not be parsed (nor drop the chart)."""
    report = site.data / "reports" / f"{REPORT}.yaml"
    text = report.read_text(encoding="utf-8").replace("title: Amount by stage", r"title: 'Cost $\frac{$ and $5M to $10M'")
    report.write_text(text, encoding="utf-8")
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    result = run(site, "deliver", "--list", "emea")
    assert "chart could not be drawn" not in result.output
    p = parts(mails(smtp)["emea@example.com"])
    assert p["image"].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert r"(Chart: Cost $\frac{$ and $5M to $10M)" in p["plain"].get_content()


def test_a_bad_public_url_fails_the_mail_alone(site, smtp, tmp_path):
    recipients = site.data / "recipients.yaml"
    recipients.write_text(recipients.read_text(encoding="utf-8").replace(
        "    formats: [pdf, xlsx]\n", f"    formats: [pdf, xlsx]\n    drop_folder: {tmp_path / 'share'}\n", 1),
        encoding="utf-8")
    run(site, "build", "-f", "pdf", "-f", "xlsx", REPORT)
    result = CliRunner().invoke(cli, ["deliver", "--list", "emea"], catch_exceptions=False,
                                env={**site.env, "EXPORTER_PUBLIC_URL": "ftp://files.example.com/"})
    assert result.exit_code == 1
    assert "EXPORTER_PUBLIC_URL must be an http(s) address" in result.stderr
    assert f"{REPORT}: emea: drop: sent" in result.stdout  # the other channel went out
    assert (tmp_path / "share" / f"{REPORT}.pdf").is_file() and smtp.messages == []
    again = run(site, "deliver", "--list", "emea")  # fixed: only the mail is sent now
    assert f"{REPORT}: emea: email: sent" in again.stdout and f"{REPORT}: emea: drop: already delivered" in again.stdout


def test_a_chart_with_nothing_to_draw_costs_no_matplotlib():
    """A summary chart without categories or series: the mail goes without a picture, and the
    process never imports matplotlib (about 0.3 s and 30 MiB) for it."""
    script = (
        "import sys\n"
        "from exporter.core.messages import Words\n"
        "from exporter.delivery.mailbody import compose\n"
        "body = compose(title='T', edition='E', as_of='2026-11-30', publisher='P', headline='H',\n"
        "               summary={'chart': {'title': 'Empty', 'categories': [], 'series': []}}, previous=None,\n"
        "               previous_as_of='', attachments=[], links=None, words=Words(), accent='1F4E79')\n"
        "print(body.chart_png is None, 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "False"], done.stderr
