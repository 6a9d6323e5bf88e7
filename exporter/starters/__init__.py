"""Commented starter report files that `exporter new` copies into the reports folder."""
