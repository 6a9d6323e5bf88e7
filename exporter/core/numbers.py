"""How a number, date or text is shown to a reader: one `NumberFormat` per column or figure.

The DOCX and PDF show the text `NumberFormat.text` gives; the workbook keeps the real number or
date and gives its cell the matching number format (`exporter.render.xlsx`), so both read alike.
Numbers show thousands separators unless a format says otherwise. A percent format takes a
fraction (0.25 is shown as 25%), as spreadsheets do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

Value = str | int | float | dt.date | None

# Up to this many decimals are shown when a format does not say how many.
AUTO_DECIMALS = 2
MAX_DECIMALS = 6
NO_VALUE = "–"  # shown for a figure without a value (the mean of an empty table)


@dataclass(frozen=True)
class NumberFormat:
    decimals: int | None = None  # None: as many as the value needs, up to AUTO_DECIMALS
    currency: str | None = None  # an ISO 4217 code, written before the number: "EUR 1,250"
    percent: bool = False  # the value is a fraction, shown times 100 with "%"
    unit: str | None = None  # written after the number: "USD 3.5 billion"
    thousands: bool = True  # 1,250 rather than 1250 (off for years; percents never have them)
    locale: str | None = None  # a report's language ("de_DE"): its symbols and patterns (Babel); None: as below

    def localized(self, locale: str | None) -> NumberFormat:
        return self if locale is None or self.locale == locale else dataclasses.replace(self, locale=locale)

    def text(self, value: Value) -> str:
        """Return *value* as a reader sees it."""
        if value is None:
            return NO_VALUE
        if isinstance(value, str):
            return value
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=" ", timespec="minutes")
        if isinstance(value, dt.date):
            return short_date(value, self.locale) if self.locale else value.isoformat()
        if isinstance(value, bool):
            return "yes" if value else "no"
        if not math.isfinite(value):
            return NO_VALUE
        number = value * 100 if self.percent else value
        decimals = self.decimals if self.decimals is not None else needed_decimals(number, AUTO_DECIMALS)
        # Rounded half away from zero from the shortest decimal form of the value, as Excel and
        # LibreOffice show it: 2.5 is "3" and 0.125 is "0.13" there, where Python's format gives "2", "0.12".
        rounded = Decimal(repr(number)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        if rounded == 0:
            rounded = abs(rounded)  # -0.001 shows as 0.00, not -0.00
        if self.locale:
            return self._in_locale(rounded, decimals)
        separator = "," if self.thousands and not self.percent else ""
        shown = f"{rounded:{separator}.{decimals}f}"
        if shown.lstrip("-").strip("0.,") == "":  # -0.00 is 0.00
            shown = shown.lstrip("-")
        if self.percent:
            shown += "%"
        if self.currency:
            shown = f"{self.currency} {shown}"
        if self.unit:
            shown = f"{shown} {self.unit}"
        return shown


    def _in_locale(self, rounded: Decimal, decimals: int) -> str:
        """*rounded* (already rounded, percents times 100) in the locale's own symbols and patterns."""
        from babel import Locale
        from babel.numbers import parse_pattern

        locale = Locale.parse(self.locale)
        if self.currency:
            pattern = parse_pattern(locale.currency_formats["standard"].pattern)
        elif self.percent:
            pattern = parse_pattern(locale.percent_formats[None].pattern)
            rounded = rounded / 100  # the pattern multiplies by 100 itself
        else:
            pattern = parse_pattern(locale.decimal_formats[None].pattern)
        pattern.frac_prec = (decimals, decimals)
        if not self.thousands:
            pattern.grouping = (1000, 1000)  # never reached: no separators (years)
        shown = pattern.apply(rounded, locale, currency=self.currency, currency_digits=False,
                              decimal_quantization=True)
        return f"{shown} {self.unit}" if self.unit else shown


def short_date(value: dt.date, locale: str) -> str:
    """*value* as the locale writes a date in a table: "Nov 27, 2026", "27.11.2026"."""
    from babel.dates import format_date

    return format_date(value, "medium", locale=locale)


def long_date(value: dt.date, locale: str) -> str:
    """*value* as the locale writes a date in full: "November 27, 2026", "27. November 2026"."""
    from babel.dates import format_date

    return format_date(value, "long", locale=locale)


PLAIN = NumberFormat()
YEAR = NumberFormat(decimals=0, thousands=False)
_YEAR_NAME = re.compile(r"\byears?\b", re.IGNORECASE)


def needed_decimals(value: float, limit: int = MAX_DECIMALS) -> int:
    """Return the decimals *value* needs to show as written, at most *limit*."""
    if isinstance(value, int):
        return 0
    # Rounded to nine decimals first: a sum such as 0.1 + 0.2 (0.30000000000000004) needs one.
    text = repr(round(float(value), 9))
    if "e" in text or "n" in text:  # 1e-07, inf, nan
        return 0 if "e+" in text else limit
    return min(len(text.partition(".")[2].rstrip("0")), limit)


def column_format(name: str, kind: str, declared: NumberFormat | None = None) -> NumberFormat:
    """The format of a table column: the declared one, else thousands separators (none for years)."""
    if declared is not None:
        return declared
    if kind == "integer" and _YEAR_NAME.search(name):
        return YEAR  # 2024, not 2,024
    if kind == "integer":
        return NumberFormat(decimals=0)
    return PLAIN
