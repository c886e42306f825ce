"""The token appears nowhere: not in logs, Dagster events, errors, tables or the DuckDB file.

Nor does the harvesting account's private access key, which core_webservice_get_site_info
returns (``userprivateaccesskey`` opens the account's files on tokenpluginfile.php without
the token): not in moodle.site_info, its preview, the logs, nor ``moodle-assets test``'s output.
"""

from __future__ import annotations

import asyncio
import glob
import logging

import pytest
from dagster import EnvVar, materialize

from moodle_assets.assets.resources import MoodleResource, WarehouseResource
from moodle_assets.cli import main as cli_main
from moodle_assets.demo.dataset import DemoConfig, generate
from moodle_assets.demo.faults import Fault, FaultPlan
from moodle_assets.demo.server import DemoServer
from moodle_assets.moodle import ClientSettings, MoodleClient
from tests.assets.helpers import endpoint_assets, rows
from tests.conftest import DEMO_NOW
from tests.reliability.reliability_helpers import BASE_ASSETS, failure_messages

TOKEN = "Qz7SeCrEtToKeN4kq2W8mVbN4pLr6Jd"
ENROL = "core_enrol_get_enrolled_users"


def leaks(text: str, window: int = 10, secret: str = TOKEN) -> list[str]:
    """Every piece of ``secret`` ``window`` characters long that occurs in ``text``."""
    return [secret[i : i + window] for i in range(len(secret) - window + 1) if secret[i : i + window] in text]


def private_access_key(url: str) -> str:
    """The key the demo site gives the token's account, read straight off the wire."""

    async def call() -> dict:
        async with MoodleClient(ClientSettings(url, TOKEN)) as client:
            return await client.call("core_webservice_get_site_info")

    key = asyncio.run(call())["userprivateaccesskey"]
    assert isinstance(key, str) and len(key) >= 20
    return key


def _materialize(url: str, db: str, names: list[str]):
    return materialize(
        endpoint_assets(names),
        resources={
            "moodle": MoodleResource(url=url, token=EnvVar("MOODLE_TOKEN"), max_retries=3, timeout_seconds=1.0),
            "warehouse": WarehouseResource(path=db, lock_timeout_seconds=10),
        },
        raise_on_error=False,
    )


def _warehouse_text(db: str) -> str:
    """Every row of every table of the warehouse, all columns cast to text."""
    tables = rows(
        db,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY ALL",
    )
    assert ("moodle", "_errors") in tables and ("moodle", "_loads") in tables
    parts = []
    for schema, name in tables:
        parts += [r[0] for r in rows(db, f'SELECT CAST(t AS VARCHAR) FROM "{schema}"."{name}" AS t')]
    return "\n".join(parts)


def test_the_token_is_nowhere_after_harvests_with_retries_item_errors_and_echoing_failures(
    tmp_path, monkeypatch, caplog, capsys
):
    monkeypatch.setenv("MOODLE_TOKEN", TOKEN)
    db = str(tmp_path / "warehouse.duckdb")
    plan = FaultPlan(
        [
            Fault("status", function=ENROL, calls="2-3", status=503),
            Fault("reset", function=ENROL, calls="5"),
            Fault("slow", function=ENROL, calls="7", seconds=1.5),
            # A Moodle error that quotes the token back, on one course.
            Fault(
                "exception",
                function=ENROL,
                when={"courseid": 4},
                errorcode=None,
                exception="Error",
                message=f"Undefined array key 0 in token check of {TOKEN}",
            ),
        ]
    )
    server = DemoServer(generate(DemoConfig(now=DEMO_NOW)), token=TOKEN, faults=plan)
    with caplog.at_level(logging.DEBUG), server:
        key = private_access_key(server.url)
        harvested = _materialize(server.url, db, ["site_info", *BASE_ASSETS])
        # The test command prints records and metadata of one call, as text and as JSON.
        monkeypatch.setenv("MOODLE_URL", server.url)
        monkeypatch.setenv("MOODLE_DUCKDB_PATH", db + ".unused")
        capsys.readouterr()
        for argv in (
            ["test", "site_info"],
            ["test", "site_info", "--json"],
            ["test", "--function", "core_webservice_get_site_info", "--data-path", "$", "--json"],
        ):
            assert cli_main(argv) == 0, argv
        printed = capsys.readouterr()
        # A debugging proxy's page repeating the posted form, token included, near the top.
        server.faults = FaultPlan([Fault("html", function=ENROL, echo=True)])
        echoed = _materialize(server.url, db, ["enrolled_users"])
    assert plan.injected == {"status": 2, "reset": 1, "slow": 1, "exception": 1}
    assert harvested.success and not echoed.success
    [failure] = failure_messages(echoed)
    assert failure.split("(starts: ")[1].startswith(
        "'<!DOCTYPE html> <html><head><title>Acme University LMS: Log in to the site</title></head>"
        "<body><pre>wstoken=<redacted>&w')"
    )
    assert rows(db, "SELECT count(*) FROM moodle.enrolled_users")[0][0] > 400

    texts = {
        "logs": caplog.text,
        "events": "\n".join(repr(event) for result in (harvested, echoed) for event in result.all_events),
        "run config": repr([harvested.dagster_run.run_config, echoed.dagster_run.run_config]),
        "tables": _warehouse_text(db),
        "test command": printed.out + printed.err,
    }
    assert (
        "Undefined array key 0 in token check of <redacted>" in texts["tables"]
    )  # the quoted error did land in moodle._errors
    assert rows(db, "SELECT userprivateaccesskey FROM moodle.site_info") == [("<redacted>",)]
    assert '"userprivateaccesskey": "<redacted>"' in texts["test command"]
    for secret in (TOKEN, key):
        assert {where: leaks(text, secret=secret) for where, text in texts.items()} == {where: [] for where in texts}
        for path in glob.glob(db + "*"):
            with open(path, "rb") as handle:
                raw = handle.read()
            assert [piece for piece in leaks(raw.decode("latin-1"), secret=secret)] == [], path


def test_http_to_another_machine_is_warned_about_and_loopback_is_not(caplog):
    async def open_and_close(url: str) -> None:
        await MoodleClient(ClientSettings(url, TOKEN)).aclose()

    with caplog.at_level(logging.WARNING, logger="moodle_assets.moodle"):
        for url in (
            "http://127.0.0.1:8081",
            "http://localhost/moodle",
            "http://[::1]:80",
            "https://moodle.example.edu",
            "http://moodle.example.edu",
            "http://me:pw@10.0.0.5/lms",
        ):
            asyncio.run(open_and_close(url))
    assert [r.getMessage() for r in caplog.records] == [
        f"The Moodle URL {url} uses http:// to another machine: the token and every answer cross the "
        "network unencrypted. Use https:// (with ca_bundle for a private CA)."
        for url in ("http://moodle.example.edu", "http://10.0.0.5/lms")
    ]


def test_tls_is_verified_unless_a_ca_bundle_or_an_explicit_opt_out_says_otherwise(tmp_path):
    assert MoodleResource(url="https://m.example.edu", token="t").client_settings().verify is True
    assert ClientSettings("https://m.example.edu", "t").verify is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    settings = MoodleResource(url="https://m.example.edu", token="t", ca_bundle=str(bundle)).client_settings()
    assert settings.verify == str(bundle)
    with pytest.raises(ValueError, match="cannot be used"):
        MoodleClient(settings)
