"""Fonts for every script: a theme's fallback fonts let a report in Japanese build, its characters
drawn (and found by pdftotext) in the fallback; without one it is refused, naming the characters.
IPA Gothic comes from the OS packages (`.ci/run` installs fonts-ipafont-gothic)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import exporter, flat, need, pdftotext

IPA_GOTHIC = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
TITLE = "東京支社の営業パイプライン"
REPORT = """\
kind: document
title: 東京支社の営業パイプライン
author: 営業企画部
as_of: 2026-11-27
tables:
  - id: deals
    title: 商談一覧
    columns: [{name: 顧客, type: text}, {name: Amount, type: number, decimals: 0}]
sections:
  - title: 概要
    blocks:
      - text: 今週のパイプラインは増加しました (synthetic example).
      - chart: {type: bar, table: deals, x: 顧客, y: {sum: Amount}, title: 顧客別の金額, labels: true}
      - table: {table: deals}
"""
ROWS = "顧客,Amount\n株式会社サンプル,1200\n見本商事,800\n"


def data_folder(tmp_path: Path, theme: str | None) -> Path:
    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    report = REPORT if theme is None else REPORT.replace("kind: document\n", f"kind: document\ntheme: {theme}\n")
    (data / "reports" / "tokyo.yaml").write_text(report, encoding="utf-8")
    (data / "reports" / "tokyo.deals.csv").write_text(ROWS, encoding="utf-8")
    return data


@pytest.fixture()
def with_fallback(tmp_path) -> Path:
    if not IPA_GOTHIC.is_file():
        pytest.fail(f"{IPA_GOTHIC} is missing: run `bash .ci/run` (it installs fonts-ipafont-gothic)")
    data = data_folder(tmp_path, "japan")
    (data / "themes").mkdir()
    shutil.copy(IPA_GOTHIC, data / "themes" / "ipag.ttf")
    (data / "themes" / "japan.yaml").write_text("fonts: {fallbacks: [ipag.ttf]}\n", encoding="utf-8")
    return data


def test_japanese_builds_with_a_fallback_font_and_reads_back(with_fallback, tmp_path):
    out = tmp_path / "out"
    result = exporter("build", "--data-dir", str(with_fallback), "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    pdf = out / "tokyo" / "tokyo.pdf"
    text = flat(pdftotext(pdf.read_bytes(), tmp_path))
    for words in (TITLE, "営業企画部", "概要", "今週のパイプラインは増加しました", "株式会社サンプル 1,200", "商談一覧"):
        assert words in text, words
    fonts = subprocess.run([need("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = {line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:]}
    assert "IPAGothic" in embedded and "Helvetica" not in embedded  # Latin in DejaVu, Japanese in IPA Gothic
    assert all(" yes yes " in line for line in fonts.splitlines()[2:])


def test_without_a_covering_font_japanese_is_refused_naming_the_characters(tmp_path):
    data = data_folder(tmp_path, None)
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert "tokyo.yaml:2: title: characters the PDF font cannot draw: " in result.stderr
    assert "tokyo.yaml:13: sections[0].blocks[1].chart.x: characters the PDF font cannot draw: '客' (U+5BA2)" \
        in result.stderr


def test_right_to_left_text_is_refused_clearly(tmp_path):
    data = data_folder(tmp_path, None)
    report = data / "reports" / "tokyo.yaml"
    report.write_text(REPORT.replace("title: 東京支社の営業パイプライン", "title: שלום pipeline")
                      .replace("東京支社の", "").replace("営業", "Sales").replace("顧客", "Client")
                      .replace("商談一覧", "Deals").replace("概要", "Summary").replace("部", "")
                      .replace("今週のパイプラインは増加しました", "Grew").replace("の金額", "")
                      .replace("パイプライン", ""), encoding="utf-8")
    (data / "reports" / "tokyo.deals.csv").write_text("Client,Amount\nA,1\n", encoding="utf-8")
    result = exporter("validate", "--data-dir", str(data))
    assert result.returncode == 2
    assert "tokyo.yaml:2: title: right-to-left text (Hebrew, Arabic, …) is not supported in the PDF: 'ו' (U+05D5)" \
        in result.stderr, result.stderr
