"""The project as a newcomer's tools see it: `dg` in the project root, pinned dependencies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).with_name("dg")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_has_an_upper_bound_and_a_pinned_tested_version():
    project = _pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    unbounded = [r for r in requirements if "<" not in r and "==" not in r]
    assert unbounded == [], f"dependencies without an upper bound: {unbounded}"

    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.lower().replace("_", "-")] = version
    tested = [r for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    missing = [_name(r) for r in tested if _name(r) not in pinned]
    assert missing == [], f"not pinned in constraints.txt (run scripts/lock.sh): {missing}"


def test_setup_installs_from_the_constraints_file():
    assert "-c constraints.txt" in (ROOT / "scripts" / "setup.sh").read_text()


# The two dg commands the tests below check, by name.
DG_COMMANDS = {"check": ["check", "defs"], "list": ["list", "defs", "--json"]}


def _dg_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(home)
    # The project's venv is the one dg should use, as it is after `source .venv/bin/activate`.
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parents[1])
    return env


@pytest.fixture(scope="module")
def dg_runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Each dg command, run once in the project root; the two side by side (each loads the
    project in processes of its own), each with a DAGSTER_HOME of its own."""
    if not DG.exists():
        pytest.fail(f"{DG} is missing: dagster-dg-cli is in the dev extras (bash scripts/setup.sh)")
    started = {
        name: subprocess.Popen(
            [str(DG), *args],
            cwd=ROOT,
            env=_dg_env(tmp_path_factory.mktemp(f"dg_home_{name}")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in DG_COMMANDS.items()
    }
    done = {}
    try:
        for name, process in started.items():
            out, err = process.communicate(timeout=180)
            done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return done


def test_dg_check_defs_loads_the_definitions(dg_runs):
    done = dg_runs["check"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_dg_list_defs_shows_every_template_and_model(dg_runs):
    from moodle_assets.definitions import defs

    done = dg_runs["list"]
    assert done.returncode == 0, done.stderr
    listed = {a["asset_key"] for a in json.loads(done.stdout)["assets"]}
    expected = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert listed == expected
    assert {"moodle/site_info", "moodle/enrolled_users", "analytics/course_overview"} <= listed
