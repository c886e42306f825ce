"""One warehouse for every analytics test: a small demo site harvested once, then the
analytics assets and their checks materialised over it with the demo's fixed clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from moodle_assets.analytics import AnalyticsSettings, analytics_assets, analytics_checks
from moodle_assets.demo.dataset import Dataset, DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer
from tests.assets.helpers import endpoint_assets, resources, run
from tests.conftest import DEMO_NOW

# What the models read; the rest of the 25 endpoints would only slow the fixture down.
RAW = [
    "course_index",
    "courses",
    "users",
    "enrolled_users",
    "activity_completion",
    "course_completion",
    "grade_items",
    "course_contents",
    "course_modules",
    "assignments",
    "assignment_submissions",
    "quizzes",
    "quiz_attempts",
    "forums",
    "forum_discussions",
]
# Calendar days loaded (the demo's events run from now-90 to now+30 days).
CALENDAR_FROM, CALENDAR_TO = "2026-10-15", "2026-12-20"
# A third of the demo site: DS101, CS201 and CS305 readable (BIO110 refuses the token); DS101 has
# two participants hidden from participant lists and one suspended account.
SCALE = 0.35


@dataclass
class Built:
    data: Dataset
    db: str
    result: object  # the analytics run

    def res(self, **settings) -> dict:
        return {
            **resources("http://unused.invalid", DEMO_TOKEN, self.db),
            "analytics": AnalyticsSettings(now=DEMO_NOW, **settings),
        }


@pytest.fixture(scope="package")
def built(analytics_warehouse) -> Built:
    """The session's analytics warehouse (tests/conftest.py), shared with the docs' SQL test."""
    return analytics_warehouse


def build(tmp_path_factory) -> Built:
    data = generate(DemoConfig(now=DEMO_NOW, scale=SCALE))
    db = str(tmp_path_factory.mktemp("analytics") / "warehouse.duckdb")
    with DemoServer(data) as server:
        res = resources(server.url, DEMO_TOKEN, db, max_concurrency=16)
        assert run(endpoint_assets(RAW), res).success
        tags = {"dagster/asset_partition_range_start": CALENDAR_FROM, "dagster/asset_partition_range_end": CALENDAR_TO}
        assert run(endpoint_assets(["calendar_events"]), res, tags=tags).success
    result = run(
        [*analytics_assets, *analytics_checks],
        {"warehouse": res["warehouse"], "analytics": AnalyticsSettings(now=DEMO_NOW)},
    )
    assert result.success
    return Built(data, db, result)
