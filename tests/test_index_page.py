"""The index page of an output folder: built from real CLI output with a hostile second title,
read back with the standard library's HTML parser and, in the slow tests, by headless Chromium."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import pytest

from exporter.publish.index_page import INDEX_NAME, human_size, readable_utc, render_index, write_index

from conftest import DATA_DIR, ROOT

SHIPPED_ID = "us-intrathecal-pump-market"
SECOND_ID = "second-report"
HOSTILE_TITLE = 'AT&T <script>alert(1)</script> "Q"'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CHROMIUM_TIMEOUT = 60


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (cls is None or cls in child.classes()):
                    found.append(child)
                found.extend(child.find_all(tag, cls))
        return found

    def find(self, tag: str, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert len(found) == 1, f"expected one <{tag} class={cls}>, found {len(found)}"
        return found[0]


class TreeBuilder(HTMLParser):
    """Build a tree of the page, recording every tag that is closed out of order or never."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.errors: list[str] = []
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs) -> None:
        if tag not in VOID:
            self.errors.append(f"<{tag}/> is not a void element")
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag) -> None:
        if tag in VOID:
            self.errors.append(f"</{tag}> closes a void element")
        elif self.stack[-1].tag != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1].tag}>")
        else:
            self.stack.pop()

    def handle_data(self, data) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> TreeBuilder:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    unclosed = [n.tag for n in builder.stack[1:]]
    assert not builder.errors and not unclosed, (builder.errors, unclosed)
    return builder


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class FileRow:
    href: str
    name: str
    size_text: str
    size_title: str
    sha256: str
    sha256_short: str
    sha256_title: str


def file_rows(article: Node) -> list[FileRow]:
    rows = []
    for tr in article.find_all("tr", "file"):
        link = tr.find("a", "download")
        size = tr.find("td", "size").find("span")
        short = tr.find("summary").find("code")
        rows.append(FileRow(link.attrs["href"], link.text, size.text, size.attrs["title"],
                            tr.find("code", "sha256").text, short.text, short.attrs["title"]))
    return rows


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def articles(root: Node) -> dict[str, Node]:
    """Map each report card's id (as shown) to the card."""
    return {a.find("code", "report-id").text: a for a in root.find_all("article", "report")}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("index")
    data = root / "data"
    shutil.copytree(DATA_DIR, data)
    shipped = (data / "reports" / f"{SHIPPED_ID}.yaml").read_text(encoding="utf-8")
    # Single-quoted YAML keeps the double quotes and angle brackets of the title literal.
    second, count = re.subn(r"(?m)^title: .*$", "title: '" + HOSTILE_TITLE + "'", shipped, count=1)
    assert count == 1
    (data / "reports" / f"{SECOND_ID}.yaml").write_text(second, encoding="utf-8")
    output = root / "output"
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "build", "--data-dir", str(data), "--output-dir", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": built: ") == 2, result.stdout
    return output


@pytest.fixture(scope="module")
def index(out) -> Path:
    return write_index(out)


@pytest.fixture(scope="module")
def page(index) -> str:
    return index.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tree(page) -> Node:
    return parse(page).root


def manifest(out: Path, report_id: str) -> dict:
    return json.loads((out / report_id / "manifest.json").read_text(encoding="utf-8"))


def test_write_index_writes_the_rendered_page_atomically(out, index):
    assert index == out / INDEX_NAME
    assert index.read_bytes() == render_index(out)
    assert not list(out.glob(".tmp-*")), "a temporary file was left behind"


def test_page_is_well_formed_html5(page):
    builder = parse(page)
    assert builder.doctype == "DOCTYPE html"
    assert page.startswith("<!DOCTYPE html>\n")
    html = builder.root.find("html")
    assert html.attrs == {"lang": "en"}
    head = html.find("head")
    assert squash(head.find("title").text) == "Published reports"
    metas = [m.attrs for m in head.find_all("meta")]
    assert {"charset": "utf-8"} in metas
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in metas
    assert [c.tag for c in html.children if isinstance(c, Node)] == ["head", "body"]


def test_page_holds_no_code(tree, page):
    assert "<script" not in page.lower()
    for node in walk(tree):
        assert node.tag != "script"
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            assert not value.strip().lower().startswith("javascript:"), (node.tag, value)


def walk(node: Node):
    for child in node.children:
        if isinstance(child, Node):
            yield child
            yield from walk(child)


def test_every_report_is_listed_by_title_with_titles_shown_literally(out, tree, page):
    titles = [squash(h.text) for h in tree.find_all("h2")]
    assert titles == [HOSTILE_TITLE, manifest(out, SHIPPED_ID)["title"]]  # "AT&T" sorts before "United"
    assert "AT&amp;T &lt;script&gt;alert(1)&lt;/script&gt; &quot;Q&quot;" in page
    assert squash(tree.find("header", "page").text).startswith("Published reports 2 reports")
    assert "Generated from the manifests" in page
    # Only report folders are listed: not the state folder, nor the page itself.
    assert set(articles(tree)) == {SECOND_ID, SHIPPED_ID}


def test_each_card_shows_as_of_and_a_readable_build_time(out, tree):
    for report_id, article in articles(tree).items():
        m = manifest(out, report_id)
        meta = {squash(d.find("dt").text): d.find("dd") for d in article.find("dl", "meta").find_all("div")}
        assert set(meta) == {"Report ID", "As of", "Built"}
        assert meta["As of"].find("time").attrs["datetime"] == m["as_of"]
        built = meta["Built"].find("time")
        assert built.attrs["datetime"] == m["built_at"]
        assert squash(built.text) == readable_utc(m["built_at"])
        assert squash(built.text).endswith(" UTC")


def test_every_file_link_resolves_to_the_file_with_the_hash_and_size_shown(out, tree):
    cards = articles(tree)
    for report_id, article in cards.items():
        m = manifest(out, report_id)
        rows = file_rows(article)
        assert sorted(r.name for r in rows) == sorted(e["name"] for e in m["files"].values())
        assert [r.name.rsplit(".", 1)[1] for r in rows] == ["docx", "xlsx", "pdf"]
        for row in rows:
            assert row.href == f"{report_id}/{row.name}"
            path = out / row.href
            assert path.is_file()
            assert file_sha256(path) == row.sha256 == row.sha256_title
            assert row.sha256_short == row.sha256[:12] + "…"
            size = path.stat().st_size
            assert row.size_title == f"{size:,} bytes"
            assert row.size_text == human_size(size)
            assert 10 * 1024 < size < 1024 * 1024
            assert row.size_text == f"{round(size / 1024)} KB"


def test_manifest_and_history_links_resolve(out, tree):
    for report_id, article in articles(tree).items():
        links = {a.attrs["class"]: a.attrs["href"] for a in article.find("p", "links").find_all("a")}
        assert links == {"manifest": f"{report_id}/manifest.json", "history": f"{report_id}/history/"}
        assert (out / links["manifest"]).is_file()
        assert (out / links["history"]).is_dir()
        assert "(1 set kept)" in squash(article.find("p", "links").text)


def test_page_depends_on_the_manifests_only(out, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert render_index(copy) == render_index(out) == render_index(out)


def test_empty_or_missing_output_says_nothing_is_published(tmp_path):
    for folder in (tmp_path, tmp_path / "missing"):
        builder = parse(render_index(folder).decode("utf-8"))
        assert builder.root.find_all("article") == []
        assert squash(builder.root.find("p", "empty").text) == "No reports are published yet."
    assert write_index(tmp_path / "new").is_file()


def test_folders_without_a_readable_manifest_are_skipped(out, tmp_path):
    shutil.copytree(out / SHIPPED_ID, tmp_path / SHIPPED_ID)
    shutil.copytree(out / SHIPPED_ID, tmp_path / ".hidden")
    (tmp_path / "no-manifest").mkdir()
    (tmp_path / "no-manifest" / "x.pdf").write_bytes(b"%PDF")
    for name, text in {"broken": "{not json", "a-list": "[]", "empty": ""}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(text)
    (tmp_path / "manifest.json").write_text("{}")  # a stray file, not a folder
    root = parse(render_index(tmp_path).decode("utf-8")).root
    assert list(articles(root)) == [SHIPPED_ID]
    assert squash(root.find("header", "page").text).startswith("Published reports 1 report ·")


def test_odd_manifest_values_are_shown_as_data(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = {
        "report_id": "odd",
        "title": 5,
        "headline": "<img src=x onerror=alert(1)>",
        "as_of": "not a date",
        "built_at": "<b>soon</b>",
        "files": {
            "pdf": {"name": "../../escape me&.pdf", "size": "big", "sha256": "<i>"},
            "zip": {"name": "a b.zip", "size": 1, "sha256": "ab" * 32},
            "bad": "not an entry",
        },
    }
    (folder / "manifest.json").write_text(json.dumps(odd))
    text = render_index(tmp_path).decode("utf-8")
    root = parse(text).root
    article = articles(root)["odd"]
    assert squash(article.find("h2").text) == "odd"  # a title that is no string falls back to the id
    assert root.find_all("img") == [] and root.find_all("b") == [] and root.find_all("i") == []
    assert squash(article.find("p", "headline").text) == odd["headline"]
    rows = [(a.attrs["href"], a.text) for a in article.find_all("a", "download")]
    # "/" is quoted too, so a file name cannot lead out of the report's folder.
    assert rows == [("odd/..%2F..%2Fescape%20me%26.pdf", "../../escape me&.pdf"), ("odd/a%20b.zip", "a b.zip")]
    assert "1 byte" in text and "unknown" in text
    assert "history" not in {a.attrs.get("class") for a in article.find_all("a")}


@pytest.mark.parametrize("size, shown", [
    (0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"), (1024, "1.0 KB"), (10 * 1024 - 52, "9.9 KB"),
    (18394, "18 KB"), (94230, "92 KB"), (1024 * 1024 - 1, "1.0 MB"), (5 * 1024**3, "5.0 GB"),
])
def test_human_size(size, shown):
    assert human_size(size) == shown


@pytest.mark.parametrize("value, shown", [
    ("2026-11-23T06:00:00+00:00", "23 Nov 2026, 06:00 UTC"),
    ("2026-01-02T00:30:00+01:00", "1 Jan 2026, 23:30 UTC"),
    ("2026-05-09T12:00:00", "9 May 2026, 12:00 UTC"),
    ("yesterday", None),
])
def test_readable_utc(value, shown):
    assert readable_utc(value) == shown


# --- Headless Chromium: what a browser makes of the page ---------------------------------------

@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run bash .ci/run")
    return path


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_chromium_dom_links_resolve_to_the_files_shown(chromium, out, index, tmp_path):
    page_url = index.as_uri()
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page_url).stdout
    root = parse(dom).root  # Chromium's serialisation of the DOM it built
    assert root.find_all("script") == []
    cards = articles(root)
    assert [squash(a.find("h2").text) for a in cards.values()] == [HOSTILE_TITLE, manifest(out, SHIPPED_ID)["title"]]
    checked = 0
    for report_id, article in cards.items():
        for row in file_rows(article):
            target = Path(url2pathname(urlparse(urljoin(page_url, row.href)).path))
            assert target == out / report_id / row.name
            assert target.is_file() and file_sha256(target) == row.sha256
            checked += 1
        history = article.find("a", "history").attrs["href"]
        assert Path(url2pathname(urlparse(urljoin(page_url, history)).path)).is_dir()
    assert checked == 6


@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_chromium_screenshot_shows_the_page(chromium, index, tmp_path, width, height):
    from PIL import Image  # a matplotlib dependency, so always present where the exporter runs

    shot = tmp_path / "index.png"
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={width},{height}",
                 index.as_uri())
    data = shot.read_bytes()
    assert png_size(data) == (width, height)
    assert len(data) > 20_000  # a blank or error page compresses to a few kilobytes
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.getpixel((5, 5)) == (0x1F, 0x4E, 0x79)  # the header band in the accent colour
        assert len(rgb.getcolors(maxcolors=1 << 20)) > 50  # text was drawn, not just flat colour
