"""An endpoint's lookups, parsed once from its params when the spec loads.

``{ASSET.COLUMN}`` fans out one call per row of another asset's table; ``{ASSET.COLUMN[]}``
sends the values as an array parameter; ``{lookup.COLUMN}`` reads the rows of the
endpoint's ``lookup`` query. :class:`FanOut` says which asset and columns feed which params,
whether calls are batched, and the context column each per-value lookup's value is kept in
on every row — named once here, so the tables never depend on a later guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moodle_assets.endpoints.macros import LOOKUP_RE, MACRO_RE, iter_strings

QUERY = "lookup"  # the asset name of ``{lookup.COLUMN}``: the endpoint's own lookup query


@dataclass(frozen=True)
class LookupRef:
    """One lookup macro: where in params it sits and the context column its value goes in."""

    asset: str
    column: str
    array: bool
    path: tuple[str, ...]  # where in params the macro sits
    context: str | None = None  # the column the value is kept in on each row (None: arrays)
    text: str = ""  # the params value the macro is in

    @property
    def key(self) -> str:
        return f"{self.asset}.{self.column}"


def context_column(asset: str, array: bool, path: tuple[str, ...]) -> str | None:
    """The column a per-value lookup's value is kept in on every row of that call.

    It is the parameter's name; a value sent as ``id`` (core_competency_list_course_competencies)
    is named after its asset (courses -> courseid) so it cannot clash with the record's ``id``.
    Array lookups have no single value per row: None.
    """
    if array or not path:
        return None
    leaf = path[-1] if not path[-1].isdigit() else path[-2]
    if leaf == "id":
        return (asset[:-1] if asset.endswith("s") else asset) + "id"
    return leaf


def lookup_refs(params: Mapping[str, Any]) -> tuple[LookupRef, ...]:
    """Every lookup macro in a nested params structure, with its context column."""
    refs = []
    for path, text in iter_strings(params):
        for body in MACRO_RE.findall(text):
            m = LOOKUP_RE.match(body.strip())
            if m:
                asset, array = m.group(1), bool(m.group(3))
                refs.append(LookupRef(asset, m.group(2), array, path, context_column(asset, array, path), text))
    return tuple(refs)


@dataclass(frozen=True)
class FanOut:
    """What an endpoint fans out over. A valid spec reads one asset (or its lookup query) and
    uses one kind of lookup; ``refs`` keeps every macro so validation can say otherwise."""

    refs: tuple[LookupRef, ...]
    sql: str | None = None  # the endpoint's lookup query, when the asset is ``lookup``

    @property
    def asset(self) -> str:
        return self.refs[0].asset

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.asset for r in self.refs))

    @property
    def is_query(self) -> bool:
        return self.asset == QUERY

    @property
    def array(self) -> bool:
        """Values sent as an array parameter, ``batch`` per call (else one call per row)."""
        return self.refs[0].array

    @property
    def key(self) -> str:
        return self.refs[0].key

    @property
    def columns(self) -> tuple[str, ...]:
        """The lookup columns read, in order of first use."""
        return tuple(dict.fromkeys(r.column for r in self.refs))

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(r.key for r in self.refs)

    @property
    def context_columns(self) -> dict[str, LookupRef]:
        """Context column -> the lookup whose value it holds, for per-value lookups."""
        return {r.context: r for r in self.refs if r.context}

    def within(self, params: Mapping[str, Any]) -> FanOut | None:
        """The lookups still in ``params`` once run config or ``--param`` replaced some values."""
        kept = tuple(r for r in self.refs if _value_at(params, r.path) == r.text)
        if kept == self.refs:
            return self
        return FanOut(kept, self.sql if kept and kept[0].asset == QUERY else None) if kept else None

    def context_of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The context columns of one call, from its lookup row (column -> value)."""
        return {column: row[ref.column] for column, ref in self.context_columns.items()}


def _value_at(params: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(params, Mapping):
            params = params.get(part)
        elif isinstance(params, list) and part.isdigit() and int(part) < len(params):
            params = params[int(part)]
        else:
            return None
    return params


def fan_out_of(params: Mapping[str, Any], sql: str | None = None) -> FanOut | None:
    refs = lookup_refs(params)
    if not refs:
        return None
    return FanOut(refs, sql if refs[0].asset == QUERY else None)
