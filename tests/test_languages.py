"""A report's language: the example's German edition (`language: de-DE`) read back from all three
files: the words exporter writes, numbers, currencies and dates in the German way, and the files'
language property. The expected amounts are computed here from the example's CSV."""

from __future__ import annotations

import csv
import math
import shutil
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import ROOT, exporter, flat, pdftotext

EXAMPLE = ROOT / "examples" / "sales-pipeline" / "data"
SET = "sales-pipeline.dach"


def dach_amounts() -> list[float]:
    with (EXAMPLE / "reports" / "sales-pipeline.deals.csv").open(encoding="utf-8", newline="") as handle:
        return [float(r["Amount"]) for r in csv.DictReader(handle) if r["Region"] == "DACH"]


def euro_de(amount: float) -> str:
    """An amount as German readers write it: thousands with '.', the sign after, a no-break space."""
    return f"{amount:,.0f}".replace(",", ".") + "\xa0€"


@pytest.fixture(scope="module")
def german(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("german")
    result = exporter("build", "--data-dir", str(EXAMPLE), "--output-dir", str(out), "sales-pipeline")
    assert result.returncode == 0, result.stderr
    return out / SET


def test_the_pdf_speaks_german(german, tmp_path):
    text = pdftotext((german / f"{SET}.pdf").read_bytes(), tmp_path)
    assert "Stand: 27. November 2026" in text and "Inhalt" in text
    assert "Seite 2 von 5" in text and "Tabelle 1: Deals by stage" in text and "Abbildung 1: Amount by stage" in text
    amounts = dach_amounts()
    body = flat(text)
    assert euro_de(math.fsum(amounts)).replace("\xa0", " ") in body.replace("\xa0", " ")  # the open pipeline card
    assert euro_de(max(amounts)).replace("\xa0", " ") in body.replace("\xa0", " ")
    assert "30.12.2026" in text  # a close date in the deals table
    assert "As of" not in text and "Page " not in text and "Table 1" not in text


def test_the_word_file_speaks_german(german):
    word = docx.Document(german / f"{SET}.docx")
    texts = [p.text for p in word.paragraphs]
    assert "Inhalt" in texts and "Stand: 27. November 2026" in texts
    assert any(t.startswith("Tabelle 1: ") for t in texts) and any(t.startswith("Abbildung 1: ") for t in texts)
    cards = {cell.paragraphs[1].text: cell.paragraphs[0].text for cell in word.tables[0].rows[0].cells}
    assert cards["Open pipeline"] == euro_de(math.fsum(dach_amounts()))
    with zipfile.ZipFile(german / f"{SET}.docx") as archive:
        assert b'<w:lang w:val="de-DE"/>' in archive.read("word/styles.xml")


def test_the_workbook_speaks_german_and_keeps_numbers(german):
    book = openpyxl.load_workbook(german / f"{SET}.xlsx")
    assert book.properties.language == "de-DE"
    summary = book["Summary"]
    rows = {row[0].value: row for row in summary.iter_rows() if row[0].value}
    assert rows["Kennzahl"][1].value == "Wert"  # the figures' header
    assert rows["Stand"][1].is_date  # the as-of fact, a real date
    assert rows["Open pipeline"][1].value == pytest.approx(math.fsum(dach_amounts()))  # a number, not a text
    assert book["Open deals"].oddFooter.right.text == "Seite &P von &N"


def test_an_unknown_language_is_a_located_error(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    report = data / "reports" / "sales-pipeline.yaml"
    text = report.read_text(encoding="utf-8")
    report.write_text(text.replace("language: de-DE", "language: xx-XX"), encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    line = next(n for n, row in enumerate(report.read_text(encoding="utf-8").splitlines(), 1) if "xx-XX" in row)
    assert (f"{report}:{line}: variants[0].language: 'xx-XX' is not a language tag Babel knows, such as en-US or "
            "de-DE") in result.stderr


def test_words_the_theme_font_cannot_draw_are_refused_at_the_language(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    report = data / "reports" / "sales-pipeline.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("language: de-DE", "language: ru-RU"),
                      encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    line = next(n for n, row in enumerate(report.read_text(encoding="utf-8").splitlines(), 1) if "ru-RU" in row)
    # The example's theme embeds a Latin subset of DejaVu Serif: Russian month names would vanish.
    assert f"{report}:{line}: variants[0].language: the words exporter writes in ru-RU with theme 'acme' need " \
           "characters the PDF font cannot draw: 'б' (U+0431)" in result.stderr


@pytest.mark.parametrize(("tag", "message"), [
    ("he-IL", "'he-IL' is written right to left, which the PDF does not support yet"),
    ("en-ZZ", "'en-ZZ' is not a language tag Babel knows"),
])
def test_languages_exporter_cannot_write_are_refused(tmp_path, tag, message):
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    report = data / "reports" / "sales-pipeline.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("language: de-DE", f"language: {tag}"),
                      encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_localized_numbers_round_half_up_without_a_negative_zero():
    from exporter.core.numbers import NumberFormat

    euro = NumberFormat(decimals=2, currency="EUR", locale="de_DE")
    assert euro.text(1099.975) == "1.099,98\xa0€" and euro.text(-1234.5) == "-1.234,50\xa0€"
    assert euro.text(-0.001) == "0,00\xa0€"
    assert NumberFormat(percent=True, decimals=1, locale="de_DE").text(0.125) == "12,5\xa0%"
    assert NumberFormat(decimals=0, thousands=False, locale="de_DE").text(2026) == "2026"


def test_data_never_fills_a_placeholder_of_the_catalogue():
    from exporter.core.messages import Words

    words = Words("de-DE")
    assert words("nothing_to_chart", title="Anteil {title} {categories}") == \
        "Anteil {title} {categories}: Die Tabelle hat keine Zeilen für ein Diagramm."
