"""Clean text from data so that every output format can hold it.

This is the one place where XML-illegal characters are removed: DOCX and XLSX are XML, and
reportlab's PDF text goes through an XML-like parser, so all three share the same rule.
"""

from __future__ import annotations

import re
import unicodedata

# XML 1.0 allows TAB, LF, CR and everything from U+0020 except surrogates and U+FFFE/U+FFFF
# (as the inside of a regular expression's character class, for patterns built on it).
# openpyxl's own check misses U+FFFE/U+FFFF and lone surrogates, which then fail at save time.
NOT_XML_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML = re.compile(f"[{NOT_XML_CHARS}]")
# Data's text also loses DEL, which XML allows but no reader shows.
_ILLEGAL = re.compile(f"[{NOT_XML_CHARS}\x7f]")


def xml_safe(text: str) -> str:
    """*text* without the characters XML 1.0 cannot carry (for text made here, past `clean_text`)."""
    return _NOT_XML.sub("", text)


def xml_text(text: str) -> str:
    """*text* as element text, escaped as lxml escapes it (for XML written as text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def xml_attribute(text: str) -> str:
    """*text* as an attribute value, escaped as lxml escapes it."""
    return xml_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def clean_text(value: str) -> str:
    """Return *value* without XML-illegal characters, with newlines normalised and NFC applied."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _ILLEGAL.sub("", value)
    return unicodedata.normalize("NFC", value)
