"""Fault injection for the demo Moodle: the ways a real site, its PHP and its proxies fail.

A :class:`FaultPlan` is a list of :class:`Fault`\\ s consulted for every REST request. Each
fault picks the requests it applies to (a function or every function, parameter values such
as ``courseid=3``, or a paging option such as ``limitfrom=5``), then fires on a schedule
("the 3rd to 5th matching calls") or at a seeded rate, so a test run is reproducible.

What the faults imitate, and why each matters to a harvester:

``slow``         PHP busy past the client timeout: the answer comes, but too late.
``reset``        a proxy or PHP-FPM dropping the connection without any answer.
``status``       502/503 bursts from a load balancer, 429 with Retry-After from a rate limit.
``html``         a login or maintenance page with HTTP 200 (``echo=True`` repeats the posted
                 form on the page, as some debugging proxies do, to test token redaction).
``truncated``    HTTP 200 whose JSON stops half-way (PHP ran out of memory mid-output).
``cut``          the connection closes before the promised Content-Length (a transport cut).
``invalid_json`` HTTP 200 with a PHP notice printed before the JSON.
``exception``    Moodle's error envelope instead of the answer, e.g. ``nopermissions`` for
                 one course, or a PHP ``Error`` without an errorcode.
``repeat_page``  a server ignoring the paging options: every page is the first one.
``down``         the site goes away for ``seconds``: every request is reset, then it is back.

Set a plan when constructing :class:`~moodle_assets.demo.server.DemoServer` (``faults=``) or
on a running one (``server.faults = plan``); ``plan.injected`` counts what actually fired.
"""

from __future__ import annotations

import collections
import http
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal[
    "slow", "reset", "status", "html", "truncated", "cut", "invalid_json", "exception", "repeat_page", "down"
]
KINDS: frozenset[str] = frozenset(FaultKind.__args__)  # type: ignore[attr-defined]

_PAGE_FIELDS = ("page",)
_OFFSET_OPTIONS = ("limitfrom",)


@dataclass(frozen=True)
class Fault:
    """One kind of failure, where it applies, and when it fires.

    ``function``: the web-service function it applies to (None: every function).
    ``when``: field values the request must carry, e.g. ``{"courseid": "3"}``; Moodle's
    ``options[i][name]``/``options[i][value]`` pairs also match by option name, so
    ``{"limitfrom": "5"}`` picks the second page of a 5-per-page walk.
    ``calls``: a 1-based inclusive range of matching calls that fail, ``(3, 5)`` or ``"3-5"``;
    ``rate``: the share of matching calls that fail (seeded); neither: every matching call.
    """

    kind: FaultKind
    function: str | None = None
    when: Mapping[str, str] = field(default_factory=dict)
    calls: tuple[int, int] | str | None = None
    rate: float | None = None
    seconds: float = 0.0  # slow: the delay; down: how long the site stays away
    status: int = 503
    retry_after: float | None = None
    errorcode: str | None = "nopermissions"
    exception: str = "core\\exception\\required_capability_exception"
    message: str = "Sorry, but you do not currently have permissions to do that (view)."
    echo: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(sorted(KINDS))}")
        if isinstance(self.calls, str):
            first, _, last = self.calls.partition("-")
            object.__setattr__(self, "calls", (int(first), int(last or first)))
        if self.calls is not None and not 1 <= self.calls[0] <= self.calls[1]:
            raise ValueError(f"calls must be a range like 3-5 counted from 1, not {self.calls!r}")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {self.rate}")
        object.__setattr__(self, "when", {k: str(v) for k, v in self.when.items()})

    def matches(self, function: str, view: Mapping[str, str]) -> bool:
        if self.function is not None and function != self.function:
            return False
        return all(view.get(name) == value for name, value in self.when.items())


class FaultPlan:
    """The faults of one demo site; thread-safe, since the server answers in threads."""

    def __init__(self, faults: Sequence[Fault] = (), seed: int = 0) -> None:
        self.faults = list(faults)
        self.injected: collections.Counter[str] = collections.Counter()
        self._seen = [0] * len(self.faults)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._down_until = 0.0

    def decide(self, function: str, fields: Sequence[tuple[str, str]]) -> Fault | None:
        """The fault this request meets, if any (the first listed that fires), and count it."""
        view = _match_view(fields)
        with self._lock:
            if time.monotonic() < self._down_until:
                self.injected["down"] += 1
                return Fault("down")
            chosen = None
            for index, fault in enumerate(self.faults):
                if not fault.matches(function, view):
                    continue
                self._seen[index] += 1
                if chosen is None and self._fires(fault, self._seen[index]):
                    chosen = fault
            if chosen is not None:
                self.injected[chosen.kind] += 1
                if chosen.kind == "down":
                    self._down_until = time.monotonic() + chosen.seconds
            return chosen

    def _fires(self, fault: Fault, nth: int) -> bool:
        if fault.calls is not None:
            first, last = fault.calls  # type: ignore[misc]
            if not first <= nth <= last:
                return False
        if fault.rate is not None:
            return self._random.random() < fault.rate
        return True

    def intercept(
        self, handler: Any, fields: list[tuple[str, str]], respond: Callable[[list[tuple[str, str]]], Any]
    ) -> bool:
        """Answer the request with its fault, if it meets one; False lets the server answer.

        ``respond(fields)`` is the server's normal answer (a Reply with body, content_type,
        status), used by the faults that distort a real answer rather than replace it.
        """
        function = dict(fields).get("wsfunction", "")
        fault = self.decide(function, fields)
        if fault is None:
            return False
        kind = fault.kind
        if kind in ("reset", "down"):
            _reset(handler)
        elif kind == "slow":
            time.sleep(fault.seconds)
            reply = respond(fields)
            _write(handler, reply.status, reply.content_type, reply.body)
        elif kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            page = _html(f"{fault.status} {http.HTTPStatus(fault.status).phrase}", "")
            _write(handler, fault.status, "text/html; charset=utf-8", page, headers)
        elif kind == "html":
            echoed = "&".join(f"{k}={v}" for k, v in fields) if fault.echo else ""
            _write(handler, 200, "text/html; charset=utf-8", _html("Acme University LMS: Log in to the site", echoed))
        elif kind == "truncated":
            body = respond(fields).body
            _write(handler, 200, "application/json", body[: max(1, len(body) // 2)])
        elif kind == "cut":
            body = respond(fields).body
            _write(handler, 200, "application/json", body[: max(1, len(body) // 2)], length=len(body))
            _reset(handler)
        elif kind == "invalid_json":
            body = respond(fields).body
            notice = b"<br />\n<b>Notice</b>:  Undefined index: id in <b>/var/www/moodle/lib.php</b><br />\n"
            _write(handler, 200, "application/json", notice + body)
        elif kind == "exception":
            envelope: dict[str, Any] = {"exception": fault.exception}
            if fault.errorcode is not None:
                envelope["errorcode"] = fault.errorcode
            envelope["message"] = fault.message
            _write(handler, 200, "application/json", json.dumps(envelope).encode("utf-8"))
        elif kind == "repeat_page":
            reply = respond(_first_page(fields))
            _write(handler, reply.status, reply.content_type, reply.body)
        return True


def _match_view(fields: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The request's fields, plus ``name -> value`` for each ``options[i][name|value]`` pair."""
    view = dict(fields)
    for name, value in fields:
        if name.startswith("options[") and name.endswith("][name]"):
            index = name[len("options[") : -len("][name]")]
            option_value = view.get(f"options[{index}][value]")
            if option_value is not None:
                view.setdefault(value, option_value)
    return view


def _first_page(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same request with its paging rewound to the first page (what an ignoring server sends)."""
    offsets = {
        name[: -len("[name]")] + "[value]"
        for name, value in fields
        if name.startswith("options[") and name.endswith("][name]") and value in _OFFSET_OPTIONS
    }
    return [(name, "0" if name in offsets or name in _PAGE_FIELDS else value) for name, value in fields]


def _html(title: str, detail: str) -> bytes:
    """A page with ``detail`` (the echoed request, if any) near the top, where snippets look."""
    shown = "<pre>" + detail + "</pre>" if detail else ""
    page = (
        "<!DOCTYPE html>\n<html><head><title>"
        + title
        + "</title></head><body>"
        + shown
        + "<h1>"
        + title
        + "</h1></body></html>\n"
    )
    return page.encode("utf-8")


def _write(
    handler: Any,
    status: int,
    content_type: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    length: int | None = None,
) -> None:
    """Send one answer; a client that already gave up (timed out) is not an error here."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


def _reset(handler: Any) -> None:
    """Drop the connection with a TCP reset and no answer."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
