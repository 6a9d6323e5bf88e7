"""The JSON Schema of report data files, for editors and other tools."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ..core.document_report import DocumentReport
from ..core.model import Report

SCHEMA_ID = "https://exporter.invalid/schema/report.json"


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) that a report data file must satisfy: one of the kinds."""
    schema = TypeAdapter(Report | DocumentReport).json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": ("A report: one YAML file in data/reports/, named <report-id>.yaml. Without `kind` it is a "
                        "market report; `kind: document` declares sections of blocks."),
    }
