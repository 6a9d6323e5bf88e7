"""The JSON Schema of the canonical data format, for editors and other tools."""

from __future__ import annotations

from typing import Any

from ..core.model import Report

SCHEMA_ID = "https://exporter.invalid/schema/market-report.json"


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) that a report data file must satisfy."""
    schema = Report.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": "A market report: one YAML file in data/reports/, named <report-id>.yaml.",
    }
