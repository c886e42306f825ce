"""site_info tells which assets this token cannot run, in metadata and as asset checks."""

from dagster import AssetCheckKey, AssetKey, AssetSelection, materialize

from moodle_assets.assets.factory import build_endpoint_asset
from moodle_assets.assets.site_checks import build_site_check
from moodle_assets.endpoints import load_specs
from moodle_assets.endpoints.availability import unavailable
from tests.assets.helpers import materialization_metadata, resources


def test_restricted_service_reports_missing_functions(demo_server, tmp_path):
    from moodle_assets.demo.server import RESTRICTED_TOKEN

    specs = load_specs(include_user=False)
    by_name = {s.name: s for s in specs}
    res = resources(demo_server.url, RESTRICTED_TOKEN, str(tmp_path / "m.duckdb"))
    result = materialize([build_endpoint_asset(by_name["site_info"], specs)], resources=res)
    meta = materialization_metadata(result)["site_info"]
    assert meta["functions_missing"] == {
        "groups": "core_group_get_course_groups",
        "quiz_attempts": "mod_quiz_get_user_attempts",
    }
    assert meta["assets_unavailable"] == 2


def test_checks_flag_assets_that_cannot_run(demo_server, tmp_path):
    from moodle_assets.demo.server import RESTRICTED_TOKEN

    specs = load_specs(include_user=False)
    res = resources(demo_server.url, RESTRICTED_TOKEN, str(tmp_path / "m.duckdb"))
    assets = [build_endpoint_asset(s, specs) for s in specs]
    assert materialize(assets, resources=res, selection=[AssetKey(["moodle", "site_info"])]).success
    keys = [
        AssetCheckKey(AssetKey(["moodle", n]), "function_available") for n in ("quiz_attempts", "groups", "courses")
    ]
    result = materialize(assets + [build_site_check(specs)], resources=res, selection=AssetSelection.checks(*keys))
    evaluations = {
        e.asset_check_evaluation_data.asset_key.path[-1]: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert set(evaluations) == {"quiz_attempts", "groups", "courses"}
    assert evaluations["courses"].passed
    assert not evaluations["quiz_attempts"].passed
    assert "Add mod_quiz_get_user_attempts to the token's external service" in evaluations["quiz_attempts"].description
    assert not evaluations["groups"].passed


def test_alternatives_and_exploded_assets():
    specs = load_specs(include_user=False)
    offered = [{"name": s.function} for s in specs if s.function and s.function != "mod_quiz_get_user_attempts"]
    newer = offered + [{"name": "mod_quiz_get_user_quiz_attempts"}]
    assert unavailable(specs, {"functions": offered}) == {"quiz_attempts": "mod_quiz_get_user_attempts"}
    assert unavailable(specs, {"functions": newer}) == {}
    without_contents = [f for f in offered if f["name"] != "core_course_get_contents"]
    missing = unavailable(specs, {"functions": without_contents})
    assert missing["course_modules"] == "core_course_get_contents"
