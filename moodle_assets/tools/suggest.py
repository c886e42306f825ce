"""Suggest data paths for a Moodle response: where in the JSON do the records live?

A user writing their own endpoint knows the function but not always where its answer
keeps the rows: a bare list (``$[*]``), a wrapper (``$.courses[*]``) or deeper
(``$.courses[*].assignments[*]``). These are pure functions over a parsed JSON document,
so they can be tried on recordings as well as on a live answer.

Every array of objects is a candidate; identical paths under different parents are one
candidate (``$.courses[*].assignments[*]`` counts the assignments of every course). An
object that is not inside a list (``$``, ``$.completionstatus``) is a one-row candidate.
Candidates are ranked by how record-like their objects are: objects with an ``id`` and
many scalar fields rank above wrappers (``{"courses": [...], "warnings": [...]}``) and
above small helper lists (``configs[*]`` of name/value pairs). ``warnings`` is Moodle's
list of partial failures: it is offered as a metadata path, never as data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Keys Moodle uses for its partial-failure lists: metadata, not records.
METADATA_KEYS = frozenset({"warnings"})
EXAMPLE_KEYS = 8
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STEPS = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\]")

RECORDS = "records"  # an array of objects: one row per object
OBJECT = "object"  # one object outside any list: one row
VALUES = "values"  # an array of scalars (ids): one row per value with scalar_column
METADATA = "metadata"  # Moodle's warnings: a metadata_path


@dataclass
class PathSuggestion:
    """One candidate path with what a user needs to choose it."""

    path: str
    kind: str
    count: int
    keys: list[str] = field(default_factory=list)
    score: float = 0.0

    @property
    def example_keys(self) -> list[str]:
        return self.keys[:EXAMPLE_KEYS]

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "count": self.count, "keys": self.example_keys}


@dataclass
class _Candidate:
    kind: str
    count: int = 0
    keys: dict[str, None] = field(default_factory=dict)  # ordered set of keys seen
    scalar_keys: dict[str, None] = field(default_factory=dict)
    object_keys: dict[str, int] = field(default_factory=dict)  # key -> most scalars seen inside


def _step(key: str) -> str:
    return f".{key}" if _IDENTIFIER.match(key) else f"['{key}']"


def _is_indexed_object(value: Any) -> bool:
    """PHP arrays with gaps in their keys arrive as objects keyed "3", "7": a list really."""
    return isinstance(value, Mapping) and bool(value) and all(str(k).isdigit() for k in value)


def _items(value: Any) -> list | None:
    if isinstance(value, list):
        return value
    if _is_indexed_object(value):
        return list(value.values())
    return None


def _walk(value: Any, path: str, in_list: bool) -> Iterator[tuple[str, str, Any]]:
    """Yield (path, kind, value) for every list and every object outside a list."""
    items = _items(value)
    if items is not None:
        yield path, "list", items
        for item in items:
            yield from _walk(item, path + "[*]", True)
    elif isinstance(value, Mapping):
        if not in_list:
            yield path, OBJECT, value
        for key, child in value.items():
            yield from _walk(child, path + _step(str(key)), in_list)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list))


def _note(candidate: _Candidate, obj: Mapping) -> None:
    for key, value in obj.items():
        candidate.keys.setdefault(str(key), None)
        if _is_scalar(value):
            candidate.scalar_keys.setdefault(str(key), None)
        elif isinstance(value, Mapping) and not _is_indexed_object(value):
            inside = sum(1 for v in value.values() if _is_scalar(v))
            candidate.object_keys[str(key)] = max(candidate.object_keys.get(str(key), 0), inside)


def _score(path: str, kind: str, candidate: _Candidate) -> float:
    """Record-likeness of a candidate; higher is more likely the rows a user wants.

    Scalar fields count 1, other fields 0.5, an ``id`` field 5 more. In a list, an embedded
    object adds half its scalar fields (at most 5: ``{usercompetencycourse, competency}``
    rows are records), and every path step beyond two costs 0.5 (helper lists deep inside
    records rarely are the rows). A single object deeper than the root (``$.course``
    beside ``$.usercompetencies[*]``) is usually context for the rows: it scores a quarter.
    """
    if kind == METADATA:
        return -1.0
    if kind == VALUES:
        return 1.0
    scalars = len(candidate.scalar_keys)
    nested = len(candidate.keys) - scalars
    score = scalars + 0.5 * nested + (5 if "id" in candidate.scalar_keys else 0)
    if kind == RECORDS:
        score += sum(min(n, 10) * 0.5 for n in candidate.object_keys.values())
        score -= 0.5 * max(0, len(_STEPS.findall(path)) - 2)
    elif path != "$":
        score *= 0.25
    return score


def suggest_paths(document: Any) -> list[PathSuggestion]:
    """Candidate data paths of one response, most record-like first.

    Metadata (``$.warnings``) comes last; ties go to the shallower path, then to more
    records, then by path, so the order is stable.
    """
    candidates: dict[str, _Candidate] = {}
    for path, kind, value in _walk(document, "$", False):
        if kind == OBJECT:
            candidate = candidates.setdefault(path, _Candidate(OBJECT))
            candidate.count += 1
            _note(candidate, value)
            continue
        objects = [item for item in value if isinstance(item, Mapping)]
        leaf = path.rsplit(".", 1)[-1]
        if leaf in METADATA_KEYS:
            candidate = candidates.setdefault(path, _Candidate(METADATA))
        elif objects:
            candidate = candidates.setdefault(path + "[*]", _Candidate(RECORDS))
        elif value and all(_is_scalar(item) and item is not None for item in value):
            candidate = candidates.setdefault(path + "[*]", _Candidate(VALUES))
        else:
            continue  # empty, or lists of lists: nothing to learn from
        if candidate.kind == VALUES:
            candidate.count += len(value)
            continue
        candidate.count += len(objects)
        for obj in objects:
            _note(candidate, obj)
    out = [
        PathSuggestion(path, c.kind, c.count, list(c.keys), _score(path, c.kind, c)) for path, c in candidates.items()
    ]
    out.sort(key=lambda s: (s.kind == METADATA, -s.score, s.path.count("[*]"), -s.count, s.path))
    return out


def suggest_metadata_path(suggestions: list[PathSuggestion]) -> str | None:
    """The path of Moodle's ``warnings`` list, if the response has one (``$.warnings``)."""
    return next((s.path for s in suggestions if s.kind == METADATA), None)
