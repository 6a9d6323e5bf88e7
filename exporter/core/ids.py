"""Identifiers: a report id, and the id of a published set (a report, or one of its variants).

Import-light (no pydantic): the command line's start-up path goes through here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ID_RE = re.compile(ID_PATTERN)
# Names Windows reserves for devices: a share that sales people open from Windows cannot hold them.
RESERVED_IDS = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}


def valid_id(value: str) -> bool:
    """Tell whether *value* may be a report id (and so a file name)."""
    return bool(ID_RE.match(value)) and value not in RESERVED_IDS


@dataclass(frozen=True, order=True)
class SetId:
    """A published set: a report's own set, or a variant's (``<report-id>.<variant-id>``).

    Report and variant ids cannot contain a dot, so the text form never collides with a report id.
    """

    report: str
    variant: str | None = None

    def __post_init__(self) -> None:
        if self.variant == "":
            raise ValueError("a variant id cannot be empty")

    def __str__(self) -> str:
        return f"{self.report}.{self.variant}" if self.variant else self.report

    @property
    def is_variant(self) -> bool:
        return self.variant is not None

    def with_variant(self, variant: str) -> SetId:
        return SetId(self.report, variant)

    def covers(self, other: SetId) -> bool:
        """Tell whether *other* is this set, or, for a report's own set, one of its variants."""
        return other == self or (not self.is_variant and other.report == self.report)

    @classmethod
    def parse(cls, text: str) -> SetId:
        """Read ``report`` or ``report.variant``; anything else is a `UsageError`."""
        report, dot, variant = text.partition(".")
        if not valid_id(report) or (dot and not valid_id(variant)):
            raise UsageError(f"invalid report id {text!r}")
        return cls(report, variant if dot else None)
