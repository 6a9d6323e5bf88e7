"""Import this before reportlab.graphics: process-wide changes to reportlab that make a PDF faster.

- **Shape checks off.** Every attribute set on a chart's shapes and widgets is checked against its
  declared type unless `rl_config.shapeChecking` is off when reportlab.graphics is first imported
  (the check is built into the classes then): a third of a chart's drawing time, for a check
  reportlab's settings call a help while developing. vectorchart's assignments are fixed, and the
  tests draw every chart kind and read the PDF back.
- **Fast compression, binary streams.** reportlab deflates every stream (pages, font subsets) with
  zlib at its default level 6. ISA-L's deflate (python-isal) at level 1 writes the same Flate format
  in a sixth of the time of zlib's level 1 and about half a tenth of level 6, for streams about 7 %
  larger than level 6 (the shipped report's 155 KB of streams: 0.25 ms against 1.4 ms and 2.4 ms).
  reportlab also writes page streams as ASCII85 text, a quarter larger than the binary they encode
  and written out through a slow text codec: binary now (about 0.4 ms). The pages are the same: only
  the streams' encoding differs.
- **Writing the file.** `pdfdoc.format` turns each of the file's few thousand names and numbers into
  bytes through a chain of checks; names and numbers are now answered first, and `PDFName` is
  memoized. The same bytes (tested against reportlab's own functions).
- **Splitting text into font subsets.** `TTFont.splitString` looks every character up in a Python
  loop; a string whose characters all have their place in the first subset already is now
  translated in one call. The same subsets and codes (property-tested against reportlab's own).
- **Chart properties.** An item of a property collection (a bar's label) looks a property up
  through an exception reportlab raises and catches each time; now without it. The same values.

The replaced functions are reportlab 5.1's (setup.cfg pins `>=5.1,<6`; the tests compare each with
the original). Nothing else in exporter uses reportlab (the Word and Excel renderers measure text
with core.helvetica's table of reportlab's widths), so the changes are the process's. `useA85` also
writes a theme's logo as binary.
"""

from __future__ import annotations

import functools
import itertools
import sys
import warnings

from isal import isal_zlib
from reportlab import rl_config
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase import pdfdoc, ttfonts

__all__ = ["LEVEL"]

LEVEL = 1  # ISA-L's levels are 0-3; 1 deflates about as well as zlib's 1 (0 is a tenth larger)

rl_config.useA85 = 0  # streams as binary, not ASCII85 text
if "reportlab.graphics.shapes" in sys.modules:  # too late: the shapes were built with their checks
    warnings.warn("reportlab.graphics was imported before exporter.render.reportlab_speed: chart shapes keep "
                  "their attribute checks (slower, the same pages)", RuntimeWarning, stacklevel=2)
rl_config.shapeChecking = 0  # before reportlab.graphics is first imported, just below

from reportlab.graphics import widgetbase  # noqa: E402 -- after the setting above


class _FastDeflate(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's FlateDecode filter, by ISA-L at LEVEL (a zlib stream, as PDF's FlateDecode reads)."""

    def encode(self, text):
        if isinstance(text, str):
            text = text.encode("utf8")
        return isal_zlib.compress(text, LEVEL)


# Looked up at call time by pdfdoc (pages, forms) and ttfonts (font subsets, their ToUnicode maps).
pdfdoc.PDFZCompress = _FastDeflate()


# --- writing the file: the same bytes, fewer steps -----------------------------------------------

_reportlab_format = pdfdoc.format
_encoded: dict[str, bytes] = {}  # names and keywords: a few hundred, met thousands of times in a file
_ENCODED_MAX = 4096  # short strings kept, so the memo stays under a megabyte whatever the documents hold


def _format(element, document, toplevel=0):
    """pdfdoc.format, with its commonest elements (names, numbers) answered without its chain of checks."""
    kind = type(element)
    if kind is str:
        encoded = _encoded.get(element)
        if encoded is None:
            encoded = element.encode("extpdfdoc")
            if len(element) <= 64 and len(_encoded) < _ENCODED_MAX:
                _encoded[element] = encoded
        return encoded
    if kind is float or kind is int:
        return fp_str(element).encode("ascii")  # fp_str writes ASCII, which the pdfdoc codec leaves as is
    return _reportlab_format(element, document, toplevel)


pdfdoc.format = _format
pdfdoc.PDFName = functools.lru_cache(maxsize=1024)(pdfdoc.PDFName)


# --- text: a string of characters already placed in the first subset ------------------------------

_reportlab_split = ttfonts.TTFont.splitString


class _FirstSubset:
    """A document's characters placed in a font's first subset: the table a string is translated with."""

    __slots__ = ("seen", "table", "chars")

    def __init__(self) -> None:
        self.seen = 0  # entries of the state's assignments taken in (it only grows, in insertion order)
        self.table: dict[int, int] = {}
        self.chars: set[str] = set()

    def update(self, assignments: dict[int, int]) -> None:
        for code, n in itertools.islice(assignments.items(), self.seen, None):
            if n < 256:
                self.table[code] = n
                self.chars.add(chr(code))
                if code == 32:  # splitString draws a no-break space as a space
                    self.table[0xA0] = n
                    self.chars.add("\xa0")
        self.seen = len(assignments)


def _split_string(self, text, doc, encoding="utf-8"):
    """TTFont.splitString, answered by one `str.translate` when every character is in the first subset already.

    reportlab looks each character up in a Python loop (a tenth of the PDF's drawing); most strings of
    a report are made of characters met before. Any other string goes the loop's way, which places
    new characters.
    """
    state = self.state.get(doc)
    if state is not None and type(text) is str and text:
        first = state.__dict__.get("_first_subset")
        if first is None:
            first = state._first_subset = _FirstSubset()
        if first.seen != len(state.assignments):
            first.update(state.assignments)
        if first.chars.issuperset(text):
            return [(0, text.translate(first.table).encode("latin-1"))]
    return _reportlab_split(self, text, doc, encoding)


ttfonts.TTFont.splitString = _split_string


# --- charts: a property looked up in a collection -------------------------------------------------


def _wrapper_class(collection, klass):
    """reportlab's class for one item of a property collection, with a lookup that raises nothing.

    An item (`bars.barLabels[(0, 3)]`) finds a property it does not hold in the items of shorter
    index, then in the collection: reportlab first tries the item class's own `__getattr__`, and
    when the class has none (every class a chart uses) the exception it raises and catches costs
    more than the lookup. Such classes go straight to the same search.
    """
    wrapper = _reportlab_wrapper_class(collection, klass)
    if not hasattr(klass, "__getattr__"):
        wrapper.__getattr__ = _inherited
    return wrapper


def _inherited(item, name):
    parent = item.__propholder_parent__()
    children = parent._children
    index = item.__propholder_index__
    while index:
        if index in children:
            return getattr(children[index], name)
        index = index[:-1]
    return getattr(parent, name)


_reportlab_wrapper_class = widgetbase.TypedPropertyCollection.wKlassFactory
widgetbase.TypedPropertyCollection.wKlassFactory = _wrapper_class
