"""The endpoint spec: one Moodle web-service function described as data.

Built-in templates and a user's own endpoints share this model, so one engine turns both
into assets. Validation happens here, once, with errors that name the file, the endpoint
and the field — a data engineer editing YAML should never see a Python traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

from moodle_assets.moodle.errors import is_permission_error
from moodle_assets.moodle.versions import parse_version

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FUNCTION_RE = re.compile(r"^[a-z][a-z0-9]*_[a-z0-9_]+$")
TIME_UNITS = ("second", "minute", "hour", "day", "week", "month")
SETTING_TYPES = {"int": int, "str": str, "bool": bool, "float": float}
PAGING_STYLES = ("limit_offset", "page")
PARTITION_TYPES = ("daily", "weekly", "monthly")
# Names that would collide with tables or macros the project owns.
RESERVED_NAMES = frozenset({"lookup", "now", "partition_start", "partition_end", "settings", "_errors", "_loads"})
# Error codes that mean "nothing here for this item" on a real site, for every endpoint.
# Each is Moodle saying the data does not exist, never that this account may not see it:
#   nocriteriaset   core_completion_get_course_completion_status: the course has no
#                   completion criteria, so there is no completion to report;
#   usernotenroled  the same function for a user the course does not track (a teacher, a
#                   suspended or removed enrolment, the site course);
#   badgesdisabled  core_badges_get_user_badges on a site with badges switched off: Moodle
#                   shows no badges anywhere.
# Permission codes (cannotviewreport, nopermissions, requireloginerror, ... see
# moodle.errors.PERMISSION_ERRORCODES) are failed items, never empty ones, and may not be
# listed in an endpoint's empty_on.
DEFAULT_EMPTY_ON = ("nocriteriaset", "usernotenroled", "badgesdisabled")
# Asset groups shown in the Dagster UI.
GROUPS = ("site", "courses", "people", "assessment", "engagement", "custom")


class SpecError(ValueError):
    """One or more problems in endpoint specs; each line names file, endpoint and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid endpoint spec:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Setting:
    """A template setting, offered as typed Dagster run config.

    ``sets`` points at what the value changes: ``params.status`` (a param, dotted path),
    ``paginate.page_size`` or ``batch``; ``filters`` names a lookup (``courses.id``) that a
    non-zero value narrows to that single value (the "0 = all" convention of the templates).
    ``choices`` maps what the user types to what Moodle is sent (Status "all" -> "").
    """

    name: str
    type: str = "int"
    default: Any = None
    help: str = ""
    sets: str | None = None
    filters: str | None = None
    choices: Mapping[str, Any] | None = None
    minimum: float | None = None


@dataclass(frozen=True)
class Paginate:
    style: str
    page_size: int = 100
    page_param: str = "page"
    perpage_param: str = "perpage"
    first_page: int = 0
    total_path: str | None = None
    stop_on_short_page: bool = False


@dataclass(frozen=True)
class Partition:
    type: str = "daily"
    start: str | None = None  # ISO date; None = the project's default start
    end_offset: int = 0
    field: str | None = None  # record field (unix time) that places a record in a partition
    env_start: str | None = None  # environment variable that overrides ``start``


@dataclass(frozen=True)
class Lookup:
    """A fan-out over the rows of a SQL query on the warehouse: ``{lookup.COLUMN}`` in params."""

    sql: str
    deps: tuple[str, ...]


@dataclass(frozen=True)
class Alternative:
    """Another function for the same data, used when the site is new enough and offers it."""

    function: str
    min_version: Decimal = Decimal(0)  # a Moodle $version: 2025041400, 2025041406.11 (moodle.versions)


@dataclass(frozen=True)
class Explode:
    """Rows made from a JSON list column of another asset's table, with no Moodle call:
    the modules of each course section, the criteria of each course completion."""

    asset: str
    column: str
    keys: Mapping[str, str]  # new column -> parent column


@dataclass(frozen=True)
class Incremental:
    """How a fan-out refreshes only what may have changed.

    ``changed`` is a query over the warehouse returning the lookup rows (same columns) that
    may have changed since ``{cutoff}`` (unix seconds of the last successful load's start),
    e.g. the course x user pairs whose user accessed the course since then.
    """

    changed: str
    deps: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    function: str
    description: str = ""
    group: str = "custom"
    params: Mapping[str, Any] = field(default_factory=dict)
    data_path: str | None = None
    metadata_path: str | None = None
    parent_fields: Mapping[str, str] = field(default_factory=dict)
    scalar_column: str | None = None
    primary_key: tuple[str, ...] = ()
    dedupe: bool = False
    batch: int | None = None
    paginate: Paginate | None = None
    settings: Mapping[str, Setting] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    time_unit: str = "day"
    date_format: str = "unix"
    partition: Partition | None = None
    lookup: Lookup | None = None
    deps: tuple[str, ...] = ()
    empty_on: tuple[str, ...] = DEFAULT_EMPTY_ON
    columns: Mapping[str, str] = field(default_factory=dict)
    alternatives: tuple[Alternative, ...] = ()
    fail_on: Mapping[str, str] = field(default_factory=dict)  # error code -> what to do
    explode: Explode | None = None
    incremental: Incremental | None = None
    source: str = "<built-in>"

    @property
    def table(self) -> str:
        return f"moodle.{self.name}"

    def upstream(self) -> tuple[str, ...]:
        """Assets this endpoint reads: lookup macros, a lookup query's deps and explicit deps."""
        from moodle_assets.endpoints.macros import lookup_refs

        names: list[str] = [ref.asset for ref in lookup_refs(self.params) if ref.asset != "lookup"]
        if self.lookup:
            names.extend(self.lookup.deps)
        if self.explode:
            names.append(self.explode.asset)
        if self.incremental:
            names.extend(self.incremental.deps)
        names.extend(self.deps)
        return tuple(dict.fromkeys(names))


def _where(source: str, name: str | None, fieldname: str | None = None) -> str:
    where = f"{source}"
    if name:
        where += f": endpoint '{name}'"
    if fieldname:
        where += f", field '{fieldname}'"
    return where


def check_jsonpath(expr: str) -> str | None:
    """Return a parse error message for a JSONPath expression, or None if it is valid."""
    try:
        parse_jsonpath(expr)
    except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises several types
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


_KNOWN_KEYS = {
    "name", "function", "description", "group", "params", "data_path", "metadata_path",
    "parent_fields", "scalar_column", "primary_key", "dedupe", "batch", "paginate", "settings",
    "headers", "time_unit", "date_format", "partition", "lookup", "deps", "empty_on", "columns",
    "alternatives", "fail_on", "explode", "incremental",
}


def build_spec(raw: Any, source: str, index: int, partial: bool = False) -> tuple[EndpointSpec | None, list[str]]:
    """Validate one YAML mapping and build its spec; returns (spec or None, problems).

    With ``partial`` a spec with problems is still returned (built from what could be
    read), so the loader can check its macros and lookups too and list every problem of
    an endpoint at once.
    """
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        return None, [f"{source}: entry #{index + 1} must be a mapping with at least 'name' and 'function'"]
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(
            f"{_where(source, None, 'name')} (entry #{index + 1}): "
            f"{name!r} is not a valid name: use lower-case letters, digits and underscores, starting with a letter"
        )
        name = None
    elif name in RESERVED_NAMES:
        problems.append(f"{_where(source, name, 'name')}: '{name}' is reserved; choose another name")

    def bad(fieldname: str, message: str) -> None:
        problems.append(f"{_where(source, name, fieldname)}: {message}")

    for key in raw:
        if key not in _KNOWN_KEYS:
            bad(str(key), f"unknown field; known fields are {', '.join(sorted(_KNOWN_KEYS))}")

    function = raw.get("function")
    explode = None
    if raw.get("explode") is not None:
        ex = raw["explode"]
        if (not isinstance(ex, Mapping) or not isinstance(ex.get("asset"), str)
                or not isinstance(ex.get("column"), str) or not isinstance(ex.get("keys", {}), Mapping)):
            bad("explode", "must be a mapping with 'asset', 'column' (a JSON list column) and 'keys' (new column: parent column)")
        else:
            explode = Explode(asset=ex["asset"], column=ex["column"], keys=dict(ex.get("keys") or {}))
        if function is not None:
            bad("function", "an 'explode' endpoint makes no Moodle call; remove 'function'")
        function = ""
    elif not isinstance(function, str) or not FUNCTION_RE.match(function):
        bad("function", f"{function!r} is not a Moodle web-service function name (e.g. core_course_get_courses)")

    alternatives = []
    for i, alt in enumerate(raw.get("alternatives") or []):
        if not isinstance(alt, Mapping) or not FUNCTION_RE.match(str(alt.get("function", ""))):
            bad(f"alternatives.{i}", "must be a mapping with 'function' and optional 'min_version' (e.g. 2025041400)")
        elif alt.get("min_version") is None:
            alternatives.append(Alternative(alt["function"]))
        else:
            try:
                alternatives.append(Alternative(alt["function"], parse_version(alt["min_version"])))
            except ValueError as exc:
                bad(f"alternatives.{i}.min_version", str(exc))

    incremental = None
    if raw.get("incremental") is not None:
        inc = raw["incremental"]
        if not isinstance(inc, Mapping) or not isinstance(inc.get("changed"), str) or "{cutoff}" not in inc["changed"]:
            bad("incremental", "must be a mapping with 'changed': a query of the lookup rows changed since {cutoff}")
        else:
            incremental = Incremental(changed=inc["changed"], deps=tuple(inc.get("deps") or ()))

    fail_on = raw.get("fail_on") or {}
    if not isinstance(fail_on, Mapping):
        bad("fail_on", "must map a Moodle error code to what the user should do")
        fail_on = {}

    group = raw.get("group", "custom")
    if group not in GROUPS:
        bad("group", f"{group!r} is not one of {', '.join(GROUPS)}")

    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        bad("params", "must be a mapping of Moodle parameter names to values")
        params = {}

    for key in ("data_path", "metadata_path"):
        expr = raw.get(key)
        if expr is not None:
            if not isinstance(expr, str):
                bad(key, "must be a JSONPath string such as $.courses[*]")
            elif (err := check_jsonpath(expr)) is not None:
                bad(key, f"invalid JSONPath {expr!r}: {err}")

    parent_fields = raw.get("parent_fields") or {}
    if not isinstance(parent_fields, Mapping):
        bad("parent_fields", "must map a column name to the key of an enclosing object")
        parent_fields = {}

    primary_key = raw.get("primary_key") or []
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    if not isinstance(primary_key, list) or not all(isinstance(k, str) for k in primary_key):
        bad("primary_key", "must be a list of column names")
        primary_key = []

    batch = raw.get("batch")
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
        bad("batch", f"{batch!r} must be a positive integer (values per call for array parameters)")
        batch = None

    paginate = None
    if raw.get("paginate") is not None:
        p = raw["paginate"]
        if not isinstance(p, Mapping) or p.get("style") not in PAGING_STYLES:
            bad("paginate", f"must be a mapping with style one of {', '.join(PAGING_STYLES)}")
        else:
            size = p.get("page_size", 100)
            if not isinstance(size, int) or size < 1:
                bad("paginate.page_size", f"{size!r} must be a positive integer")
                size = 100
            total_path = p.get("total_path")
            if total_path is not None and (err := check_jsonpath(str(total_path))) is not None:
                bad("paginate.total_path", f"invalid JSONPath {total_path!r}: {err}")
            paginate = Paginate(
                style=p["style"],
                page_size=size,
                page_param=p.get("page_param", "page"),
                perpage_param=p.get("perpage_param", "perpage"),
                first_page=int(p.get("first_page", 0)),
                total_path=total_path,
                stop_on_short_page=bool(p.get("stop_on_short_page", False)),
            )

    settings: dict[str, Setting] = {}
    raw_settings = raw.get("settings") or {}
    if not isinstance(raw_settings, Mapping):
        bad("settings", "must map setting names to {type, default, help, sets|filters}")
        raw_settings = {}
    for sname, sdef in raw_settings.items():
        fname = f"settings.{sname}"
        if not isinstance(sdef, Mapping):
            bad(fname, "must be a mapping with type, default and help")
            continue
        stype = sdef.get("type", "int")
        if stype not in SETTING_TYPES:
            bad(fname, f"type {stype!r} is not one of {', '.join(SETTING_TYPES)}")
            continue
        sets, filters = sdef.get("sets"), sdef.get("filters")
        if bool(sets) == bool(filters):
            bad(fname, "needs exactly one of 'sets' (params.X, paginate.page_size, batch) or 'filters' (ASSET.COLUMN)")
            continue
        if sets and not (sets.startswith("params.") or sets in ("paginate.page_size", "batch")):
            bad(fname, f"sets {sets!r}: must be params.<name>, paginate.page_size or batch")
        if sets == "paginate.page_size" and paginate is None:
            bad(fname, "sets paginate.page_size but the endpoint has no 'paginate'")
        choices = sdef.get("choices")
        if choices is not None and not isinstance(choices, Mapping):
            bad(fname, "choices must map what the user picks to what Moodle is sent")
            choices = None
        default = sdef.get("default")
        if choices and default not in choices:
            bad(fname, f"default {default!r} is not one of the choices {', '.join(map(str, choices))}")
        settings[sname] = Setting(
            name=sname, type=stype, default=default, help=str(sdef.get("help", "")), sets=sets,
            filters=filters, choices=dict(choices) if choices else None, minimum=sdef.get("minimum"),
        )

    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(isinstance(v, (str, int)) for v in headers.values()):
        bad("headers", "must map header names to strings")
        headers = {}

    time_unit = raw.get("time_unit", "day")
    if time_unit not in TIME_UNITS:
        bad("time_unit", f"{time_unit!r} is not one of {', '.join(TIME_UNITS)}")

    date_format = raw.get("date_format", "unix")
    if not isinstance(date_format, str):
        bad("date_format", "must be 'unix' or a strftime pattern such as %Y-%m-%d")

    partition = None
    if raw.get("partition") is not None:
        p = raw["partition"]
        if not isinstance(p, Mapping) or p.get("type", "daily") not in PARTITION_TYPES:
            bad("partition", f"must be a mapping with type one of {', '.join(PARTITION_TYPES)}")
        else:
            partition = Partition(
                type=p.get("type", "daily"), start=p.get("start"), end_offset=int(p.get("end_offset", 0)),
                field=p.get("field"), env_start=p.get("env_start"),
            )

    lookup = None
    if raw.get("lookup") is not None:
        lk = raw["lookup"]
        if not isinstance(lk, Mapping) or not isinstance(lk.get("sql"), str):
            bad("lookup", "must be a mapping with 'sql' (a query over the warehouse) and 'deps' (the assets it reads)")
        else:
            lookup = Lookup(sql=lk["sql"], deps=tuple(lk.get("deps") or ()))
            if not lookup.deps:
                bad("lookup.deps", "name the assets the query reads, so lineage and run order are right")

    deps = raw.get("deps") or []
    if not isinstance(deps, list):
        bad("deps", "must be a list of asset names")
        deps = []

    empty_on = raw.get("empty_on") or []
    if not isinstance(empty_on, list) or not all(isinstance(code, str) for code in empty_on):
        bad("empty_on", "must be a list of Moodle error codes")
        empty_on = []
    for code in empty_on:
        if is_permission_error(code):
            bad("empty_on", f"{code!r} says the token's user may not read the item, not that there is no "
                "data: it is recorded as a failed item (moodle._errors, the failed_items check); "
                "grant the capability instead")
    empty = tuple(dict.fromkeys((*DEFAULT_EMPTY_ON, *empty_on)))

    columns = raw.get("columns") or {}
    if not isinstance(columns, Mapping):
        bad("columns", "must map column names to DuckDB types")
        columns = {}

    if name is None:
        return None, problems
    spec = EndpointSpec(
        name=name, function=function, description=str(raw.get("description", "")).strip(), group=group,
        params=dict(params), data_path=raw.get("data_path"), metadata_path=raw.get("metadata_path"),
        parent_fields=dict(parent_fields), scalar_column=raw.get("scalar_column"),
        primary_key=tuple(primary_key), dedupe=bool(raw.get("dedupe", False)), batch=batch,
        paginate=paginate, settings=settings, headers={k: str(v) for k, v in headers.items()},
        time_unit=time_unit, date_format=date_format, partition=partition, lookup=lookup,
        deps=tuple(deps), empty_on=empty, columns=dict(columns), alternatives=tuple(alternatives),
        fail_on={str(k): str(v) for k, v in fail_on.items()}, explode=explode, incremental=incremental,
        source=source,
    )
    from moodle_assets.endpoints.macros import check_macros

    problems.extend(f"{_where(source, name, f)}: {m}" for f, m in check_macros(spec))
    if problems and not partial:
        return None, problems
    return spec, problems
