"""The demo Moodle: a web-service emulator speaking Moodle's REST protocol over real HTTP.

``POST`` (or ``GET``) ``/webservice/rest/server.php`` with ``wstoken``, ``wsfunction``,
``moodlewsrestformat=json`` and PHP-style array fields, exactly like a real site. Every answer
is HTTP 200; errors use Moodle's envelope; without ``moodlewsrestformat=json`` the answer is
XML. Parameters are validated against the real function descriptions, so a client that works
here sends only what a real Moodle 4.5 accepts. The site answers as Moodle 4.5 or, with
``DemoConfig(moodle_version="5.0")``, as Moodle 5.0 (see :mod:`.releases`).

``workers``/``service_ms`` model a PHP-FPM site: at most ``workers`` requests are served at
once and each takes ``service_ms`` (+ up to ``jitter_ms``), which makes throughput and
concurrency tests meaningful on loopback. ``peak_in_flight`` (and ``peak_by_function``) is
the most REST requests the site held at once, queued for a worker or in service, since the
start or the last ``reset_calls()``: what a client's concurrency bound really put on the site.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import random
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import xmlreply
from .dataset import Dataset, DemoConfig, generate
from .errors import MoodleException, access_exception, invalid_parameter, invalid_token, missing_record
from .faults import FaultPlan
from .functions import REGISTRY
from .functions.common import RequestContext, set_context
from .phpform import decode_php_form
from .releases import Release, release_of
from .schemas import clean_returns, schema, validate_params
from .services import DEMO_TOKEN, RESTRICTED_TOKEN, Token, check_capabilities, site_functions, tokens

__all__ = ["DEMO_TOKEN", "RESTRICTED_TOKEN", "DemoServer", "RecordedCall", "serve"]

log = logging.getLogger(__name__)

REST_PATH = "/webservice/rest/server.php"
_PROTOCOL_FIELDS = {"wstoken", "wsfunction", "moodlewsrestformat"}
_PAGE_PATHS = ("/", "/index.php", "/login", "/login/", "/login/index.php", "/my", "/my/")


@dataclass
class RecordedCall:
    """One request as the server saw it; the token value is never kept."""

    function: str
    fields: list[tuple[str, str]]
    token_kind: str
    method: str


@dataclass
class Reply:
    body: bytes
    content_type: str
    status: int = 200


class _Throttle:
    """At most ``workers`` requests in service at once, each taking ``service_ms`` (+ jitter)."""

    def __init__(self, workers: int | None, service_ms: float, jitter_ms: float) -> None:
        self._slots = threading.BoundedSemaphore(workers) if workers else None
        self._service = max(service_ms, 0.0) / 1000.0
        self._jitter = max(jitter_ms, 0.0) / 1000.0
        self._random = random.Random(0)
        self._lock = threading.Lock()

    def _delay(self) -> float:
        if not self._jitter:
            return self._service
        with self._lock:
            return self._service + self._random.uniform(0.0, self._jitter)

    def __enter__(self) -> None:
        if self._slots is not None:
            self._slots.acquire()
        delay = self._delay()
        if delay:
            time.sleep(delay)

    def __exit__(self, *exc: object) -> None:
        if self._slots is not None:
            self._slots.release()


class DemoServer:
    """Serve a :class:`Dataset` as a Moodle site on loopback, in a daemon thread."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        workers: int | None = None,
        service_ms: float = 0.0,
        jitter_ms: float = 0.0,
        faults: FaultPlan | None = None,
        token: str | None = None,
        clean_answers: bool = True,
        moodle_version: str | None = None,
    ) -> None:
        """``faults`` makes the site misbehave (see :mod:`.faults`; settable while running as
        ``server.faults``); ``token`` is accepted like DEMO_TOKEN, so a test can search for it.
        ``clean_answers=False`` sends each handler's answer as it is, without the return-structure
        cleaner: for the contract test that compares the handlers' own answers with recordings.
        ``moodle_version`` ("4.5", "5.0") generates a site of that release when no ``dataset``
        is given; a dataset already says its release (``DemoConfig.moodle_version``)."""
        self.dataset = dataset if dataset is not None else generate(DemoConfig(moodle_version=moodle_version or "4.5"))
        if moodle_version and self.dataset.config.moodle_version != moodle_version:
            raise ValueError(f"the dataset is a Moodle {self.dataset.config.moodle_version} site, not {moodle_version}")
        self.release: Release = release_of(self.dataset.config)
        self.faults = faults
        self.clean_answers = clean_answers
        self.host = host
        self.port = port
        self.calls: list[RecordedCall] = []
        self._calls_lock = threading.Lock()
        self._in_flight: collections.Counter[str] = collections.Counter()
        self.peak_in_flight = 0
        self.peak_by_function: dict[str, int] = {}
        self._throttle = _Throttle(workers, service_ms, jitter_ms)
        self._tokens = tokens(self.dataset)
        if token:
            self._tokens[token] = self._tokens[DEMO_TOKEN]
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the demo server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DemoServer:
        if self._thread is not None:
            return self
        self.bind()
        assert self._httpd is not None
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-moodle", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def bind(self) -> DemoServer:
        """Open the listening socket without serving yet (so ``url`` knows the port)."""
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self.port), _RequestHandler, self)
        return self

    def serve_forever(self) -> None:
        """Block in the calling thread (used by :func:`serve`)."""
        self.bind()
        assert self._httpd is not None
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()
            self._httpd = None

    # ------------------------------------------------------------ calls

    def reset_calls(self) -> None:
        """Forget the recorded calls and the in-flight peaks (requests still open stay counted)."""
        with self._calls_lock:
            self.calls.clear()
            self.peak_in_flight = sum(self._in_flight.values())
            self.peak_by_function = {f: n for f, n in self._in_flight.items() if n}

    @contextlib.contextmanager
    def _serving(self, function: str):
        """Count one REST request as in flight (for ``peak_in_flight``) while it is open."""
        with self._calls_lock:
            self._in_flight[function] += 1
            self.peak_in_flight = max(self.peak_in_flight, sum(self._in_flight.values()))
            self.peak_by_function[function] = max(self.peak_by_function.get(function, 0), self._in_flight[function])
        try:
            yield
        finally:
            with self._calls_lock:
                self._in_flight[function] -= 1

    def _record(self, call: RecordedCall) -> None:
        with self._calls_lock:
            self.calls.append(call)

    # ------------------------------------------------------------ the protocol

    def handle_rest(self, fields: list[tuple[str, str]], method: str, site_url: str) -> Reply:
        values = dict(fields)
        token_value = values.get("wstoken")
        token = self._tokens.get(token_value or "")
        kind = token.kind if token else ("none" if not token_value else "invalid")
        function = values.get("wsfunction", "")
        self._record(
            RecordedCall(
                function=function,
                fields=[(k, "<TOKEN>" if k == "wstoken" else v) for k, v in fields],
                token_kind=kind,
                method=method,
            )
        )
        as_json = values.get("moodlewsrestformat") == "json"
        returns = None
        try:
            with self._throttle:
                returns, result = self.answer(fields, site_url)
        except MoodleException as error:
            if as_json:
                return _json_reply(error.envelope())
            return Reply(xmlreply.xml_exception(error).encode("utf-8"), "application/xml; charset=utf-8")
        if as_json:
            return _json_reply(result)
        return Reply(xmlreply.xml_response(result, returns).encode("utf-8"), "application/xml; charset=utf-8")

    def answer(self, fields: list[tuple[str, str]], site_url: str) -> tuple[Any, Any]:
        """The function's return structure and its answer to ``fields`` (token, function and
        params, as sent), or the :class:`MoodleException` it fails with (``debuginfo`` kept)."""
        values = dict(fields)
        token = self._tokens.get(values.get("wstoken") or "")
        if token is None:
            raise invalid_token()
        function = values.get("wsfunction", "")
        if not function:
            raise invalid_parameter("Missing function name")
        try:
            return self._call(token, function, fields, site_url)
        except MoodleException as error:
            reported = self.release.error(error)  # Moodle 5.0 names no table without debugging
            if reported is error:
                raise
            raise reported from None

    def _call(self, token: Token, function: str, fields: list[tuple[str, str]], site_url: str) -> tuple[Any, Any]:
        if function not in site_functions(self.dataset.config.version):
            raise missing_record("external_functions", function, "name")
        if function not in token.functions:
            raise access_exception(function)
        raw = decode_php_form([(k, v) for k, v in fields if k not in _PROTOCOL_FIELDS])
        release = self.release
        params = validate_params(function, raw, release.schemas)
        check_capabilities(token, function, params)  # the token's role, before the handler runs
        set_context(RequestContext(site_url=site_url, functions=token.functions))
        try:
            result = release.shape(self.dataset, function, REGISTRY[function](self.dataset, token.user_id, params))
            returns = schema(function, release.schemas)["returns"]
            return returns, clean_returns(function, result, release.schemas) if self.clean_answers else result
        except MoodleException:
            raise
        except Exception as error:  # a bug in a handler: answer like Moodle's coding_exception
            log.error("demo handler %s failed: %s", function, "".join(traceback.format_exception(error)))
            raise MoodleException(
                "codingerror",
                f"Coding error detected, it must be fixed by a programmer: {type(error).__name__}",
                "core\\exception\\coding_exception",
            ) from error


def _json_reply(payload: Any) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(body, "application/json")


def _html_page(title: str, status: int) -> Reply:
    page = (
        "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head>"
        "<body><h1>" + title + '</h1><form action="/login/index.php" method="post">'
        '<input name="username"><input name="password" type="password"></form></body></html>\n'
    )
    return Reply(page.encode("utf-8"), "text/html; charset=utf-8", status)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, demo: DemoServer) -> None:
        self.demo = demo
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout, a reset fault) is routine here, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms) on every keep-alive call.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry the token in a query string."""

    def do_GET(self) -> None:
        self._dispatch("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch("POST", self.rfile.read(length) if length else b"")

    def _dispatch(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        if parts.path != REST_PATH:
            self._send(
                _html_page("Acme University LMS: Log in to the site", 200)
                if parts.path in _PAGE_PATHS
                else _html_page("Not found", 404)
            )
            return
        fields = parse_qsl(parts.query, keep_blank_values=True)
        if body:
            fields += parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        demo = self.server.demo

        def respond(sent: list[tuple[str, str]]) -> Reply:
            return demo.handle_rest(sent, method, f"http://{host}")

        # In flight from the request's arrival until its answer is written (or the fault ends it).
        with demo._serving(dict(fields).get("wsfunction", "")):
            faults = demo.faults
            if faults is not None and faults.intercept(self, fields, respond):
                return
            self._send(respond(fields))

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


def serve(host: str = "127.0.0.1", port: int = 8081, config: DemoConfig | None = None) -> None:
    """Run the demo site until interrupted; logs where it listens (never the tokens)."""
    config = config or DemoConfig()
    server = DemoServer(generate(config), host, port).bind()
    log.info(
        "Demo Moodle %s site listening on %s (web service: %s%s)",
        server.release.name,
        server.url,
        server.url,
        REST_PATH,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("Demo Moodle site stopped")
