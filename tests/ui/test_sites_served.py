"""Several sites as the Dagster UI shows them, read through the webserver's GraphQL API.

Two emulated sites and a sites file; the webserver on the code location, and (while it starts)
one site's site_info materialised from the CLI the way a user does; then, asked once the run is
done: every Moodle asset has one partition per site, the calendar is site x day, and the UI's
per-partition status says which site is loaded.
"""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from moodle_assets.sites.demo import sites_yaml, start_demo_sites
from tests.ui.helpers import WEBSERVER_GRACE, free_port, process, tail, venv_bin, wait_for_http

QUERY = """
{
  siteInfo: assetNodeOrError(assetKey: {path: ["moodle", "site_info"]}) {
    ... on AssetNode {
      partitionKeys
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses { materializedPartitions unmaterializedPartitions failedPartitions }
      }
    }
  }
  overview: assetNodeOrError(assetKey: {path: ["analytics", "course_overview"]}) {
    ... on AssetNode { partitionKeys }
  }
  calendar: assetNodeOrError(assetKey: {path: ["moodle", "calendar_events"]}) {
    ... on AssetNode { partitionDefinition { type dimensionTypes { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { jobs { name } schedules { name } } }
  }
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("")
    sites = start_demo_sites(2, scale=0.15, seed=3)
    try:
        (home / "moodle_sites.yaml").write_text(sites_yaml(sites))
        env = {k: v for k, v in os.environ.items() if k not in ("MOODLE_URL", "MOODLE_TOKEN", "MOODLE_ENDPOINTS_FILE")}
        env |= {s.token_env: s.token for s in sites}
        env |= {
            "DAGSTER_HOME": str(home),
            "MOODLE_PROJECT_DIR": str(home),
            "MOODLE_SITES_FILE": str(home / "moodle_sites.yaml"),
        }
        # The instance's storage is created here, so the webserver and the CLI run, started side by
        # side below, both open it instead of both creating it.
        DagsterInstance.from_ref(InstanceRef.from_dir(str(home))).dispose()
        port = free_port()
        log = home / "webserver.log"
        args = [venv_bin("dagster-webserver"), "-m", "moodle_assets.definitions", "-h", "127.0.0.1", "-p", str(port)]
        with process(args, env=env, cwd=home, log=log, grace=WEBSERVER_GRACE) as proc:
            # While the webserver starts: the run, from the CLI, before anything is asked of the UI.
            materialize = [venv_bin("dagster"), "asset", "materialize", "-m", "moodle_assets.definitions"]
            done = subprocess.run(
                [*materialize, "--select", "moodle/site_info", "--partition", sites[0].name],
                env=env,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/server_info", proc, log, timeout=60)
            response = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=30)
            body = response.json()
            assert not body.get("errors"), f"{body.get('errors')}\n{tail(log)}"
            yield sites, body["data"]
    finally:
        for s in sites:
            s.server.stop()


def test_each_asset_has_a_partition_per_site(served):
    sites, data = served
    names = sorted(s.name for s in sites)
    assert sorted(data["siteInfo"]["partitionKeys"]) == names
    assert sorted(data["overview"]["partitionKeys"]) == names
    dimensions = {d["name"] for d in data["calendar"]["partitionDefinition"]["dimensionTypes"]}
    assert dimensions == {"site", "day"}


def test_the_ui_shows_which_site_is_loaded(served):
    sites, data = served
    status = data["siteInfo"]["assetPartitionStatuses"]
    assert status["materializedPartitions"] == [sites[0].name]
    assert status["unmaterializedPartitions"] == [sites[1].name]
    assert status["failedPartitions"] == []


def test_the_jobs_and_schedules_of_sites_are_served(served):
    _, data = served
    [repo] = data["repositoriesOrError"]["nodes"]
    assert {"moodle_harvest", "moodle_calendar"} <= {j["name"] for j in repo["jobs"]}
    assert {"nightly_harvest", "nightly_calendar"} <= {s["name"] for s in repo["schedules"]}
