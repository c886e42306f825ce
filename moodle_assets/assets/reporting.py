"""What a materialisation tells the user: column descriptions, a preview, progress logs."""

import json
import time
from typing import Any, Mapping

from dagster import AssetExecutionContext

from moodle_assets.endpoints.macros import context_column, lookup_refs
from moodle_assets.endpoints.runner import ITEM_COLUMN, HarvestOutcome
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import MoodleClient
from moodle_assets.moodle.schemas import record_fields

PARTITION_COLUMN = "_partition"


_PROJECT_COLUMNS = {
    "_loaded_at": "When this row was loaded (UTC).",
    ITEM_COLUMN: "The fan-out item this row came from (lookup values joined by |), for incremental refresh.",
    PARTITION_COLUMN: "The time partition (day) this row belongs to.",
}


def describe_columns(spec: EndpointSpec, columns: Mapping[str, str], function: str) -> list[tuple[str, str, str]]:
    """(name, type, description) of every column: Moodle's fields with their declared type,
    the columns the project adds with what they mean."""
    fields = record_fields(function, spec.data_path) or {} if function else {}
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
            kind = fields[name]
            text = f"Moodle field {name} ({kind}{', kept as JSON' if kind in ('list', 'object') else ''})."
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
