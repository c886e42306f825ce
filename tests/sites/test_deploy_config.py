"""The deployment files docs/sites.md points at: they load, and they name this code location.

What can be checked here without a cluster: the instance settings load into a real Dagster
instance with the per-site run limit; dagster_cloud.yaml and the Helm values name the module
that holds the definitions; no file carries a token.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import yaml
from dagster import DagsterInstance

ROOT = Path(__file__).resolve().parents[2]
SITE_TAG = "moodle/site"


def test_the_instance_settings_queue_runs_one_per_site(tmp_path):
    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        config = instance.run_coordinator.get_run_queue_config()
        [limit] = [x for x in config.tag_concurrency_limits if x["key"] == SITE_TAG]
        assert limit["limit"] == 1 and limit["value"] == {"applyLimitPerUniqueValue": True}
        assert config.max_concurrent_runs > 1  # different sites side by side
    finally:
        instance.dispose()


def test_the_runs_carry_the_tag_the_limit_reads():
    from moodle_assets.sites.jobs import SITE_TAG as TAG

    assert TAG == SITE_TAG


def test_dagster_cloud_yaml_names_this_code_location():
    config = yaml.safe_load((ROOT / "dagster_cloud.yaml").read_text())
    [location] = config["locations"]
    module = location["code_source"]["module_name"]
    assert module == "moodle_assets.definitions" and importlib.util.find_spec(module) is not None


def test_the_helm_values_run_this_code_location_with_a_pod_per_run_and_a_limit_per_site():
    values = yaml.safe_load((ROOT / "deploy" / "k8s" / "values.yaml").read_text())
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "moodle_assets.definitions"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": SITE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
    # tokens come from a secret, never from the values
    assert deployment["envSecrets"] == [{"name": "moodle-site-tokens"}]
    # each site's working file survives the pod of the run that wrote it
    mounts = values["runLauncher"]["config"]["k8sRunLauncher"]["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == ["/opt/dagster/app/data/sites"]
    env = {e["name"] for e in deployment["env"]}
    assert not any(re.search("TOKEN", name) for name in env)


def test_no_deployment_file_holds_a_token():
    for path in (
        ROOT / "dagster_cloud.yaml",
        ROOT / "deploy" / "dagster.yaml",
        ROOT / "deploy" / "k8s" / "values.yaml",
    ):
        text = path.read_text()
        assert not re.search(r"(?i)(wstoken|token)\s*[:=]\s*[0-9a-f]{16,}", text), path
