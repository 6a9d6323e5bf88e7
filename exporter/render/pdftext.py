"""Text operators written the way reportlab's text objects write them, without the text object.

reportlab's `PDFTextObject` (behind `Canvas.drawString` and platypus's paragraphs) is general: colours,
render modes, rises, shaping, bidi. For plain text in a TrueType font it writes a text origin, the
font's subset where it changes, and the escaped text: that is all these write, character for
character (tests/test_pdf_fast.py compares them with reportlab's).
"""

from __future__ import annotations

from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

__all__ = ["TextOperators", "string_operators"]


class TextOperators:
    """The operators reportlab's `PDFTextObject` writes for lines of plain text in one TrueType font.

    `code` starts with `BT` and the text origin; a caller appends `ET` and joins it with spaces, as
    `PDFTextObject.getCode` does.
    """

    __slots__ = ("code", "_font", "_doc", "_font_operators", "_subset")

    def __init__(self, font: TTFont, doc, font_operators: str, origin: str):
        self.code = ["BT", origin]
        self._font, self._doc, self._font_operators, self._subset = font, doc, font_operators, -1

    def move(self, dx: float) -> None:
        """`setXPos`: a `Td`, merged into the one just written as `moveCursor` merges it."""
        if -1e-6 <= dx <= 1e-6:
            return
        code, dy = self.code, 0.0
        if code[-1].endswith(" Td"):
            previous = code[-1].split()
            if len(previous) == 3:
                del code[-1]
            else:
                code[-1] = "".join(previous[:-4])
            dx += float(previous[-3])
            dy -= float(previous[-2])
        code.append(f"{fp_str(dx, -dy)} Td")

    def line(self, text: str) -> None:
        """`_textOut(text, 1)`: the text in its subsets (a subset's name set where it changes), then `T*`."""
        parts = []
        for subset, piece in self._font.splitString(text, self._doc):
            if subset != self._subset:
                parts.append(f"{self._font.getSubsetInternalName(subset, self._doc)} {self._font_operators}")
                self._subset = subset
            parts.append(f"({escapePDF(piece)}) Tj")
        self.code.append(f"{' '.join(parts)} T*")

    def spaced(self, text: str, word_space: float) -> None:
        self.code.append(f"{fp_str(word_space)} Tw")
        self.line(text)
        self.code.append("0 Tw")


def string_operators(canvas: Canvas, x: float, y: float, text: str) -> str | None:
    """What `canvas.drawString(x, y, text)` appends, or None where it is not plain text in a TrueType font.

    `drawString` with no mode, spacing, direction or shaping draws the text as it is, in the canvas's
    font, size and leading.
    """
    font = pdfmetrics.getFont(canvas._fontname)
    if type(font) is not TTFont or not canvas.bottomup or not isinstance(text, str):
        return None
    operators = TextOperators(font, canvas._doc, f"{fp_str(canvas._fontsize)} Tf {fp_str(canvas._leading)} TL",
                              f"1 0 0 1 {fp_str(x, y)} Tm")
    operators.line(text)
    operators.code.append("ET")
    return " ".join(operators.code)
