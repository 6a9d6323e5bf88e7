"""The output formats: one record per format (import-light, so the CLI can list them cheaply)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class Format:
    name: str  # what users write: `-f docx`, `formats: [docx]`
    extension: str
    mime_type: str
    label: str  # what a reader calls it: "Word"
    renderer: str  # the module whose ``render(job) -> bytes`` writes it, imported when first used

    @property
    def mime_parts(self) -> tuple[str, str]:
        maintype, subtype = self.mime_type.split("/", 1)
        return maintype, subtype


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("docx", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word",
               "exporter.render.docx"),
        Format("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel",
               "exporter.render.xlsx"),
        Format("pdf", "pdf", "application/pdf", "PDF", "exporter.render.pdf"),
        Format("txt", "txt", "text/plain", "Text", "exporter.render.native"),
    )
}
DEFAULT_FORMATS = ("docx", "xlsx", "pdf")


def get_format(name: str) -> Format:
    """Return the record of format *name*; an unknown name is a `UsageError` naming the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r} (known: {', '.join(sorted(FORMATS))})") from None


def check_formats(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return *formats* without duplicates (the defaults when empty); an unknown one is a `UsageError`."""
    formats = tuple(dict.fromkeys(formats or DEFAULT_FORMATS))
    for name in formats:
        get_format(name)
    return formats
