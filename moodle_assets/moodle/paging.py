"""The paging styles a real Moodle supports, as async generators of raw page responses.

Moodle has no single paging convention: core_enrol_get_enrolled_users takes
``options[i][name]=limitfrom|limitnumber`` (offset/limit, no total), while
core_course_search_courses, mod_forum_get_forum_discussions and core_badges_get_user_badges
take ``page``/``perpage`` (some with a ``total``). Two traps shape the code:

* a page can come back short *before* the end (Moodle filters visibility after the SQL
  LIMIT), so a short page does not mean "last page" unless the caller knows it does;
* a misspelt option is silently ignored and the full list comes back every time, so a
  naive loop would never end. A page identical to the previous one stops with an error.

Because only an empty page ends a limit/offset walk, a walk is one call after another: a
course of 22,600 students is 227 calls with one in flight, and at the end of a fan-out, when
a few big courses are all that is left, the site idles at a fraction of the calls it may take.
So :func:`limit_offset` can *read ahead*: given ``read_ahead`` (how many pages beyond the
current one it may have requested, asked before each page), it issues the calls for the next
offsets as tasks while it waits for the current page, and consumes the answers strictly in
offset order, so the pages, their records and the repeat check are the sequential ones. It
reads ahead only after two full pages (a small course wastes no call), and the cost is at
most ``k`` calls past an item's end: when the empty page arrives, the calls still pending are
cancelled (one still waiting for a slot at the site never reaches it) and the answers or
errors of pages past the end are dropped. The runner gives read-ahead only spare concurrency
(the tail of a fan-out), so it never adds calls in flight beyond ``max_concurrency``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .errors import MoodleError

__all__ = ["MAX_PAGES", "LimitOffset", "PagePerPage", "Paging", "Unpaged", "chunked", "limit_offset", "page_perpage"]

T = TypeVar("T")

MAX_PAGES = 10_000
LIMIT_OPTION_NAMES = frozenset({"limitfrom", "limitnumber"})
# Full pages a limit/offset walk must have seen before it reads ahead: most courses end within
# two pages, and reading ahead there would only add calls past their end.
READ_AHEAD_AFTER_FULL_PAGES = 2


class Caller(Protocol):
    """Anything with :meth:`MoodleClient.call`'s shape (the client, or a test double)."""

    async def call(self, function: str, params: Mapping[str, Any] | None = None) -> Any: ...


RecordsOf = Callable[[Any], Sequence[Any]]


async def limit_offset(
    client: Caller,
    function: str,
    params: Mapping[str, Any],
    *,
    page_size: int,
    records_of: RecordsOf,
    max_pages: int = MAX_PAGES,
    read_ahead: Callable[[], int] | None = None,
) -> AsyncIterator[Any]:
    """Page with ``options[]`` ``limitfrom``/``limitnumber`` until a page is empty.

    The caller's own ``options`` (a list of ``{name, value}``) are kept, and the paging
    options appended. The offset always advances by ``page_size``, not by the records
    received, because Moodle applies the LIMIT before it drops records. Yields every
    non-empty page, and the first page even when empty (its response may carry warnings).

    ``read_ahead`` returns how many pages beyond the current one the walk may have requested
    now (0: none); it is asked before each page once two full pages were seen. Calls issued
    ahead are consumed in offset order and cancelled when the walk ends, fails or is closed.
    """
    _check_page_size(page_size)
    own_options = list(params.get("options") or [])
    clashing = [
        option.get("name")
        for option in own_options
        if isinstance(option, Mapping) and option.get("name") in LIMIT_OPTION_NAMES
    ]
    if clashing:
        raise ValueError(
            f"{function}: options {clashing} are set by limit_offset paging; "
            "remove them from params and pass page_size instead"
        )

    def call(page: int) -> Awaitable[Any]:
        offset = page * page_size
        options = [{"name": "limitfrom", "value": offset}, {"name": "limitnumber", "value": page_size}]
        return client.call(function, {**params, "options": [*own_options, *options]})

    guard = _RepeatGuard(function, "limitfrom/limitnumber")
    ahead: dict[int, asyncio.Task[Any]] = {}  # page number -> its call, issued before its turn
    current: asyncio.Task[Any] | None = None
    full_pages = 0
    try:
        for page in range(max_pages):
            pages_ahead = 0
            if read_ahead is not None and full_pages >= READ_AHEAD_AFTER_FULL_PAGES:
                pages_ahead = max(read_ahead(), 0)
            current = ahead.pop(page, None)
            if current is None and pages_ahead:
                # The current page's call first, so it reaches the site gate before those ahead.
                current = asyncio.ensure_future(call(page))
            for later in range(page + 1, min(page + 1 + pages_ahead, max_pages)):
                if later not in ahead:
                    ahead[later] = asyncio.ensure_future(call(later))
            response = await (current if current is not None else call(page))
            current = None
            records = records_of(response)
            if not records:
                if page == 0:
                    yield response
                return
            guard.check(records, f"limitfrom={page * page_size}")
            if len(records) >= page_size:
                full_pages += 1
            yield response
        raise _too_many_pages(function, max_pages)
    finally:
        # The end, an error, or the consumer giving up: the calls ahead are not wanted (a page
        # past the end answers nothing useful, and its error is no error of this walk).
        await _cancel([*ahead.values(), *([current] if current is not None else [])])


async def page_perpage(
    client: Caller,
    function: str,
    params: Mapping[str, Any],
    *,
    page_size: int,
    records_of: RecordsOf,
    page_param: str = "page",
    perpage_param: str = "perpage",
    first_page: int = 0,
    total_of: Callable[[Any], int | None] | None = None,
    stop_on_short_page: bool = False,
    max_pages: int = MAX_PAGES,
) -> AsyncIterator[Any]:
    """Page with page-number parameters until an empty page, the total, or a short page.

    With ``total_of`` (e.g. core_course_search_courses' ``total``), paging stops as soon
    as the records seen reach the total, without probing an empty page. With
    ``stop_on_short_page``, a page shorter than ``page_size`` is taken as the last one;
    only use it where Moodle pages in SQL without filtering afterwards. Yields every
    non-empty page, and the first page even when empty.
    """
    _check_page_size(page_size)
    guard = _RepeatGuard(function, f"{page_param}/{perpage_param}")
    seen = 0
    for index in range(max_pages):
        page = first_page + index
        response = await client.call(function, {**params, page_param: page, perpage_param: page_size})
        records = records_of(response)
        if not records:
            if index == 0:
                yield response
            return
        guard.check(records, f"{page_param}={page}")
        yield response
        seen += len(records)
        total = _as_total(total_of(response)) if total_of is not None else None
        if total is not None and seen >= total:
            return
        if stop_on_short_page and len(records) < page_size:
            return
    raise _too_many_pages(function, max_pages)


class Paging(Protocol):
    """A paging style: the raw pages of one call, first page always (even empty)."""

    paged: bool

    def pages(
        self, client: Caller, function: str, params: Mapping[str, Any], records_of: RecordsOf
    ) -> AsyncIterator[Any]: ...


@dataclass(frozen=True)
class Unpaged:
    """One call, one answer."""

    paged = False

    async def pages(
        self, client: Caller, function: str, params: Mapping[str, Any], records_of: RecordsOf
    ) -> AsyncIterator[Any]:
        yield await client.call(function, params)


@dataclass(frozen=True)
class LimitOffset:
    """``options[]`` ``limitfrom``/``limitnumber`` (:func:`limit_offset`)."""

    page_size: int
    read_ahead: Callable[[], int] | None = field(default=None, compare=False, repr=False)
    paged = True

    def pages(
        self, client: Caller, function: str, params: Mapping[str, Any], records_of: RecordsOf
    ) -> AsyncIterator[Any]:
        return limit_offset(
            client, function, params, page_size=self.page_size, records_of=records_of, read_ahead=self.read_ahead
        )


@dataclass(frozen=True)
class PagePerPage:
    """Page-number parameters (:func:`page_perpage`)."""

    page_size: int
    page_param: str = "page"
    perpage_param: str = "perpage"
    first_page: int = 0
    total_of: Callable[[Any], int | None] | None = None
    stop_on_short_page: bool = False
    paged = True

    def pages(
        self, client: Caller, function: str, params: Mapping[str, Any], records_of: RecordsOf
    ) -> AsyncIterator[Any]:
        return page_perpage(
            client,
            function,
            params,
            page_size=self.page_size,
            records_of=records_of,
            page_param=self.page_param,
            perpage_param=self.perpage_param,
            first_page=self.first_page,
            total_of=self.total_of,
            stop_on_short_page=self.stop_on_short_page,
        )


def chunked(values: Sequence[T], size: int) -> list[list[T]]:
    """Split ids into batches for array parameters (``courseids[0..size-1]``)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    return [list(values[start : start + size]) for start in range(0, len(values), size)]


class _RepeatGuard:
    """Fails when a page repeats an earlier one: the server is ignoring the paging.

    Earlier pages are remembered by fingerprint, so a server cycling through a few pages
    (A, B, A, ...) is caught on its first repeat, not after ``max_pages`` calls. A fingerprint
    is a digest of the page's JSON, not the JSON itself: a course of 22,600 students kept its
    227 pages' text (~23 MB) until the walk ended.
    """

    def __init__(self, function: str, paging: str):
        self.function = function
        self.paging = paging
        self.previous: list[Any] | None = None
        self.seen: dict[str, str] = {}

    def check(self, records: Sequence[Any], where: str) -> None:
        current = list(records)
        fingerprint = hashlib.blake2b(
            json.dumps(current, sort_keys=True, default=str).encode("utf-8", "surrogatepass"), digest_size=16
        ).hexdigest()
        if current == self.previous:
            repeated = f"the previous page's {len(current)} records"
        elif fingerprint in self.seen:
            repeated = f"the {len(current)} records of the page at {self.seen[fingerprint]}"
        else:
            self.previous = current
            self.seen[fingerprint] = where
            return
        raise MoodleError(
            f"{self.function}: the page at {where} repeats {repeated}, so the server ignores "
            f"the paging parameters ({self.paging}) and paging would never end. Check the "
            "parameter names this function accepts on this Moodle version, or turn paging off "
            "for this endpoint.",
            function=self.function,
            fatal=True,
        )


def _as_total(value: Any) -> int | None:
    """A total read from a response by path may arrive as a numeric string, or be absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel calls no longer wanted and wait for them, so none is left pending and none of
    their errors is reported as never retrieved."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def _check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}; to read everything at once, do not page")


def _too_many_pages(function: str, max_pages: int) -> MoodleError:
    return MoodleError(
        f"{function}: stopped after {max_pages} pages without reaching the end. The server may "
        "be ignoring the paging parameters; check them, or raise page_size.",
        function=function,
        fatal=True,
    )
