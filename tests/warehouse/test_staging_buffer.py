"""Staging keeps a bounded buffer in RAM: rows or bytes, whichever fills first.

A completion status with its details is ~8 KB of JSON; with a bound on rows alone, 5,000 of
them (~40 MB) stayed in memory before the first write, and the run's peak grew with it.
"""

from moodle_assets.warehouse.staging import StagedRecords


def test_big_records_reach_the_disk_before_the_row_bound(tmp_path):
    record = {"id": 0, "details": "x" * 8000}  # ~8 KB of JSON, as a completion status with details
    with StagedRecords(staging_dir=tmp_path, buffer_rows=5000, buffer_bytes=64 * 1024) as staged:
        staged.add({**record, "id": i} for i in range(20))  # 160 KB: more than twice the byte bound
        on_disk = staged._path.stat().st_size
        kept = sum(len(line) for line in staged._buffer)
        assert on_disk >= 64 * 1024  # written already, long before 5,000 rows
        assert kept < 64 * 1024 + 9000  # what is left in memory stays under the bound (plus one record)
        files = staged.paths()
        assert sum(1 for _ in open(files[0])) == 20


def test_small_records_are_buffered_up_to_the_row_bound(tmp_path):
    with StagedRecords(staging_dir=tmp_path, buffer_rows=100, buffer_bytes=1 << 20) as staged:
        staged.add({"id": i} for i in range(99))
        assert staged._path.stat().st_size == 0  # nothing written yet: one write per 100 rows
        staged.add([{"id": 99}])
        assert staged._path.stat().st_size > 0
