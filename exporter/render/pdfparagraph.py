"""The PDF's paragraphs: platypus's `Paragraph`, with the shortcuts a report's plain text allows.

Each shortcut gives what platypus itself gives (tests/test_pdf_fast.py checks them against it):

- **Plain text skips the markup parser.** Text without a tag or an entity (most of a report) gets
  the one fragment the parser would make of it.
- **Lines are broken without per-word checks** a plain fragment never needs (soft hyphens,
  hyphenation, bidi, shaping).
- **Lines are remembered per width.** platypus wraps most paragraphs more than once at the same
  width (a table measures its cells, then wraps them again to draw them).
- **Plain lines are written as PDF operators directly**: the same operators, in the same order and
  the same number format, as platypus's `drawPara` writes through a text object and the canvas's
  state stack, which cost a sixth of a render.
"""

from __future__ import annotations

import functools

from reportlab import platypus
from reportlab.lib.colors import CMYKColor, Color
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.rl_accel import fp_str, instanceStringWidthTTF
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus.paragraph import (
    cleanBlockQuotedText,
    paraFontSizeHeightOffset,
    split as paragraph_split,
    strip as paragraph_strip,
)

from .pdftext import TextOperators

__all__ = ["Paragraph", "clean", "plain_fragment"]


class Paragraph(platypus.Paragraph):
    """platypus's paragraph with the shortcuts above; what it draws is platypus's.

    Remembering lines: a frame tries a flowable, then places it, and a table measures its cells,
    then wraps them again to draw them: before this, half of the PDF's line breaking was done twice.
    The lines depend only on the text, style and width.
    """

    _wrapped: tuple | None = None

    def __init__(self, text, style, *args, **kwargs):
        # Text without markup (no tag, no entity: most of a report) skips platypus's markup parser,
        # a tenth of a render: one fragment in the style's font, as the parser would make it.
        if isinstance(text, str) and not args and not kwargs and "<" not in text and "&" not in text:
            plain = clean(text)
            if plain:
                text, kwargs["frags"] = plain, [plain_fragment(style).clone(text=plain, link=[], us_lines=[])]
        super().__init__(text, style, *args, **kwargs)

    def breakLines(self, width):
        lines = self._plain_lines(width)
        return super().breakLines(width) if lines is None else lines

    def _plain_lines(self, width):
        """platypus's line breaking of one plain fragment, or None where it would do more than place words.

        The same greedy fit as `Paragraph.breakLines` (words of `split`, the style's space shrinkage,
        the same widths in the same order of additions), without its per-word checks for soft
        hyphens, hyphenation, bidi and shaping, which a plain fragment in a plain style never needs.
        A word wider than its line goes back to platypus, which splits it.
        """
        style, frags = self.style, self.frags
        if (len(frags) != 1 or self.bulletText or style.wordWrap or style.shaping or style.endDots
                or style.hyphenationLang or style.uriWasteReduce or style.embeddedHyphenation):
            return None
        fragment = frags[0]
        text = getattr(fragment, "text", None)
        if (not isinstance(text, str) or "\xad" in text or hasattr(fragment, "cbDefn")
                or hasattr(fragment, "backColor")):
            return None
        font_name, size = fragment.fontName, fragment.fontSize
        font = pdfmetrics.getFont(font_name)
        if type(font) is not TTFont:
            return None
        ascent, descent = pdfmetrics.getAscentDescent(font_name, size)
        widths = list(width) if isinstance(width, (tuple, list)) else [width]
        last = len(widths) - 1
        encoding = self.encoding
        space = instanceStringWidthTTF(font, " ", size, encoding)
        shrink = style.spaceShrinkage * space
        words = paragraph_split(paragraph_strip(text))
        lines: list[tuple[float, list[str]]] = []
        line: list[str] = []
        current, number, room, widest = -space, 0, widths[0], 0
        # Words recur (a document's vocabulary is a few hundred words): their widths are remembered per
        # document on a canvas that offers `word_widths` (pdflater.LaterCanvas), else per paragraph.
        memo = getattr(getattr(self, "canv", None), "word_widths", {}).setdefault((font_name, size, encoding), {})
        for word in words:
            word_width = memo.get(word)
            if word_width is None:
                word_width = memo[word] = instanceStringWidthTTF(font, word, size, encoding)
            new = current + space + word_width
            limit = room + shrink * len(line)
            if new > limit and style.splitLongWords and word_width > room:
                return None
            if new <= limit or not line:
                line.append(word)
                current = new
                continue
            widest = max(widest, current)
            lines.append((room - current, line))
            line, current = [word], word_width
            number += 1
            room = widths[min(last, number)]
        if line:
            widest = max(widest, current)
            lines.append((room - current, line))
        self._width_max, self.height = widest, 0
        self._splitLongWordCount = self._hyphenations = 0
        return fragment.clone(kind=0, lines=lines, ascent=ascent, descent=descent, fontSize=size)

    def wrap(self, availWidth, availHeight):
        if self._wrapped is not None and self._wrapped[0] == availWidth:
            _, self.width, self.height, self.blPara, self._wrapWidths = self._wrapped
            return self.width, self.height
        size = super().wrap(availWidth, availHeight)
        if getattr(self, "width", None) == availWidth:  # not when the width was too small to set a line in
            self._wrapped = (availWidth, self.width, self.height, self.blPara, self._wrapWidths)
        return size

    def draw(self):
        code = self._plain_code(self.canv)
        if code is None:
            super().draw()
        else:
            self.canv._code.extend(code)

    def drawOn(self, canvas, x, y, _sW=0):
        # platypus's drawOn saves the canvas's state, translates, draws and restores: the same
        # operators, without the state stack, for a paragraph whose drawing never reads the canvas's
        # state (a subclass's own draw may: a heading's bookmark reads the current matrix).
        if type(self).draw is Paragraph.draw and not getattr(self, "_showBoundary", None):
            code = self._plain_code(canvas)
            if code is not None:
                canvas._code.extend(("q", f"{fp_str(1, 0, 0, 1, self._hAlignAdjust(x, _sW), y)} cm", *code, "Q"))
                return
        super().drawOn(canvas, x, y, _sW)

    def _plain_code(self, canvas) -> list[str] | None:
        """The operators platypus's `drawPara` writes for these lines, or None where it would do more.

        Lines of one fragment (`blPara.kind == 0`) in a TrueType font, without a border, background,
        bullet, link, underline, per-line offsets or right-to-left text, in an opaque colour the canvas
        has no reason to change: what `drawPara` writes is then `q`, the colour, one text object and
        `Q`, and it changes nothing on the canvas that outlives its `Q` but the fonts' subsets.
        """
        blPara, style = getattr(self, "blPara", None), self.style
        if (blPara is None or blPara.kind != 0 or not blPara.lines or getattr(self, "debug", 0) or self.bulletText
                or style.backColor or (style.borderColor and style.borderWidth) or hasattr(self, "_offsets")
                or style.wordWrap == "RTL" or style.shaping or style.alignment not in _LINE_OPERATORS
                or getattr(blPara, "us_lines", True) or getattr(blPara, "link", True) or not canvas.bottomup
                or getattr(canvas, "_enforceColorSpace", None)):
            return None
        color = blPara.textColor
        if not isinstance(color, Color) or isinstance(color, CMYKColor):
            return None
        alpha = getattr(color, "alpha", None)
        if alpha is not None and canvas._extgstate.getValue("ca") != alpha:
            return None
        font = pdfmetrics.getFont(blPara.fontName)
        if type(font) is not TTFont:
            return None
        leading = style.leading
        auto = getattr(self, "autoLeading", getattr(style, "autoLeading", ""))
        if auto == "max":
            leading = max(leading, blPara.ascent - blPara.descent)
        elif auto == "min":
            leading = blPara.ascent - blPara.descent
        if alpha is not None:
            canvas._doc.ensureMinPdfVersion("transparency")
        top = self.height - (blPara.fontSize if paraFontSizeHeightOffset else getattr(blPara, "ascent", blPara.fontSize))
        text = TextOperators(font, canvas._doc, f"{fp_str(blPara.fontSize)} Tf {fp_str(leading)} TL",
                     f"1 0 0 1 {fp_str(style.leftIndent, top)} Tm")
        draw_line = _LINE_OPERATORS[style.alignment]
        lines = blPara.lines
        last_index = len(lines) - 1
        justify_last = not getattr(self, "_JustifyLast", False)
        words_on_last = style.justifyLastLine
        offset = style.firstLineIndent
        for index, (extra, words) in enumerate(lines):
            last = justify_last and index == last_index
            if last and words_on_last and len(words) > words_on_last:
                last = False
            draw_line(text, offset if index == 0 else 0, extra, words, last)
        text.code.append("ET")
        return ["q", f"{fp_str(color.red, color.green, color.blue)} rg", " ".join(text.code), "Q"]


# platypus's _leftDrawParaLine, _centerDrawParaLine, _rightDrawParaLine and _justifyDrawParaLine.


def _spaces(words: list[str], text: str) -> int:
    return len(words) + text.count("\xa0") - 1


def _left(text: TextOperators, offset: float, extra: float, words: list[str], last: bool) -> None:
    _from_offset(text, offset, extra, words, simple=extra > -1e-8)


def _justify(text: TextOperators, offset: float, extra: float, words: list[str], last: bool) -> None:
    _from_offset(text, offset, extra, words, simple=-1e-8 < extra <= 1e-8 or (last and extra > -1e-8))


def _from_offset(text: TextOperators, offset: float, extra: float, words: list[str], *, simple: bool) -> None:
    """A line from *offset*, its *extra* room spread over its spaces unless it is *simple* (or has none)."""
    line = " ".join(words)
    text.move(offset)
    spaces = 0 if simple else _spaces(words, line)
    if spaces <= 0:
        text.line(line)
    else:
        text.spaced(line, extra / spaces)
    text.move(-offset)


def _center(text: TextOperators, offset: float, extra: float, words: list[str], last: bool, share: float = 0.5) -> None:
    line = " ".join(words)
    spaces = 0 if extra > -1e-8 else _spaces(words, line)
    if spaces <= 0:
        move = offset + share * extra
        text.move(move)
        text.line(line)
    else:  # the word spacing set before the move, as platypus sets it
        move = offset
        text.code.append(f"{fp_str(extra / spaces)} Tw")
        text.move(move)
        text.line(line)
        text.code.append("0 Tw")
    text.move(-move)


def _right(text: TextOperators, offset: float, extra: float, words: list[str], last: bool) -> None:
    _center(text, offset, extra, words, last, share=1.0)


_LINE_OPERATORS = {TA_LEFT: _left, TA_CENTER: _center, TA_RIGHT: _right, TA_JUSTIFY: _justify}


def clean(text: str) -> str:
    """platypus's `cleanBlockQuotedText`: the text's words, one space between them.

    Python's `str.split()` splits at the same whitespace as platypus except at a no-break space
    (platypus keeps it in the word) and a zero-width space (platypus strips it from a line's ends):
    text with either takes platypus's own, five times slower, way.
    """
    if "\xa0" in text or "\u200b" in text:
        return cleanBlockQuotedText(text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=64)
def plain_fragment(style: ParagraphStyle):
    """The fragment platypus's parser makes of plain text in *style* (its text aside)."""
    return platypus.Paragraph("x", style).frags[0]
