"""An async client for Moodle's REST web services.

One :class:`MoodleClient` holds one ``httpx.AsyncClient`` and one :class:`AdaptiveLimit`,
so a whole fan-out (a thousand courses) shares a bounded number of connections: a PHP site
serves only a few requests at once, and more concurrency only queues inside PHP-FPM. The
limit starts at ``max_concurrency`` and is lowered while the site answers slower without
answering more (or says it is overloaded), then raised back; it never exceeds the setting.
Every client of one site in a process also shares that site's gate (:mod:`.site_gate`), so
clients of steps running side by side hold ``max_concurrency`` calls in flight between them.

The token travels in the POST body, never in the URL, so httpx's own error texts (which
quote the URL) cannot leak it; every text this module stores or logs is redacted anyway.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx

from .adaptive import AdaptiveLimit
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
from .settings import CallStats, ClientSettings
from .site_gate import site_gate
from .tls import is_cleartext_remote, ssl_context
from .urls import (
    PUBLIC_FOLDER_PAGE,
    PUBLIC_FOLDER_SERVER,
    PUBLIC_FOLDER_URL,
    REST_PATH,
    in_public_folder,
    strip_userinfo,
)

__all__ = ["REST_PATH", "AdaptiveLimit", "CallStats", "ClientSettings", "MoodleClient"]

logger = logging.getLogger("moodle_assets.moodle")

# httpx logs every request at INFO: a thousand-call fan-out would bury the progress lines of a
# run or the demo's terminal. The client reports its own calls (stats, retries, DEBUG lines);
# a user who wants httpx's lines sets that logger's level explicitly, which is kept.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Transport failures worth another attempt: the request may never have reached PHP, or the
# answer was cut off. Everything else (bad URL scheme, local protocol misuse) will not heal.
RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


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
                strip_userinfo(settings.url),
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
        # Shared with every other client of this site in the process (steps running side by side):
        # together they keep no more than max_concurrency calls in flight.
        self._gate = site_gate(settings.endpoint)
        # Seams for tests: waiting and jitter without real time.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._random = random.Random()
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency, max_keepalive_connections=settings.max_concurrency
            ),
            verify=ssl_context(settings.verify, settings.url),
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
        form = [("wstoken", self.settings.token), ("wsfunction", function), ("moodlewsrestformat", "json"), *fields]
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
        body = {
            "exception": error.exception,
            "errorcode": error.errorcode,
            "message": error.moodle_message,
            "debuginfo": error.debuginfo,
        }
        return error_from_envelope(
            body, error.function or "", error.params, token=self.settings.token, site_functions=self.site_functions
        )

    async def _call_with_retries(
        self, function: str, body: bytes, shown: list[tuple[str, str]], extra_headers: Mapping[str, str] | None = None
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
                "retrying %s in %.2fs after %s (attempt %d of %d)", function, delay, cause, attempt, attempts_allowed
            )
            await self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """One HTTP attempt inside the concurrency bound; only the HTTP wait is timed, and
        reported to the adaptive limit with whether the site looked overloaded."""
        await self.limit.acquire()
        try:
            await self._gate.acquire(self.settings.max_concurrency)
        except BaseException:
            self.limit.release()
            raise
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
            self._gate.release()
            self.limit.release()
            self.limit.record(elapsed, overloaded)

    def _interpret(self, function: str, response: httpx.Response, shown: list[tuple[str, str]]) -> Any:
        """Parse a non-retryable HTTP answer into JSON, or the error it stands for."""
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if 300 <= status < 400:
            location = self._redact(response.headers.get("Location", "?"))
            advice = (
                PUBLIC_FOLDER_SERVER
                if in_public_folder(location)
                else (
                    "Set the Moodle URL to the site root the redirect points to (for example "
                    "https:// instead of http://), so the token is posted to the right place."
                )
            )
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
            error = error_from_envelope(
                body, function, shown, token=self.settings.token, site_functions=self.site_functions
            )
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
        if PUBLIC_FOLDER_PAGE in text:
            advice = PUBLIC_FOLDER_SERVER
        elif in_public_folder(self.settings.url):
            advice = PUBLIC_FOLDER_URL
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
        return self._redact(strip_userinfo(self.settings.endpoint))


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


def _format_fields(fields: list[tuple[str, str]], limit: int = 500) -> str:
    text = "&".join(f"{name}={value}" for name, value in fields)
    return text if len(text) <= limit else text[: limit - 3] + "..."
