"""An async client for Moodle's REST web services.

One :class:`MoodleClient` holds one ``httpx.AsyncClient`` and one :class:`AdaptiveLimit`,
so a whole fan-out (a thousand courses) shares a bounded number of connections: a PHP site
serves only a few requests at once, and more concurrency only queues inside PHP-FPM. The
limit starts at ``max_concurrency`` and is lowered while the site answers slower without
answering more (or says it is overloaded), then raised back; it never exceeds the setting.

The token travels in the POST body, never in the URL, so httpx's own error texts (which
quote the URL) cannot leak it; every text this module stores or logs is redacted anyway.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import functools
import ipaddress
import json
import logging
import os
import random
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from .encoding import encode_params
from .errors import (
    SITE_INFO_FUNCTION,
    UNNAMED_RECORD_ERRORCODE,
    InvalidTokenError,
    MoodleAPIError,
    MoodleError,
    MoodleUnavailableError,
    NotMoodleResponseError,
    error_from_envelope,
    is_error_envelope,
    redact,
    redact_fields,
)

__all__ = ["REST_PATH", "AdaptiveLimit", "CallStats", "ClientSettings", "MoodleClient"]

logger = logging.getLogger("moodle_assets.moodle")

# httpx logs every request at INFO: a thousand-call fan-out would bury the progress lines of a
# run or the demo's terminal. The client reports its own calls (stats, retries, DEBUG lines);
# a user who wants httpx's lines sets that logger's level explicitly, which is kept.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

REST_PATH = "/webservice/rest/server.php"
RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Transport failures worth another attempt: the request may never have reached PHP, or the
# answer was cut off. Everything else (bad URL scheme, local protocol misuse) will not heal.
RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}

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
                f"the Moodle URL {_strip_userinfo(self.url)!r} must start with http:// or https://: "
                "set it to the site root, e.g. https://moodle.example.edu"
            )
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {self.max_concurrency}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {self.max_retries}")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError(
                f"timeouts must be positive seconds (timeout={self.timeout}, "
                f"connect_timeout={self.connect_timeout})"
            )
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must not be negative")

    @property
    def endpoint(self) -> str:
        """``{url}/webservice/rest/server.php``, whether or not the URL already ends in it."""
        base = self.url.strip().rstrip("/")
        return base if base.endswith(REST_PATH) else base + REST_PATH


class AdaptiveLimit:
    """How many calls may be in flight: at most ``maximum``, lowered while the site is saturated.

    Starts at ``maximum``. Every finished attempt reports how long its HTTP wait took; every
    ``window`` attempts (at least 8, four per slot) the limit is reconsidered (AIMD):

    * an overloaded site (HTTP 408/429/5xx or a transport failure in the window) halves it;
    * latency that climbed by half over the previous window's without at least 10 % more
      calls per second (extra calls only queue in PHP-FPM) takes a quarter off it (at least 1);
    * otherwise, after two calm windows, it grows by one, back towards ``maximum``.

    It never exceeds ``maximum`` nor goes below 1. The clock is injectable for tests.
    """

    LATENCY_CLIMB = 1.5
    THROUGHPUT_GAIN = 1.1
    HOLD_WINDOWS = 2

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic, adaptive: bool = True) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.adaptive = adaptive
        self.changes: list[tuple[int, str]] = []  # (new limit, why), for metadata and tests
        self._clock = clock
        self._in_flight = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._window_started: float | None = None
        self._latencies: list[float] = []
        self._overloaded = False
        self._previous: tuple[float, float] | None = None  # (median latency, calls/s) of the last window
        self._hold = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> None:
        while self._in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: hand the free slot on
                raise
        self._in_flight += 1

    def release(self) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self._in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def record(self, seconds: float, overloaded: bool = False) -> None:
        """One attempt finished after ``seconds`` of HTTP wait; ``overloaded`` if the site
        answered 408/429/5xx or the attempt failed in transport."""
        if not self.adaptive:
            return
        now = self._clock()
        if self._window_started is None:
            self._window_started = now - seconds
        self._latencies.append(seconds)
        self._overloaded = self._overloaded or overloaded
        if len(self._latencies) < max(8, 4 * self.limit):
            return
        elapsed = max(now - self._window_started, 1e-9)
        latency = statistics.median(self._latencies)
        rate = len(self._latencies) / elapsed
        self._decide(latency, rate)
        self._previous = (latency, rate)
        self._window_started, self._latencies, self._overloaded = now, [], False

    def _decide(self, latency: float, rate: float) -> None:
        previous = self._previous
        if self._overloaded:
            self._set(max(1, self.limit // 2), "the site is overloaded (HTTP 408/429/5xx or dropped connections)")
        elif previous and latency > previous[0] * self.LATENCY_CLIMB and rate < previous[1] * self.THROUGHPUT_GAIN:
            self._set(max(1, min(self.limit - 1, self.limit * 3 // 4)),
                      f"latency climbed {latency / previous[0]:.1f}x without more calls per second")
        elif self.limit < self.maximum:
            if self._hold > 0:
                self._hold -= 1
            else:
                self._set(self.limit + 1, "latency is steady")

    def _set(self, limit: int, why: str) -> None:
        if limit < self.limit:
            self._hold = self.HOLD_WINDOWS
        if limit != self.limit:
            self.limit = limit
            self.changes.append((limit, why))
            logger.info("max calls in flight now %d of %d: %s", limit, self.maximum, why)
            self._wake()


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


class MoodleClient:
    """Calls Moodle web-service functions; use one instance per event loop.

    ``async with MoodleClient(settings) as client: await client.call("core_webservice_get_site_info")``
    """

    def __init__(self, settings: ClientSettings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        if is_cleartext_remote(settings.url):
            logger.warning(
                "The Moodle URL %s uses http:// to another machine: the token and every answer "
                "cross the network unencrypted. Use https:// (with ca_bundle for a private CA).",
                _strip_userinfo(settings.url),
            )
        self.stats = CallStats()
        # The form starts the same on every call: encode the token once.
        self._token_field = urlencode([("wstoken", settings.token)])
        self.on_request: Callable[[str, list[tuple[str, str]]], None] | None = None
        # The functions of the token's service (site info's list), which tells a missing function
        # from a missing item when Moodle 5.0 says only invalidrecordunknown. Set it from a stored
        # site info; left None, the first such error asks the site once.
        self.site_functions: frozenset[str] | None = None
        self._site_functions_lock = asyncio.Lock()
        self._site_functions_asked = False
        self.limit = AdaptiveLimit(settings.max_concurrency, adaptive=settings.adaptive_concurrency)
        # Seams for tests: waiting and jitter without real time.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._random = random.Random()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
            verify=_ssl_context(settings.verify, settings.url),
            # A redirect would resend (or, for 301/302, drop) the body with the token, maybe
            # to another host; better to tell the user the right URL.
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    async def __aenter__(self) -> MoodleClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self, function: str, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """Call one web-service function and return its parsed JSON.

        ``headers`` are extra request headers (e.g. what a proxy in front of the site needs).

        POSTs ``wstoken``, ``wsfunction``, ``moodlewsrestformat=json`` and the
        PHP-encoded params. Retries only what may heal (transport errors, timeouts,
        HTTP 408/429/5xx) with jittered exponential backoff; Moodle's error envelope is
        an answer, never retried, and raised as a typed :class:`MoodleAPIError`.
        """
        fields = encode_params(params or {})
        form = [
            ("wstoken", self.settings.token),
            ("wsfunction", function),
            ("moodlewsrestformat", "json"),
            *fields,
        ]
        shown = redact_fields(form, self.settings.token)
        self.stats.calls[function] += 1
        if self.on_request is not None:
            self.on_request(function, shown)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("call %s %s", function, _format_fields(shown[3:]))
        body = f"{self._token_field}&wsfunction={quote_plus(function)}&moodlewsrestformat=json"
        if fields:
            body += "&" + urlencode(fields)
        try:
            try:
                return await self._call_with_retries(function, body.encode("ascii"), shown, headers)
            except MoodleAPIError as error:
                if error.errorcode != UNNAMED_RECORD_ERRORCODE or function == SITE_INFO_FUNCTION:
                    raise
                raise await self._with_site_functions(error) from None
        except MoodleError as error:
            key = getattr(error, "errorcode", None) or type(error).__name__
            self.stats.errors[key] += 1
            logger.debug("call %s failed: %s", function, error)
            raise

    async def _with_site_functions(self, error: MoodleAPIError) -> MoodleAPIError:
        """The error classified against the site's function list (asked for once if unknown)."""
        async with self._site_functions_lock:
            if self.site_functions is None and not self._site_functions_asked:
                self._site_functions_asked = True
                try:
                    info = await self.call(SITE_INFO_FUNCTION)
                    self.site_functions = frozenset(f.get("name") for f in info.get("functions") or [])
                except (MoodleError, AttributeError):
                    pass  # the list stays unknown: the error says the answer is ambiguous
            if self.site_functions is None:
                return error
        body = {"exception": error.exception, "errorcode": error.errorcode, "message": error.moodle_message,
                "debuginfo": error.debuginfo}
        return error_from_envelope(body, error.function or "", error.params, token=self.settings.token,
                                   site_functions=self.site_functions)

    async def _call_with_retries(
        self, function: str, body: bytes, shown: list[tuple[str, str]],
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        headers = {**extra_headers, **_FORM_HEADERS} if extra_headers else _FORM_HEADERS
        attempts_allowed = self.settings.max_retries + 1
        for attempt in range(1, attempts_allowed + 1):
            retry_after: float | None = None
            unsendable: str | None = None
            self.stats.attempts += 1
            try:
                response = await self._post(body, headers)
            except RETRY_EXCEPTIONS as exc:
                cause = self._describe_failure(exc)
            except httpx.HTTPError as exc:
                unsendable = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return self._interpret(function, response, shown)
                cause = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                if response.status_code in RETRY_AFTER_STATUSES:
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if unsendable is not None:
                # Raised outside the except block: the httpx error must not ride along as
                # __context__ (its text may quote the URL).
                raise NotMoodleResponseError(
                    self._redact(
                        f"{function}: the request to {self._safe_endpoint()} could not be sent "
                        f"({unsendable}). Check the Moodle URL and the TLS settings (verify)."
                    ),
                    function=function,
                )

            if attempt == attempts_allowed:
                raise MoodleUnavailableError(
                    f"{function}: Moodle at {self._safe_endpoint()} did not answer successfully "
                    f"after {attempt} attempt{'s' if attempt != 1 else ''} (last: {cause}). "
                    "Check that the site is up and reachable from here; if it is slow or "
                    f"overloaded, raise the timeout (now {self.settings.timeout:g}s) or lower "
                    f"max_concurrency (now {self.settings.max_concurrency}).",
                    function=function,
                    attempts=attempt,
                    cause=cause,
                )
            delay = self._backoff(attempt, retry_after)
            self.stats.retries += 1
            logger.info(
                "retrying %s in %.2fs after %s (attempt %d of %d)",
                function, delay, cause, attempt, attempts_allowed,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """One HTTP attempt inside the concurrency bound; only the HTTP wait is timed, and
        reported to the adaptive limit with whether the site looked overloaded."""
        await self.limit.acquire()
        overloaded = True
        started = time.monotonic()
        try:
            response = await self._http.post(self.settings.endpoint, content=body, headers=headers)
            overloaded = response.status_code in RETRY_STATUSES
            return response
        except BaseException as exc:
            overloaded = isinstance(exc, RETRY_EXCEPTIONS)
            raise
        finally:
            elapsed = time.monotonic() - started
            self.stats.seconds += elapsed
            self.limit.release()
            self.limit.record(elapsed, overloaded)

    def _interpret(self, function: str, response: httpx.Response, shown: list[tuple[str, str]]) -> Any:
        """Parse a non-retryable HTTP answer into JSON, or the error it stands for."""
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if 300 <= status < 400:
            location = self._redact(response.headers.get("Location", "?"))
            advice = _PUBLIC_FOLDER_SERVER if _in_public_folder(location) else (
                "Set the Moodle URL to the site root the redirect points to (for example "
                "https:// instead of http://), so the token is posted to the right place.")
            raise NotMoodleResponseError(
                f"{function}: {self._safe_endpoint()} redirects (HTTP {status}) to {location}. {advice}",
                function=function,
                status_code=status,
                content_type=content_type,
            )
        text = response.text
        parsed, body = _parse_json(text)
        if not parsed:
            raise self._not_moodle(function, status, content_type, text)
        if is_error_envelope(body):
            error = error_from_envelope(body, function, shown, token=self.settings.token,
                                        site_functions=self.site_functions)
            if isinstance(error, InvalidTokenError) and not self.settings.token:
                error.args = (error.message + " (MOODLE_TOKEN is empty.)",)
            raise error
        if not 200 <= status < 300:
            raise self._not_moodle(function, status, content_type, text)
        return body

    def _not_moodle(self, function: str, status: int, content_type: str, text: str) -> NotMoodleResponseError:
        head = text.lstrip()[:200].lower()
        if head.startswith("<?xml") or "xml" in content_type:
            what = "XML (Moodle ignored moodlewsrestformat=json, or a proxy rewrote the request)"
        elif head.startswith(("<!doctype html", "<html")) or "html" in content_type:
            what = "an HTML page (often the login page)"
        elif not text.strip():
            what = "an empty body"
        else:
            what = "invalid or truncated JSON"
        # Redact before cutting: a cut through the token would leave its head unredacted.
        snippet = self._redact(" ".join(text.split()))[:120]
        if _PUBLIC_FOLDER_PAGE in text:
            advice = _PUBLIC_FOLDER_SERVER
        elif _in_public_folder(self.settings.url):
            advice = _PUBLIC_FOLDER_URL
        elif what == "invalid or truncated JSON" and 200 <= status < 300:
            advice = (
                "Moodle itself broke the answer: a PHP notice printed before the JSON (turn "
                "Site administration > Development > Debugging > Display debug messages off), "
                "or PHP stopping mid-answer (memory_limit or max_execution_time; see the web "
                "server's PHP error log). Lower page_size or batch so answers are smaller, then run again."
            )
        else:
            advice = (
                "The URL is not the Moodle site root, or the REST protocol is disabled (Site "
                "administration > Server > Web services > Manage protocols). Set the URL to the "
                "site's front page address, without /login or /my."
            )
        return NotMoodleResponseError(
            f"{function}: {self._safe_endpoint()} answered HTTP {status} with {what}, not Moodle's "
            f"web-service JSON (starts: {snippet!r}). {advice}",
            function=function,
            status_code=status,
            content_type=content_type,
        )

    def _describe_failure(self, exc: Exception) -> str:
        """``ReadTimeout (over 60s)``: httpx's timeouts often carry no text of their own."""
        name = type(exc).__name__
        if str(exc):
            return self._redact(f"{name}: {exc}")
        if isinstance(exc, httpx.ConnectTimeout):
            return f"{name} (over {self.settings.connect_timeout:g}s)"
        if isinstance(exc, httpx.TimeoutException):
            return f"{name} (over {self.settings.timeout:g}s)"
        if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
            return f"{name} (the connection was dropped without an answer)"
        return name

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: the server's Retry-After, else jittered doubling."""
        ceiling = self.settings.backoff_max
        if retry_after is not None:
            return min(retry_after, ceiling)
        step = min(ceiling, self.settings.backoff_base * 2 ** (attempt - 1))
        return step / 2 + self._random.uniform(0, step / 2)

    def _redact(self, text: str) -> str:
        return redact(text, self.settings.token)

    def _safe_endpoint(self) -> str:
        return self._redact(_strip_userinfo(self.settings.endpoint))


# Moodle 5.1 moved its web-accessible code into <moodle>/public; the site URL ($CFG->wwwroot) and
# every path under it (webservice/rest/server.php, (token)pluginfile.php) stay as they were. A web
# server still serving the code folder shows this page, or redirects to .../public/.
_PUBLIC_FOLDER_PAGE = "must not be publicly accessible"
_PUBLIC_FOLDER_SERVER = (
    "This is a Moodle 5.1+ whose web server still serves the Moodle code folder instead of its public/ "
    "folder: the site's administrator must point the web server's document root at <moodle>/public "
    "(Moodle 5.1 upgrade notes, 'Code directories restructure'). Keep the Moodle URL the site root, "
    "without /public."
)
_PUBLIC_FOLDER_URL = (
    "Remove /public from the Moodle URL: on Moodle 5.1+ public/ is the folder the web server serves, "
    "not part of the site's address (the URL stays the site root, as users open it)."
)


def _in_public_folder(url: str) -> bool:
    """Whether a URL points into a public/ folder (``.../public`` or ``.../public/webservice/...``)."""
    path = urlsplit(url.strip()).path.rstrip("/")
    if path.endswith(REST_PATH):
        path = path[: -len(REST_PATH)]
    return path.endswith("/public")


def is_cleartext_remote(url: str) -> bool:
    """True for an ``http://`` URL whose host is not this machine (loopback stays quiet)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) for JSON text, (False, None) otherwise.

    A flag instead of an exception, so the error raised for a bad body does not carry a
    JSONDecodeError (which holds the whole body, token echoes included) as its context.
    """
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def _ssl_context(verify: bool | str, url: str) -> ssl.SSLContext:
    """The TLS context for ``verify``, built once per process and shared by every client.

    Loading the CA certificates takes ~30 ms, and a harvest makes one client per asset. An
    http:// site never uses TLS (redirects are not followed), so it gets a bare context
    without loading any certificates; a CA bundle path is still checked, whatever the URL.
    """
    if isinstance(verify, str):
        return _ca_bundle_context(verify)
    if urlsplit(url.strip()).scheme.lower() == "http":
        return _bare_context()
    return _default_context(bool(verify), os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=None)
def _ca_bundle_context(path: str) -> ssl.SSLContext:
    """httpx 0.28 wants an SSLContext for a CA bundle path."""
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    raise ValueError(
        f"the CA bundle {path!r} given as verify cannot be used ({reason}): "
        "point verify at a readable PEM file, or set it to True for the system CAs"
    )


@functools.lru_cache(maxsize=None)
def _default_context(verify: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """What httpx would build for ``verify`` (True: certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR)."""
    return httpx.create_ssl_context(verify=verify)


@functools.lru_cache(maxsize=1)
def _bare_context() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _strip_userinfo(url: str) -> str:
    """Drop ``user:password@`` from a URL before it goes into a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _format_fields(fields: list[tuple[str, str]], limit: int = 500) -> str:
    text = "&".join(f"{name}={value}" for name, value in fields)
    return text if len(text) <= limit else text[: limit - 3] + "..."
