"""Reading and checking source data: YAML with line numbers, validation into the model, CSV data
tables, glyph coverage, the JSON Schema. Every problem is located as ``FILE:LINE: field.path: problem``.

May import: core.
"""
