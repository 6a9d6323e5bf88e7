"""Import openpyxl without NumPy and Pillow: import this module before openpyxl.

openpyxl imports NumPy whenever it is installed (matplotlib, which draws the mail's chart, brings
it) only so that NumPy numbers pass as cell values. exporter never gives it any, and NumPy costs
every process that writes a workbook or a Word chart about 12 MiB and 50 ms (the 100,000-row sheet's
memory target, bench/tables.py). It imports Pillow (2 MiB) for pictures, which only a theme's logo
and an Excel template holding pictures need: openpyxl gets a stand-in that imports Pillow the first
time it is used. So both are hidden for openpyxl's first import, and only then:

- a process that has NumPy or Pillow loaded already keeps it, and openpyxl sees it as usual;
- NumPy stays importable afterwards (openpyxl then accepts plain Python numbers only, all we give);
- only while no other thread runs: a hidden module fails any import of it meanwhile.

It lives in core because both source (checking Excel templates) and render import openpyxl.
"""

from __future__ import annotations

import importlib.util
import sys
import threading

__all__: list[str] = []

_HIDDEN = ("numpy", "PIL")


class _Pillow:
    """Pillow's `Image` module, imported when openpyxl first reads from it.

    openpyxl tests the module's truth before it reads or adds a picture (without Pillow it drops a
    loaded workbook's pictures), then uses `Image.open` and the `Image.Image` class.
    """

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, name: str):
        from PIL import Image

        return getattr(Image, name)


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
    if "PIL" in hidden and importlib.util.find_spec("PIL") is not None:
        from openpyxl.drawing import image
        from openpyxl.reader import drawings

        image.PILImage = drawings.PILImage = _Pillow()


_import_openpyxl()
