"""Reproducible Office Open XML packages (DOCX, XLSX), shared by the renderers that write them.

python-docx and openpyxl stamp every zip entry with the wall clock; rewriting the package with
fixed entry dates and a fixed order makes equal input give equal bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Mapping

# The range a zip entry's DOS date can hold.
ZIP_EPOCH = dt.datetime(1980, 1, 1)
ZIP_END = dt.datetime(2107, 12, 31, 23, 59, 58)
CONTENT_TYPES = "[Content_Types].xml"


def utc_naive(when: dt.datetime) -> dt.datetime:
    """Return *when* in UTC without tzinfo, the form OOXML properties and zip dates take."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when


def reproducible_zip(package: bytes, when: dt.datetime, *, replace: Mapping[str, bytes] | None = None) -> bytes:
    """Rewrite *package* with all entries dated *when*, content types first and the rest sorted.

    *replace* maps entry names to new contents.
    """
    replace = replace or {}
    stamp = min(max(utc_naive(when), ZIP_EPOCH), ZIP_END).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        # Content types first, as Office writes it: some readers sniff the package type from it.
        for name in sorted(source.namelist(), key=lambda name: (name != CONTENT_TYPES, name)):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0  # the same bytes whichever OS renders
            info.external_attr = 0
            target.writestr(info, replace[name] if name in replace else source.read(name))
    return out.getvalue()
