"""The few exact aggregations a report may ask of a table: sum, count, mean, min and max.

Sums are exact sums of the values (`math.fsum`, and Python's integers for integer columns), so a
figure equals what a spreadsheet's SUM shows. Empty cells are skipped; over no values a sum is 0,
a count 0, and a mean, min or max has no value (None, shown as "–").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from .numbers import Value


class Accumulator:
    """One aggregate, fed one value at a time."""

    __slots__ = ("function", "values", "count", "best", "integral")

    def __init__(self, function: str):
        self.function = function
        self.values: list[float] = []  # partial sums for fsum, kept short
        self.count = 0
        self.best: Value = None
        self.integral = True

    def add(self, value: Value) -> None:
        if value is None:
            return
        self.count += 1
        function = self.function
        if function in ("sum", "mean"):
            if not isinstance(value, int):
                self.integral = False
            self.values.append(value)  # type: ignore[arg-type]  # sum and mean: numbers only (checked)
            if len(self.values) >= 4096:
                self.values = [_sum(self.values, self.integral)]
        elif function == "min":
            if self.best is None or value < self.best:  # type: ignore[operator]
                self.best = value
        elif function == "max":
            if self.best is None or value > self.best:  # type: ignore[operator]
                self.best = value

    def result(self) -> Value:
        function = self.function
        if function == "count":
            return self.count
        if function == "sum":
            return _sum(self.values, self.integral)
        if function == "mean":
            return _sum(self.values, False) / self.count if self.count else None
        return self.best


def _sum(values: list, integral: bool) -> int | float:
    return sum(values) if integral else math.fsum(values)


def aggregate(rows: Iterable[Sequence[Value]], function: str, index: int | None) -> Value:
    """Aggregate column *index* of *rows* (every row when *index* is None: a row count)."""
    acc = Accumulator(function)
    for row in rows:
        acc.add(True if index is None else row[index])
    return acc.result()


def grouped(rows: Iterable[Sequence[Value]], key: int, measures: Sequence[tuple[str, int | None]],
            split: int | None = None) -> dict[tuple[Value, Value], list[Value]]:
    """Aggregate *measures* (function, column index or None for rows) per value of column *key*.

    With *split*, per pair of (key value, split value). Groups keep the order in which their first
    row comes; rows whose key (or split) cell is empty form no group.
    """
    groups: dict[tuple[Value, Value], list[Accumulator]] = {}
    for row in rows:
        group = (row[key], None if split is None else row[split])
        if group[0] is None or (split is not None and group[1] is None):
            continue
        accs = groups.get(group)
        if accs is None:
            accs = groups[group] = [Accumulator(function) for function, _ in measures]
        for acc, (_, index) in zip(accs, measures):
            acc.add(True if index is None else row[index])
    return {group: [acc.result() for acc in accs] for group, accs in groups.items()}
