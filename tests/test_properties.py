"""Property-based tests: arbitrary bytes never crash the loader; arbitrary valid text renders in every format."""

from __future__ import annotations

import copy
import io
import tempfile
import unicodedata
from pathlib import Path

import docx
import openpyxl
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.core.errors import DataError
from exporter.core.model import Report
from exporter.render import get_renderer
from exporter.source.glyphs import covered
from exporter.source.reader import read_yaml
from exporter.source.validate import validate

from conftest import make_job, pdftotext, shipped_data

BASE = shipped_data()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_result_or_our_own_error(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.yaml"
        path.write_bytes(raw)
        try:
            validate(read_yaml(path))
        except DataError as exc:
            assert exc.problems and all(p.file == path for p in exc.problems)


# Tokens YAML gives meaning to, so that the text is often almost valid YAML.
YAMLISH = st.lists(st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,?\n\t 0123456789.eE+~") +
                                   ["\\u", "\ufeff", "!!python/", "title: ", "\n  - ", "&a ", "*a", "<<: "]),
                   max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_arbitrary_yaml_like_text_gives_a_result_or_our_own_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            validate(read_yaml(path))
        except DataError as exc:
            assert exc.problems


def _drawable(ch: str) -> bool:
    """Characters a reader sees as themselves in every format: printable, left-to-right, not composed."""
    return (
        ord(ch) in covered()
        and unicodedata.category(ch)[0] in "LNPS"
        and unicodedata.bidirectional(ch) not in ("R", "AL", "AN")
        and unicodedata.normalize("NFKC", ch) == ch
    )


ALPHABET = [chr(c) for c in sorted(covered()) if _drawable(chr(c))]
WORD = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=12)
LINE = st.lists(WORD, min_size=1, max_size=5).map(" ".join)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(title=LINE, company=LINE, question=LINE, answer=st.lists(WORD, min_size=1, max_size=40).map(" ".join))
def test_any_valid_text_renders_in_every_format(title, company, question, answer):
    values = copy.deepcopy(BASE)
    values["title"] = title
    values["companies"]["entries"] = [{"name": company}]
    values["faqs"]["entries"] = [{"question": question, "answer": answer}]
    report = Report.model_validate(values)
    job = make_job(report)
    expected = [unicodedata.normalize("NFC", t) for t in (title, company, question, answer)]

    word = docx.Document(io.BytesIO(get_renderer("docx")(job)))
    docx_text = "\n".join(p.text for p in word.paragraphs)
    book = openpyxl.load_workbook(io.BytesIO(get_renderer("xlsx")(job)))
    xlsx_text = "\n".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row
                          if c.value is not None)
    with tempfile.TemporaryDirectory() as folder:
        pdf_text = pdftotext(get_renderer("pdf")(job), Path(folder))
    for fmt, text in (("docx", docx_text), ("xlsx", xlsx_text), ("pdf", pdf_text)):
        flat = " ".join(text.split())
        for value in expected:
            if fmt == "pdf":  # long texts wrap: compare word by word
                assert all(w in flat for w in value.split()), (fmt, value)
            else:
                assert " ".join(value.split()) in flat, (fmt, value)
