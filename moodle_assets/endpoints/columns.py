"""What each column of an endpoint's table is, from the function's own declaration.

Moodle declares every function's return structure (``moodle/function_schemas*.json``): each
field's type (PARAM_INT, PARAM_FLOAT, PARAM_BOOL, text, a structure or a list) and, in its own
words, what it holds (``desc``). From them a table gets:

* its column types, the same on every load against a release whether or not a value came
  (:func:`declared_columns`): PARAM_INT -> BIGINT, PARAM_FLOAT -> DOUBLE, PARAM_BOOL -> BOOLEAN,
  other PARAM_* -> VARCHAR, structures and lists -> JSON. A value outside its declared type
  widens the column for that load instead of failing it (see ``warehouse.staging``);
* a description of every column, Moodle's text first (:func:`column_descriptions`), and of the
  table (:func:`table_description`, the function's ``description`` with the spec's);
* which columns hold unix times (:func:`unix_time_columns`), so ``moodle_t`` shows them as
  timestamps.

A function not in the schema files (a user endpoint's) declares nothing: its columns keep the
types their values show, as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moodle_assets.moodle.schemas import SCHEMA_FILES, all_schemas, record_nodes

from .lookups import QUERY
from .runner import ITEM_COLUMN
from .spec import EndpointSpec

LOADED_AT = "_loaded_at"
PARTITION_COLUMN = "_partition"
TIME_SCHEMA = "moodle_t"

PROJECT_COLUMNS = {
    LOADED_AT: "When this row was loaded (UTC).",
    ITEM_COLUMN: "The fan-out item this row came from (lookup values joined by |), for incremental refresh.",
    PARTITION_COLUMN: "The time partition (day, YYYY-MM-DD) this row belongs to.",
}

_TYPES = {"PARAM_INT": "BIGINT", "PARAM_FLOAT": "DOUBLE", "PARAM_BOOL": "BOOLEAN", "list": "JSON", "object": "JSON"}
_KINDS = {"structure": "object", "multiple": "list"}

# A unix time: a PARAM_INT whose name or Moodle's description says time or date, and which is
# not a length of time (timelimit, timeduration, graceperiod, blockperiod, delay1...).
_TIME_NAME = re.compile(r"time\w*|\w+time|\w*date|date\w*|\w*access|created|modified|\w*login")
_TIME_DESC = re.compile(r"\b(timestamps?|time|date)\b", re.IGNORECASE)
_LENGTH = re.compile(r"limit|duration|period|delay|seconds|after what", re.IGNORECASE)


@dataclass(frozen=True)
class Field:
    """One field of a function's records across the Moodle releases whose structures ship here."""

    kind: str  # PARAM_INT, a list, an object (its newest declaration)
    since: str | None = None  # the release that added it (None: in the oldest known)
    removed: str | None = None  # the release that no longer sends it
    desc: str = ""  # Moodle's description (from the release whose file keeps it)

    @property
    def column_type(self) -> str:
        return _TYPES.get(self.kind, "VARCHAR")

    def is_unix_time(self, name: str) -> bool:
        if self.kind != "PARAM_INT" or _LENGTH.search(name) or _LENGTH.search(self.desc):
            return False
        return bool(_TIME_NAME.fullmatch(name) or _TIME_DESC.search(self.desc))


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _node_desc(node: Mapping) -> str:
    """A node's description, or its content's for a list that describes only its elements."""
    return _clean(node.get("desc")) or (_clean(node["content"].get("desc")) if node.get("content") else "")


def field_history(function: str | None, data_path: str | None) -> dict[str, Field]:
    """Every field the function's records have on any known release, with when it came and went
    (core_badges_get_user_badges: imageauthorname removed in 5.0, coursefullname since 5.0)."""
    history: dict[str, Field] = {}
    known = False
    for release in SCHEMA_FILES:  # oldest first
        nodes = record_nodes(function, data_path, release) if function else None
        if nodes is None:
            continue
        for name, node in nodes.items():
            kind = _KINDS.get(node.get("type"), node.get("paramtype") or "value")
            old = history.get(name)
            since = old.since if old else (release if known else None)
            history[name] = Field(kind, since, None, _node_desc(node) or (old.desc if old else ""))
        for name, old in history.items():
            if name not in nodes and old.removed is None:
                history[name] = Field(old.kind, old.since, release, old.desc)
        known = True
    return history


def _functions(spec: EndpointSpec) -> list[str]:
    return [f for f in (spec.function, *(a.function for a in spec.alternatives)) if f]


def _by_name(catalog: Sequence[EndpointSpec], name: str) -> EndpointSpec | None:
    return next((s for s in catalog if s.name == name), None)


def spec_fields(
    spec: EndpointSpec, catalog: Sequence[EndpointSpec] = (), function: str | None = None
) -> dict[str, Field]:
    """The fields of the spec's records: of ``function`` (default: the spec's and its alternatives',
    the first declaring a field wins), or for an ``explode`` of the parent's list elements."""
    if spec.explode:
        parent = _by_name(catalog, spec.explode.asset)
        if parent is None or not parent.function:
            return {}
        path = parent.data_path or "$[*]"  # no data path: the answer is a list of rows
        return field_history(parent.function, f"{path}.{spec.explode.column}[*]")
    fields: dict[str, Field] = {}
    for name in [function] if function else _functions(spec):
        for key, value in field_history(name, spec.data_path).items():
            fields.setdefault(key, value)
    return fields


def _enclosing(spec: EndpointSpec, function: str | None) -> dict[str, Field]:
    """Fields of the objects enclosing the records (what ``parent_fields`` copies), nearest first."""
    path, fields = spec.data_path or "", {}
    while function and (cut := max(path.rfind("."), path.rfind("["))) > 0:
        path = path[:cut]
        for key, value in field_history(function, path).items():
            fields.setdefault(key, value)
    return fields


def context_columns(
    spec: EndpointSpec, catalog: Sequence[EndpointSpec] = (), function: str | None = None
) -> dict[str, tuple[str | None, str]]:
    """Columns the project adds from the request or the parent: name -> (type if known, description)."""
    out: dict[str, tuple[str | None, str]] = {}
    for column, ref in spec.fan_out.context_columns.items() if spec.fan_out else ():
        upstream = _by_name(catalog, ref.asset)
        type_ = declared_columns(upstream, catalog).get(ref.column) if upstream else None
        source = (
            f"the {ref.column} of the endpoint's lookup query"
            if ref.asset == QUERY
            else f"the {ref.asset}.{ref.column} value"
        )
        out[column] = (type_, f"{source[0].upper()}{source[1:]} this row was fetched for.")
    if spec.explode:
        parent = _by_name(catalog, spec.explode.asset)
        parent_types = declared_columns(parent, catalog) if parent else {}
        for column, key in spec.explode.keys.items():
            out[column] = (parent_types.get(key), f"{spec.explode.asset}.{key} of the parent row.")
    enclosing = _enclosing(spec, function or spec.function) if spec.parent_fields else {}
    for column, key in spec.parent_fields.items():
        field = enclosing.get(key)
        what = f"{field.desc[0].upper()}{field.desc[1:]} (" if field and field.desc else "("
        out[column] = (
            field.column_type if field else None,
            f"{what}{key} of the enclosing object in Moodle's answer, copied onto each row).",
        )
    return out


def declared_columns(spec: EndpointSpec, catalog: Sequence[EndpointSpec] = ()) -> dict[str, str | None]:
    """Column -> type for the staging of a load, in table order: the spec's own ``columns``, the
    columns the project adds (None where only the values can tell), then every field the function
    declares on any known release — a field a newer Moodle dropped stays a column (null from then on)."""
    fields = spec_fields(spec, catalog)
    declared: dict[str, str | None] = dict(spec.columns)
    for column, (type_, _) in context_columns(spec, catalog).items():
        declared.setdefault(column, type_ or (fields[column].column_type if column in fields else None))
    for name, field in fields.items():
        declared.setdefault(name, field.column_type)
    return declared


def unix_time_columns(
    spec: EndpointSpec, catalog: Sequence[EndpointSpec] = (), function: str | None = None
) -> list[str]:
    """The fields holding unix times (seconds, 0 = never or unset), in declaration order."""
    return [name for name, field in spec_fields(spec, catalog, function).items() if field.is_unix_time(name)]


def _describe_field(name: str, field: Field, table: str) -> str:
    """Moodle's words, then what the project knows: JSON, a unix time, the release that added or
    dropped it. A field Moodle gave no words for says its declared type instead."""
    json_kind = field.kind in ("list", "object")
    time = (
        f"Unix time in seconds, 0 = never or unset; a timestamp (NULL for 0) in {TIME_SCHEMA}.{table}."
        if field.is_unix_time(name)
        else ""
    )
    if not field.desc:
        kind = field.kind + (", kept as JSON" if json_kind else "")
        if field.removed:
            kind += f"; Moodle {field.removed} no longer sends it: null from {field.removed} on"
        elif field.since:
            kind += f"; from Moodle {field.since}"
        return " ".join(filter(None, [f"Moodle field {name} ({kind}).", time]))
    text = field.desc[0].upper() + field.desc[1:]
    notes = [text if text.endswith((".", "?", "!")) else text + "."]
    if json_kind:
        notes.append(f"A{'n' if field.kind == 'object' else ''} {field.kind}, kept as JSON.")
    notes.append(time)
    if field.removed:
        notes.append(f"Moodle {field.removed} no longer sends it: null from {field.removed} on.")
    elif field.since:
        notes.append(f"From Moodle {field.since}.")
    return " ".join(filter(None, notes))


def column_descriptions(
    spec: EndpointSpec, columns: Sequence[str], function: str | None = None, catalog: Sequence[EndpointSpec] = ()
) -> dict[str, str]:
    """Column -> what it holds, for every column of the table."""
    fields = spec_fields(spec, catalog, function)
    context = context_columns(spec, catalog, function)
    table = spec.table.partition(".")[2]
    out = {}
    for name in columns:
        if name in PROJECT_COLUMNS:
            out[name] = PROJECT_COLUMNS[name]
        elif name in fields:
            out[name] = _describe_field(name, fields[name], table)
        elif name in context:
            out[name] = context[name][1]
        else:
            out[name] = (
                f"Field {name} of {function or spec.function or 'the parent'}'s answer (not in its declared structure)."
            )
    return out


def function_description(function: str | None) -> str:
    """Moodle's own description of a web-service function ('' if unknown)."""
    for release in SCHEMA_FILES:
        text = _clean(all_schemas(release).get(function or "", {}).get("description"))
        if text:
            return text
    return ""


def table_description(spec: EndpointSpec, function: str | None = None) -> str:
    """The asset's and table's description: the spec's words, then Moodle's for its function."""
    function = function or spec.function
    own = _clean(spec.description)
    if not function:
        if own or not spec.explode:
            return own
        return f"One row per element of {spec.explode.asset}.{spec.explode.column}."
    moodle = function_description(function)
    said = f"Moodle web-service function {function}" + (f": {moodle}" if moodle else "")
    said += "" if said.endswith((".", "?", "!")) else "."
    return f"{own}\n\n{said}" if own else said
