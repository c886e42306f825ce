"""Incremental refresh of fan-out assets: re-read only the items that may have changed.

An item is one lookup row of a fan-out (course 2 x user 15). After every load the project
remembers the items it knows (``moodle._items``) and the cut-off the load started from
(``cutoff`` in the load's ``moodle._loads`` meta). The next run re-fetches:

- the items the spec's ``incremental.changed`` query names since that cut-off (for example
  the pairs whose user accessed the course: Moodle updates ``lastcourseaccess`` on every
  visit, and every attempt, submission or self-completion needs one);
- new items (a new enrolment, a new quiz), and items that failed last time;

and deletes the rows of items that are gone (an unenrolment). Everything else is kept.
What no query can see — a teacher overriding a completion or a grade for a student who did
not come back — is caught by the periodic full refresh (``full_refresh: true``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moodle_assets.endpoints.runner import ITEM_COLUMN, item_key
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.warehouse import TableNotes, Warehouse
from moodle_assets.warehouse.notes import apply_notes
from moodle_assets.warehouse.sql import TableName

ITEMS_TABLE = "moodle._items"
ITEMS_NOTES = TableNotes(
    "The fan-out items (lookup values) each incremental table's latest load covered: the next run "
    "re-reads the changed and new ones and deletes the rows of those gone.",
    {
        "table_name": "The table (schema.name) the item was loaded into.",
        "item": "The item: its lookup values joined by |, as in the table's _item column.",
    },
)
# Moodle writes lastcourseaccess at most once a minute; keep a wide margin for clock skew.
CUTOFF_MARGIN_SECONDS = 600


@dataclass
class IncrementalPlan:
    rows: list[Mapping[str, Any]]  # lookup rows to fetch
    replace: list[str]  # item keys whose rows are replaced (fetched + gone)
    cutoff: int
    kept: int
    gone: int


def last_cutoff(warehouse: Warehouse, table: str) -> int | None:
    if not warehouse.table_exists("moodle._loads"):
        return None
    [(value,)] = warehouse.query(
        "SELECT max(CAST(meta->>'cutoff' AS BIGINT)) FROM moodle._loads WHERE table_name = ?", [table]
    )
    return value


def known_items(warehouse: Warehouse, table: str) -> set[str]:
    if not warehouse.table_exists(ITEMS_TABLE):
        return set()
    return {r[0] for r in warehouse.query(f"SELECT item FROM {ITEMS_TABLE} WHERE table_name = ?", [table])}


def plan(
    spec: EndpointSpec, warehouse: Warehouse, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> IncrementalPlan | None:
    """What to re-fetch, or None when there is no previous state (then everything is read)."""
    table = spec.table
    if not warehouse.table_exists(table):
        return None
    present = {r[0] for r in warehouse.query(f"DESCRIBE {table}")}
    cutoff = last_cutoff(warehouse, table)
    previous = known_items(warehouse, table)
    if ITEM_COLUMN not in present or cutoff is None or not previous:
        return None
    current = {item_key(r, columns): r for r in rows}
    changed_sql = spec.incremental.changed.replace("{cutoff}", str(int(cutoff)))
    changed = {item_key(r, columns) for r in warehouse.query_dicts(changed_sql)}
    failed = (
        {
            r[0]
            for r in warehouse.query(
                "SELECT DISTINCT partition_key FROM moodle._errors WHERE table_name = ? AND partition_key IS NOT NULL",
                [table],
            )
        }
        if warehouse.table_exists("moodle._errors")
        else set()
    )
    fetch = [k for k in current if k in changed or k not in previous or k in failed]
    gone = previous - current.keys()
    return IncrementalPlan(
        rows=[current[k] for k in fetch],
        replace=sorted(set(fetch) | gone),
        cutoff=cutoff,
        kept=len(current) - len(fetch),
        gone=len(gone),
    )


def remember_items(warehouse: Warehouse, table: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Record the items a successful load covered.

    Written after the data: if this write is lost, the next run only re-reads more than it
    needed (items look new) or deletes again what is already gone — never less.
    """
    keys = [item_key(r, columns) for r in rows]
    with warehouse.connect() as con:
        con.execute(f"CREATE TABLE IF NOT EXISTS {ITEMS_TABLE} (table_name VARCHAR, item VARCHAR)")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {ITEMS_TABLE} WHERE table_name = ?", [table])
            con.execute(f"INSERT INTO {ITEMS_TABLE} SELECT ?, unnest(?::VARCHAR[])", [table, keys])
            apply_notes(con, TableName.parse(ITEMS_TABLE), ITEMS_NOTES)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
