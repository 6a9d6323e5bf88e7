"""Webhook delivery against a real HTTP server on loopback, with scripted replies and faults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from exporter.cli import cli
from exporter.core.ids import SetId
from exporter.delivery import webhook
from exporter.delivery.channel import Parcel, PermanentDeliveryError, TemporaryDeliveryError
from exporter.publish.manifest import PublishedSet, VariantInfo

from conftest import DATA_DIR, free_port

REPORT_ID = "us-intrathecal-pump-market"
TEAMS_PATH = "/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?sig=TEAMS-TOKEN-9f8e7d"
SLACK_PATH = "/services/T000SLACK/B000SLACK/SLACK-TOKEN-XXXXXXXX"
JSON_PATH = "/hooks/exporter/JSON-TOKEN-abcdef"
SECRET = "hmac-secret-5up3r"
PUBLIC = "https://reports.example.com/sales/"
TITLE = "United States Intrathecal Pump Market"
HOSTILE = ('<!channel> *Pump* & <https://evil.example|click> [x](https://evil.example) '
           '{{DATE(2017-02-14T06:00:00Z, SHORT)}} "quoted"')


class Hook:
    """An HTTP server that records every POST and answers from a script.

    ``script`` holds the replies to the next requests, in order: a status code, a (status, headers)
    pair, or "hang" (read the request, never answer); when it runs out, answer 200 "ok".
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    step = hook.script.pop(0) if hook.script else 200
                if step == "hang":
                    hook.release.wait(30)
                    return
                status, headers = step if isinstance(step, tuple) else (step, {})
                reply = b"ok" if status < 300 else f"Cannot POST {self.path}".encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def posted(self, path: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if r["path"] == path]


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


def write_lists(site, *lists: str) -> None:
    (site.data / "recipients.yaml").write_text("lists:\n" + "".join(lists))


def teams_list(url: str = "${TEAMS_URL}") -> str:
    return f"  - id: sales-teams\n    name: Sales on Teams\n    webhook: {{url: \"{url}\", style: teams}}\n"


def slack_list(url: str = "${SLACK_URL}") -> str:
    return f"  - id: sales-slack\n    name: Sales on Slack\n    webhook: {{url: \"{url}\", style: slack}}\n"


def json_list(url: str, extra: str = "") -> str:
    return f"  - id: crm\n    name: CRM\n    formats: [pdf, xlsx]\n    webhook: {{url: \"{url}\", style: json{extra}}}\n"


@pytest.fixture
def site(tmp_path, hook):
    """A data folder whose lists only have webhooks, one build, and the environment pointing at the server."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    out = tmp_path / "out"
    env = {
        "EXPORTER_DATA_DIR": str(data), "EXPORTER_OUTPUT_DIR": str(out),
        "EXPORTER_WEBHOOK_BACKOFF": "0.01", "EXPORTER_WEBHOOK_ATTEMPTS": "3", "EXPORTER_WEBHOOK_TIMEOUT": "5",
        "TEAMS_URL": hook.base + TEAMS_PATH, "SLACK_URL": hook.base + SLACK_PATH,
        "EXPORTER_WEBHOOK_SECRET": SECRET, "EXPORTER_PUBLIC_URL": PUBLIC,
    }
    site = type("Site", (), {"data": data, "out": out, "env": env, "tmp": tmp_path})
    write_lists(site, teams_list(), slack_list(), json_list(hook.base + JSON_PATH))
    assert run(site, "build").exit_code == 0
    return site


def run(site, *args):
    return CliRunner().invoke(cli, list(args), env=site.env, catch_exceptions=False)


def history(site) -> list[dict]:
    return json.loads(run(site, "history", "--json").stdout)


def webhook_deliveries(site, run_index: int = 0) -> dict[str, dict]:
    return {d["list_id"]: d for d in history(site)[run_index]["deliveries"] if d["channel"] == "webhook"}


def manifest(site) -> dict:
    return json.loads((site.out / REPORT_ID / "manifest.json").read_text())


def rich_texts(card: dict) -> list[str]:
    """The text of each RichTextBlock of a card, its runs joined."""
    return ["".join(run["text"] for run in block["inlines"]) for block in card["body"]]


def test_each_style_posts_its_message(site, hook):
    result = run(site, "deliver")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{REPORT_ID}: sales-teams: webhook: sent (teams at {hook.host})",
        f"{REPORT_ID}: sales-slack: webhook: sent (slack at {hook.host})",
        f"{REPORT_ID}: crm: webhook: sent (json at {hook.host})",
    ]
    published = manifest(site)
    headline = published["headline"]
    assert "USD 3.5 billion" in headline
    folder = f"{PUBLIC}{REPORT_ID}/"

    ((teams, teams_headers),) = [(json.loads(r["body"]), r["headers"]) for r in hook.requests
                                 if r["path"] == TEAMS_PATH]
    assert teams_headers["Content-Type"] == "application/json; charset=utf-8"
    assert "X-Exporter-Signature" not in teams_headers  # Teams checks no signature
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert {block["type"] for block in card["body"]} == {"RichTextBlock"}  # TextRuns: never read as markdown
    texts = rich_texts(card)
    assert texts[0] == TITLE
    assert texts[1] == "As of 2026-11-23 · Verified Market Reports"
    assert headline in texts
    assert f"PDF: {REPORT_ID}.pdf ({round(published['files']['pdf']['size'] / 1024)} KB)" in texts
    assert [(a["type"], a["title"], a["url"]) for a in card["actions"]] == [
        ("Action.OpenUrl", "Open the shared folder", folder),
        ("Action.OpenUrl", "Published reports", f"{PUBLIC}index.html")]

    (slack,) = hook.posted(SLACK_PATH)
    assert slack["text"] == f"{TITLE} (As of 2026-11-23 · Verified Market Reports): {headline}"
    sections = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"]
    assert sections[0] == f"*{TITLE}*\nAs of 2026-11-23 · Verified Market Reports"
    assert sections[1] == headline
    assert sections[-1] == f"<{folder}|Open the shared folder> · <{PUBLIC}index.html|Published reports>"
    assert all(b["text"]["type"] == "mrkdwn" and b["text"]["verbatim"] for b in slack["blocks"] if "text" in b)
    (context,) = [b for b in slack["blocks"] if b["type"] == "context"]
    assert f"PDF: {REPORT_ID}.pdf ({round(published['files']['pdf']['size'] / 1024)} KB)" in [
        e["text"] for e in context["elements"]]

    ((payload, headers),) = [(json.loads(r["body"]), r["headers"]) for r in hook.requests if r["path"] == JSON_PATH]
    assert payload["type"] == "exporter.set.published" and payload["version"] == 1
    assert (payload["report_id"], payload["set_id"], payload["list_id"]) == (REPORT_ID, REPORT_ID, "crm")
    assert (payload["variant"], payload["edition"]) == (None, None)
    assert payload["title"] == TITLE and payload["as_of"] == "2026-11-23" and payload["headline"] == headline
    assert payload["publisher"] == "Verified Market Reports"
    assert payload["links"] == {"folder": folder, "index": f"{PUBLIC}index.html"}
    files = {f["format"]: f for f in payload["files"]}
    assert list(files) == ["pdf", "xlsx"]  # the list's formats
    for entry in files.values():
        on_disk = site.out / REPORT_ID / entry["name"]
        assert entry["sha256"] == hashlib.sha256(on_disk.read_bytes()).hexdigest()
        assert entry["size"] == on_disk.stat().st_size
        assert entry["url"] == folder + entry["name"]
    assert files["pdf"]["media_type"] == "application/pdf"
    key = "\n".join(f"{f['name']} {f['sha256']}" for f in payload["files"])
    assert payload["content_sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert payload["delivery_id"] == f"{REPORT_ID}.{payload['content_sha256'][:32]}.crm"
    assert headers["X-Exporter-Delivery"] == payload["delivery_id"]
    # The receiver's check: HMAC-SHA256 over "<timestamp>.<raw body>" with the shared secret.
    raw = next(r["body"] for r in hook.requests if r["path"] == JSON_PATH)
    timestamp = headers["X-Exporter-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Exporter-Signature"], f"sha256={expected}")
    assert abs(int(timestamp) - dt.datetime.now(dt.UTC).timestamp()) < 3600
    wrong = hmac.new(b"another secret", f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    assert headers["X-Exporter-Signature"] != f"sha256={wrong}"


def test_a_list_secret_signs_and_no_secret_sends_unsigned(site, hook):
    site.env["CRM_SECRET"] = "the-crm-secret"
    write_lists(site, json_list(hook.base + JSON_PATH, ", secret_env: CRM_SECRET"))
    assert run(site, "deliver").exit_code == 0
    ((raw, headers),) = [(r["body"], r["headers"]) for r in hook.requests]
    expected = hmac.new(b"the-crm-secret", f"{headers['X-Exporter-Timestamp']}.".encode() + raw,
                        hashlib.sha256).hexdigest()
    assert headers["X-Exporter-Signature"] == f"sha256={expected}"

    del site.env["EXPORTER_WEBHOOK_SECRET"]
    write_lists(site, json_list(hook.base + JSON_PATH).replace("id: crm", "id: crm-unsigned"))
    assert run(site, "deliver").exit_code == 0
    headers = hook.requests[1]["headers"]
    assert "X-Exporter-Signature" not in headers and "X-Exporter-Timestamp" not in headers
    assert json.loads(hook.requests[1]["body"])["title"] == TITLE


def test_hostile_text_from_the_report_stays_text(site, hook):
    source = site.data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace(f"title: {TITLE}\n", f"title: {json.dumps(HOSTILE)}\n", 1)
                      .replace("  name: Verified Market Reports\n", "  name: \"A&B <Research>\"\n", 1))
    assert run(site, "build").exit_code == 0
    assert run(site, "deliver").exit_code == 0

    (payload,) = hook.posted(JSON_PATH)
    assert payload["title"] == HOSTILE and payload["publisher"] == "A&B <Research>"

    (slack,) = hook.posted(SLACK_PATH)
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    heading = slack["blocks"][0]["text"]["text"]
    assert heading == f"*{escaped}*\nAs of 2026-11-23 · A&amp;B &lt;Research&gt;"
    assert slack["text"].startswith(escaped)
    every_text = json.dumps(slack)
    assert "<!channel>" not in every_text and "<https://evil" not in every_text and "<Research>" not in every_text
    links = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"][-1]
    assert "evil" not in links

    (teams,) = hook.posted(TEAMS_PATH)
    card = teams["attachments"][0]["content"]
    assert {block["type"] for block in card["body"]} == {"RichTextBlock"}
    texts = rich_texts(card)
    # Literal text in TextRuns; "{{" broken up so Teams does not run it as a DATE() function.
    assert texts[0] == HOSTILE.replace("{{", "{\u200b{")
    assert texts[1] == "As of 2026-11-23 · A&B <Research>"
    assert all("evil" not in a["url"] for a in card["actions"])


def test_delivering_again_sends_nothing_and_a_change_sends_once_more(site, hook):
    assert run(site, "deliver").exit_code == 0
    assert len(hook.requests) == 3
    again = run(site, "deliver")
    assert again.exit_code == 0
    assert again.stdout.count("already delivered") == 3
    assert len(hook.requests) == 3
    source = site.data / "reports" / f"{REPORT_ID}.yaml"
    source.write_text(source.read_text().replace("- name: Flowonix", "- name: Flowonix Medical"))
    rebuilt = run(site, "build", "--deliver")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.stdout.count(": webhook: sent (") == 3
    assert len(hook.requests) == 6
    first, second = hook.posted(JSON_PATH)
    assert first["content_sha256"] != second["content_sha256"]
    assert run(site, "deliver").stdout.count("already delivered") == 3
    assert len(hook.requests) == 6


@pytest.mark.parametrize("script", [[500], [503, 502], [(429, {"Retry-After": "0"})]])
def test_5xx_and_429_are_retried_and_arrive_once(site, hook, script):
    write_lists(site, slack_list())
    hook.script = list(script)
    result = run(site, "deliver")
    assert result.exit_code == 0, result.output
    assert len(hook.requests) == len(script) + 1
    assert len({r["body"] for r in hook.requests}) == 1  # the same message each time
    delivery = webhook_deliveries(site)["sales-slack"]
    assert delivery["status"] == "sent" and delivery["attempts"] == len(script) + 1


def test_retries_are_bounded(site, hook):
    write_lists(site, slack_list())
    hook.script = [500] * 10
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert len(hook.requests) == 3
    assert result.stderr == (f"Error: {REPORT_ID}: sales-slack: webhook: gave up after 3 attempts: "
                             f"{hook.host} answered 500 Internal Server Error: Cannot POST …\n")
    delivery = webhook_deliveries(site)["sales-slack"]
    assert delivery["status"] == "failed" and delivery["attempts"] == 3


def test_a_4xx_is_permanent_and_only_it_is_retried_by_the_next_deliver(site, hook):
    write_lists(site, teams_list(), slack_list())
    hook.script = [404]  # the Teams request comes first
    first = run(site, "deliver")
    assert first.exit_code == 1
    assert first.stderr == (f"Error: {REPORT_ID}: sales-teams: webhook: {hook.host} answered 404 Not Found: "
                            "Cannot POST …\n")
    assert f"{REPORT_ID}: sales-slack: webhook: sent" in first.stdout
    assert [r["path"] for r in hook.requests] == [TEAMS_PATH, SLACK_PATH]
    assert {k: d["status"] for k, d in webhook_deliveries(site).items()} == {"sales-teams": "failed",
                                                                            "sales-slack": "sent"}
    assert webhook_deliveries(site)["sales-teams"]["attempts"] == 1
    second = run(site, "deliver")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == [f"{REPORT_ID}: sales-teams: webhook: sent (teams at {hook.host})",
                                          f"{REPORT_ID}: sales-slack: webhook: already delivered (slack at {hook.host})"]
    assert [r["path"] for r in hook.requests] == [TEAMS_PATH, SLACK_PATH, TEAMS_PATH]


def test_a_redirect_is_not_followed(site, hook):
    write_lists(site, slack_list())
    hook.script = [(302, {"Location": f"{hook.base}/elsewhere"})]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert "answered 302 Found: redirects are not followed" in result.stderr
    assert [r["path"] for r in hook.requests] == [SLACK_PATH]


def test_a_long_retry_after_ends_the_attempts_for_this_run(site, hook):
    write_lists(site, slack_list())
    hook.script = [(429, {"Retry-After": "3600"})]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert "answered 429 Too Many Requests" in result.stderr
    assert "asked to wait 3600 s, more than 120: the next deliver tries again" in result.stderr
    assert len(hook.requests) == 1
    assert run(site, "deliver").exit_code == 0
    assert len(hook.requests) == 2


def test_a_refused_connection_is_retried_then_recorded(site, hook):
    site.env["SLACK_URL"] = f"http://127.0.0.1:{free_port()}{SLACK_PATH}"
    write_lists(site, slack_list())
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert "gave up after 3 attempts: cannot reach 127.0.0.1:" in result.stderr
    assert "Connection refused" in result.stderr
    delivery = webhook_deliveries(site)["sales-slack"]
    assert delivery["status"] == "failed" and delivery["attempts"] == 3


def test_a_server_that_never_answers_times_out_and_is_recorded(site, hook):
    site.env.update({"EXPORTER_WEBHOOK_TIMEOUT": "0.3", "EXPORTER_WEBHOOK_ATTEMPTS": "2"})
    write_lists(site, slack_list())
    hook.script = ["hang", "hang"]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {REPORT_ID}: sales-slack: webhook: gave up after 2 attempts: {hook.host}: "
                             "no reply within 0.3 s (EXPORTER_WEBHOOK_TIMEOUT)\n")
    assert len(hook.requests) == 2
    delivery = webhook_deliveries(site)["sales-slack"]
    assert delivery["status"] == "failed" and delivery["attempts"] == 2


def test_dry_run_lists_the_webhook_routes_and_sends_nothing(site, hook):
    result = run(site, "deliver", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{REPORT_ID}: sales-teams: webhook: would send (teams at {hook.host})",
        f"{REPORT_ID}: sales-slack: webhook: would send (slack at {hook.host})",
        f"{REPORT_ID}: crm: webhook: would send (json at {hook.host})",
    ]
    assert hook.requests == []


def test_history_lists_the_webhook_outcome(site, hook):
    hook.script = [404]
    assert run(site, "deliver").exit_code == 1
    text = run(site, "history").stdout
    assert f"    {REPORT_ID} -> sales-teams by webhook: failed: {hook.host} answered 404 Not Found" in text
    assert f"    {REPORT_ID} -> sales-slack by webhook: sent" in text
    assert f"    {REPORT_ID} -> crm by webhook: sent" in text
    targets = {d["list_id"]: d["target"] for d in history(site)[0]["deliveries"]}
    assert targets == {"sales-teams": f"teams at {hook.host}", "sales-slack": f"slack at {hook.host}",
                       "crm": f"json at {hook.host}"}


def test_the_url_and_the_secret_never_reach_output_history_or_files(site, hook):
    hook.script = [404, 500, 500, 500]
    first = run(site, "-v", "deliver")
    site.env["SLACK_URL"] = f"http://127.0.0.1:{free_port()}{SLACK_PATH}"
    second = run(site, "-v", "deliver")
    outputs = [first.output, second.output, run(site, "history", "-v").output, json.dumps(history(site)),
               run(site, "-v", "deliver", "--dry-run").output]
    outputs += [p.read_bytes().decode("latin-1") for p in site.out.rglob("*") if p.is_file()]
    for secret in ("TEAMS-TOKEN", "SLACK-TOKEN", "JSON-TOKEN", "T000SLACK", SECRET, "0a1b2c3d4e5f"):
        assert not any(secret in text for text in outputs), secret
    assert "Cannot POST …" in first.output  # the server's echo of the path, with the path taken out


def test_an_unset_url_variable_fails_that_channel_for_good(site, hook):
    del site.env["TEAMS_URL"]
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {REPORT_ID}: sales-teams: webhook: the environment variable TEAMS_URL is not "
                             "set (the webhook's URL)\n")
    assert f"{REPORT_ID}: sales-teams: webhook: failed (teams at ${{TEAMS_URL}})" in result.stdout
    assert f"{REPORT_ID}: sales-slack: webhook: sent" in result.stdout
    assert webhook_deliveries(site)["sales-teams"]["attempts"] == 1


def test_an_unset_list_secret_or_a_bad_url_from_the_environment_fail_clearly(site, hook):
    site.env["SLACK_URL"] = "ftp://user:pw@files.example.com/SLACK-TOKEN-XXXXXXXX"
    write_lists(site, slack_list(), json_list(hook.base + JSON_PATH, ", secret_env: CRM_SECRET"))
    result = run(site, "deliver")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: {REPORT_ID}: sales-slack: webhook: the webhook URL (from SLACK_URL) must be an http:// or "
        "https:// URL",
        f"Error: {REPORT_ID}: crm: webhook: the environment variable CRM_SECRET is not set (the secret that signs "
        "this list's webhook)",
    ]
    assert hook.requests == []


def test_broken_webhooks_in_recipients_exit_2_with_file_line_and_no_url(site):
    path = site.data / "recipients.yaml"
    path.write_text(
        "lists:\n"
        "  - id: a\n    name: A\n    webhook: {url: 'ftp://example.com/TOKEN-1', style: slack}\n"
        "  - id: b\n    name: B\n    webhook: {url: 'https://robot:TOKEN-2@example.com/x', style: json}\n"
        "  - id: c\n    name: C\n    webhook: {url: 'https://example.com/TOKEN-3', style: discord}\n"
        "  - id: d\n    name: D\n    webhook: {url: '${HOOK}', style: teams, secret_env: HOOK_SECRET}\n"
        "  - id: e\n    name: E\n    webhook: {url: '${HOOK}', style: json, secret_env: 'not a name'}\n")
    result = run(site, "validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {path}:4: lists[0].webhook.url: must be an http:// or https:// URL",
        f"Error: {path}:7: lists[1].webhook.url: may not hold a user or password (put a secret in the "
        "environment: ${NAME})",
        f"Error: {path}:10: lists[2].webhook.style: Input should be 'teams', 'slack' or 'json'",
        f"Error: {path}:13: lists[3].webhook: secret_env signs json webhooks only (Teams and Slack check no "
        "signature)",
        f"Error: {path}:16: lists[4].webhook.secret_env: must be the name of an environment variable "
        "(letters, digits and '_')",
    ]
    assert "TOKEN" not in result.output


# -- the sender on its own: Retry-After and the clock ------------------------------------------------------


def parcel_of(site) -> Parcel:
    folder = site.out / REPORT_ID
    published = PublishedSet.read(folder)
    assert published is not None
    files = [(fmt, entry.name, folder / entry.name) for fmt, entry in published.files.items()]
    return Parcel(SetId(REPORT_ID), published, files, "c" * 64)


def test_retry_after_is_honoured_in_seconds_and_as_a_date(site, hook):
    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    hook.script = [(429, {"Retry-After": "7"}), (503, {"Retry-After": "Mon, 30 Nov 2026 12:00:42 GMT"}), 500]
    waits: list[float] = []
    spec = webhook.WebhookSpec(url=hook.base + JSON_PATH, style="json")
    env = {"EXPORTER_WEBHOOK_BACKOFF": "0.5", "EXPORTER_WEBHOOK_SECRET": SECRET}
    attempts = webhook.send(parcel_of(site), spec, "crm", env, lambda: now, waits.append)
    assert attempts == 4
    assert waits == [7.0, 42.0, 2.0]  # then the backoff: 0.5 doubling (0.5, 1, 2) at the third retry
    stamps = {r["headers"]["X-Exporter-Timestamp"] for r in hook.requests}
    assert stamps == {str(int(now.timestamp()))}


def test_the_sender_raises_temporary_and_permanent_errors_with_their_attempts(site, hook):
    spec = webhook.WebhookSpec(url=hook.base + JSON_PATH, style="json")
    env = {"EXPORTER_WEBHOOK_BACKOFF": "0", "EXPORTER_WEBHOOK_ATTEMPTS": "2"}
    hook.script = [500, 500]
    with pytest.raises(TemporaryDeliveryError) as temporary:
        webhook.send(parcel_of(site), spec, "crm", env, lambda: dt.datetime.now(dt.UTC))
    assert temporary.value.attempts == 2
    hook.script = [410]
    with pytest.raises(PermanentDeliveryError) as permanent:
        webhook.send(parcel_of(site), spec, "crm", env, lambda: dt.datetime.now(dt.UTC))
    assert permanent.value.attempts == 1
    assert str(permanent.value) == f"{hook.host} answered 410 Gone: Cannot POST …"
    assert "JSON-TOKEN" not in repr(spec) and "JSON-TOKEN" not in str(spec)


def test_settings_are_checked(site, hook):
    spec = webhook.WebhookSpec(url=hook.base + JSON_PATH, style="json")
    for env, message in [({"EXPORTER_WEBHOOK_TIMEOUT": "soon"}, "EXPORTER_WEBHOOK_TIMEOUT must be a number"),
                         ({"EXPORTER_WEBHOOK_ATTEMPTS": "-1"}, "EXPORTER_WEBHOOK_ATTEMPTS must not be negative"),
                         ({"EXPORTER_PUBLIC_URL": "file:///srv/out"}, "EXPORTER_PUBLIC_URL must be an http(s)")]:
        with pytest.raises(PermanentDeliveryError, match=message.replace("(", r"\(").replace(")", r"\)")):
            webhook.send(parcel_of(site), spec, "crm", env, lambda: dt.datetime.now(dt.UTC))
    assert hook.requests == []


def test_no_public_url_means_no_links(site, hook):
    del site.env["EXPORTER_PUBLIC_URL"]
    assert run(site, "deliver").exit_code == 0
    (payload,) = hook.posted(JSON_PATH)
    assert payload["links"] == {"folder": None, "index": None}
    assert all(f["url"] is None for f in payload["files"])
    (teams,) = hook.posted(TEAMS_PATH)
    assert "actions" not in teams["attachments"][0]["content"]
    (slack,) = hook.posted(SLACK_PATH)
    assert "Published reports" not in json.dumps(slack)


def test_long_texts_stay_within_slack_limits_and_an_edition_is_named(site):
    parcel = parcel_of(site)
    long = dataclasses.replace(parcel.manifest, title="A&B <x> " * 1000, headline="& " * 5000,
                               variant=VariantInfo("dach", "DACH edition", ("dach",)))
    parcel = dataclasses.replace(parcel, manifest=long, set_id=SetId(REPORT_ID, "dach"))
    slack = webhook.slack_payload(parcel, "dach", None)
    texts = [b["text"]["text"] for b in slack["blocks"] if "text" in b]
    assert all(len(t) <= 3000 for t in texts)
    assert all(not re.search(r"&(?!amp;|lt;|gt;)", t) for t in texts)  # no entity cut in half
    assert texts[0].split("\n")[1] == "DACH edition"
    card = webhook.teams_payload(parcel, "dach", None)["attachments"][0]["content"]
    assert rich_texts(card)[1] == "DACH edition"
    payload = webhook.json_payload(parcel, "dach", None)
    assert (payload["set_id"], payload["variant"], payload["edition"]) == (f"{REPORT_ID}.dach", "dach", "DACH edition")
    assert payload["title"] == "A&B <x> " * 1000  # JSON carries the whole text
