"""Delivery against a real SMTP server on loopback (aiosmtpd), with injected failures."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from exporter.cli import cli

from conftest import DATA_DIR, ROOT, need

REPORT_ID = "us-intrathecal-pump-market"
MIME = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
}


@pytest.fixture
def site(tmp_path, smtp):
    """A data folder, an output folder with one build, and the environment pointing at the server."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    out = tmp_path / "out"
    env = {
        "EXPORTER_SMTP_HOST": "127.0.0.1", "EXPORTER_SMTP_PORT": str(smtp.port), "EXPORTER_SMTP_TLS": "none",
        "EXPORTER_SMTP_FROM": "reports@example.com", "EXPORTER_SMTP_BACKOFF": "0.05",
        "EXPORTER_SMTP_ATTEMPTS": "4", "EXPORTER_SMTP_TIMEOUT": "10",
        "EXPORTER_DATA_DIR": str(data), "EXPORTER_OUTPUT_DIR": str(out),
    }
    site = type("Site", (), {"data": data, "out": out, "env": env, "tmp": tmp_path})
    assert run(site, "build").exit_code == 0
    return site


def run(site, *args):
    return CliRunner().invoke(cli, list(args), env=site.env, catch_exceptions=False)


def two_lists(site, *, second_email="emea@example.com") -> None:
    (site.data / "recipients.yaml").write_text(
        "lists:\n"
        "  - id: sales-na\n    name: Sales North America\n    email: [na@example.com, na-lead@example.com]\n"
        f"    drop_folder: {site.tmp / 'share' / 'na'}\n"
        "  - id: sales-emea\n    name: Sales EMEA\n"
        f"    email: [{second_email}]\n    formats: [pdf]\n"
    )


def history(site) -> list[dict]:
    return json.loads(run(site, "history", "--json").stdout)


def test_each_list_gets_one_message_with_the_deliverables_attached(site, smtp, tmp_path):
    result = run(site, "deliver")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{REPORT_ID}: sales-na: email: sent (sales-na@example.com, key-accounts-na@example.com)",
        f"{REPORT_ID}: sales-na: drop: sent ({site.out / 'drop' / 'sales-na'})",
    ]
    ((rcpts, message),) = smtp.messages
    assert sorted(rcpts) == ["key-accounts-na@example.com", "sales-na@example.com"]
    assert message["Subject"] == "United States Intrathecal Pump Market (as of 2026-11-23)"
    assert message["From"] == "reports@example.com"
    assert message["Message-ID"].endswith("@exporter.invalid>")
    body = message.get_body(("plain",)).get_content()
    assert "valued at USD 3.5 billion in 2022" in body and "USD 5.8 billion by 2030" in body and "6.5%" in body
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert sorted(attachments) == sorted(f"{REPORT_ID}{ext}" for ext in MIME)
    folder = site.out / REPORT_ID
    for name, part in attachments.items():
        payload = part.get_content()
        assert part.get_content_type() == MIME[Path(name).suffix]
        assert payload == (folder / name).read_bytes()
    assert docx.Document(io.BytesIO(attachments[f"{REPORT_ID}.docx"].get_content())).core_properties.title
    assert openpyxl.load_workbook(io.BytesIO(attachments[f"{REPORT_ID}.xlsx"].get_content())).sheetnames[0] == "Summary"
    pdf = tmp_path / "mailed.pdf"
    pdf.write_bytes(attachments[f"{REPORT_ID}.pdf"].get_content())
    subprocess.run([need("qpdf"), "--check", str(pdf)], check=True, capture_output=True)
    for name in attachments:
        assert (site.out / "drop" / "sales-na" / name).read_bytes() == (folder / name).read_bytes()


def test_delivering_again_sends_nothing_and_a_change_sends_once_more(site, smtp):
    assert run(site, "deliver").exit_code == 0
    again = run(site, "deliver")
    assert again.exit_code == 0
    assert again.stdout.count("already delivered") == 2
    assert len(smtp.messages) == 1
    source = site.data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace("- name: Flowonix", "- name: Flowonix Medical"))
    rebuilt = run(site, "build", "--deliver")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{REPORT_ID}: sales-na: email: sent" in rebuilt.stdout
    assert len(smtp.messages) == 2
    assert run(site, "build", "--deliver").stdout.count("already delivered") == 2
    assert len(smtp.messages) == 2
    runs = history(site)
    assert [d["status"] for d in runs[1]["deliveries"]] == ["sent", "sent"]  # the build --deliver that sent


@pytest.mark.parametrize("script", [["451", "451"], ["drop"], ["451", "drop", "451"]])
def test_temporary_failures_are_retried_and_arrive_exactly_once(site, smtp, script):
    smtp.script = list(script)
    result = run(site, "deliver", "--list", "sales-na")
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 1
    assert smtp.attempts == len(script) + 1
    (email_delivery,) = [d for d in history(site)[0]["deliveries"] if d["channel"] == "email"]
    assert email_delivery["status"] == "sent" and email_delivery["attempts"] == len(script) + 1


def test_retries_are_bounded(site, smtp):
    smtp.script = ["451"] * 10
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert smtp.attempts == 4
    assert "gave up after 4 attempts: 451 4.3.0 try again later" in result.stderr
    assert smtp.messages == []


def test_a_permanent_failure_is_recorded_and_only_it_is_retried_later(site, smtp):
    two_lists(site)
    smtp.refuse = {"emea@example.com"}
    first = run(site, "deliver")
    assert first.exit_code == 1
    assert first.stderr == ("Error: us-intrathecal-pump-market: sales-emea: email: recipients refused: "
                            "emea@example.com: 550 5.1.1 mailbox unavailable\n")
    assert len(smtp.messages) == 1 and smtp.messages[0][0] == ["na@example.com", "na-lead@example.com"]
    (run_record,) = history(site)[:1]
    assert run_record["status"] == "failed"
    statuses = {(d["list_id"], d["channel"]): d["status"] for d in run_record["deliveries"]}
    assert statuses == {("sales-na", "email"): "sent", ("sales-na", "drop"): "sent", ("sales-emea", "email"): "failed"}
    smtp.refuse = set()
    second = run(site, "deliver")
    assert second.exit_code == 0, second.output
    assert f"{REPORT_ID}: sales-emea: email: sent (emea@example.com)" in second.stdout
    assert second.stdout.count("already delivered") == 2
    assert len(smtp.messages) == 2
    ((rcpts, message),) = smtp.messages[1:]
    assert rcpts == ["emea@example.com"]
    assert [p.get_filename() for p in message.iter_attachments()] == [f"{REPORT_ID}.pdf"]


def test_a_5xx_reply_to_data_fails_at_once(site, smtp):
    smtp.script = ["550"]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert smtp.attempts == 1
    assert "550 5.7.1 rejected" in result.stderr


def test_a_title_with_cr_lf_cannot_add_a_header(site, smtp):
    source = site.data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace(
        "title: United States Intrathecal Pump Market\n",
        'title: "Pump Market\\r\\nBcc: victim@example.com\\r\\nX-Injected: yes"\n', 1))
    assert run(site, "build").exit_code == 0
    assert run(site, "deliver").exit_code == 0
    ((rcpts, message),) = smtp.messages
    assert sorted(rcpts) == ["key-accounts-na@example.com", "sales-na@example.com"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    # One header, however long: the generator may fold it, which adds no line of its own.
    assert message["Subject"].strip() == "Pump Market Bcc: victim@example.com X-Injected: yes (as of 2026-11-23)"


def test_attachments_over_the_limit_fail_clearly(site, smtp):
    site.env["EXPORTER_SMTP_MAX_BYTES"] = "1000"
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert "over the limit of 1000 (EXPORTER_SMTP_MAX_BYTES)" in result.stderr
    assert smtp.attempts == 0


def test_dry_run_sends_and_records_nothing(site, smtp):
    result = run(site, "deliver", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.count("would send") == 2
    assert smtp.attempts == 0
    assert not (site.out / "drop").exists()
    assert run(site, "deliver").stdout.count(": sent (") == 2


def test_missing_smtp_settings_fail_the_email_but_not_the_drop(site, smtp):
    del site.env["EXPORTER_SMTP_HOST"]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert "email is not configured: set EXPORTER_SMTP_HOST" in result.stderr
    assert f"{REPORT_ID}: sales-na: drop: sent" in result.stdout


def test_the_password_never_reaches_output_or_history(site, smtp):
    site.env["EXPORTER_SMTP_USER"] = "robot"
    site.env["EXPORTER_SMTP_PASSWORD"] = "s3cret-pa55"
    result = run(site, "-v", "deliver")  # the test server offers no AUTH: login fails
    assert result.exit_code == 1
    assert "s3cret-pa55" not in result.output
    assert "s3cret-pa55" not in json.dumps(history(site))
    assert not any(b"s3cret-pa55" in p.read_bytes() for p in site.out.rglob("*") if p.is_file())


def test_broken_recipients_exit_2_with_file_line(site):
    (site.data / "recipients.yaml").write_text(
        "lists:\n  - id: Bad List\n    name: x\n    email: [not-an-address, 'a@b.c\\r\\nBcc: x@y.z']\n"
        "    reports: [nope]\n  - id: empty\n    name: nothing\n")
    result = run(site, "validate")
    assert result.exit_code == 2
    path = site.data / "recipients.yaml"
    lines = result.stderr.splitlines()
    assert lines[0] == (f"Error: {path}:2: lists[0].id: 'Bad List' is not an id: up to 64 lower-case letters, "
                        "digits and '-', starting with a letter or digit")
    assert lines[1] == f"Error: {path}:4: lists[0].email[0]: 'not-an-address' is not a plain email address (name@example.com)"
    assert lines[2].startswith(f"Error: {path}:4: lists[0].email[1]: ")
    assert lines[3] == f"Error: {path}:6: lists[1]: give at least one channel: email addresses, a drop_folder, sftp or a webhook"
    assert run(site, "deliver").exit_code == 2


def test_unknown_list_is_a_usage_error(site):
    result = run(site, "deliver", "--list", "nope")
    assert result.exit_code == 2
    assert result.stderr == "Error: unknown list 'nope' (known: sales-na)\n"


def test_a_german_edition_is_mailed_in_german(tmp_path, smtp):
    """The mail's fixed words and as-of date follow the edition's language; an English one stays English."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "examples" / "sales-pipeline" / "data", data)
    report = data / "reports" / "sales-pipeline.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("    language: de-DE", "    lists: [dach]\n"
                                                                   "    language: de-DE"), encoding="utf-8")
    (data / "recipients.yaml").write_text(
        "lists:\n  - id: dach\n    name: DACH\n    email: [dach@example.com]\n    formats: [pdf]\n"
        "  - id: emea\n    name: EMEA\n    email: [emea@example.com]\n    formats: [pdf]\n    reports: [sales-pipeline]\n")
    site = type("Site", (), {"env": {
        "EXPORTER_SMTP_HOST": "127.0.0.1", "EXPORTER_SMTP_PORT": str(smtp.port), "EXPORTER_SMTP_TLS": "none",
        "EXPORTER_SMTP_FROM": "reports@example.com", "EXPORTER_DATA_DIR": str(data),
        "EXPORTER_OUTPUT_DIR": str(tmp_path / "out")}})
    assert run(site, "build", "-f", "pdf").exit_code == 0
    result = run(site, "deliver")
    assert result.exit_code == 0, result.output
    mails = {rcpts[0]: message for rcpts, message in smtp.messages}
    german, english = mails["dach@example.com"], mails["emea@example.com"]
    assert german["Subject"] == "Weekly sales pipeline — EMEA (DACH-Ausgabe) (Stand: 27. November 2026)"
    body = german.get_body(("plain",)).get_content()
    assert "Stand: 27. November 2026 · Sales Operations" in body and "Im Anhang:" in body
    assert "Attached" not in body and "Derived" not in body
    assert english["Subject"] == "Weekly sales pipeline — EMEA (as of 2026-11-27)"
    assert "Attached:" in english.get_body(("plain",)).get_content()
