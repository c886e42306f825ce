"""Incremental refresh of fan-out assets: re-read only the items that may have changed.

An item is one lookup row of a fan-out (course 2 x user 15). After every load the project
remembers the items it knows and when each was last read from Moodle (``moodle._items``),
and the cut-off the load started from (``cutoff`` in the load's ``moodle._loads`` meta).
The next run re-fetches:

- the items the spec's ``incremental.changed`` query names since that cut-off: the signals
  Moodle exposes, chosen per asset and explained in docs/incremental.md (a visit moves
  ``lastcourseaccess``; a grade moves the report's ``gradedategraded``; a renamed course its
  ``timemodified``; an attempt the overdue task will close has a ``timecheckstate``);
- new items (a new enrolment, a new quiz), and items that failed last time;
- with ``incremental.rotate: N``, the 1/N of the items read longest ago, for the changes no
  signal shows (a teacher overriding a completion, a badge awarded by hand): with nightly
  runs nothing is older than N days, and every load says the age of its oldest item;

and deletes the rows of items that are gone (an unenrolment). Everything else is kept.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from moodle_assets.endpoints.runner import ITEM_COLUMN, item_key
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.warehouse import TableNotes, Warehouse
from moodle_assets.warehouse.notes import apply_notes
from moodle_assets.warehouse.sql import TableName

ITEMS_TABLE = "moodle._items"
ITEMS_NOTES = TableNotes(
    "The fan-out items (lookup values) each incremental table's latest load covered, and when each "
    "was last read from Moodle: the next run re-reads the changed, new and longest-unread ones and "
    "deletes the rows of those gone.",
    {
        "table_name": "The table (schema.name) the item was loaded into.",
        "item": "The item: its lookup values joined by |, as in the table's _item column.",
        "verified_at": "When the item's rows were last read from Moodle (unix seconds, the load's start).",
    },
)
# Moodle writes lastcourseaccess at most once a minute; keep a wide margin for clock skew.
CUTOFF_MARGIN_SECONDS = 600


class ChangedQueryError(Exception):
    """The ``changed`` query itself is wrong (not a table that is merely missing)."""


@dataclass
class IncrementalPlan:
    rows: list[Mapping[str, Any]]  # lookup rows to fetch
    replace: list[str]  # item keys whose rows are replaced (fetched + gone)
    cutoff: int
    kept: int
    gone: int
    changed: int = 0  # items a signal named
    rotated: int = 0  # items re-read because they were read longest ago
    oldest_verified: int | None = None  # after this run: when the item read longest ago was read

    def summary(self) -> str:
        return (
            f"{len(self.rows)} items to read ({self.changed} changed, {self.rotated} rotated, the rest new "
            f"or failed last time), {self.kept} kept, {self.gone} gone"
        )


def last_cutoff(warehouse: Warehouse, table: str) -> int | None:
    if not warehouse.table_exists("moodle._loads"):
        return None
    [(value,)] = warehouse.query(
        "SELECT max(CAST(meta->>'cutoff' AS BIGINT)) FROM moodle._loads WHERE table_name = ?", [table]
    )
    return value


def known_items(warehouse: Warehouse, table: str) -> dict[str, int]:
    """The items the table's last load covered, with when each was read (0 when not recorded)."""
    if not warehouse.table_exists(ITEMS_TABLE):
        return {}
    has_time = "verified_at" in {r[0] for r in warehouse.query(f"DESCRIBE {ITEMS_TABLE}")}
    select = "item, coalesce(verified_at, 0)" if has_time else "item, 0"
    return dict(warehouse.query(f"SELECT {select} FROM {ITEMS_TABLE} WHERE table_name = ?", [table]))


def changed_items(spec: EndpointSpec, warehouse: Warehouse, cutoff: int, columns: Sequence[str]) -> set[str] | None:
    """The items the spec's signals name, or None when a table the query reads is not there yet.

    A missing table (an upstream never materialised here) means the run reads every item, which
    is never wrong; any other failure of the query is the spec's mistake and is raised.
    """
    sql = spec.incremental.changed.replace("{cutoff}", str(int(cutoff)))
    try:
        found = warehouse.query_dicts(sql)
        if found and not set(columns) <= set(found[0]):
            raise ChangedQueryError(
                f"{spec.name}: the incremental changed query returns the columns {', '.join(found[0])}, "
                f"not the lookup's {', '.join(columns)}: name them so (AS ...) in its first SELECT."
            )
        return {item_key(r, columns) for r in found}
    except duckdb.CatalogException as exc:
        if "does not exist" in str(exc):
            return None
        raise ChangedQueryError(f"{spec.name}: the incremental changed query failed in DuckDB: {exc}") from None
    except duckdb.Error as exc:
        raise ChangedQueryError(f"{spec.name}: the incremental changed query failed in DuckDB: {exc}") from None


def failed_items(warehouse: Warehouse, table: str) -> set[str]:
    if not warehouse.table_exists("moodle._errors"):
        return set()
    return {
        r[0]
        for r in warehouse.query(
            "SELECT DISTINCT partition_key FROM moodle._errors WHERE table_name = ? AND partition_key IS NOT NULL",
            [table],
        )
    }


def plan(
    spec: EndpointSpec,
    warehouse: Warehouse,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    now: int,
    log=lambda message: None,
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
    changed = changed_items(spec, warehouse, cutoff, columns)
    if changed is None:
        log(
            f"{spec.name}: a table its incremental query reads ({', '.join(spec.incremental.deps) or 'upstream'}) "
            "is not in the warehouse yet: reading every item"
        )
        return None
    current = {item_key(r, columns): r for r in rows}
    failed = failed_items(warehouse, table)
    fetch = {k for k in current if k in changed or k not in previous or k in failed}
    rotated = rotation(spec.incremental.rotate, current.keys() - fetch, previous, len(current))
    fetch |= rotated
    gone = previous.keys() - current.keys()
    kept = [previous[k] for k in current if k not in fetch]
    return IncrementalPlan(
        rows=[current[k] for k in current if k in fetch],
        replace=sorted(fetch | gone),
        cutoff=cutoff,
        kept=len(kept),
        gone=len(gone),
        changed=len(fetch & changed),
        rotated=len(rotated),
        oldest_verified=min(kept, default=now),
    )


def rotation(share: int | None, candidates: set[str], verified: Mapping[str, int], total: int) -> set[str]:
    """The 1/share of all items read longest ago, among those not read anyway (ties by item key).

    A share of the total, not of the candidates: a night with many changes does not shorten
    the rotation, so with nightly runs no item goes unread longer than ``share`` days.
    """
    if not share or not candidates:
        return set()
    quota = math.ceil(total / share)
    return set(sorted(candidates, key=lambda k: (verified.get(k, 0), k))[:quota])


def follow(spec: EndpointSpec, warehouse: Warehouse, log=lambda message: None) -> int:
    """Copy ``incremental.follow``'s columns from the followed table into the rows that differ.

    Run after every incremental load: the rows re-read now already hold Moodle's values, the
    kept ones take a renamed or hidden course's new values from ``courses``. Idempotent (it
    touches only rows that differ), so a run that stops before it is mended by the next.
    A column one side lacks (another Moodle release) is left as it is, and said so.
    Returns the number of rows updated.
    """
    rule = spec.incremental.follow if spec.incremental else None
    if rule is None:
        return 0
    source = f"moodle.{rule.asset}"
    if not warehouse.table_exists(source):
        raise ChangedQueryError(
            f"{spec.name}: incremental.follow reads {source}, which is not in the warehouse: "
            f"materialise asset moodle/{rule.asset} first."
        )
    have = {r[0] for r in warehouse.query(f"DESCRIBE {spec.table}")}
    theirs = {r[0] for r in warehouse.query(f"DESCRIBE {source}")}
    if not set(rule.match) <= have:
        return 0  # no row has been loaded with the matching columns yet: nothing to copy
    absent = [f"{source}.{c}" for c in rule.match.values() if c not in theirs]
    if absent:
        raise ChangedQueryError(f"{spec.name}: incremental.follow matches on {', '.join(absent)}, which is not there.")
    pairs = [(mine, other) for mine, other in rule.columns.items() if mine in have and other in theirs]
    skipped = [mine for mine in rule.columns if (mine, rule.columns[mine]) not in pairs]
    if skipped:
        log(f"{spec.name}: incremental.follow leaves {', '.join(skipped)} as read (not in both tables)")
    if not pairs:
        return 0
    match = " AND ".join(f't."{mine}" = s."{other}"' for mine, other in rule.match.items())
    sets = ", ".join(f'"{mine}" = s."{other}"' for mine, other in pairs)
    differs = " OR ".join(f't."{mine}" IS DISTINCT FROM s."{other}"' for mine, other in pairs)
    with warehouse.connect() as con:
        [(count,)] = con.execute(
            f"UPDATE {spec.table} AS t SET {sets} FROM {source} AS s WHERE {match} AND ({differs})"
        ).fetchall()
    if count:
        log(f"{spec.name}: {count} kept rows took their {', '.join(m for m, _ in pairs)} from {source}")
    return int(count)


def remember_items(
    warehouse: Warehouse,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    now: datetime,
    read: Sequence[Mapping[str, Any]] | None = None,
    outcome: Any = None,
) -> None:
    """Record the items a successful load covered, and when each was read.

    ``read`` is the rows this run fetched (None: all of them); an item that failed (in the
    outcome's errors) is not read. Written after the data: if this write is lost, the next run
    only re-reads more than it needed (items look new) or deletes again what is already gone —
    never less.
    """
    failed = {e["partition_key"] for e in (outcome.errors if outcome else ()) if e.get("partition_key")}
    keys, now = [item_key(r, columns) for r in rows], int(now.timestamp())
    fresh = set(keys) if read is None else {item_key(r, columns) for r in read}
    # the earlier read times matter only for what this run did not read (none on a full read)
    previous = known_items(warehouse, table) if read is not None or failed else {}
    times = [now if k in fresh and k not in failed else previous.get(k, 0) for k in keys]
    with warehouse.connect() as con:
        con.execute(f"CREATE TABLE IF NOT EXISTS {ITEMS_TABLE} (table_name VARCHAR, item VARCHAR, verified_at BIGINT)")
        con.execute(f"ALTER TABLE {ITEMS_TABLE} ADD COLUMN IF NOT EXISTS verified_at BIGINT")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {ITEMS_TABLE} WHERE table_name = ?", [table])
            con.execute(
                f"INSERT INTO {ITEMS_TABLE} (table_name, item, verified_at) SELECT ?, unnest(?::VARCHAR[]), "
                "unnest(?::BIGINT[])",
                [table, keys, times],
            )
            apply_notes(con, TableName.parse(ITEMS_TABLE), ITEMS_NOTES)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
