"""Which characters the PDF's embedded font can draw, checked before anything is rendered.

reportlab draws a character its font lacks as an empty box, without an error. The PDF uses
DejaVu Sans (bundled with matplotlib): Latin, Greek, Cyrillic and many symbols, but no CJK. A
report whose text needs more is refused, naming the characters and the fields that hold them.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from ..core.theme import FontSet
from .cmap import code_points

# The faces the PDF renderer embeds; a character must be in all of them.
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf")


def font_folder() -> Path:
    """Matplotlib's bundled fonts, found without importing matplotlib (~0.2 s and ~28 MiB)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("matplotlib, which brings the fonts, is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


Fonts = FontSet | None  # the faces and fallbacks a theme embeds; None: DejaVu Sans alone


def default_fonts() -> tuple[Path, ...]:
    return tuple(font_folder() / name for name in FONT_FILES)


@functools.cache
def covered(fonts: tuple[Path, ...] | None = None) -> frozenset[int]:
    """Return the code points every embedded face has a glyph for, within the Basic Multilingual Plane.

    Beyond U+FFFF reportlab's text layer maps characters to wrong code points (copying or searching
    the PDF finds other text), so those count as missing even where the font has them.
    """
    sets = [_code_points(path) for path in fonts or default_fonts()]
    return frozenset(set.intersection(*sets))


def _code_points(path: Path) -> set[int]:
    found = code_points(path)  # the common cmap formats, read directly: fontTools costs ~1.5 MiB a face
    if found is not None:
        return found
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return {c for c, name in font.getBestCmap().items() if c <= 0xFFFF and name != ".notdef"}  # as code_points


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


@functools.cache
def drawable(fonts: Fonts = None) -> frozenset[int]:
    """The code points the PDF can draw: in every face, or in one of the fallbacks."""
    if fonts is None:
        return covered()
    have = covered(fonts.faces)
    for fallback in fonts.fallbacks:
        have = have | covered((fallback,))
    return have


def undrawable(text: str, fonts: Fonts = None) -> str:
    """Return the characters of *text* the PDF fonts lack, sorted, each once ("" when they have them all)."""
    have = drawable(fonts)
    if have.issuperset(map(ord, text)) and not _RIGHT_TO_LEFT.search(text):
        return ""
    # Line breaks and tabs are layout, not glyphs.
    return "".join(sorted({ch for ch in text if (ord(ch) not in have or _RIGHT_TO_LEFT.match(ch)) and ch not in "\n\t"}))


def missing_glyphs(model: BaseModel, fonts: Fonts = None) -> list[tuple[tuple, str]]:
    """Return (field path, characters) for each text field holding characters the PDF font lacks."""
    return [(path, missing) for path, text in _strings(model, ()) if (missing := undrawable(text, fonts))]


def describe(chars: str, limit: int = 8) -> str:
    shown = ", ".join(f"'{ch}' (U+{ord(ch):04X})" for ch in chars[:limit])
    more = f" and {len(chars) - limit} more" if len(chars) > limit else ""
    if any(_RIGHT_TO_LEFT.match(ch) for ch in chars):
        return f"right-to-left text (Hebrew, Arabic, …) is not supported in the PDF: {shown}{more}"
    return f"characters the PDF font cannot draw: {shown}{more}"


# Letters of right-to-left scripts: reportlab would set them left to right and unshaped, which reads
# wrong without an error, so they are refused (bidi classes R and AL: Hebrew, Arabic, Syriac, Thaana, …).
_RIGHT_TO_LEFT = re.compile("[" + "".join(
    re.escape(chr(c)) for c in range(0x0590, 0x0900) if unicodedata.bidirectional(chr(c)) in ("R", "AL")) +
    "\ufb1d-\ufdff\ufe70-\ufefc]")
