"""What a materialisation tells the user: column descriptions, a preview, progress logs."""

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from dagster import AssetExecutionContext

from moodle_assets.endpoints.macros import context_column, lookup_refs
from moodle_assets.endpoints.runner import ITEM_COLUMN, HarvestOutcome
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import MoodleClient
from moodle_assets.moodle.schemas import SCHEMA_FILES, record_fields

PARTITION_COLUMN = "_partition"


_PROJECT_COLUMNS = {
    "_loaded_at": "When this row was loaded (UTC).",
    ITEM_COLUMN: "The fan-out item this row came from (lookup values joined by |), for incremental refresh.",
    PARTITION_COLUMN: "The time partition (day) this row belongs to.",
}


@dataclass(frozen=True)
class Field:
    """One field of a function's records across the Moodle releases whose structures ship here."""

    kind: str  # PARAM_INT, a list, an object (its newest declaration)
    since: str | None = None  # the release that added it (None: in the oldest known)
    removed: str | None = None  # the release that no longer sends it


def field_history(function: str, data_path: str | None) -> dict[str, Field]:
    """Every field the function's records have on any known release, with when it came and went
    (core_badges_get_user_badges: imageauthorname removed in 5.0, coursefullname since 5.0)."""
    history: dict[str, Field] = {}
    known = False
    for release in SCHEMA_FILES:  # oldest first
        fields = record_fields(function, data_path, release) if function else None
        if fields is None:
            continue
        for name, kind in fields.items():
            since = history[name].since if name in history else (release if known else None)
            history[name] = Field(kind, since)
        for name, old in history.items():
            if name not in fields and old.removed is None:
                history[name] = Field(old.kind, old.since, release)
        known = True
    return history


_COLUMN_TYPES = {"PARAM_INT": "BIGINT", "PARAM_FLOAT": "DOUBLE", "PARAM_BOOL": "BOOLEAN", "list": "JSON",
                 "object": "JSON"}


def retired_columns(spec: EndpointSpec) -> dict[str, str]:
    """Column -> type of the fields a newer Moodle no longer sends, declared so that the table
    keeps them (null from that release on) whatever release the site runs."""
    if not spec.function:
        return {}
    return {name: _COLUMN_TYPES.get(f.kind, "VARCHAR")
            for name, f in field_history(spec.function, spec.data_path).items() if f.removed}


def _describe_field(name: str, field: Field) -> str:
    kind = field.kind + (", kept as JSON" if field.kind in ("list", "object") else "")
    if field.removed:
        kind += f"; Moodle {field.removed} no longer sends it: null from {field.removed} on"
    elif field.since:
        kind += f"; from Moodle {field.since}"
    return f"Moodle field {name} ({kind})."


def describe_columns(spec: EndpointSpec, columns: Mapping[str, str], function: str,
                     catalog: Sequence[EndpointSpec] = ()) -> list[tuple[str, str, str]]:
    """(name, type, description) of every column: Moodle's fields with their declared type and
    the release that added or removed them, the columns the project adds with what they mean.
    An exploded list's fields are those of its parent's function (from ``catalog``)."""
    fields = field_history(function, spec.data_path)
    parent = next((s for s in catalog if spec.explode and s.name == spec.explode.asset), None)
    if parent is not None and parent.function and spec.explode:
        path = parent.data_path or "$[*]"  # no data path: the answer is a list of rows
        fields = field_history(parent.function, f"{path}.{spec.explode.column}[*]")
    context = {
        column: f"The {ref.asset}.{ref.column} value this row was fetched for."
        for ref in lookup_refs(spec.params) if (column := context_column(ref))
    }
    if spec.explode:
        context.update({c: f"{spec.explode.asset}.{p} of the parent row." for c, p in spec.explode.keys.items()})
    context.update({c: f"{k} of the enclosing object in Moodle's answer." for c, k in spec.parent_fields.items()})
    out = []
    for name, type_ in columns.items():
        if name in _PROJECT_COLUMNS:
            text = _PROJECT_COLUMNS[name]
        elif name in fields:
            text = _describe_field(name, fields[name])
        elif name in context:
            text = context[name]
        else:
            text = f"Field {name} of {function or 'the parent'}'s answer."
        out.append((name, type_, text))
    return out


def preview_markdown(rows: list[Mapping[str, Any]], limit_cols: int = 8) -> str:
    if not rows:
        return "_no rows_"
    cols = [c for c in rows[0] if not c.startswith("_")][:limit_cols]

    def cell(v: Any) -> str:
        text = json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 40 else text[:37] + "..."

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


class Progress:
    """Logs fan-out progress at most every few seconds: items done, calls, rows, time left."""

    def __init__(self, context: AssetExecutionContext, total: int, client: MoodleClient):
        self.context, self.total, self.client = context, total, client
        self.started = self.last = time.monotonic()

    def __call__(self, outcome: HarvestOutcome, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 5 and done < self.total:
            return
        self.last = now
        elapsed = now - self.started
        left = elapsed / done * (self.total - done) if done else 0
        self.context.log.info(
            f"{done}/{self.total} items, {self.client.stats.total_calls()} calls, "
            f"{outcome.records} rows, {elapsed:.0f}s elapsed, ~{left:.0f}s left"
        )
