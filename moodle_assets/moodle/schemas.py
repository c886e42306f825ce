"""The real parameter and return structures of the Moodle functions the project uses.

Taken from a Moodle 4.5 site and a Moodle 5.0 site (``external_api::external_function_info``;
one file per release, ``SCHEMA_FILES``). The demo validates what it is sent and what it
answers against them; the spec loader uses the return structures to know which columns an
endpoint's records have, and column descriptions say which release has a field.
"""

import json
from functools import cache
from importlib import resources
from typing import Any

# Release -> its structures, oldest first. A function missing from a release's file does not
# exist on that release (mod_quiz_get_user_quiz_attempts is new in 5.0).
SCHEMA_FILES = {"4.5": "function_schemas.json", "5.0": "function_schemas_5.0.json"}


@cache
def all_schemas(release: str = "4.5") -> dict[str, dict[str, Any]]:
    """Every known function's ``{"params": ..., "returns": ...}`` on ``release``, loaded once."""
    text = resources.files(__package__).joinpath(SCHEMA_FILES[release]).read_text(encoding="utf-8")
    return json.loads(text)["functions"]


def record_keys(function: str, data_path: str | None) -> set[str] | None:
    """Keys of the records at ``data_path`` in ``function``'s answer, or None if unknown."""
    fields = record_fields(function, data_path, None)
    return None if fields is None else set(fields)


def record_fields(function: str, data_path: str | None, release: str | None = "4.5") -> dict[str, str] | None:
    """Each field of the records at ``data_path`` with its Moodle type (PARAM_INT, a list, an
    object), in the order Moodle declares them, on ``release`` (None: the oldest release that
    has the function); None if unknown.

    Walks the return structure along a simple path (``$``, ``$[*]``, ``$.a[*].b``); a
    path that is not simple, or a function not known here, gives None.
    """
    nodes = record_nodes(function, data_path, release)
    if nodes is None:
        return None
    kinds = {"structure": "object", "multiple": "list"}
    return {key: kinds.get(child.get("type"), child.get("paramtype") or "value") for key, child in nodes.items()}


def record_nodes(function: str, data_path: str | None, release: str | None = "4.5") -> dict[str, dict[str, Any]] | None:
    """Like :func:`record_fields`, each field's whole declaration (``type``, ``paramtype``,
    ``desc`` — Moodle's own description, in the releases whose file keeps it —, ``keys``...)."""
    import re

    if release is None:
        release = next((r for r in SCHEMA_FILES if function in all_schemas(r)), "4.5")
    schema = all_schemas(release).get(function)
    if schema is None:
        return None
    node = schema.get("returns")
    path = (data_path or "").replace(" ", "")
    if node is None or (path and not re.fullmatch(r"\$((\.[A-Za-z_]\w*)|\[\*\])*", path)):
        return None
    steps = re.findall(r"\.([A-Za-z_]\w*)|(\[\*\])", path)
    if not path and node.get("type") == "multiple":
        steps = [("", "[*]")]
    for key, star in steps:
        if star:
            if node.get("type") != "multiple":
                return None
            node = node["content"]
        else:
            if node.get("type") != "structure" or key not in node.get("keys", {}):
                return None
            node = node["keys"][key]
    if node.get("type") != "structure":
        return None
    return dict(node["keys"])
