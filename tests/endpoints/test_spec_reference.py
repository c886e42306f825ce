"""The spec model is the one description of the format: the JSON Schema shipped for editors
and the field table of docs/endpoints.md are generated from it and must be current."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from moodle_assets.endpoints.duckdb_types import DUCKDB_TYPES, is_duckdb_type
from moodle_assets.endpoints.reference import SCHEMA_FILE, field_table, schema_text
from moodle_assets.endpoints.spec import EndpointSpec

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_json_schema_is_current():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run: python -m moodle_assets.endpoints.reference"


def test_the_docs_field_table_is_the_models():
    docs = (ROOT / "docs" / "endpoints.md").read_text(encoding="utf-8")
    assert field_table() in docs
    assert list(EndpointSpec.model_fields)[:2] == ["name", "function"]


def test_the_example_file_points_editors_at_the_schema():
    first = (ROOT / "moodle_endpoints.example.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./moodle_assets/endpoints/spec.schema.json"
    assert (ROOT / first.split("$schema=", 1)[1]).resolve() == SCHEMA_FILE


def test_the_schema_forbids_unknown_keys_at_every_level():
    import json

    schema = json.loads(schema_text())
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name


def test_templates_and_example_validate_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    import json

    schema = json.loads(schema_text())
    files = [
        *sorted((ROOT / "moodle_assets" / "endpoints" / "templates").glob("*.yaml")),
        ROOT / "moodle_endpoints.example.yaml",
    ]
    for path in files:
        doc = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        jsonschema.validate(doc, schema)


@pytest.mark.parametrize("name", sorted(DUCKDB_TYPES))
def test_every_type_name_accepted_is_one_duckdb_knows(name):
    duckdb.sql(f"SELECT CAST(NULL AS {name})").fetchall()


def test_sized_list_and_nested_types_are_accepted_and_made_up_ones_are_not():
    for name in ("DECIMAL(10, 2)", "VARCHAR[]", "BIGINT[3]", "STRUCT(a INTEGER, b VARCHAR)", "bigint", "Json"):
        assert is_duckdb_type(name), name
        duckdb.sql(f"SELECT CAST(NULL AS {name})").fetchall()
    for name in ("BIGINTEGER", "INTEGER64", "VARCHAR(x)", "", "LIST"):
        assert not is_duckdb_type(name), name
