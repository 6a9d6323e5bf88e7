"""The PDF's paragraphs: platypus's `Paragraph`, with the shortcuts a report's plain text allows.

Each shortcut gives what platypus itself gives (tests/test_pdf_fast.py checks them against it):

- **Plain text skips the markup parser.** Text without a tag or an entity (most of a report) gets
  the one fragment the parser would make of it.
- **Lines are broken without per-word checks** a plain fragment never needs (soft hyphens,
  hyphenation, bidi, shaping).
- **Lines are remembered per width.** platypus wraps most paragraphs more than once at the same
  width (a table measures its cells, then wraps them again to draw them).
"""

from __future__ import annotations

import functools

from reportlab import platypus
from reportlab.lib.rl_accel import instanceStringWidthTTF
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus.paragraph import cleanBlockQuotedText, split as paragraph_split, strip as paragraph_strip

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
            if new <= limit or not line:
                if new > limit and style.splitLongWords and word_width > widths[min(number, last)]:
                    return None
                line.append(word)
                current = new
                continue
            if style.splitLongWords and word_width > widths[min(number, last)]:
                return None
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
