"""What a client is given (:class:`ClientSettings`) and what it counts (:class:`CallStats`)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .urls import REST_PATH, strip_userinfo

__all__ = ["CallStats", "ClientSettings"]


@dataclass(frozen=True)
class ClientSettings:
    """Where the site is, how to authenticate, and how hard to push it."""

    url: str
    token: str = field(repr=False)
    timeout: float = 60.0
    connect_timeout: float = 10.0
    max_concurrency: int = 4
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    verify: bool | str = True
    adaptive_concurrency: bool = True  # lower the calls in flight while the site is saturated

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url.strip()).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(
                f"the Moodle URL {strip_userinfo(self.url)!r} must start with http:// or https://: "
                "set it to the site root, e.g. https://moodle.example.edu"
            )
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {self.max_concurrency}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {self.max_retries}")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError(
                f"timeouts must be positive seconds (timeout={self.timeout}, connect_timeout={self.connect_timeout})"
            )
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must not be negative")

    @property
    def endpoint(self) -> str:
        """``{url}/webservice/rest/server.php``, whether or not the URL already ends in it."""
        base = self.url.strip().rstrip("/")
        return base if base.endswith(REST_PATH) else base + REST_PATH


@dataclass
class CallStats:
    """Counters a materialisation reports as metadata.

    ``calls`` counts logical calls (one per :meth:`MoodleClient.call`), ``attempts`` the
    HTTP requests actually sent, ``retries`` the repeated ones, ``errors`` the calls that
    finally failed, by Moodle errorcode or error class.
    """

    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    attempts: int = 0
    retries: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, Any]:
        """Plain values, ready to be metadata."""
        return {
            "calls": dict(self.calls),
            "total_calls": self.total_calls(),
            "attempts": self.attempts,
            "retries": self.retries,
            "errors": dict(self.errors),
            "seconds": round(self.seconds, 3),
        }
