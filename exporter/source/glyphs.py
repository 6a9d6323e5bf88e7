"""Which characters the PDF's embedded font can draw, checked before anything is rendered.

reportlab draws a character its font lacks as an empty box, without an error. The PDF uses
DejaVu Sans (bundled with matplotlib): Latin, Greek, Cyrillic and many symbols, but no CJK. A
report whose text needs more is refused, naming the characters and the fields that hold them.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

# The faces the PDF renderer embeds; a character must be in all of them.
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf")


def font_folder() -> Path:
    """Matplotlib's bundled fonts, found without importing matplotlib (~0.2 s and ~28 MiB)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("matplotlib, which brings the fonts, is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


Fonts = tuple[Path, ...] | None  # the faces a theme embeds; None: DejaVu Sans


def default_fonts() -> tuple[Path, ...]:
    return tuple(font_folder() / name for name in FONT_FILES)


@functools.cache
def covered(fonts: Fonts = None) -> frozenset[int]:
    """Return the code points every embedded face has a glyph for, within the Basic Multilingual Plane.

    Beyond U+FFFF reportlab's text layer maps characters to wrong code points (copying or searching
    the PDF finds other text), so those count as missing even where the font has them.
    """
    from fontTools.ttLib import TTFont

    sets = []
    for path in fonts or default_fonts():
        with TTFont(path, lazy=True, fontNumber=0) as font:
            sets.append({c for c in font.getBestCmap() if c <= 0xFFFF})
    return frozenset(set.intersection(*sets))


def _strings(value, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), path + (name,))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _strings(item, path + (i,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, path + (key,))
            yield from _strings(item, path + (key,))
    elif isinstance(value, str):
        yield path, value


def undrawable(text: str, fonts: Fonts = None) -> str:
    """Return the characters of *text* the PDF font lacks, sorted, each once ("" when it has them all)."""
    have = covered(fonts)
    if have.issuperset(map(ord, text)):
        return ""
    # Line breaks and tabs are layout, not glyphs.
    return "".join(sorted({ch for ch in text if ord(ch) not in have and ch not in "\n\t"}))


def missing_glyphs(model: BaseModel, fonts: Fonts = None) -> list[tuple[tuple, str]]:
    """Return (field path, characters) for each text field holding characters the PDF font lacks."""
    return [(path, missing) for path, text in _strings(model, ()) if (missing := undrawable(text, fonts))]


def describe(chars: str, limit: int = 8) -> str:
    shown = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in chars[:limit])
    more = f" and {len(chars) - limit} more" if len(chars) > limit else ""
    return f"characters the PDF font cannot draw: {shown}{more}"
