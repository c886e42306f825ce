"""The client over real sockets: a tiny local HTTP server stands in for PHP's server.php."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from moodle_helpers import TOKEN

from moodle_assets.moodle import ClientSettings, MoodleClient, MoodleUnavailableError


class FakeServerPHP(BaseHTTPRequestHandler):
    """Echoes the parsed form back, as Moodle would see it in $_POST."""

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        length = int(self.headers["Content-Length"])
        form = parse_qsl(self.rfile.read(length).decode("ascii"), keep_blank_values=True)
        self.server.seen.append((self.path, self.headers["Content-Type"], form))  # type: ignore[attr-defined]
        if dict(form).get("wsfunction") == "slow_function":
            self.server.release.wait(timeout=5)  # type: ignore[attr-defined]
        body = json.dumps({"fields": [name for name, _ in form if name != "wstoken"]}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: test output stays readable."""


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeServerPHP)
    httpd.daemon_threads = True
    httpd.seen = []  # type: ignore[attr-defined]
    httpd.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_real_post_reaches_server_php_with_the_form(server: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    async def main() -> Any:
        async with MoodleClient(ClientSettings(url, TOKEN)) as client:
            return await client.call("core_user_get_users", {"criteria": [{"key": "email", "value": "%"}]})

    assert asyncio.run(main()) == {
        "fields": ["wsfunction", "moodlewsrestformat", "criteria[0][key]", "criteria[0][value]"]
    }
    ((path, content_type, form),) = server.seen  # type: ignore[attr-defined]
    assert path == "/webservice/rest/server.php"
    assert content_type == "application/x-www-form-urlencoded"
    assert form == [
        ("wstoken", TOKEN),
        ("wsfunction", "core_user_get_users"),
        ("moodlewsrestformat", "json"),
        ("criteria[0][key]", "email"),
        ("criteria[0][value]", "%"),
    ]


def test_real_read_timeout_is_retried_then_unavailable(server: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = ClientSettings(url, TOKEN, timeout=0.2, max_retries=1, backoff_base=0.001, backoff_max=0.001)

    async def main() -> MoodleUnavailableError:
        async with MoodleClient(settings) as client:
            with pytest.raises(MoodleUnavailableError) as caught:
                await client.call("slow_function")
            return caught.value

    error = asyncio.run(main())
    assert (error.attempts, error.cause) == (2, "ReadTimeout (over 0.2s)")
    assert len(server.seen) == 2  # type: ignore[attr-defined]
    assert "raise the timeout (now 0.2s)" in str(error)


def test_connection_refused_is_retried_then_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ClientSettings(f"http://127.0.0.1:{port}", TOKEN, max_retries=1, backoff_base=0.001, backoff_max=0.001)

    async def main() -> tuple[MoodleUnavailableError, MoodleClient]:
        async with MoodleClient(settings) as client:
            with pytest.raises(MoodleUnavailableError) as caught:
                await client.call("core_webservice_get_site_info")
            return caught.value, client

    error, client = asyncio.run(main())
    assert error.attempts == 2
    assert error.cause.startswith("ConnectError: ")
    assert (client.stats.attempts, client.stats.retries) == (2, 1)
    assert TOKEN not in str(error) and error.__context__ is None


def test_unreadable_ca_bundle_is_explained() -> None:
    with pytest.raises(ValueError) as caught:
        MoodleClient(ClientSettings("https://moodle.example.edu", TOKEN, verify="/nonexistent/ca.pem"))
    assert str(caught.value).startswith("the CA bundle '/nonexistent/ca.pem' given as verify cannot be used (")
    assert str(caught.value).endswith("point verify at a readable PEM file, or set it to True for the system CAs")
