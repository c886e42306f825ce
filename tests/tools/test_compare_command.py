"""``moodle-assets compare``: two hand-built warehouse files, table by table."""

from __future__ import annotations

import duckdb

from moodle_assets.cli import main


def warehouse(path: str, course_name: str, lastloaded: int, with_groups: bool) -> str:
    with duckdb.connect(path) as con:
        con.execute("CREATE SCHEMA moodle")
        con.execute("CREATE TABLE moodle.courses (id BIGINT, fullname VARCHAR, _loaded_at TIMESTAMPTZ DEFAULT now())")
        con.execute("INSERT INTO moodle.courses (id, fullname) VALUES (2, ?), (3, 'History')", [course_name])
        con.execute("CREATE TABLE moodle.users (id BIGINT, preferences JSON, _item VARCHAR)")
        prefs = f'[{{"name":"_lastloaded","value":{lastloaded}}}]'
        con.execute("INSERT INTO moodle.users VALUES (2, ?, ?)", [prefs, str(lastloaded)])
        if with_groups:
            con.execute("CREATE TABLE moodle.groups (id BIGINT)")
        con.execute("CREATE TABLE moodle._loads (table_name VARCHAR)")  # bookkeeping: not compared
        con.execute("INSERT INTO moodle._loads VALUES (?)", [course_name])
    return path


def test_equal_files_compare_equal_whatever_the_request_times(tmp_path, capsys):
    left = warehouse(str(tmp_path / "a.duckdb"), "Databases", 1795700000, True)
    right = warehouse(str(tmp_path / "b.duckdb"), "Databases", 1795786400, True)
    assert main(["compare", left, right]) == 0
    assert capsys.readouterr().out.strip() == "3 of 3 tables equal"


def test_a_renamed_course_and_a_missing_table_are_named(tmp_path, capsys):
    left = warehouse(str(tmp_path / "a.duckdb"), "Databases", 1, True)
    right = warehouse(str(tmp_path / "b.duckdb"), "Databases (revised)", 1, False)
    assert main(["compare", left, right]) == 1
    out = capsys.readouterr().out
    assert f"courses: 1 rows only in {left}, 1 only in {right}; columns that differ: fullname" in out
    assert f"  {left}: {{'id': '2', 'fullname': 'Databases'}}" in out
    assert f"  {right}: {{'id': '2', 'fullname': 'Databases (revised)'}}" in out
    assert "groups: 1 rows only in" in out and "(not in the right file)" in out
    assert out.strip().endswith("1 of 3 tables equal")


def test_a_missing_file_is_one_clear_error(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope.duckdb"), str(tmp_path / "b.duckdb")]) == 2
    assert f"compare: no warehouse file at {tmp_path / 'nope.duckdb'}" in capsys.readouterr().err
