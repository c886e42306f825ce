"""Publishing each site's file into the shared warehouse: rows under their site, only that
site's rows replaced, columns evolved across sites, atomic, and safe from two processes."""

from __future__ import annotations

import multiprocessing
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from moodle_assets.warehouse import Warehouse, locking, publish
from moodle_assets.warehouse.publish import SITE_NOTE, PublishError, publish_bookkeeping, publish_site_rows

COURSES = "moodle.courses"
CREATE_COURSES = (
    "CREATE TABLE moodle.courses (id BIGINT, shortname VARCHAR, info JSON, _loaded_at TIMESTAMPTZ, _partition VARCHAR)"
)
T1 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)


def site_file(tmp_path: Path, name: str, *statements: str) -> Warehouse:
    """A site's own DuckDB file, built by hand (schema moodle created), as a Warehouse."""
    path = tmp_path / "sites" / f"{name}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS moodle")
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()
    return Warehouse(str(path), lock_timeout=5.0)


def run(site: Warehouse, *statements: str) -> None:
    """Change a site's file by hand, as its next load would."""
    con = duckdb.connect(site.path)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def columns(target: Warehouse, table: str = COURSES) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return target.query(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name],
    )


def state(target: Warehouse) -> tuple[list, list]:
    """Everything a failed publish must leave as it was: the columns and every row."""
    return columns(target), target.query("SELECT * FROM moodle.courses ORDER BY site, id")


@pytest.fixture
def north(tmp_path: Path) -> Warehouse:
    return site_file(
        tmp_path,
        "north",
        CREATE_COURSES,
        """INSERT INTO moodle.courses VALUES
            (1, 'MATH', '{"tags": ["algebra"], "sections": 4}', '2025-03-01 08:00:00+00', '2025-03-01'),
            (2, 'BIO', '{"tags": [], "sections": 2}', '2025-03-01 08:00:00+00', '2025-03-01')""",
    )


@pytest.fixture
def south(tmp_path: Path) -> Warehouse:
    return site_file(
        tmp_path,
        "south",
        CREATE_COURSES,
        """INSERT INTO moodle.courses VALUES
            (1, 'ART', '{"tags": ["paint", "clay"], "sections": 7}', '2025-03-02 08:00:00+00', '2025-03-02')""",
    )


def test_two_sites_land_in_one_table_each_row_with_its_site(north, south, warehouse) -> None:
    assert publish_site_rows(north, warehouse, COURSES, "north") == 2
    assert publish_site_rows(south, warehouse, COURSES, "south") == 1

    assert warehouse.query(
        "SELECT site, id, shortname, json_extract_string(info, '$.tags[0]'), "
        "json_extract(info, '$.sections')::BIGINT, _loaded_at, _partition FROM moodle.courses ORDER BY site, id"
    ) == [
        ("north", 1, "MATH", "algebra", 4, T1, "2025-03-01"),
        ("north", 2, "BIO", None, 2, T1, "2025-03-01"),
        ("south", 1, "ART", "paint", 7, T2, "2025-03-02"),
    ]
    assert warehouse.query("SELECT site, count(*) FROM moodle.courses GROUP BY site ORDER BY site") == [
        ("north", 2),
        ("south", 1),
    ]
    assert columns(warehouse) == [
        ("site", "VARCHAR"),
        ("id", "BIGINT"),
        ("shortname", "VARCHAR"),
        ("info", "JSON"),
        ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
        ("_partition", "VARCHAR"),
    ]


def test_republishing_a_site_replaces_only_its_rows(north, south, warehouse) -> None:
    publish_site_rows(north, warehouse, COURSES, "north")
    publish_site_rows(south, warehouse, COURSES, "south")
    run(
        north,
        "DELETE FROM moodle.courses",
        """INSERT INTO moodle.courses VALUES (1, 'MATH-2', '{}', '2025-03-02 08:00:00+00', '2025-03-02'),
                                             (3, 'CHEM', '{}', '2025-03-02 08:00:00+00', '2025-03-02')""",
    )

    assert publish_site_rows(north, warehouse, COURSES, "north") == 2

    assert warehouse.query("SELECT site, id, shortname FROM moodle.courses ORDER BY site, id") == [
        ("north", 1, "MATH-2"),
        ("north", 3, "CHEM"),
        ("south", 1, "ART"),
    ]


@pytest.mark.parametrize("order", [("north", "south"), ("south", "north")])
def test_columns_of_one_site_are_added_and_conflicting_types_widened(tmp_path, warehouse, order) -> None:
    sites = {
        "north": site_file(
            tmp_path,
            "north",
            "CREATE TABLE moodle.courses (id BIGINT, category BIGINT, extra JSON)",
            """INSERT INTO moodle.courses VALUES (1, 5, '{"a": 1}')""",
        ),
        "south": site_file(
            tmp_path,
            "south",
            "CREATE TABLE moodle.courses (id BIGINT, category VARCHAR, extra VARCHAR, format VARCHAR)",
            "INSERT INTO moodle.courses VALUES (1, 'Sciences', 'plain text', 'topics')",
        ),
    }
    for site in order:
        publish_site_rows(sites[site], warehouse, COURSES, site)

    assert dict(columns(warehouse)) == {
        "site": "VARCHAR",
        "id": "BIGINT",
        "category": "VARCHAR",  # BIGINT and VARCHAR meet at VARCHAR
        "extra": "JSON",  # JSON and VARCHAR at JSON, the text as a JSON string
        "format": "VARCHAR",
    }
    assert warehouse.query("SELECT site, id, category, extra, format FROM moodle.courses ORDER BY site") == [
        ("north", 1, "5", '{"a": 1}', None),
        ("south", 1, "Sciences", '"plain text"', "topics"),
    ]
    assert warehouse.query("SELECT json_extract(extra, '$.a')::BIGINT FROM moodle.courses WHERE site = 'north'") == [
        (1,)
    ]


def test_publishing_partitions_replaces_only_those_days_of_that_site(tmp_path, warehouse) -> None:
    create = "CREATE TABLE moodle.logs (id BIGINT, action VARCHAR, _partition DATE)"
    north = site_file(
        tmp_path,
        "north",
        create,
        "INSERT INTO moodle.logs VALUES (1, 'viewed', '2025-03-01'), (2, 'viewed', '2025-03-02')",
    )
    south = site_file(tmp_path, "south", create, "INSERT INTO moodle.logs VALUES (1, 'graded', '2025-03-01')")
    publish_site_rows(north, warehouse, "moodle.logs", "north")
    publish_site_rows(south, warehouse, "moodle.logs", "south")
    # North's next load re-read 1 March (and its file changed 2 March too, which this publish must not take).
    run(
        north,
        "DELETE FROM moodle.logs",
        "INSERT INTO moodle.logs VALUES (10, 'submitted', '2025-03-01'), (11, 'viewed', '2025-03-01'), "
        "(12, 'changed', '2025-03-02')",
    )

    published = publish_site_rows(
        north, warehouse, "moodle.logs", "north", partition_column="_partition", partitions=["2025-03-01"]
    )

    assert published == 2
    assert warehouse.query("SELECT site, id, action, _partition FROM moodle.logs ORDER BY site, id") == [
        ("north", 2, "viewed", date(2025, 3, 2)),
        ("north", 10, "submitted", date(2025, 3, 1)),
        ("north", 11, "viewed", date(2025, 3, 1)),
        ("south", 1, "graded", date(2025, 3, 1)),
    ]


def test_an_empty_source_deletes_the_sites_rows_and_keeps_the_columns(north, south, warehouse) -> None:
    publish_site_rows(north, warehouse, COURSES, "north")
    publish_site_rows(south, warehouse, COURSES, "south")
    before = columns(warehouse)
    run(north, "DELETE FROM moodle.courses", "ALTER TABLE moodle.courses ADD COLUMN format VARCHAR")

    assert publish_site_rows(north, warehouse, COURSES, "north") == 0

    assert warehouse.query("SELECT site, id FROM moodle.courses") == [("south", 1)]
    assert columns(warehouse) == [*before, ("format", "VARCHAR")]


def test_an_empty_source_creates_the_target_table(tmp_path, warehouse) -> None:
    empty = site_file(tmp_path, "north", CREATE_COURSES)

    assert publish_site_rows(empty, warehouse, COURSES, "north") == 0

    assert [c for c, _ in columns(warehouse)] == ["site", "id", "shortname", "info", "_loaded_at", "_partition"]
    assert warehouse.query("SELECT count(*) FROM moodle.courses") == [(0,)]


def test_a_source_that_cannot_be_published_is_refused_and_the_target_unchanged(
    tmp_path, north, south, warehouse
) -> None:
    publish_site_rows(north, warehouse, COURSES, "north")
    before = state(warehouse)

    no_table = site_file(tmp_path, "east", "CREATE TABLE moodle.users (id BIGINT)")
    with pytest.raises(PublishError) as missing:
        publish_site_rows(no_table, warehouse, COURSES, "east")
    assert "moodle.courses" in str(missing.value) and no_table.path in str(missing.value)

    own_site = site_file(tmp_path, "west", "CREATE TABLE moodle.courses (id BIGINT, Site VARCHAR)")
    with pytest.raises(PublishError, match="reserved") as reserved:
        publish_site_rows(own_site, warehouse, COURSES, "west")
    assert "'Site'" in str(reserved.value) and own_site.path in str(reserved.value)

    with pytest.raises(PublishError, match="no column 'day'"):
        publish_site_rows(south, warehouse, COURSES, "south", partition_column="day", partitions=["2025-03-02"])

    never_loaded = Warehouse(str(tmp_path / "sites" / "nowhere.duckdb"))
    with pytest.raises(PublishError, match="does not exist"):
        publish_site_rows(never_loaded, warehouse, COURSES, "nowhere")
    assert not Path(never_loaded.path).exists()

    assert state(warehouse) == before


def test_a_publish_failing_after_the_delete_leaves_the_target_as_it_was(north, south, warehouse, monkeypatch) -> None:
    publish_site_rows(north, warehouse, COURSES, "north")
    publish_site_rows(south, warehouse, COURSES, "south")
    before = state(warehouse)
    run(north, "ALTER TABLE moodle.courses ADD COLUMN format VARCHAR", "UPDATE moodle.courses SET shortname = 'NEW'")

    def broken(con, name, notes):  # the last step of the transaction, after ALTER, DELETE and INSERT
        assert con.execute("SELECT count(*) FROM moodle.courses WHERE shortname = 'NEW'").fetchall() == [(2,)]
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish, "apply_notes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        publish_site_rows(north, warehouse, COURSES, "north")

    assert state(warehouse) == before


def test_a_row_the_target_refuses_rolls_back_the_sites_delete(north, south, warehouse) -> None:
    publish_site_rows(north, warehouse, COURSES, "north")
    publish_site_rows(south, warehouse, COURSES, "south")
    warehouse.query("ALTER TABLE moodle.courses ALTER COLUMN id SET NOT NULL", read_only=False)
    before = state(warehouse)
    run(south, "INSERT INTO moodle.courses VALUES (NULL, 'NOID', '{}', '2025-03-02 08:00:00+00', '2025-03-02')")

    with pytest.raises(duckdb.ConstraintException):
        publish_site_rows(south, warehouse, COURSES, "south")

    assert state(warehouse) == before


def _publish_repeatedly(source: str, target: str, site: str, times: int, barrier, results) -> None:
    """One process publishing its site again and again (a spawned child: module level); reports
    the rows of each publish and how often it waited for the other process's file lock."""
    try:
        waits: list[float] = []
        wait = locking.sleep
        locking.sleep = lambda seconds: (waits.append(seconds), wait(seconds))
        source_wh, target_wh = Warehouse(source, lock_timeout=30), Warehouse(target, lock_timeout=30)
        barrier.wait(timeout=60)
        published = [publish_site_rows(source_wh, target_wh, COURSES, site) for _ in range(times)]
        results.put((site, (published, len(waits))))
    except BaseException:  # noqa: BLE001 - reported to the test
        results.put((site, traceback.format_exc()))


def test_two_processes_publishing_different_sites_into_one_file_both_land(tmp_path, warehouse) -> None:
    rows = "INSERT INTO moodle.courses SELECT i, 'C' || i, '{}', '2025-03-01 08:00:00+00', '2025-03-01' FROM range(%d) t(i)"
    sizes = {"north": 20_000, "south": 15_000}
    sites = {site: site_file(tmp_path, site, CREATE_COURSES, rows % n) for site, n in sizes.items()}
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(sites)), context.Queue()
    processes = [
        context.Process(target=_publish_repeatedly, args=(s.path, warehouse.path, site, 5, barrier, results))
        for site, s in sites.items()
    ]
    for process in processes:
        process.start()
    outcome = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)

    assert {site: result[0] for site, result in outcome.items()} == {site: [n] * 5 for site, n in sizes.items()}, (
        outcome
    )
    assert sum(waited for _, waited in outcome.values()) > 0, "the publishes never overlapped"
    assert warehouse.query("SELECT site, count(*), count(DISTINCT id) FROM moodle.courses GROUP BY 1 ORDER BY 1") == [
        ("north", 20_000, 20_000),
        ("south", 15_000, 15_000),
    ]


def test_comments_are_copied_and_the_site_column_explained(north, warehouse) -> None:
    run(
        north,
        "COMMENT ON TABLE moodle.courses IS 'Every course the service account can see.'",
        "COMMENT ON COLUMN moodle.courses.shortname IS 'The course''s short name, unique on the site.'",
    )

    publish_site_rows(north, warehouse, COURSES, "north")

    assert warehouse.query(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'moodle' AND table_name = 'courses'"
    ) == [("Every course the service account can see.",)]
    comments = dict(
        warehouse.query(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'moodle' AND table_name = 'courses'"
        )
    )
    assert comments["shortname"] == "The course's short name, unique on the site."
    assert comments["site"] == SITE_NOTE
    assert SITE_NOTE == "The Moodle site these rows came from (its name in moodle_sites.yaml); part of every key."
    assert comments["id"] is None


def test_bookkeeping_of_a_table_is_published_per_site(tmp_path, warehouse, stage) -> None:
    north = Warehouse(str(tmp_path / "sites" / "north.duckdb"), lock_timeout=5.0)
    south = Warehouse(str(tmp_path / "sites" / "south.duckdb"), lock_timeout=5.0)
    refused = {"item": {"courseid": 7}, "function": "core_enrol_get_enrolled_users", "errorcode": "nopermissions"}
    north.replace_table("moodle.enrolled_users", stage([{"id": 1}]), errors=[{**refused, "message": "No access"}])
    north.replace_table("moodle.users", stage([{"id": 1}]), errors=[{**refused, "message": "Other table"}])
    south.replace_table("moodle.enrolled_users", stage([{"id": 2}]), errors=[{**refused, "message": "South"}])

    assert publish_bookkeeping(north, warehouse, "north", "moodle.enrolled_users") == {
        "moodle._errors": 1,
        "moodle._loads": 1,
    }
    publish_bookkeeping(south, warehouse, "south", "moodle.enrolled_users")
    errors = "SELECT site, table_name, item->>'courseid', errorcode, message FROM moodle._errors ORDER BY site"
    assert warehouse.query(errors) == [
        ("north", "moodle.enrolled_users", "7", "nopermissions", "No access"),
        ("south", "moodle.enrolled_users", "7", "nopermissions", "South"),
    ]
    assert dict(columns(warehouse, "moodle._errors"))["item"] == "JSON"

    # North's next load has no refused items: its errors go, south's stay; its load history grows.
    north.replace_table("moodle.enrolled_users", stage([{"id": 1}, {"id": 3}]))
    publish_bookkeeping(north, warehouse, "north", "moodle.enrolled_users")
    assert warehouse.query(errors) == [("south", "moodle.enrolled_users", "7", "nopermissions", "South")]
    assert warehouse.query("SELECT site, table_name, row_count FROM moodle._loads ORDER BY site, row_count") == [
        ("north", "moodle.enrolled_users", 1),
        ("north", "moodle.enrolled_users", 2),
        ("south", "moodle.enrolled_users", 1),
    ]


def test_bookkeeping_is_skipped_when_the_site_has_none_yet(tmp_path, north, warehouse) -> None:
    assert publish_bookkeeping(north, warehouse, "north", COURSES) == {}
    assert not warehouse.table_exists("moodle._errors")


def test_a_table_loaded_without_sites_is_refused_not_mixed(tmp_path):
    """A warehouse a single-site setup loaded: its rows have no site, so a site's rows are not added."""
    import duckdb as _duckdb

    from moodle_assets.warehouse import Warehouse
    from moodle_assets.warehouse.publish import PublishError, publish_site_rows

    source, target = tmp_path / "north.duckdb", tmp_path / "shared.duckdb"
    for path in (source, target):
        with _duckdb.connect(str(path)) as con:
            con.execute(
                "CREATE SCHEMA moodle; CREATE TABLE moodle.courses (id BIGINT); INSERT INTO moodle.courses VALUES (2)"
            )
    with pytest.raises(PublishError, match="loaded without sites.*MOODLE_DUCKDB_PATH"):
        publish_site_rows(Warehouse(str(source)), Warehouse(str(target)), "moodle.courses", "north")
    with _duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT * FROM moodle.courses").fetchall() == [(2,)]


def test_publish_site_writes_rows_and_load_records_in_one_transaction(tmp_path, monkeypatch):
    """A failure after the rows are written leaves neither the rows nor the load record."""
    from moodle_assets.warehouse import Warehouse as _Warehouse
    from moodle_assets.warehouse import publish as publish_module

    source = _Warehouse(str(tmp_path / "north.duckdb"), snapshot_path=None)
    source.create_table_as("moodle.courses", "SELECT 2 AS id", [], meta={})
    target = _Warehouse(str(tmp_path / "shared.duckdb"), snapshot_path=None)
    assert publish_module.publish_site(source, target, "moodle.courses", "north") == 1
    assert target.query("SELECT site, count(*) FROM moodle._loads GROUP BY site") == [("north", 1)]

    source.create_table_as("moodle.courses", "SELECT 3 AS id UNION ALL SELECT 4", [], meta={})
    real_write, calls = publish_module._write, []

    def fail_on_the_load_records(con, site, found, column, values):
        calls.append(str(found.name))
        if str(found.name) == "moodle._loads":
            raise RuntimeError("stopped between the rows and their load record")
        return real_write(con, site, found, column, values)

    monkeypatch.setattr(publish_module, "_write", fail_on_the_load_records)
    with pytest.raises(RuntimeError):
        publish_module.publish_site(source, target, "moodle.courses", "north")
    assert "moodle.courses" in calls  # the rows were written before the failure...
    assert target.query("SELECT id FROM moodle.courses") == [(2,)]  # ...and rolled back with it
    assert target.query("SELECT count(*) FROM moodle._loads") == [(1,)]
