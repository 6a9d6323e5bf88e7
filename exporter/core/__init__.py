"""The types every stage shares: errors, the report model, the format-neutral document, formats,
ids, the workspace, the state database and log lines.

Imports nothing else of exporter's; no I/O beyond the state database and log handlers.
"""
