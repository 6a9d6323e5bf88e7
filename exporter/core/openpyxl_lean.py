"""Import openpyxl without NumPy: import this module before openpyxl.

openpyxl imports NumPy whenever it is installed (matplotlib, which draws the mail's chart, brings
it) only so that NumPy numbers pass as cell values. exporter never gives it any, and NumPy costs
every process that writes a workbook or a Word chart about 12 MiB and 50 ms (the 100,000-row sheet's
memory target, bench/tables.py). So NumPy is hidden for openpyxl's first import, and only then:

- a process that has NumPy loaded already keeps it, and openpyxl sees it as usual;
- NumPy stays importable afterwards (openpyxl then accepts plain Python numbers only, all we give);
- only while no other thread runs: a hidden module fails any import of it meanwhile.

It lives in core because both source (checking Excel templates) and render import openpyxl.
"""

from __future__ import annotations

import sys
import threading

__all__: list[str] = []


def _import_openpyxl() -> None:
    if "openpyxl" in sys.modules or "numpy" in sys.modules or threading.active_count() > 1:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # None: "import numpy" raises ImportError
    try:
        import openpyxl  # noqa: F401
    finally:
        if "numpy" in sys.modules and sys.modules["numpy"] is None:
            del sys.modules["numpy"]


_import_openpyxl()
