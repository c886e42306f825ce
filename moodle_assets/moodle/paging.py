"""The paging styles a real Moodle supports, as async generators of raw page responses.

Moodle has no single paging convention: core_enrol_get_enrolled_users takes
``options[i][name]=limitfrom|limitnumber`` (offset/limit, no total), while
core_course_search_courses, mod_forum_get_forum_discussions and core_badges_get_user_badges
take ``page``/``perpage`` (some with a ``total``). Two traps shape the code:

* a page can come back short *before* the end (Moodle filters visibility after the SQL
  LIMIT), so a short page does not mean "last page" unless the caller knows it does;
* a misspelt option is silently ignored and the full list comes back every time, so a
  naive loop would never end. A page identical to the previous one stops with an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .errors import MoodleError

__all__ = ["MAX_PAGES", "LimitOffset", "PagePerPage", "Paging", "Unpaged", "chunked", "limit_offset", "page_perpage"]

T = TypeVar("T")

MAX_PAGES = 10_000
LIMIT_OPTION_NAMES = frozenset({"limitfrom", "limitnumber"})


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
) -> AsyncIterator[Any]:
    """Page with ``options[]`` ``limitfrom``/``limitnumber`` until a page is empty.

    The caller's own ``options`` (a list of ``{name, value}``) are kept, and the paging
    options appended. The offset always advances by ``page_size``, not by the records
    received, because Moodle applies the LIMIT before it drops records. Yields every
    non-empty page, and the first page even when empty (its response may carry warnings).
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
    guard = _RepeatGuard(function, "limitfrom/limitnumber")
    offset = 0
    for page in range(max_pages):
        page_params = {
            **params,
            "options": [
                *own_options,
                {"name": "limitfrom", "value": offset},
                {"name": "limitnumber", "value": page_size},
            ],
        }
        response = await client.call(function, page_params)
        records = records_of(response)
        if not records:
            if page == 0:
                yield response
            return
        guard.check(records, f"limitfrom={offset}")
        yield response
        offset += page_size
    raise _too_many_pages(function, max_pages)


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
    paged = True

    def pages(
        self, client: Caller, function: str, params: Mapping[str, Any], records_of: RecordsOf
    ) -> AsyncIterator[Any]:
        return limit_offset(client, function, params, page_size=self.page_size, records_of=records_of)


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
