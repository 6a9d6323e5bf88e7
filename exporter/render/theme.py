"""The look, as renderers import it (it lives in `exporter.core.theme`, where theme files are read into it)."""

from ..core.theme import DEFAULT_THEME, PAGE_SIZES_MM, PdfFonts, Theme

__all__ = ["Theme", "PdfFonts", "DEFAULT_THEME", "PAGE_SIZES_MM"]
