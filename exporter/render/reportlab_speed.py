"""Import this before reportlab.graphics: two process-wide reportlab settings that make a PDF faster.

- **Shape checks off.** Every attribute set on a chart's shapes and widgets is checked against its
  declared type unless `rl_config.shapeChecking` is off when reportlab.graphics is first imported
  (the check is built into the classes then): a third of a chart's drawing time, for a check
  reportlab's settings call a help while developing. vectorchart's assignments are fixed, and the
  tests draw every chart kind and read the PDF back.
- **Fast compression.** reportlab deflates every stream (pages, forms, font subsets) at zlib's
  default level 6; level 1 takes half the time for files about 4 % larger (the shipped report:
  94 → 98 KB, 1.2 ms of 27 saved). The pages are the same: only the streams' encoding differs.

Nothing else in exporter uses reportlab, so the settings are the process's.
"""

from __future__ import annotations

import zlib

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc

__all__ = ["LEVEL"]

LEVEL = 1  # zlib's fastest: streams are mostly text operators and font tables, which deflate well at any level

rl_config.shapeChecking = 0


class _FastDeflate(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's FlateDecode filter at LEVEL."""

    def encode(self, text):
        if isinstance(text, str):
            text = text.encode("utf8")
        return zlib.compress(text, LEVEL)


# Looked up at call time by pdfdoc (pages, forms) and ttfonts (font subsets, their ToUnicode maps).
pdfdoc.PDFZCompress = _FastDeflate()
