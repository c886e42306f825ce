"""Shared helpers for the Moodle client tests: recordings, a recognisable token, fake transports."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from moodle_assets.moodle import ClientSettings, MoodleClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "moodle"  # trimmed recordings only
RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "demo" / "recordings"  # the real site's set

# Recognisable in any text, so a test can prove it appears nowhere.
TOKEN = "s3cr3t0k3n5f0e1d2c3b4a5968778695a4"
SITE = "http://moodle.test"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def load_recording(name: str) -> dict[str, Any]:
    """A recording of the real site: a trimmed one of tests/fixtures/moodle, else the verbatim one."""
    trimmed = FIXTURES / f"{name}.json"
    path = trimmed if trimmed.exists() else RECORDINGS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_fields(recording: dict[str, Any]) -> list[tuple[str, str]]:
    """The caller's form fields of a recording (protocol fields left out), in order."""
    return [
        (name, value)
        for name, value in recording["params"].items()
        if name not in ("wstoken", "wsfunction", "moodlewsrestformat")
    ]


def form_of(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.content.decode("ascii"), keep_blank_values=True)


def recording_response(recording: dict[str, Any]) -> httpx.Response:
    """Replay a recording's answer as the site sent it (JSON, or raw text for XML)."""
    body = recording["body"]
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.Response(
        recording["http_status"], content=content.encode("utf-8"), headers={"Content-Type": recording["content_type"]}
    )


class Sleeps:
    """Records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(handler: Handler, **settings: Any) -> tuple[MoodleClient, Sleeps]:
    options: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05, **settings}
    client = MoodleClient(ClientSettings(SITE, TOKEN, **options), transport=httpx.MockTransport(handler))
    sleeps = Sleeps()
    client._sleep = sleeps
    return client, sleeps
