"""``--param`` and ``--lookup`` values from the command line.

Parameters are written the way Moodle's own API documentation and its REST server spell
them, PHP-style: ``courseid=2``, ``courseids[0]=2``, ``criteria[0][key]=email``,
``options[ids][0]=5``; ``courseids[]=2`` appends. So what a user reads in *Site
administration > Server > Web services > API Documentation* can be pasted as is. Values
stay text (the form sends text anyway) and may hold date macros such as ``{now-30}``.

Overrides are merged into an endpoint's params: a key given replaces that key only,
an index replaces that element of a list, and a value given where the spec had a lookup
macro (``courseids[0]=2`` over ``"{courses.id[]}"``) replaces the macro, so no lookup is
needed for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_PARAM_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[[A-Za-z0-9_]*\])*)=(.*)$", re.DOTALL)
_LOOKUP_RE = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_INT_RE = re.compile(r"^-?\d+$")

PARAM_HELP = "NAME=VALUE, PHP-style for nested keys: courseids[0]=2, options[0][name]=limitfrom"


class ParamError(ValueError):
    """A ``--param`` or ``--lookup`` argument that cannot be read."""


def parse_param(text: str) -> tuple[list[str], str]:
    """``options[0][name]=limitfrom`` -> (["options", "0", "name"], "limitfrom")."""
    m = _PARAM_RE.match(text)
    if not m:
        raise ParamError(f"--param {text!r}: expected {PARAM_HELP}")
    keys = [m.group(1)] + re.findall(r"\[([A-Za-z0-9_]*)\]", m.group(2))
    return keys, m.group(3)


def _normalise(value: Any) -> Any:
    """A mapping keyed 0..n-1 becomes a list, so it merges with and reads like Moodle's arrays."""
    if isinstance(value, Mapping):
        out = {k: _normalise(v) for k, v in value.items()}
        if out and all(k.isdigit() for k in out) and sorted(int(k) for k in out) == list(range(len(out))):
            return [out[str(i)] for i in range(len(out))]
        return out
    return value


def _insert(tree: dict, keys: list[str], value: str) -> None:
    node = tree
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if key == "":  # courseids[] appends
            key = str(sum(1 for k in node if k.isdigit()))
        if last:
            node[key] = value
        else:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child


def parse_params(texts: Sequence[str]) -> dict[str, Any]:
    """Every ``--param`` as one nested structure (lists where the keys are 0..n-1)."""
    tree: dict = {}
    for text in texts:
        keys, value = parse_param(text)
        _insert(tree, keys, value)
    return _normalise(tree)


def merge_params(base: Any, override: Any) -> Any:
    """``base`` with ``override`` laid over it, key by key and index by index."""
    if isinstance(override, list):
        override = {str(i): v for i, v in enumerate(override)}
    if not isinstance(override, Mapping):
        return override
    if isinstance(base, Mapping):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge_params(base.get(key), value)
        return out
    if isinstance(base, list) and all(k.isdigit() for k in override):
        items = {str(i): v for i, v in enumerate(base)}
        for key, value in override.items():
            items[key] = merge_params(items.get(key), value)
        return _normalise(items)
    return _normalise({key: merge_params(None, value) for key, value in override.items()})


def _typed(value: str) -> Any:
    return int(value) if _INT_RE.match(value) else value


def parse_lookups(texts: Sequence[str]) -> dict[str, list[Any]]:
    """``--lookup courses.id=2`` (repeatable) -> {"courses.id": [2]}; integers become ints."""
    out: dict[str, list[Any]] = {}
    for text in texts:
        m = _LOOKUP_RE.match(text)
        if not m:
            raise ParamError(f"--lookup {text!r}: expected ASSET.COLUMN=VALUE, e.g. courses.id=2")
        out.setdefault(f"{m.group(1)}.{m.group(2)}", []).append(_typed(m.group(3)))
    return out
