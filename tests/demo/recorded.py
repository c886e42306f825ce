"""Real Moodle 4.5 and 5.0 recordings, replayed against the demo, and a strict comparison of answers.

The recordings live in the repository (``tests/fixtures/demo/recordings`` and
``recordings-5.0``), copied from the shared sets (``../shared/moodle/recordings*`` beside the
repository) that real sites produced.

The comparison walks both answers along the function's return structure and collects, for
every path (list items merged: ``$.courses[].id``), the object keys, the JSON types and the
scalar values seen there. Two answers agree when, at every path, the keys are the same, the
types are the same and - unless the path holds generated data - the values are the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "tests" / "fixtures" / "demo" / "recordings"
SHARED_RECORDINGS = REPO.parent / "shared" / "moodle" / "recordings"
RECORDINGS_50 = REPO / "tests" / "fixtures" / "demo" / "recordings-5.0"
SHARED_RECORDINGS_50 = REPO.parent / "shared" / "moodle" / "recordings-5.0"


def recording_paths(folder: Path = RECORDINGS) -> list[Path]:
    return sorted(folder.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def is_error(body: Any) -> bool:
    return isinstance(body, dict) and "exception" in body


# --------------------------------------------------------------------------- shapes


def json_type(value: Any, paramtype: str | None = None) -> str:
    """The JSON type of a value; a PARAM_FLOAT is a ``number`` (PHP writes 10.0 as 10)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        if paramtype == "PARAM_FLOAT":
            return "number"
        return "int" if isinstance(value, int) else "float"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


@dataclass
class Shape:
    """What one path of an answer holds, over all the list items that reach it."""

    keys: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)


def shapes(
    value: Any, node: dict[str, Any] | None, path: str = "$", into: dict[str, Shape] | None = None
) -> dict[str, Shape]:
    found = {} if into is None else into
    shape = found.setdefault(path, Shape())
    kind = node.get("type") if node else None
    if isinstance(value, dict):
        shape.types.add("object")
        shape.keys.update(value)
        children = node.get("keys", {}) if kind == "structure" else {}
        for key, child in value.items():
            shapes(child, children.get(key), f"{path}.{key}", found)
    elif isinstance(value, list):
        # An empty PHP array is written [] even where the structure is an object.
        shape.types.add("object" if kind == "structure" and not value else "list")
        content = node.get("content") if kind == "multiple" else None
        for item in value:
            shapes(item, content, f"{path}[]", found)
    else:
        shape.types.add(json_type(value, node.get("paramtype") if node else None))
        shape.values.add(json.dumps(value, sort_keys=True))
    return found


def whole_floats(value: Any, path: str = "$") -> list[str]:
    """Floats with no fraction: PHP's json_encode never writes one (10.0 goes out as 10)."""
    if isinstance(value, float) and value.is_integer():
        return [f"{path}: {value!r} is written 10.0-style; Moodle writes whole numbers as ints"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in whole_floats(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in whole_floats(v, f"{path}[{i}]")]
    return []


def matches(path: str, patterns: dict[str, str] | set[str] | frozenset[str]) -> bool:
    """Whether a path matches one of the patterns, where ``*`` stands for any text."""
    return any(re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), path) for pattern in patterns)


@dataclass
class Allowances:
    """The documented ways a demo answer may differ from a recording (pattern -> reason).

    ``data``: paths holding generated values (ids, names, times): types compared, values not.
    ``types``: paths where which types occur depends on the generated data (a date that is
    null for some badges only): the demo's types must be a subset of the recording's.
    ``keys``: ``path.key`` of optional keys a real site sends or leaves out by data.
    ``only``: paths that may exist on one side only (a list empty on one side).
    """

    data: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    only: dict[str, str] = field(default_factory=dict)

    def __or__(self, other: Allowances) -> Allowances:
        return Allowances(
            {**self.data, **other.data},
            {**self.types, **other.types},
            {**self.keys, **other.keys},
            {**self.only, **other.only},
        )


def compare(recorded: Any, ours: Any, node: dict[str, Any] | None, allow: Allowances) -> list[str]:
    """Every disagreement of ``ours`` with ``recorded`` that ``allow`` does not document."""
    theirs, mine = shapes(recorded, node), shapes(ours, node)
    problems = whole_floats(ours)
    for path in sorted(theirs.keys() | mine.keys()):
        if path not in mine:
            if not matches(path, allow.only):
                problems.append(f"{path}: in the recording, never in the demo's answer")
            continue
        if path not in theirs:
            if not matches(path, allow.only):
                problems.append(f"{path}: in the demo's answer, never in the recording")
            continue
        rec, dem = theirs[path], mine[path]
        for key in sorted(rec.keys ^ dem.keys):
            if not matches(f"{path}.{key}", allow.keys):
                side = "the recording" if key in rec.keys else "the demo"
                problems.append(f"{path}: key {key!r} only in {side}")
        if rec.types != dem.types:
            if not matches(path, allow.types) or not dem.types <= rec.types:
                problems.append(f"{path}: types {sorted(dem.types)} in the demo, {sorted(rec.types)} recorded")
        elif rec.values and not matches(path, allow.data) and rec.values != dem.values:
            problems.append(
                f"{path}: values {_few(dem.values - rec.values)} in the demo, {_few(rec.values - dem.values)} recorded"
            )
    return problems


def _few(values: set[str]) -> str:
    shown = sorted(values)[:3]
    return "{" + ", ".join(shown) + (", ..." if len(values) > 3 else "") + "}"


def values_at(value: Any, path: str) -> list[Any]:
    """The scalars (or objects) at a simple path like ``$.courses[].id``, in order."""
    found = [value]
    for step in path[1:].replace("[]", ".[]").split("."):
        if not step:
            continue
        if step == "[]":
            found = [item for v in found if isinstance(v, list) for item in v]
        else:
            found = [v[step] for v in found if isinstance(v, dict) and step in v]
    return found


# --------------------------------------------------------------------------- XML


def xml_tree(text: str) -> Any:
    """An XML reply as data: SINGLE -> dict, MULTIPLE -> list, VALUE -> str or None."""
    root = ElementTree.fromstring(text.encode("utf-8"))

    def convert(element: ElementTree.Element) -> Any:
        if element.tag == "SINGLE":
            return {key.get("name"): convert(key[0]) if len(key) else None for key in element}
        if element.tag == "MULTIPLE":
            return [convert(child) for child in element]
        if element.tag == "VALUE":
            return None if element.get("null") == "null" else (element.text or "")
        raise ValueError(element.tag)

    if root.tag == "EXCEPTION":
        return {"exception": root.get("class"), **{child.tag.lower(): child.text for child in root}}
    return convert(root[0]) if len(root) else None
