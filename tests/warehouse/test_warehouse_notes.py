"""Declared types hold with or without values; comments and the time view survive every load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from moodle_assets.warehouse import TableNotes, Warehouse, read_df

TABLE = "moodle.submissions"
NOTES = TableNotes(
    description="Returns the submissions for assignments",
    columns={
        "id": "submission id",
        "timestarted": "submission start time",
        "status": "submission status",
        "_loaded_at": "When this row was loaded (UTC).",
    },
    epoch_columns=["timestarted", "timemodified"],
    epoch_view="moodle_t.submissions",
)
DECLARED = {"id": "BIGINT", "timestarted": "BIGINT", "timemodified": "BIGINT", "status": "VARCHAR"}


def _comments(warehouse: Warehouse, schema: str, table: str) -> dict[str, str | None]:
    return dict(
        warehouse.query(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [schema, table],
        )
    )


def _types(warehouse: Warehouse, schema: str, table: str) -> dict[str, str]:
    return dict(
        warehouse.query(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [schema, table],
        )
    )


def test_declared_types_hold_when_every_value_is_null(stage) -> None:
    staged = stage([{"id": 1, "timestarted": None, "status": None}], columns=DECLARED)
    assert staged.columns == {"id": "BIGINT", "timestarted": "BIGINT", "timemodified": "BIGINT", "status": "VARCHAR"}
    assert staged.widened == {}


def test_declared_none_only_places_a_column(stage) -> None:
    staged = stage([{"name": "x"}], context={"courseid": 7}, columns={"courseid": None, "id": "BIGINT"})
    assert list(staged.columns) == ["courseid", "id", "name"]
    assert staged.columns["courseid"] == "BIGINT"


def test_a_value_outside_its_declared_type_widens_the_column_and_is_recorded(warehouse: Warehouse, stage) -> None:
    """Moodle sending text in a PARAM_INT field must not fail the load: the column is read as
    text for that load, and the load says so."""
    staged = stage([{"id": 1, "timestarted": "soon"}], columns=DECLARED)
    assert staged.widened == {"timestarted": "BIGINT -> VARCHAR"}
    result = warehouse.replace_table(TABLE, staged, notes=NOTES)
    assert result.widened == {"timestarted": "BIGINT -> VARCHAR"}
    assert result.columns["timestarted"] == "VARCHAR"
    assert warehouse.query("SELECT meta->'widened' FROM moodle._loads")[0][0] == '{"timestarted":"BIGINT -> VARCHAR"}'
    # The time view still answers, with NULL where the text is not a time.
    assert warehouse.query("SELECT timestarted FROM moodle_t.submissions") == [(None,)]


def test_comments_are_written_with_the_load_and_survive_a_replace(warehouse: Warehouse, stage) -> None:
    for records in ([{"id": 1, "timestarted": 0}], [{"id": 2, "timestarted": 1700000000, "extra": 1}]):
        warehouse.replace_table(TABLE, stage(records, columns=DECLARED), notes=NOTES)
        assert warehouse.query("SELECT comment FROM duckdb_tables() WHERE table_name = 'submissions'") == [
            ("Returns the submissions for assignments",)
        ]
        comments = _comments(warehouse, "moodle", "submissions")
        assert comments["timestarted"] == "submission start time"
        assert comments["_loaded_at"] == "When this row was loaded (UTC)."
        assert comments["timemodified"] is None  # no note given
        view = _comments(warehouse, "moodle_t", "submissions")
        assert view["timestarted"].startswith("submission start time Here a TIMESTAMP WITH TIME ZONE")
    assert "extra" in view  # the view follows the table's columns


def test_the_time_view_has_timestamps_and_null_for_never(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table(
        TABLE,
        stage(
            [
                {"id": 1, "timestarted": 0, "timemodified": 1700000000},
                {"id": 2, "timestarted": None, "timemodified": 86400},
            ],
            columns=DECLARED,
        ),
        notes=NOTES,
    )
    types = _types(warehouse, "moodle_t", "submissions")
    assert types["timestarted"] == types["timemodified"] == "TIMESTAMP WITH TIME ZONE"
    assert types["id"] == "BIGINT" and types["status"] == "VARCHAR"
    assert warehouse.query("SELECT id, timestarted, timemodified FROM moodle_t.submissions ORDER BY id") == [
        (1, None, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (2, None, datetime(1970, 1, 2, tzinfo=UTC)),
    ]
    assert warehouse.query("SELECT timestarted FROM moodle.submissions ORDER BY id") == [(0,), (None,)]


def test_partition_loads_keep_comments_and_follow_new_columns(warehouse: Warehouse, stage) -> None:
    def load(day: str, records: list[dict]) -> None:
        staged = stage(columns=DECLARED)
        staged.add(records, context={"day": day})
        warehouse.replace_partitions(TABLE, staged, partition_column="day", partitions=[day], notes=NOTES)

    load("a", [{"id": 1, "timestarted": 5}])
    load("b", [{"id": 2, "timestarted": 6, "timecheckstate": 0}])
    assert _comments(warehouse, "moodle", "submissions")["timestarted"] == "submission start time"
    assert warehouse.query("SELECT id, epoch(timestarted), timecheckstate FROM moodle_t.submissions ORDER BY id") == [
        (1, 5, None),
        (2, 6, 0),
    ]


def test_a_partitioned_column_of_only_nulls_takes_its_declared_type(warehouse: Warehouse, stage) -> None:
    """An older load typed a column VARCHAR for want of values; the declared type replaces it,
    and a later load with only nulls there (type unknown) leaves the column alone."""
    staged = stage([{"id": 1, "expiredate": None}], context={"day": "a"})
    warehouse.replace_partitions(TABLE, staged, partition_column="day", partitions=["a"])
    assert _types(warehouse, "moodle", "submissions")["expiredate"] == "VARCHAR"
    staged = stage([{"id": 2, "expiredate": None}], context={"day": "b"}, columns={"expiredate": "BIGINT"})
    warehouse.replace_partitions(TABLE, staged, partition_column="day", partitions=["b"])
    assert _types(warehouse, "moodle", "submissions")["expiredate"] == "BIGINT"
    staged = stage([{"id": 3, "expiredate": None}], context={"day": "c"})
    warehouse.replace_partitions(TABLE, staged, partition_column="day", partitions=["c"])
    assert _types(warehouse, "moodle", "submissions")["expiredate"] == "BIGINT"


def test_bookkeeping_tables_explain_their_columns(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table(TABLE, stage([{"id": 1}]))
    for table in ("_loads", "_errors"):
        comments = _comments(warehouse, "moodle", table)
        assert comments and all(comments.values()), (table, comments)


def test_model_tables_get_their_comments(warehouse: Warehouse) -> None:
    notes = TableNotes("One row per thing.", {"n": "A number.", "_loaded_at": "When built."})
    warehouse.create_table_as("analytics.things", "SELECT 1 AS n", notes=notes)
    warehouse.create_table_as("analytics.things", "SELECT 2 AS n", notes=notes)
    assert _comments(warehouse, "analytics", "things") == {"n": "A number.", "_loaded_at": "When built."}


def test_read_df_reads_a_table_or_a_query(warehouse: Warehouse, stage) -> None:
    warehouse.replace_table(TABLE, stage([{"id": 1, "timestarted": 0}], columns=DECLARED), notes=NOTES)
    frame = read_df(TABLE, warehouse.path)
    assert list(frame["id"]) == [1]
    frame = read_df("SELECT id, timestarted FROM moodle_t.submissions WHERE id = ?", warehouse.path, [1])
    assert frame["timestarted"].isna().all()
    with pytest.raises(FileNotFoundError, match="No warehouse at"):
        read_df(TABLE, warehouse.path + ".missing")


def test_the_harvest_path_never_imports_pandas(tmp_path) -> None:
    """Loading and reading through the warehouse, with the project's definitions imported, leaves
    pandas unloaded (~0.3 s per step process); only read_df brings it in."""
    script = f"""
import sys
import moodle_assets.definitions
from moodle_assets.warehouse import StagedRecords, TableNotes, Warehouse, read_df
wh = Warehouse({str(tmp_path / "w.duckdb")!r})
with StagedRecords(columns={{"id": "BIGINT"}}) as staged:
    staged.add([{{"id": 1, "t": 5}}], {{"courseid": 2}})
    wh.replace_table("moodle.x", staged, notes=TableNotes("x", {{"id": "id"}}, ["t"], "moodle_t.x"))
wh.query_dicts("SELECT * FROM moodle_t.x")
print("pandas" in sys.modules)
read_df("moodle.x", wh.path)
print("pandas" in sys.modules)
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
