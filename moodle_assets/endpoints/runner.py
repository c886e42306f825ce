"""Run one endpoint spec against Moodle: settings -> lookups -> calls -> pages -> records.

The runner knows neither Dagster nor DuckDB. It is handed the lookup rows it asked for
(``rows_for``) and a ``sink`` that receives each call's records with the context columns
that tie them to their parent (the course id a call was made for). Calls run with bounded
concurrency on one client; a failure of the whole endpoint stops everything at once, a
failure of one item (a course the account cannot read) is recorded and the rest goes on.
Run config is applied in :mod:`moodle_assets.endpoints.settings` (re-exported here).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moodle_assets.endpoints.extract import extract_metadata, extract_records, first
from moodle_assets.endpoints.held import HeldPages
from moodle_assets.endpoints.macros import MacroContext, render
from moodle_assets.endpoints.settings import (  # noqa: F401 (choose_function, coerce_setting: re-exported)
    EndpointFailure,
    Resolved,
    SettingsError,
    choose_function,
    coerce_setting,
    resolve,
)
from moodle_assets.moodle import MoodleAPIError, MoodleClient, MoodleError, chunked
from moodle_assets.moodle.errors import is_permission_error
from moodle_assets.moodle.paging import LimitOffset, PagePerPage, Paging, Unpaged


@dataclass(frozen=True)
class LookupQuery:
    """What the runner needs from the warehouse: rows of ``columns`` from ``table`` or ``sql``."""

    asset: str
    columns: tuple[str, ...]
    sql: str | None = None
    equals: Mapping[str, Any] = field(default_factory=dict)  # column -> value (a settings filter)


def lookup_sql(query: LookupQuery, limit: int | None = None) -> tuple[str, list[Any]]:
    """The SQL (and its parameters) that reads a lookup's rows from the warehouse, in a stable order."""

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    if query.sql is None:
        cols = ", ".join(q(c) for c in query.columns)
        sql = f"SELECT DISTINCT {cols} FROM moodle.{query.asset} WHERE " + " AND ".join(
            f"{q(c)} IS NOT NULL" for c in query.columns
        )
    else:
        sql = f"SELECT * FROM ({query.sql}) AS lookup_rows WHERE TRUE"
    params: list[Any] = []
    for column, value in query.equals.items():
        sql += f" AND {q(column)} = ?"
        params.append(value)
    sql += " ORDER BY " + ", ".join(q(c) for c in query.columns)
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


@dataclass(frozen=True)
class Call:
    """One call before paging. Array calls keep their values and a way to rebuild the call
    for a subset, so a batch Moodle refuses as a whole can be split to find the one bad id."""

    params: Mapping[str, Any]
    context: Mapping[str, Any]
    values: tuple | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    lookup_key: str | None = None
    rebuild: Callable[[list], Call] | None = field(default=None, compare=False, repr=False)

    def split(self) -> list[Call]:
        half = len(self.values) // 2
        return [self.rebuild(list(self.values[:half])), self.rebuild(list(self.values[half:]))]


@dataclass
class HarvestOutcome:
    items: int = 0  # planned calls (before paging)
    pages: int = 0
    records: int = 0
    empty_items: int = 0  # items whose error code means "no data here"
    empty_codes: dict[str, int] = field(default_factory=dict)  # those items by error code
    errors: list[dict] = field(default_factory=list)
    metadata: list = field(default_factory=list)
    duplicates_dropped: int = 0
    seconds: float = 0.0


def lookup_queries(resolved: Resolved) -> list[LookupQuery]:
    """The warehouse reads a resolved spec needs (zero or one)."""
    fan_out = resolved.fan_out
    if fan_out is None:
        return []
    asset = fan_out.asset
    equals = {k.split(".", 1)[1]: v for k, v in resolved.filters.items() if k.split(".", 1)[0] == asset}
    return [LookupQuery(asset=asset, columns=fan_out.columns, sql=fan_out.sql, equals=equals)]


ITEM_COLUMN = "_item"


def item_key(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The text key of one fan-out item (a lookup row): '2|15' for course 2, user 15."""
    return "|".join(str(row[c]) for c in columns)


def plan_calls(
    resolved: Resolved,
    rows: Sequence[Mapping[str, Any]] | None,
    now: datetime,
    window: tuple[datetime, datetime] | None = None,
    item_columns: Sequence[str] | None = None,
) -> Iterator[Call]:
    """Every call an endpoint makes (before paging), in a stable order.

    With ``item_columns`` each per-value call also carries its item key as the ``_item``
    context column, so an incremental load can replace exactly the items it re-fetched.
    """
    spec = resolved.spec
    fan_out = resolved.fan_out
    base = dict(now=now, time_unit=spec.time_unit, date_format=spec.date_format, window=window)
    headers = {k: str(v) for k, v in render(dict(spec.headers), MacroContext(**base)).items()}
    if fan_out is None:
        yield Call(render(resolved.params, MacroContext(**base)), {}, headers=headers)
        return
    rows = rows or []
    if fan_out.array:
        key = fan_out.key

        def build(chunk: list) -> Call:
            params = render(resolved.params, MacroContext(**base, row={key: chunk}))
            return Call(params, {}, tuple(chunk), headers=headers, lookup_key=key, rebuild=build)

        values = [row[fan_out.refs[0].column] for row in rows]
        for chunk in chunked(values, resolved.batch or max(len(values), 1)):
            yield build(list(chunk))
        return
    for row in rows:
        keyed = {f"{fan_out.asset}.{col}": val for col, val in row.items()}
        context = fan_out.context_of(row)
        if item_columns:
            context[ITEM_COLUMN] = item_key(row, item_columns)
        yield Call(render(resolved.params, MacroContext(**base, row=keyed)), context, headers=headers)


def _item_of(call: Call) -> dict:
    """What identifies a failed item in the _errors table: its lookup value(s) or its params."""
    if call.context:
        return dict(call.context)
    if call.values is not None:
        return {call.lookup_key: call.values[0] if len(call.values) == 1 else list(call.values)}
    return dict(call.params)


@dataclass(frozen=True)
class _WithHeaders:
    """A client whose every call carries the endpoint's request headers (paging included)."""

    client: MoodleClient
    headers: Mapping[str, str]

    async def call(self, function: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.client.call(function, params, self.headers)


async def _pages(
    client: MoodleClient, resolved: Resolved, call: Call, read_ahead: Callable[[], int] | None = None
) -> AsyncIterator[tuple[Any, list[dict]]]:
    """Each page of one call with its records, extracted once (paging needs them too)."""
    spec = resolved.spec
    extracted: dict[int, list[dict]] = {}

    def records_of(page: Any) -> list[dict]:
        records = extract_records(page, spec.data_path, spec.parent_fields, spec.scalar_column)
        extracted[id(page)] = records
        return records

    def with_records(page: Any) -> tuple[Any, list[dict]]:
        records = extracted.pop(id(page), None)
        return page, records if records is not None else records_of(page)

    if call.headers:
        client = _WithHeaders(client, call.headers)
    pages = paging_of(resolved, read_ahead).pages(client, resolved.function, call.params, records_of)
    async with contextlib.aclosing(pages):  # closed at once: it may hold calls read ahead
        async for page in pages:
            yield with_records(page)


def paging_of(resolved: Resolved, read_ahead: Callable[[], int] | None = None) -> Paging:
    """The paging style a resolved spec's calls use; ``read_ahead`` is for limit/offset walks
    (see :func:`moodle_assets.moodle.paging.limit_offset`)."""
    paging = resolved.paginate
    if paging is None:
        return Unpaged()
    if paging.style == "limit_offset":
        return LimitOffset(paging.page_size, read_ahead)
    return PagePerPage(
        paging.page_size,
        page_param=paging.page_param,
        perpage_param=paging.perpage_param,
        first_page=paging.first_page,
        stop_on_short_page=paging.stop_on_short_page,
        total_of=(lambda page: first(page, paging.total_path)) if paging.total_path else None,
    )


async def harvest(
    resolved: Resolved,
    client: MoodleClient,
    calls: Iterable[Call],
    sink: Callable[[list[dict], Mapping[str, Any]], None],
    progress: Callable[[HarvestOutcome, int], None] | None = None,
) -> HarvestOutcome:
    """Make ``calls`` with bounded concurrency and hand each page's records to ``sink``.

    A fatal Moodle error (bad token, function not in the service, not a Moodle site) is
    raised at once and cancels the other calls. When the endpoint is a single call (no
    fan-out), any error is fatal too: there is nothing else to load, and an empty table
    would hide the refusal. In a fan-out a per-item error is recorded in the outcome; codes
    in the spec's ``empty_on`` count as "no data here" when Moodle answers them to an item's
    first call. An error later in an item's paging walk is always a failed item and none of
    its pages are loaded, and a permission error is never "no data". In the tail, limit/offset
    walks read ahead into the concurrency the finished workers left (``pages_ahead``).
    """
    spec = resolved.spec
    outcome = HarvestOutcome()
    completed = 0
    started = time.perf_counter()
    seen: set[tuple] = set()
    fan_out = resolved.fan_out is not None
    queue: asyncio.Queue[Call | None] = asyncio.Queue()
    planned = 0
    for call in calls:
        queue.put_nowait(call)
        planned += 1
        outcome.items += len(call.values) if call.values is not None else 1
    workers = max(1, min(client.settings.max_concurrency, planned))
    for _ in range(workers):
        queue.put_nowait(None)
    walking = 0  # items taken by a worker and not finished

    def pages_ahead() -> int:
        """How far each limit/offset walk may read ahead: the calls no worker uses, shared by the
        items still walking, so the tail of a fan-out (a few big courses left) keeps the site busy.

        While the queue holds items every worker walks one and nothing is spare. A walk reads
        ahead only after two full pages, when all workers have started; from then on items only
        finish, so a walk's share only grows, and every walk's own call plus its calls ahead
        stay within max_concurrency."""
        return max(0, (client.settings.max_concurrency - walking) // walking) if walking else 0

    def take(records: list[dict], context: Mapping[str, Any]) -> None:
        if spec.dedupe and spec.primary_key:
            kept = []
            for record in records:
                key = tuple(record.get(k, context.get(k)) for k in spec.primary_key)
                if key in seen:
                    outcome.duplicates_dropped += 1
                    continue
                seen.add(key)
                kept.append(record)
            records = kept
        if records:
            sink(records, context)
            outcome.records += len(records)

    async def process(call: Call) -> None:
        # A fan-out item is loaded whole or not at all: its pages are held until the walk ends,
        # so an error on a later page never leaves a partial item that looks complete.
        held = HeldPages()
        try:
            await walk(call, held)
        finally:
            held.close()

    async def walk(call: Call, held: HeldPages) -> None:
        pages = 0
        try:
            async with contextlib.aclosing(_pages(client, resolved, call, pages_ahead)) as walked:
                async for page, records in walked:
                    pages += 1
                    outcome.pages += 1
                    metadata = extract_metadata(page, spec.metadata_path)
                    if fan_out:
                        held.append(records, metadata)
                    else:
                        outcome.metadata.extend(metadata)
                        take(records, call.context)
        except MoodleAPIError as err:
            code = err.errorcode or err.exception or "error"
            if err.errorcode in spec.fail_on:
                raise EndpointFailure(
                    f"{resolved.function}: Moodle said: {err.moodle_message} [{err.errorcode}]. "
                    f"This stops the whole endpoint. {spec.fail_on[err.errorcode]}"
                ) from None
            if err.fatal:
                raise
            if not fan_out:
                # The endpoint's only call: nothing else to load, and no empty table either.
                where = f" on page {pages + 1} of its walk" if pages else ""
                raise EndpointFailure(
                    f"the endpoint's only call failed{where}, so nothing was loaded and the previous "
                    f"table is kept. {err}"
                ) from None
            if err.errorcode in spec.empty_on and not pages and not is_permission_error(err.errorcode, err.exception):
                empty = len(call.values) if call.values is not None else 1
                outcome.empty_items += empty
                outcome.empty_codes[code] = outcome.empty_codes.get(code, 0) + empty
            elif call.values is not None and len(call.values) > 1:
                # Moodle refuses a whole batch for one bad id (core_course_get_courses does):
                # split it until the bad ids stand alone and the rest loads.
                for part in call.split():
                    await process(part)
            else:
                message = str(err)
                if pages:
                    message += (
                        f" It failed on page {pages + 1} after {pages} page(s) had been read; "
                        "none of this item's records are loaded."
                    )
                outcome.errors.append(
                    {
                        "item": _item_of(call),
                        "function": resolved.function,
                        "errorcode": code,
                        "message": message,
                        "partition_key": call.context.get(ITEM_COLUMN),
                    }
                )
        else:
            for records, metadata in held:
                outcome.metadata.extend(metadata)
                take(records, call.context)

    async def work() -> None:
        nonlocal completed, walking
        while (call := await queue.get()) is not None:
            walking += 1
            await process(call)
            walking -= 1  # not when it fails the endpoint: the others are about to be cancelled
            completed += 1
            if progress:
                progress(outcome, completed)

    tasks = [asyncio.create_task(work()) for _ in range(workers)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        outcome.seconds = time.perf_counter() - started
    return outcome


__all__ = [
    "Call",
    "EndpointFailure",
    "HarvestOutcome",
    "LookupQuery",
    "MoodleError",
    "Resolved",
    "SettingsError",
    "choose_function",
    "harvest",
    "lookup_queries",
    "lookup_sql",
    "plan_calls",
    "resolve",
]
