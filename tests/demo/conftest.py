"""The demo site over real HTTP on loopback, shared by the demo tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from moodle_assets.demo.dataset import Dataset, DemoConfig, generate
from moodle_assets.demo.server import DEMO_TOKEN, DemoServer

NOW = 1795703248  # the recorded site's clock, so dates look like the recordings'
REST = "/webservice/rest/server.php"


class Site:
    """A running demo server plus a small client that speaks the REST protocol."""

    def __init__(self, server: DemoServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client

    @property
    def data(self) -> Dataset:
        return self.server.dataset

    def post(self, fields: dict[str, Any] | list[tuple[str, Any]]) -> httpx.Response:
        """Form-encode in the given order (a list keeps repeated and ordered fields)."""
        pairs = list(fields.items()) if isinstance(fields, dict) else fields
        return self.client.post(
            REST,
            content=urlencode([(k, str(v)) for k, v in pairs]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def call(self, function: str, token: str = DEMO_TOKEN, **params: Any) -> Any:
        fields = {"wstoken": token, "wsfunction": function, "moodlewsrestformat": "json", **params}
        response = self.post(fields)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        return response.json()


@pytest.fixture(scope="session")
def demo_data() -> Dataset:
    return generate(DemoConfig(now=NOW))


@pytest.fixture(scope="session")
def site(demo_data: Dataset) -> Iterator[Site]:
    with DemoServer(demo_data) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield Site(server, client)
