"""Fetch one sample of an endpoint: one call, first page only, nothing written anywhere.

``moodle-assets test`` uses it so a user can see, before materialising anything, exactly
what is sent (token redacted), what the data path finds, what the metadata path finds,
and where else in the answer records could be. It runs the same spec machinery as an
asset (settings defaults, macros, lookups, paging), but stops after the first page of the
first planned call, and reads lookup values without ever opening DuckDB for writing.
``{now}`` macros read the project clock (:mod:`moodle_assets.clock`), as a load does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from moodle_assets import clock
from moodle_assets.common import strip_userinfo
from moodle_assets.endpoints.extract import extract_metadata, extract_records
from moodle_assets.endpoints.runner import (
    Call,
    EndpointFailure,
    Resolved,
    choose_function,
    lookup_queries,
    paging_of,
    plan_calls,
    resolve,
)
from moodle_assets.endpoints.spec import EndpointSpec, SpecError, check_jsonpath
from moodle_assets.endpoints.validation import build_spec
from moodle_assets.moodle import MoodleClient
from moodle_assets.tools.lookups import sample_rows
from moodle_assets.tools.params import merge_params
from moodle_assets.tools.suggest import PathSuggestion, suggest_metadata_path, suggest_paths
from moodle_assets.warehouse import Warehouse

# Values sent in one sample call for an array lookup ({courses.id[]}); capped by the spec's batch.
ARRAY_SAMPLE = 10
ADHOC_NAME = "adhoc"
SITE_INFO = "core_webservice_get_site_info"


class SampleError(ValueError):
    """A sample that cannot be taken as asked: unknown endpoint, bad path, missing lookup."""


@dataclass
class Sample:
    """What one sample call sent and got back."""

    function: str
    endpoint: str | None
    url: str
    request: list[tuple[str, str]]  # form fields as sent, wstoken redacted
    lookup: dict[str, Any]  # "asset.column" -> the value(s) used
    lookup_source: str | None
    data_path: str | None
    metadata_path: str | None
    records: list[dict]
    metadata: list
    suggestions: list[PathSuggestion]
    paged: bool
    document: Any = field(repr=False, default=None)

    @property
    def suggested_metadata_path(self) -> str | None:
        return suggest_metadata_path(self.suggestions)


def find_spec(specs: Sequence[EndpointSpec], name: str) -> EndpointSpec:
    """The endpoint called ``name``; the error lists the known names."""
    for spec in specs:
        if spec.name == name and spec.explode:
            raise SampleError(
                f"endpoint {name!r} makes no Moodle call: its rows are exploded from "
                f"{spec.explode.asset}.{spec.explode.column}; test {spec.explode.asset!r} instead"
            )
        if spec.name == name:
            return spec
    raise SampleError(
        f"unknown endpoint {name!r}; known endpoints: {', '.join(sorted(s.name for s in specs))} "
        "(or use --function NAME for any web-service function)"
    )


def adhoc_spec(function: str, data_path: str | None = None, metadata_path: str | None = None) -> EndpointSpec:
    """A spec for a bare function, validated like a user's endpoint."""
    raw: dict[str, Any] = {"name": ADHOC_NAME, "function": function}
    if data_path:
        raw["data_path"] = data_path
    if metadata_path:
        raw["metadata_path"] = metadata_path
    spec, problems = build_spec(raw, "--function", 0)
    if spec is None:
        raise SampleError("; ".join(p.split(": ", 1)[-1] for p in problems))
    return spec


def with_paths(spec: EndpointSpec, data_path: str | None, metadata_path: str | None) -> EndpointSpec:
    """The spec with ``--data-path``/``--metadata-path`` tried instead of its own."""
    for flag, expr in (("--data-path", data_path), ("--metadata-path", metadata_path)):
        if expr is not None and (err := check_jsonpath(expr)) is not None:
            raise SampleError(f"{flag} {expr!r} is not valid JSONPath: {err}")
    return spec.model_copy(
        update={
            "data_path": data_path if data_path is not None else spec.data_path,
            "metadata_path": metadata_path if metadata_path is not None else spec.metadata_path,
        }
    )


def plan_sample(
    spec: EndpointSpec,
    overrides: Mapping[str, Any],
    lookups: Mapping[str, list[Any]],
    warehouse: Warehouse | None,
    now: datetime | None = None,
    function: str = "",
) -> tuple[Resolved, Call, dict[str, Any], str | None]:
    """The first call of an endpoint with ``--param`` overrides and lookup values applied."""
    resolved = resolve(spec, function=function)
    resolved = replace(resolved, params=merge_params(resolved.params, overrides))
    resolved = _paging_overrides(resolved, overrides)
    rows, source, used = None, None, {}
    for query in lookup_queries(resolved):
        array = resolved.fan_out is not None and resolved.fan_out.array
        limit = min(resolved.batch or ARRAY_SAMPLE, ARRAY_SAMPLE) if array else 1
        rows, source = sample_rows(resolved, query, lookups, warehouse, limit)
        for column in query.columns:
            values = [row[column] for row in rows]
            used[f"{query.asset}.{column}"] = values if array else values[0]
    calls = plan_calls(resolved, rows, now or clock.now())
    return resolved, next(iter(calls)), used, source


def _paging_overrides(resolved: Resolved, overrides: Mapping[str, Any]) -> Resolved:
    """``--param perpage=5`` / ``page=2`` on a page-paged endpoint set its page size and page.

    The paging would otherwise overwrite them silently with the spec's own values.
    """
    paging = resolved.paginate
    if paging is None or paging.style != "page":
        return resolved
    params = dict(resolved.params)
    changes: dict[str, int] = {}
    for name, attr in ((paging.perpage_param, "page_size"), (paging.page_param, "first_page")):
        if name in overrides:
            value = params.pop(name)
            try:
                changes[attr] = int(value)
            except (TypeError, ValueError):
                raise SampleError(f"--param {name}={value}: the page parameter must be a whole number") from None
    if changes.get("page_size", 1) < 1:
        raise SampleError(f"--param {paging.perpage_param}={changes['page_size']}: must be at least 1")
    return replace(resolved, params=params, paginate=paging.model_copy(update=changes)) if changes else resolved


async def first_page(client: MoodleClient, resolved: Resolved, call: Call) -> tuple[Any, bool]:
    """The first page of one call, and whether the endpoint pages at all."""
    spec, style = resolved.spec, paging_of(resolved)

    def records_of(page: Any) -> list:
        return extract_records(page, spec.data_path, spec.parent_fields, spec.scalar_column)

    pages = style.pages(client, resolved.function, call.params, records_of)
    try:
        async for page in pages:
            return page, style.paged
    finally:
        await pages.aclose()
    raise AssertionError("unreachable: paging yields the first page even when it is empty")  # pragma: no cover


async def take_sample(
    client: MoodleClient,
    spec: EndpointSpec,
    overrides: Mapping[str, Any] | None = None,
    lookups: Mapping[str, list[Any]] | None = None,
    warehouse: Warehouse | None = None,
    now: datetime | None = None,
) -> Sample:
    """Make the first call of ``spec`` (first page only) and describe what came back.

    A spec with alternatives (a newer function on a newer Moodle) first asks site info which
    one this site offers, as a materialisation does; only the sample call itself is shown.
    """
    function = ""
    if spec.alternatives:
        try:
            function = choose_function(spec, await client.call(SITE_INFO))
        except EndpointFailure as exc:
            raise SampleError(str(exc)) from None
    try:
        resolved, call, used, source = plan_sample(spec, overrides or {}, lookups or {}, warehouse, now, function)
    except SpecError as exc:
        raise SampleError(str(exc)) from None
    sent: list[list[tuple[str, str]]] = []
    previous = client.on_request
    client.on_request = lambda function, fields: sent.append(list(fields))
    try:
        document, paged = await first_page(client, resolved, call)
    finally:
        client.on_request = previous
    records = extract_records(document, spec.data_path, spec.parent_fields, spec.scalar_column)
    context = dict(call.context)
    records = [{**{k: v for k, v in context.items() if k not in r}, **r} for r in records]
    return Sample(
        function=resolved.function,
        endpoint=None if spec.name == ADHOC_NAME and spec.source == "--function" else spec.name,
        url=strip_userinfo(client.settings.endpoint),
        request=sent[0] if sent else [],
        lookup=used,
        lookup_source=source,
        data_path=spec.data_path,
        metadata_path=spec.metadata_path,
        records=records,
        metadata=extract_metadata(document, spec.metadata_path),
        suggestions=suggest_paths(document),
        paged=paged,
        document=document,
    )
