"""The YAML reader's two paths (libyaml for speed, pure Python for diagnostics) agree on every file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from exporter.core.errors import DataError
from exporter.source import reader

from conftest import SHIPPED

pytestmark = pytest.mark.skipif(reader._CLoader is None, reason="PyYAML was built without libyaml")


def read_both(path: Path, monkeypatch) -> tuple:
    """Read *path* with libyaml and then with the pure-Python loader: (data, lines) or the problems."""
    results = []
    for fast in (True, False):
        with monkeypatch.context() as patch:
            if not fast:
                patch.setattr(reader, "_fast_compose", lambda text: None)
            try:
                doc = reader.read_yaml(path)
                results.append((doc.data, doc.lines))
            except DataError as exc:
                results.append([str(p) for p in exc.problems])
    return tuple(results)


def test_the_shipped_report_reads_the_same_on_both_paths(monkeypatch):
    assert reader._fast_compose(SHIPPED.read_text(encoding="utf-8")) is not None
    fast, slow = read_both(SHIPPED, monkeypatch)
    assert fast == slow
    assert fast[1][("faqs", "entries", 0, "question")] > 1


@pytest.mark.parametrize("text", [
    "a: &x [1, 2]\nb: *x\n",                       # aliases
    "a: !!python/object:os.system ls\n",           # a tag outside the standard ones
    "a: " + "[" * 40 + "]" * 40 + "\n",            # deeper than MAX_DEPTH
    "a: [" + ", ".join(["1"] * (reader.MAX_NODES + 1)) + "]\n",  # more values than MAX_NODES
    "a: 1\na: 2\n",                                # duplicate keys (refused after composing, on both paths)
    "a: [1, 2\n",                                  # a syntax error
    "a: \x07\n",                                   # a character YAML forbids
    "--- 1\n--- 2\n",                              # two documents
    "a:\t1\n",                                     # a tab as a separator (libyaml takes it)
    "a: [1,\t2]\n",
    "as_of: 2026-02-30\n",                          # a timestamp that is no date (refused after composing)
])
def test_what_the_careful_path_refuses_is_refused_alike(tmp_path, monkeypatch, text):
    path = tmp_path / "report.yaml"
    path.write_text(text, encoding="utf-8")
    fast, slow = read_both(path, monkeypatch)
    assert isinstance(slow, list) and slow, "the pure-Python reader should refuse this file"
    assert all("Traceback" not in problem for problem in slow)
    assert fast == slow


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
), st.sampled_from([None, False, True]))
def test_arbitrary_documents_read_the_same_on_both_paths(tmp_path, monkeypatch, value, flow):
    path = tmp_path / "report.yaml"
    path.write_text(yaml.safe_dump({"root": value}, default_flow_style=flow, allow_unicode=True), encoding="utf-8")
    fast, slow = read_both(path, monkeypatch)
    assert fast == slow
