"""A user's own endpoints join the graph: chained lookups, lineage, headers, materialisation."""

import asyncio
from datetime import UTC, datetime

import httpx
from dagster import AssetKey

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.runner import harvest, plan_calls, resolve
from moodle_assets.moodle import ClientSettings, MoodleClient
from tests.assets.helpers import materialization_metadata, resources, rows, run

USER_FILE = """
- name: my_enrolments
  function: core_enrol_get_enrolled_users
  description: Enrolled users of every course, with only a few fields.
  params:
    courseid: "{courses.id}"
    options:
      - {name: userfields, value: "id,fullname"}
  paginate: {style: limit_offset, page_size: 50}
  headers: {X-Harvest-Day: "{now}"}
  date_format: "%Y-%m-%d"
- name: my_completion
  function: core_completion_get_course_completion_status
  params:
    courseid: "{my_enrolments.courseid}"
    userid: "{my_enrolments.id}"
  data_path: "$.completionstatus"
  metadata_path: "$.warnings"
"""


def test_chained_user_endpoints_materialise_with_lineage(demo_server, demo_dataset, tmp_path):
    from moodle_assets.demo.server import DEMO_TOKEN

    path = tmp_path / "moodle_endpoints.yaml"
    path.write_text(USER_FILE)
    specs = {s.name: s for s in load_specs(path)}
    assert specs["my_completion"].upstream() == ("my_enrolments",)
    assert specs["my_enrolments"].upstream() == ("courses",)
    assets = [build_endpoint_asset(specs[n]) for n in ("course_index", "courses", "my_enrolments", "my_completion")]
    assert assets[3].asset_deps[AssetKey(["moodle", "my_completion"])] == {AssetKey(["moodle", "my_enrolments"])}
    db = str(tmp_path / "m.duckdb")
    result = run(assets, resources(demo_server.url, DEMO_TOKEN, db))
    assert result.success
    # The pairs walked together (not a cartesian product): one call per enrolment.
    enrolments = rows(db, "SELECT count(*) FROM moodle.my_enrolments")[0][0]
    meta = materialization_metadata(result)
    assert meta["my_completion"]["items"] == enrolments
    done = rows(db, "SELECT count(*) FROM moodle.my_completion WHERE completed")[0][0]
    readable = {r[0] for r in rows(db, "SELECT id FROM moodle.courses")}
    hidden = demo_dataset.hidden_user_ids
    expected_done = sum(
        1
        for c in demo_dataset.course_completion
        if c["timecompleted"] and c["courseid"] in readable and c["userid"] not in hidden
    )
    assert done == expected_done
    assert set(r[0] for r in rows(db, "DESCRIBE moodle.my_enrolments")) >= {"courseid", "id", "fullname"}
    # Only id and fullname were asked for: the function's other fields are columns (typed as Moodle
    # declares them, so the table's shape never depends on what came), and empty.
    assert rows(db, "SELECT count(email), count(lastaccess) FROM moodle.my_enrolments") == [(0, 0)]
    types = rows(
        db,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'moodle' "
        "AND table_name = 'my_enrolments' AND column_name IN ('email', 'lastaccess')",
    )
    assert dict(types) == {"email": "VARCHAR", "lastaccess": "BIGINT"}


def test_headers_render_macros_and_reach_moodle():
    spec = {s.name: s for s in load_specs(include_user=False)}["site_info"]
    spec = type(spec)(**{**spec.__dict__, "headers": {"X-Harvest-Day": "{now}"}, "date_format": "%Y-%m-%d"})
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-Harvest-Day"))
        return httpx.Response(200, json={"sitename": "x", "userid": 2, "functions": []})

    async def go():
        resolved = resolve(spec)
        calls = list(plan_calls(resolved, None, datetime(2026, 3, 1, tzinfo=UTC)))
        settings = ClientSettings(url="https://moodle.example.edu", token="t0ken")
        async with MoodleClient(settings, transport=httpx.MockTransport(handler)) as client:
            return await harvest(resolved, client, calls, lambda records, ctx: None)

    outcome = asyncio.run(go())
    assert outcome.records == 1 and seen == ["2026-03-01"]
