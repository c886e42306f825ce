"""The demo as a data engineer meets it, driven in headless Chromium (opt-in: ``-m browser``).

Starts ``moodle-assets demo`` exactly as ``scripts/demo.sh`` does (its own Dagster home and
DuckDB file, free ports), waits for the UI, then clicks through what ``docs/ui.md`` tells a
newcomer to look at first: the groups and the lineage down to the analytics models, a
materialised asset's row count, schema, preview and checks, and a calendar backfill launched
from the partitions page. A screenshot of every step lands in ``artifacts/ui/``.

Needs Chromium (``apt-get install chromium``, or set ``MOODLE_ASSETS_CHROMIUM``) and
``pip install -e '.[ui]'``; never downloads a browser.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.ui.helpers import free_port, process, tail, venv_bin, wait_for_http

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "ui"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GROUPS = ["site", "courses", "people", "assessment", "engagement", "analytics"]
MODELS = [
    "learner_progress",
    "course_overview",
    "assessment_results",
    "engagement_weekly",
    "at_risk_learners",
    "course_dashboard",
]
# Lineage from the two roots the models are built on, down to the dashboard.
LINEAGE_SELECTION = 'key:"moodle/courses" or key:"moodle/users" or key:"moodle/enrolled_users" or group:"analytics"'


def chromium_path() -> str | None:
    candidate = os.environ.get("MOODLE_ASSETS_CHROMIUM") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``moodle-assets demo`` running: (UI base URL, DuckDB path). Stopped with Ctrl-C at the end."""
    work = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "MOODLE_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "PYTHONUNBUFFERED": "1",
        "MOODLE_PROJECT_DIR": str(work),  # the built-in endpoints only, whatever the checkout holds
    }
    env.pop("MOODLE_ENDPOINTS_FILE", None)
    ui_port, moodle_port = free_port(), free_port()
    log = work / "demo.log"
    args = [venv_bin("moodle-assets"), "demo", "--ui-port", str(ui_port), "--port", str(moodle_port)]
    with process(args, env=env, cwd=work, log=log) as proc:
        base = f"http://127.0.0.1:{ui_port}"
        # The harvest runs first (about a minute here), then dagster dev starts the UI.
        wait_for_http(f"{base}/server_info", proc, log, timeout=900)
        wait_for_location(base, proc, log)
        yield base, work / "warehouse.duckdb"
    print(tail(log, 5))


def wait_for_location(base: str, proc, log: Path, timeout: float = 180) -> None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, tail(log)
        try:
            data = httpx.post(f"{base}/graphql", json={"query": query}, timeout=10).json()["data"]
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except (httpx.HTTPError, KeyError, TypeError):
            pass
        time.sleep(1)
    raise AssertionError(f"the code location did not load:\n{tail(log)}")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[ui]'")
    executable = chromium_path()
    if not executable:
        pytest.skip("no Chromium: apt-get install chromium, or set MOODLE_ASSETS_CHROMIUM")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def open_ui(page, base: str, path: str) -> None:
    page.goto(base + path, wait_until="networkidle")
    # The first visit of a new instance shows the community dialog; a newcomer clicks Skip.
    skip = page.get_by_role("button", name="Skip", exact=True)
    try:
        skip.wait_for(state="visible", timeout=3_000)
        skip.click()
    except Exception:  # playwright's TimeoutError: no dialog this time
        pass


def shot(page, name: str, *, full_page: bool = False) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def graph_node(page, text: str):
    """A node (asset or group) drawn in the lineage graph, not the sidebar's tree."""
    return page.locator("svg foreignObject").get_by_text(text, exact=True).first


def warehouse_query(db: Path, sql: str):
    import duckdb

    # The demo has released the main file to dagster dev; open the analysts' snapshot.
    snapshot = db.with_name(db.stem + "_snapshot.duckdb")
    with duckdb.connect(str(snapshot if snapshot.exists() else db), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_asset_graph_shows_every_group_and_the_lineage_to_the_models(demo, page):
    base, _ = demo
    open_ui(page, base, "/asset-groups")
    for group in GROUPS:
        graph_node(page, group).wait_for(state="visible")
    shot(page, "01_asset_groups")

    # Filter the graph to the roots and the models, as typed in "Search and filter assets".
    page.locator(".CodeMirror").first.click()
    page.keyboard.type(LINEAGE_SELECTION)
    page.keyboard.press("Enter")
    for group in ("courses", "people", "analytics"):
        graph_node(page, group).click()  # expand the group
        page.wait_for_timeout(500)
    assert "expanded=" in page.url
    page.reload(wait_until="networkidle")  # fits the expanded graph to the window
    for name in ["courses", "users", "enrolled_users", *MODELS]:
        graph_node(page, name).wait_for(state="visible")
    shot(page, "02_lineage_courses_users_to_models")

    # The edges, as the asset pages list them.
    open_ui(page, base, "/assets/analytics/learner_progress")
    page.get_by_text("Upstream assets", exact=True).wait_for()
    for linked in ("moodle / courses", "moodle / users", "moodle / enrolled_users", "analytics / at_risk_learners"):
        page.get_by_text(linked, exact=True).filter(visible=True).first.wait_for(timeout=5_000)
    page.get_by_text("Upstream assets", exact=True).scroll_into_view_if_needed()
    shot(page, "03_learner_progress_lineage")


def test_materialised_asset_shows_row_count_schema_preview_and_checks(demo, page):
    base, db = demo
    rows = warehouse_query(db, "SELECT count(*) FROM moodle.enrolled_users")[0][0]
    columns = [r[0] for r in warehouse_query(db, "DESCRIBE moodle.enrolled_users")]
    usernames = {r[0] for r in warehouse_query(db, "SELECT username FROM moodle.enrolled_users")}
    assert rows > 0

    open_ui(page, base, "/assets/moodle/enrolled_users")
    page.get_by_text("Row count", exact=True).wait_for()
    page.get_by_text("Columns", exact=True).wait_for()
    body = page.inner_text("body")
    assert re.search(rf"Row count\s+{rows}\b", body), "row count missing from the overview"
    shot(page, "04_enrolled_users_overview")

    schema = page.locator("table").filter(has_text="Column name").first
    schema_text = schema.inner_text()
    for column in columns:
        assert re.search(rf"(^|\n){re.escape(column)}\s", schema_text), f"column {column} not in the schema"
    for kind in ("BIGINT", "VARCHAR", "JSON"):
        assert kind in schema_text

    # Materialisation metadata: rows loaded, the function called, a preview of the rows.
    metadata = page.locator("table").filter(has_text="rows_loaded").first
    metadata.get_by_text("preview", exact=True).scroll_into_view_if_needed()
    metadata_text = metadata.inner_text()
    assert re.search(rf"rows_loaded\s+\S.*\s+{rows}\b", metadata_text)
    assert "core_enrol_get_enrolled_users" in metadata_text
    preview_names = set(re.findall(r"\bstudent\d{3}\b|\bteacher\d{2,3}\b", metadata_text))
    assert preview_names and preview_names <= usernames, preview_names
    shot(page, "05_enrolled_users_metadata_preview")

    page.get_by_role("tab", name="Checks").click()
    page.get_by_text("Evaluation result", exact=True).wait_for()
    checks = page.inner_text("body")
    for check in ("failed_items", "function_available"):
        assert check in checks
    assert "Passed" in checks
    shot(page, "06_enrolled_users_checks")


def test_calendar_backfill_launched_from_the_partitions_page(demo, page):
    base, _ = demo
    # Three days the demo's own harvest (100 days back) did not load.
    today = datetime.now(UTC).date()
    first, last = today - timedelta(days=130), today - timedelta(days=128)
    selection = f"[{first.isoformat()}...{last.isoformat()}]"

    open_ui(page, base, "/assets/moodle/calendar_events?view=partitions")
    materialized = page.get_by_text(re.compile(r"^Materialized \(\d+\)$")).first
    materialized.wait_for()
    before = int(re.search(r"\d+", materialized.inner_text()).group())
    assert before > 0
    shot(page, "07_calendar_partitions")

    page.locator("button", has_text="Materialize").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Launch runs to materialize moodle / calendar_events").wait_for()
    show_all = dialog.get_by_text("Show all partitions", exact=True)
    if show_all.count():
        show_all.click()
    box = dialog.locator("input[type=text]").first
    box.fill(selection)
    box.press("Enter")
    dialog.get_by_text("3 partitions", exact=True).wait_for()
    assert dialog.get_by_text("Backfills all partitions in a single run.").is_visible()
    shot(page, "08_backfill_dialog")
    dialog.get_by_role("button", name="Launch backfill").click()

    toast = page.get_by_text(re.compile(r"^Created backfill \w+$"))
    toast.wait_for()
    backfill_id = toast.inner_text().split()[-1]
    page.wait_for_timeout(1_000)  # the toast fades in
    shot(page, "09_backfill_created")

    # The toast's View opens the backfill: its partitions, then its one run, until it succeeds.
    page.get_by_text("View", exact=True).filter(visible=True).last.click()
    page.wait_for_url(re.compile(rf"/{backfill_id}"))
    page.get_by_role("tab", name="Runs").click()
    page.get_by_text(f"{first.isoformat()}...{last.isoformat()}").first.wait_for()
    deadline = time.monotonic() + 300
    while True:
        body = page.inner_text("body")
        if re.search(r"moodle / calendar_events[\s\S]*Success", body):
            break
        assert "Failure" not in body, body[-2000:]
        assert time.monotonic() < deadline, f"the backfill run did not succeed:\n{body[-2000:]}"
        page.wait_for_timeout(3_000)
        page.reload(wait_until="networkidle")
    shot(page, "10_backfill_run_succeeded")

    open_ui(page, base, "/assets/moodle/calendar_events?view=partitions")
    page.get_by_text(f"Materialized ({before + 3})", exact=True).wait_for(timeout=60_000)
    shot(page, "11_calendar_partitions_after_backfill")
