"""Import openpyxl without NumPy and Pillow: import this module before openpyxl.

openpyxl imports NumPy whenever it is installed (matplotlib, which draws the mail's chart, brings
it) only so that NumPy numbers pass as cell values. exporter never gives it any, and NumPy costs
every process that writes a workbook or a Word chart about 12 MiB and 50 ms (the 100,000-row sheet's
memory target, bench/tables.py). It imports Pillow (2 MiB) for pictures, which only a theme's logo
and an Excel template holding pictures need: `with_images()` gives it Pillow then. So both are
hidden for openpyxl's first import, and only then:

- a process that has NumPy or Pillow loaded already keeps it, and openpyxl sees it as usual;
- both stay importable afterwards (openpyxl then accepts plain Python numbers only, all we give);
- only while no other thread runs: a hidden module fails any import of it meanwhile.

It lives in core because both source (checking Excel templates) and render import openpyxl.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["with_images"]

_HIDDEN = ("numpy", "PIL")


def _import_openpyxl() -> None:
    if "openpyxl" in sys.modules or threading.active_count() > 1:
        return
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # None: "import numpy" raises ImportError
    try:
        import openpyxl  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def with_images() -> None:
    """Give openpyxl Pillow, which it needs to add a picture to a sheet or to keep a template's.

    openpyxl looks for it once, at import: `drawing.image` (adding one) and `reader.drawings`
    (which drops a loaded workbook's pictures without it).
    """
    from openpyxl.drawing import image
    from openpyxl.reader import drawings

    if not image.PILImage:
        from PIL import Image

        image.PILImage = drawings.PILImage = Image


_import_openpyxl()
