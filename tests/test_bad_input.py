"""The bad-input battery: whatever arrives, a clear answer and nothing lost.

Each case either is refused — exit 2, one `Error: FILE[:LINE]: field: problem` line per problem, no
traceback, and the deliverables published before byte-identical — or is legal but nasty and builds,
with the text literally in all three formats.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import docx
import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from exporter.cli import cli

from conftest import DATA_DIR, pdftotext, shipped_data

REPORT_ID = "us-intrathecal-pump-market"
SHIPPED_TEXT = (DATA_DIR / "reports" / f"{REPORT_ID}.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """One good build, copied into every case's output folder."""
    out = tmp_path_factory.mktemp("good") / "out"
    result = CliRunner().invoke(cli, ["build", "--data-dir", str(DATA_DIR), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def site(tmp_path, published):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    out = tmp_path / "out"
    shutil.copytree(published, out)
    return data, out


def snapshot(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and ".exporter" not in p.parts}


def report_file(data: Path) -> Path:
    return data / "reports" / f"{REPORT_ID}.yaml"


def write_text(data: Path, text: str) -> Path:
    path = report_file(data)
    path.write_text(text, encoding="utf-8")
    return path


def write_bytes(data: Path, raw: bytes) -> Path:
    path = report_file(data)
    path.write_bytes(raw)
    return path


def edit(old: str, new: str):
    def apply(data: Path) -> Path:
        assert old in SHIPPED_TEXT, old
        return write_text(data, SHIPPED_TEXT.replace(old, new, 1))
    return apply


def mutate(change):
    """Change the shipped data as Python values and write it back as YAML."""
    def apply(data: Path) -> Path:
        values = shipped_data()
        change(values)
        return write_text(data, yaml.safe_dump(values, allow_unicode=True, sort_keys=False))
    return apply


def extra_file(name: str, text: str = "title: x\n"):
    def apply(data: Path) -> Path:
        path = data / "reports" / name
        path.write_text(text)
        return path
    return apply


def nested(depth: int) -> str:
    return "deep: " + "[" * depth + "]" * depth + "\n"


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# (case id, how to break the data, field path or "" for the document, words the message must hold)
REFUSED = [
    ("yaml-syntax", edit("title: United States Intrathecal Pump Market", "title: [unclosed"), "(document)", "invalid YAML"),
    ("tab-indent", edit("  name: Verified Market Reports", "\tname: Verified Market Reports"), "(document)", "invalid YAML"),
    ("not-utf8", lambda d: write_bytes(d, SHIPPED_TEXT.encode().replace(b"Flowonix", b"Flow\xf6nix")),
     "(document)", "not valid UTF-8"),
    ("duplicate-key", edit("market: Intrathecal Pump\n", "market: Intrathecal Pump\nmarket: Again\n"), "market",
     "duplicate key"),
    ("yaml11-NO-boolean", edit("more_countries: true", "more_countries: NO"), "regions.entries[0].more_countries",
     "valid boolean"),
    ("yaml11-octal-year", edit("year: 2022", "year: 02022"), "figures.base.year", "valid integer"),
    ("yaml11-1.10-title", edit("geography: United States", "geography: 1.10"), "geography", "valid string"),
    ("anchor-alias", edit("geography: United States", "geography: &g United States\nmarket2: *g"), "(document)",
     "aliases"),
    ("alias-bomb", lambda d: write_text(d, alias_bomb()), "(document)", "aliases"),
    ("python-tag", edit("geography: United States", "geography: !!python/object/apply:os.system [id]"), "(document)",
     "tag"),
    ("python-name-tag", edit("geography: United States", "geography: !!python/name:os.system ''"), "(document)", "tag"),
    ("custom-tag", edit("geography: United States", "geography: !secret United States"), "(document)", "tag"),
    ("deep-nesting", lambda d: write_text(d, nested(10_000)), "(document)", "nested more than"),
    ("empty-file", lambda d: write_text(d, ""), "(document)", "empty"),
    ("comments-only", lambda d: write_text(d, "# nothing here\n"), "(document)", "empty"),
    ("top-level-list", lambda d: write_text(d, "- a\n- b\n"), "(document)", "mapping"),
    ("top-level-scalar", lambda d: write_text(d, "just text\n"), "(document)", "mapping"),
    ("huge-file", lambda d: write_text(d, SHIPPED_TEXT + "#" * (6 * 1024 * 1024)), "(document)", "larger than"),
    ("huge-string", mutate(lambda v: v["overview"]["paragraphs"].append("x" * 40_000)), "overview.paragraphs[1]",
     "the limit is 32000"),
    ("over-excel-cell", mutate(lambda v: v["faqs"]["entries"][0].update(answer="y" * 32_768)),
     "faqs.entries[0].answer", "an Excel cell holds 32,767"),
    ("long-title", mutate(lambda v: v.update(title="T" * 600)), "title", "limit for a title or name is 500"),
    ("unknown-top-key", edit("market: Intrathecal Pump", "market: Intrathecal Pump\nmarkets: x"), "markets",
     "unknown field"),
    ("unknown-nested-key", edit("{amount: 3.5, currency: USD, scale: billion}",
                                "{amount: 3.5, currency: USD, scale: billion, unit: x}"), "figures.base.size.unit",
     "unknown field"),
    ("unknown-list-item-key", mutate(lambda v: v["faqs"]["entries"][2].update(votes=3)), "faqs.entries[2].votes",
     "unknown field"),
    ("unknown-segment-key", mutate(lambda v: v["segmentations"][0]["segments"][1].update(share=0.4)),
     "segmentations[0].segments[1].share", "unknown field"),
    ("missing-title", mutate(lambda v: v.pop("title")), "title", "missing required field"),
    ("missing-cagr", mutate(lambda v: v["figures"].pop("cagr")), "figures.cagr", "missing required field"),
    ("missing-answer", mutate(lambda v: v["faqs"]["entries"][4].pop("answer")), "faqs.entries[4].answer",
     "missing required field"),
    ("list-as-string", mutate(lambda v: v["faqs"].update(entries="none")), "faqs.entries", "valid list"),
    ("boolean-as-number", edit("amount: 3.5", "amount: true"), "figures.base.size.amount", "valid number"),
    ("string-as-number", edit("amount: 3.5", 'amount: "3.5"'), "figures.base.size.amount", "valid number"),
    ("number-with-unit", edit("amount: 3.5", "amount: 3.5bn"), "figures.base.size.amount", "valid number"),
    ("nan", edit("amount: 3.5", "amount: .nan"), "figures.base.size.amount", "finite"),
    ("infinity", edit("amount: 5.8", "amount: .inf"), "figures.projection.size.amount", "finite"),
    ("vast-size", edit("amount: 5.8", "amount: 1.5e+300"), "figures.projection.size.amount",
     "less than or equal to 1000000000000000"),
    ("tiny-size", edit("amount: 3.5", "amount: 1.0e-300"), "figures.base.size.amount",
     "too small to compute growth from"),
    ("impossible-date", edit("as_of: 2026-11-23", "as_of: 2026-02-30"), "as_of", "invalid value: day is out of range"),
    ("vast-rate", edit("percent: 6.5", "percent: 1.0e+300"), "figures.cagr.percent", "less than or equal to 10000"),
    ("negative-size", edit("amount: 3.5", "amount: -3.5"), "figures.base.size.amount", "greater than 0"),
    ("zero-size", edit("amount: 5.8", "amount: 0"), "figures.projection.size.amount", "greater than 0"),
    ("reversed-years", edit("year: 2030", "year: 2021"), "figures", "must be after base.year"),
    ("reversed-cagr-period", edit("start_year: 2024", "start_year: 2031"), "figures.cagr", "must be after start_year"),
    ("cagr-below-minus-100", edit("percent: 6.5", "percent: -150"), "figures.cagr.percent", "greater than -100"),
    ("year-out-of-range", edit("year: 2022", "year: 20222"), "figures.base.year", "less than or equal to 2200"),
    ("empty-list", mutate(lambda v: v["faqs"].update(entries=[])), "faqs.entries", "at least 1"),
    ("empty-paragraphs", mutate(lambda v: v["overview"].update(paragraphs=[])), "overview.paragraphs", "at least 1"),
    ("blank-text", mutate(lambda v: v["companies"]["entries"][0].update(name="   ")), "companies.entries[0].name",
     "must not be empty"),
    ("bad-url", edit("url: https://www.verifiedmarketreports.com/product", "url: javascript:alert(1)//product"),
     "source.url", "URL"),
    ("cjk-text", mutate(lambda v: v["companies"]["entries"].append({"name": "株式会社テスト"})),
     "companies.entries[6].name", "characters the PDF font cannot draw"),
    ("raw-control-character", lambda d: write_bytes(d, SHIPPED_TEXT.replace("Flowonix", "Flow\x07nix").encode()),
     "(document)", "U+0007"),
    ("raw-U+FFFE", lambda d: write_bytes(d, SHIPPED_TEXT.replace("Flowonix", "Flow\ufffenix").encode()),
     "(document)", "U+FFFE"),
    ("id-with-space", extra_file("bad name.yaml"), "(document)", "not a valid report id"),
    ("id-with-dots", extra_file("bad.name.yaml"), "(document)", "not a valid report id"),
    ("id-upper-case", extra_file("Report.yaml"), "(document)", "not a valid report id"),
    ("id-device-name", extra_file("con.yaml"), "(document)", "Windows device name"),
    ("id-too-long", extra_file("a" * 70 + ".yaml"), "(document)", "not a valid report id"),
]


@pytest.mark.parametrize("case, breaker, field, words", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_with_a_located_message_and_nothing_lost(site, case, breaker, field, words):
    data, out = site
    before = snapshot(out)
    path = breaker(data)
    # validate refuses the catalog (2); build fails that report alone (1), printing the same located lines.
    for command, code in ((["validate", "--data-dir", str(data)], 2),
                          (["build", "--data-dir", str(data), "--output-dir", str(out)], 1)):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == code, (command, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("Error: ") for line in lines), lines
        match = [line for line in lines if line.startswith(f"Error: {path}")]
        assert match, lines
        located = re.match(rf"Error: {re.escape(str(path))}(:(\d+))?: (.+?): (.*)$", match[0])
        assert located, match[0]
        assert located.group(3) == field, match[0]
        assert words in located.group(4), match[0]
        if case.startswith("id-") or case == "huge-file":
            assert located.group(2) is None, match[0]  # a file name or size has no line
        else:
            assert located.group(2) is not None and int(located.group(2)) >= 1, match[0]
    assert snapshot(out) == before


def test_a_data_file_linking_outside_the_data_folder_is_refused(site, tmp_path):
    data, out = site
    before = snapshot(out)
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(SHIPPED_TEXT)
    link = data / "reports" / "linked.yaml"
    os.symlink(outside, link)
    result = CliRunner().invoke(cli, ["build", "--data-dir", str(data), "--output-dir", str(out)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {link}: (document): the file is a link leading outside the reports folder\n"
    assert result.stdout == f"{REPORT_ID}: unchanged\n"  # the other reports are built as ever
    assert snapshot(out) == before


@pytest.mark.parametrize("report_id", ["../etc/passwd", "/etc/passwd", "con", "a b", "x.yaml", "US-PUMP"])
def test_report_ids_on_the_command_line_are_never_paths(site, report_id):
    data, out = site
    before = snapshot(out)
    result = CliRunner().invoke(cli, ["build", report_id, "--data-dir", str(data), "--output-dir", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: unknown report id {report_id!r} (known: {REPORT_ID})\n"
    assert snapshot(out) == before


@pytest.mark.parametrize("body, field, words", [
    ("timezone: UTC\njobs:\n  - id: a\n    cron: '* * *'\n", "jobs[0].cron", "Wrong number of fields"),
    ("timezone: Nowhere/City\njobs:\n  - id: a\n    every: 1h\n", "timezone", "unknown time zone"),
    ("timezone: UTC\njobs: []\n", "jobs", "at least 1"),
])
def test_a_broken_timetable_is_refused(site, body, field, words):
    data, _ = site
    (data / "schedule.yaml").write_text(body)
    result = CliRunner().invoke(cli, ["validate", "--data-dir", str(data)])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {data / 'schedule.yaml'}:") and f": {field}: " in line and words in line


def test_a_broken_recipients_file_is_refused(site):
    data, _ = site
    (data / "recipients.yaml").write_text("lists:\n  - id: x\n    name: X\n    email: ['a@b.c\\nBcc: d@e.f']\n")
    result = CliRunner().invoke(cli, ["validate", "--data-dir", str(data)])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {data / 'recipients.yaml'}:4: lists[0].email[0]: ")


def test_an_absurd_but_stated_cagr_builds_with_a_warning(site):
    data, out = site
    edit("percent: 6.5", "percent: 5000")(data)
    result = CliRunner().invoke(cli, ["build", "--data-dir", str(data), "--output-dir", str(out)])
    assert result.exit_code == 0
    assert "Warning: " in result.stderr and "stated CAGR 5000%" in result.stderr and "6.52% implied" in result.stderr


NASTY = {
    "equals": "=HYPERLINK(\"http://evil\",\"click\")",
    "plus": "+1+1",
    "minus": "-2+3",
    "at": "@SUM(A1)",
    "tab": "\tleading tab",
    "cr": "\rleading CR",
    "img": '<img src="/etc/passwd"/> & <a href="http://evil">link</a>',
    "entity": "AT&T &amp; &lt;b&gt;",
    "cyrillic": "Компания Рынок",
    "greek": "Αγορά αντλιών",
    "symbols": "≥ 5 % · € 3,5 Mrd. — “quoted” ‘single’",
    "control": "bell\x07 and \ufffe\uffff and \ud800 lone",
}


@pytest.fixture(scope="module")
def nasty_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("nasty")
    data = root / "data"
    shutil.copytree(DATA_DIR, data)
    values = shipped_data()
    for key, text in NASTY.items():
        values["companies"]["entries"].append({"name": f"{key}: {text}" if key in ("tab", "cr") else text})
    values["faqs"]["entries"][0]["answer"] = "long " * 6000  # a table cell taller than a page in the PDF
    report_file(data).write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    (data / "reports" / "bom-report.yaml").write_bytes(b"\xef\xbb\xbf" + SHIPPED_TEXT.encode())
    out = root / "out"
    result = CliRunner().invoke(cli, ["build", "--data-dir", str(data), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    folder = out / REPORT_ID
    word = docx.Document(str(folder / f"{REPORT_ID}.docx"))
    book = openpyxl.load_workbook(folder / f"{REPORT_ID}.xlsx")
    texts = {
        "docx": "\n".join(p.text for p in word.paragraphs),
        "xlsx": "\n".join(str(c.value) for c in book["Companies"]["B"] if c.value is not None),
        "pdf": pdftotext((folder / f"{REPORT_ID}.pdf").read_bytes(), root),
    }
    return out, texts, book


def expected(key: str) -> str:
    text = NASTY[key]
    if key == "control":
        return "bell and and lone"
    if key in ("tab", "cr"):
        return f"{key}: " + text.strip().replace("\r", "")
    return text


@pytest.mark.parametrize("key", [k for k in NASTY if k not in ("tab", "cr", "control")])
def test_legal_but_nasty_text_appears_literally_in_all_formats(nasty_build, key):
    _, texts, _ = nasty_build
    for fmt, text in texts.items():
        flat = " ".join(text.split())
        assert " ".join(expected(key).split()) in flat, (fmt, key)


def test_control_characters_are_cleaned_everywhere(nasty_build):
    _, texts, _ = nasty_build
    for fmt, text in texts.items():
        assert "bell and" in " ".join(text.split()), fmt
        for bad in ("\x07", "\ufffe", "\uffff", "\ud800"):
            assert bad not in text, (fmt, repr(bad))


def test_leading_tab_and_cr_keep_the_words(nasty_build):
    _, texts, _ = nasty_build
    for fmt, text in texts.items():
        flat = " ".join(text.split())
        assert "tab: leading tab" in flat and "cr: leading CR" in flat, fmt


def test_formula_like_text_stays_text_in_excel(nasty_build):
    _, _, book = nasty_build
    cells = {c.value: c for c in book["Companies"]["B"] if isinstance(c.value, str)}
    for key in ("equals", "plus", "minus", "at"):
        cell = cells[NASTY[key]]
        assert cell.data_type == "s", key


def test_a_bom_is_accepted(nasty_build):
    out, _, _ = nasty_build
    assert (out / "bom-report" / "bom-report.pdf").is_file()
