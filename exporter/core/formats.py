"""Output format names, their renderer modules and file extensions (import-light, for the CLI)."""

# format name -> (renderer module, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "docx": ("exporter.render.docx", "docx"),
    "xlsx": ("exporter.render.xlsx", "xlsx"),
    "pdf": ("exporter.render.pdf", "pdf"),
    "txt": ("exporter.render.native", "txt"),
}
DEFAULT_FORMATS = ("docx", "xlsx", "pdf")
