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

    __slots__ = ("function", "partials", "count", "best", "integral", "whole")

    def __init__(self, function: str):
        self.function = function
        self.partials: list[float] = []  # Shewchuk's non-overlapping partial sums: exact
        self.whole = 0  # the sum of integer values, exact in Python
        self.count = 0
        self.best: Value = None
        self.integral = True

    def add(self, value: Value) -> None:
        if value is None:
            return
        self.count += 1
        function = self.function
        if function in ("sum", "mean"):
            if isinstance(value, int):
                self.whole += value
            else:
                self.integral = False
                _add_exactly(self.partials, value)  # type: ignore[arg-type]  # numbers only (validated)
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
            return self.whole if self.integral else math.fsum([*self.partials, self.whole])
        if function == "mean":
            return math.fsum([*self.partials, self.whole]) / self.count if self.count else None
        return self.best


def _add_exactly(partials: list[float], x: float) -> None:
    """Add *x* to the partial sums whose exact total is the sum so far (the recipe math.fsum uses)."""
    i = 0
    for y in partials:
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo:
            partials[i] = lo
            i += 1
        x = hi
    partials[i:] = [x]


class Total:
    """One aggregate of a whole table, fed row by row: *function* of column *index* (None: rows)."""

    def __init__(self, function: str, index: int | None):
        self.index = index
        self.accumulator = Accumulator(function)

    def feed(self, row: Sequence[Value]) -> None:
        self.accumulator.add(True if self.index is None else row[self.index])

    def result(self) -> Value:
        return self.accumulator.result()


class Grouping:
    """*measures* (function, column index or None for rows) per value of column *key*, fed row by row.

    With *split*, per pair of (key value, split value). Groups keep the order in which their first
    row comes; an empty key (or split) cell is a group of its own, the value None, as a
    spreadsheet's pivot table keeps "(blank)", so that the groups add up to the whole table.
    """

    def __init__(self, key: int, measures: Sequence[tuple[str, int | None]], split: int | None = None):
        self.key, self.measures, self.split = key, tuple(measures), split
        self.groups: dict[tuple[Value, Value], list[Accumulator]] = {}

    def feed(self, row: Sequence[Value]) -> None:
        group = (row[self.key], None if self.split is None else row[self.split])
        accs = self.groups.get(group)
        if accs is None:
            accs = self.groups[group] = [Accumulator(function) for function, _ in self.measures]
        for acc, (_, index) in zip(accs, self.measures):
            acc.add(True if index is None else row[index])

    def result(self) -> dict[tuple[Value, Value], list[Value]]:
        return {group: [acc.result() for acc in accs] for group, accs in self.groups.items()}


def aggregate(rows: Iterable[Sequence[Value]], function: str, index: int | None) -> Value:
    """Aggregate column *index* of *rows* (every row when *index* is None: a row count)."""
    total = Total(function, index)
    for row in rows:
        total.feed(row)
    return total.result()
