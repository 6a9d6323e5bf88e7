"""The code points a TrueType font maps to a glyph, read straight from its `cmap` table.

fontTools gives the same answer (`TTFont.getBestCmap`) but builds glyph names for every glyph
and a name for every code point on the way: about 6 MiB that stay in the process for the four
DejaVu faces, the biggest part of the 100,000-row workbook's peak memory (bench/tables.py). Only
the common subtable formats are read here (4: the Basic Multilingual Plane; 12: all of Unicode),
from the subtable fontTools would pick; `code_points` returns None for anything else (other
formats, CFF collections, damaged tables), and the caller asks fontTools.

The OpenType specification, "cmap — Character to Glyph Index Mapping Table", describes the layout.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["code_points", "outlines"]

# The subtables fontTools' getBestCmap prefers, best first: (platform, encoding).
PREFERRED = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))
BMP_END = 0xFFFF


def code_points(path: Path, *, limit: int = BMP_END) -> set[int] | None:
    """Return the code points up to *limit* that the font at *path* (the first font of a collection)
    maps to a glyph other than .notdef; None when the table is of a kind read only by fontTools."""
    try:
        with open(path, "rb") as file:
            table = _cmap_table(file)
        if table is None:
            return None
        return _mapped(table, limit)
    except (struct.error, IndexError, ValueError):
        return None


def outlines(path: Path) -> str | None:
    """The outlines of the font at *path* (the first font of a collection), from its header and table list:
    "glyf" (TrueType), "cff" (PostScript) or "woff" (a web font, packed); None when the file does not say."""
    try:
        with open(path, "rb") as file:
            head = file.read(4)
            if head in (b"wOFF", b"wOF2"):
                return "woff"
            file.seek(0)
            tables = _tables(file)
    except (struct.error, OSError):
        return None
    if tables is None:
        return "cff" if head == b"OTTO" else None
    return "glyf" if b"glyf" in tables else "cff"


def _tables(file) -> dict[bytes, tuple[int, int]] | None:
    """A TrueType font's table directory: tag → (offset, length); None for any other kind of file."""
    head = file.read(12)
    if head[:4] == b"ttcf":  # a collection: the first font's table directory
        file.seek(12)
        (offset,) = struct.unpack(">I", file.read(4))
        file.seek(offset)
        head = file.read(12)
    if head[:4] not in (b"\x00\x01\x00\x00", b"true"):
        return None  # CFF outlines, WOFF, …
    (count,) = struct.unpack(">H", head[4:6])
    directory = file.read(16 * count)
    tables = {}
    for i in range(count):
        tag, _checksum, start, length = struct.unpack_from(">4sIII", directory, 16 * i)
        tables[tag] = (start, length)
    return tables


def _cmap_table(file) -> bytes | None:
    tables = _tables(file)
    if tables is None or b"cmap" not in tables:
        return None
    start, length = tables[b"cmap"]
    file.seek(start)
    data = file.read(length)
    return data if len(data) == length else None


def _mapped(cmap: bytes, limit: int) -> set[int] | None:
    _version, count = struct.unpack_from(">HH", cmap, 0)
    subtables: dict[tuple[int, int], int] = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
        subtables.setdefault((platform, encoding), offset)
    for key in PREFERRED:
        if key in subtables:
            offset = subtables[key]
            (fmt,) = struct.unpack_from(">H", cmap, offset)
            if fmt == 4:
                return _format_4(cmap, offset, limit)
            if fmt == 12:
                return _format_12(cmap, offset, limit)
            return None
    return None


def _format_4(cmap: bytes, at: int, limit: int) -> set[int]:
    (segments,) = struct.unpack_from(">H", cmap, at + 6)
    segments //= 2
    ends = struct.unpack_from(f">{segments}H", cmap, at + 14)
    starts = struct.unpack_from(f">{segments}H", cmap, at + 16 + 2 * segments)
    deltas = struct.unpack_from(f">{segments}h", cmap, at + 16 + 4 * segments)
    range_at = at + 16 + 6 * segments
    range_offsets = struct.unpack_from(f">{segments}H", cmap, range_at)
    found: set[int] = set()
    for i, (start, end, delta, range_offset) in enumerate(zip(starts, ends, deltas, range_offsets)):
        end = min(end, limit)
        if range_offset == 0:
            found.update(c for c in range(start, end + 1) if (c + delta) & 0xFFFF and c != 0xFFFF)
            continue
        base = range_at + 2 * i + range_offset
        for c in range(start, end + 1):
            (glyph,) = struct.unpack_from(">H", cmap, base + 2 * (c - start))
            if glyph and (glyph + delta) & 0xFFFF and c != 0xFFFF:
                found.add(c)
    return found


def _format_12(cmap: bytes, at: int, limit: int) -> set[int]:
    (groups,) = struct.unpack_from(">I", cmap, at + 12)
    found: set[int] = set()
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", cmap, at + 16 + 12 * i)
        if start > limit:
            continue
        first = start if glyph else start + 1  # glyph 0 is .notdef
        found.update(range(first, min(end, limit) + 1))
    return found
