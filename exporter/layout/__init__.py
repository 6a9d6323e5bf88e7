"""Layouts: a report's model (and its derived figures and tables) as a format-neutral `Document`.

May import: source, core.
"""
