"""Loads from several threads of one process (steps running side by side) into one file.

Every thread's connections share one DuckDB instance per file, where two write transactions
at once conflict ("Catalog write-write conflict" on two first loads both creating schema
``moodle``). The per-file writer lock (warehouse/writers.py) makes them take turns; each test
stretches the transactions so that, without the lock, they would certainly overlap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from moodle_assets.warehouse import Warehouse, bookkeeping, writers

THREADS = 6


def _all_at_once(work: list[Callable[[], object]]) -> list[BaseException]:
    """Run every callable in its own thread, started together; the errors they raised."""
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


@pytest.fixture
def slow_transactions(monkeypatch):
    """Each write transaction lingers after creating the bookkeeping tables, so two overlap."""
    original = bookkeeping.ensure_tables

    def lingering(con):
        original(con)
        time.sleep(0.15)

    monkeypatch.setattr(bookkeeping, "ensure_tables", lingering)


def test_parallel_first_loads_into_a_fresh_file_all_land(tmp_path: Path, stage, slow_transactions) -> None:
    db = str(tmp_path / "fresh" / "warehouse.duckdb")
    # One Warehouse per thread, as each step gets its own from the resource.
    jobs = [
        (lambda i=i: Warehouse(db, lock_timeout=30).replace_table(f"moodle.t{i}", stage([{"id": i, "n": i * 10}])))
        for i in range(THREADS - 2)
    ]
    jobs.append(
        lambda: Warehouse(db, lock_timeout=30).replace_partitions(
            "moodle.events", stage([{"id": 1}], context={"day": "d1"}), partition_column="day", partitions=["d1"]
        )
    )
    jobs.append(lambda: Warehouse(db, lock_timeout=30).create_table_as("analytics.model", "SELECT 42 AS answer"))

    assert _all_at_once(jobs) == []

    w = Warehouse(db, lock_timeout=10)
    for i in range(THREADS - 2):
        assert w.query(f"SELECT id, n FROM moodle.t{i}") == [(i, i * 10)]
    assert w.query("SELECT id, day FROM moodle.events") == [(1, "d1")]
    assert w.query("SELECT answer FROM analytics.model") == [(42,)]
    loaded = w.query("SELECT table_name FROM moodle._loads ORDER BY 1")
    assert sorted(t for (t,) in loaded) == sorted(
        [f"moodle.t{i}" for i in range(THREADS - 2)] + ["moodle.events", "analytics.model"]
    )


def test_readers_keep_reading_while_writers_take_turns(tmp_path: Path, stage, slow_transactions) -> None:
    """Lookups from other threads between and during writes neither fail nor starve a writer."""
    db = str(tmp_path / "warehouse.duckdb")
    Warehouse(db).replace_table("moodle.courses", stage([{"id": 1}, {"id": 2}]))
    stop = threading.Event()

    def reader() -> None:
        w = Warehouse(db, lock_timeout=30)
        while not stop.is_set():
            assert w.read_column("moodle.courses", "id") == [1, 2]
            with w.connect(read_only=True):  # a held connection with a nested read, as a step's metadata
                assert w.table_exists("moodle.courses")

    def writer(i: int) -> None:
        try:
            Warehouse(db, lock_timeout=30).replace_table(f"moodle.w{i}", stage([{"id": i}]))
        finally:
            if i == 2:
                stop.set()

    started = time.monotonic()
    assert _all_at_once([reader, reader, lambda: writer(0), lambda: writer(1), lambda: writer(2)]) == []
    assert time.monotonic() - started < 20
    assert Warehouse(db).query("SELECT count(*) FROM moodle._loads") == [(4,)]


def test_a_write_waits_only_for_the_lock_timeout(tmp_path: Path) -> None:
    db = str(tmp_path / "warehouse.duckdb")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with writers.writing(db, timeout=5):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(5)
        with pytest.raises(writers.WarehouseLockedError, match="another connection in this process"):
            Warehouse(db, lock_timeout=0.2).query("CREATE TABLE x AS SELECT 1", read_only=False)
    finally:
        release.set()
        holder.join()
    assert writers.writer_key(str(tmp_path / "." / "warehouse.duckdb")) == writers.writer_key(db)
