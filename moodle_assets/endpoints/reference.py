"""What the spec model says about itself: the JSON Schema editors validate endpoint files
with, and the field table of docs/endpoints.md. Both come from the model's field docs, so
they cannot drift from what the loader accepts.

    python -m moodle_assets.endpoints.reference   # rewrites spec.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moodle_assets.common import field_table as common_field_table
from moodle_assets.endpoints.spec import EndpointSpec

SCHEMA_FILE = Path(__file__).with_name("spec.schema.json")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an endpoints file: a list of endpoints, or a mapping with an ``endpoints`` list."""
    one = EndpointSpec.model_json_schema(ref_template="#/$defs/{model}")
    defs = one.pop("$defs", {})
    defs["EndpointSpec"] = one
    endpoints = {"type": "array", "items": {"$ref": "#/$defs/EndpointSpec"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "moodle-assets endpoints",
        "description": "Moodle web-service endpoints harvested as Dagster assets (docs/endpoints.md).",
        "anyOf": [
            endpoints,
            {
                "type": "object",
                "properties": {"endpoints": endpoints},
                "required": ["endpoints"],
                "additionalProperties": False,
            },
        ],
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def field_table() -> str:
    """The markdown table of every top-level field, in the model's order."""
    return common_field_table(EndpointSpec)


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
