"""exporter: turn canonical market-report data into Word, Excel and PDF deliverables."""

__version__ = "0.1.0"
