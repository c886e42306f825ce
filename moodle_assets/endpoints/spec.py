"""The endpoint spec: one Moodle web-service function described as data.

Built-in templates and a user's own endpoints share this model, so one engine turns both
into assets. The spec format is written once, here, as pydantic models: they validate a
YAML mapping (unknown keys are errors at every level, numbers and booleans are never
coerced from other types), hold the defaults, document every field (docs/endpoints.md's
field table is generated from them) and give the JSON Schema editors use
(``spec.schema.json``). ``Says`` on a field is what a user is told when its value is wrong;
:mod:`moodle_assets.endpoints.validation` turns pydantic's errors into those words, naming
the file, line, endpoint and field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StrictBool, StrictStr, field_validator, model_validator

from moodle_assets.endpoints.lookups import QUERY, FanOut, fan_out_of
from moodle_assets.endpoints.problems import Says, SpecError, _jsonpath, check_jsonpath, problem  # noqa: F401 (used from here)
from moodle_assets.endpoints.spec_parts import (  # noqa: F401 (re-exported: the spec model's parts)
    DEFAULT_EMPTY_ON,
    FUNCTION_RE,
    GROUPS,
    NAME_RE,
    PAGING_STYLES,
    PARTITION_TYPES,
    RESERVED_NAMES,
    SETTING_TYPES,
    TIME_UNITS,
    Alternative,
    DuckDBType,
    Explode,
    Incremental,
    Lookup,
    Paginate,
    Partition,
    PositiveInt,
    Setting,
    _duckdb_type,
    _Model,
)


def _doc(text: str) -> Any:
    return Field(description=text)


class EndpointSpec(_Model):
    """One endpoint: a Moodle web-service function as an asset and a table."""

    name: Annotated[
        StrictStr,
        Says("{value!r} is not a valid name: use lower-case letters, digits and underscores, starting with a letter"),
        _doc(
            "Asset and table name: lower-case letters, digits, `_`, starting with a letter. Unique across built-ins and "
            "your file. Reserved: `lookup`, `now`, `partition_start`, `partition_end`, `settings`, `_errors`, `_loads`."
        ),
    ]
    function: Annotated[
        StrictStr,
        Says("{value!r} is not a Moodle web-service function name (e.g. core_course_get_courses)"),
        _doc(
            "The Moodle web-service function, e.g. `core_course_get_updates_since`. It must be in your token's external "
            "service. Leave it out only for `explode`."
        ),
    ] = ""
    description: Annotated[
        str, _doc("Shown in the Dagster UI. Say what a row is and anything surprising about the function.")
    ] = ""
    group: Annotated[
        Literal["site", "courses", "people", "assessment", "engagement", "custom"],
        Says("{value!r} is not one of " + ", ".join(GROUPS)),
        _doc("Asset group in the UI: `site`, `courses`, `people`, `assessment`, `engagement` or `custom` (default)."),
    ] = "custom"
    params: Annotated[
        dict[str, Any],
        Says("must be a mapping of Moodle parameter names to values"),
        _doc(
            "The function's parameters, nested as Moodle declares them. Lists and mappings are sent PHP-style "
            "(`courseids: [2, 3]` → `courseids[0]=2&courseids[1]=3`; `options: {ids: [5]}` → `options[ids][0]=5`). "
            "Booleans are sent as `0`/`1`; `null`, empty lists and empty mappings are not sent. Values may contain "
            "[macros](#macros). Moodle rejects any parameter the function does not declare."
        ),
    ] = {}
    data_path: Annotated[
        StrictStr | None,
        Says("must be a JSONPath string such as $.courses[*]"),
        _doc(
            "JSONPath to the records of one answer: `$[*]` (a bare list), `$.courses[*]`, `$.courses[*].assignments[*]`, "
            "`$.completionstatus`. Without it, a list answer is rows and an object answer is one row. Filters and slices "
            "(jsonpath-ng extended syntax) work too."
        ),
    ] = None
    metadata_path: Annotated[
        StrictStr | None,
        Says("must be a JSONPath string such as $.warnings"),
        _doc(
            "JSONPath to values kept beside each load rather than as rows, usually `$.warnings`. They appear in the "
            "materialisation metadata (`warnings`, `warning_count`) and in `moodle._loads`."
        ),
    ] = None
    parent_fields: Annotated[
        dict[str, str],
        Says("must map a column name to the key of an enclosing object"),
        _doc(
            "Copy a key of an enclosing object onto each record: `{assignmentid: assignmentid}` gives each submission "
            "under `$.assignments[*].submissions[*]` its assignment's id."
        ),
    ] = {}
    scalar_column: Annotated[
        StrictStr | None,
        _doc(
            "When the data path finds scalars (a list of user ids), the column they go in: `$[*].userids[*]` with "
            "`scalar_column: userid`."
        ),
    ] = None
    primary_key: Annotated[
        tuple[str, ...],
        Says("must be a list of column names"),
        _doc("The columns that identify a row. Used by `dedupe` and shown in the UI."),
    ] = ()
    dedupe: Annotated[
        StrictBool,
        Says("{value!r} must be true or false"),
        _doc(
            "`true` drops records whose primary key was already seen in this load (calendar events returned by two "
            "batches)."
        ),
    ] = False
    batch: Annotated[
        PositiveInt | None,
        Says("{value!r} must be a positive integer (values per call for array parameters)"),
        _doc("For an array lookup `{ASSET.COLUMN[]}`: values per call (default: all in one call)."),
    ] = None
    paginate: Annotated[
        Paginate | None,
        Says("must be a mapping with style one of " + ", ".join(PAGING_STYLES)),
        _doc("How Moodle pages this function; see [paging](#paging)."),
    ] = None
    settings: Annotated[
        dict[str, Setting],
        Says("must map setting names to {type, default, help, sets|filters}"),
        _doc("Typed run config shown in the Launchpad; see [settings](#settings)."),
    ] = {}
    headers: Annotated[
        dict[str, str],
        Says("must map header names to strings"),
        _doc("Extra HTTP headers (strings; date macros allowed). Rarely needed."),
    ] = {}
    time_unit: Annotated[
        Literal["second", "minute", "hour", "day", "week", "month"],
        Says("{value!r} is not one of " + ", ".join(TIME_UNITS)),
        _doc("Unit of `{now-N}`: `second`, `minute`, `hour`, `day` (default), `week`, `month`."),
    ] = "day"
    date_format: Annotated[
        StrictStr,
        Says("must be 'unix' or a strftime pattern such as %Y-%m-%d"),
        _doc("How date macros are sent: `unix` (default, seconds) or a strftime pattern such as `%Y-%m-%d` (UTC)."),
    ] = "unix"
    partition: Annotated[
        Partition | None,
        Says("must be a mapping with type one of " + ", ".join(PARTITION_TYPES)),
        _doc("Time partitions; see [partitions](#partitions)."),
    ] = None
    lookup: Annotated[
        Lookup | None,
        Says("must be a mapping with 'sql' (a query over the warehouse) and 'deps' (the assets it reads)"),
        _doc(
            "A SQL query over the warehouse whose columns feed `{lookup.COLUMN}`, with `deps` naming the assets it "
            "reads; see [lookups](#lookups)."
        ),
    ] = None
    deps: Annotated[
        tuple[str, ...],
        Says("must be a list of asset names"),
        _doc("Extra upstream assets (lineage and run order) that no macro mentions."),
    ] = ()
    empty_on: Annotated[
        tuple[str, ...],
        Says("must be a list of Moodle error codes"),
        _doc(
            'Extra Moodle error codes that mean "no data for this item" rather than a failure, counted as empty items '
            "(`empty_items_by_code` in the metadata) when an item's first call answers them. Always included: "
            "`nocriteriaset`, `usernotenroled`, `badgesdisabled`. Permission codes (`cannotviewreport`, `nopermissions`, "
            "`requireloginerror`, ...) are refused here: the data exists and the token may not see it, so they are "
            "failed items."
        ),
    ] = DEFAULT_EMPTY_ON
    fail_on: Annotated[
        dict[str, str],
        Says("must map a Moodle error code to what the user should do"),
        _doc(
            "Error codes that fail the whole asset at once, mapped to what the user should do: "
            '`{competenciesarenotenabled: "Enable them in Site administration > Advanced features."}`.'
        ),
    ] = {}
    alternatives: Annotated[
        tuple[Alternative, ...],
        Says("must be a list of mappings with 'function' and optional 'min_version' (e.g. 2025041400)"),
        _doc(
            "Other functions for the same data on newer sites: `[{function: mod_quiz_get_user_quiz_attempts, "
            "min_version: 2025041400}]`. The first one the site offers (site info's `functions`) and is new enough for "
            "(its `version`) is called instead of `function`."
        ),
    ] = ()
    explode: Annotated[
        Explode | None,
        Says("must be a mapping with 'asset', 'column' (a JSON list column) and 'keys' (new column: parent column)"),
        _doc(
            "An asset made from a JSON list column of another asset's table, with no Moodle call: `{asset: "
            "course_contents, column: modules, keys: {courseid: courseid, sectionid: id}}` gives one row per module "
            "with the section's keys copied under new names."
        ),
    ] = None
    incremental: Annotated[
        Incremental | None,
        Says("must be a mapping with 'changed': a query of the lookup rows changed since {cutoff}"),
        _doc(
            "Refresh only the fan-out items that may have changed: `changed` is a query returning the lookup rows that "
            "may have changed since `{cutoff}`, `deps` the assets it reads, `rotate: N` also re-reads the 1/N of the "
            "items read longest ago on every run (none by default: the nightly schedule reads everything on "
            "Sundays), `follow: {asset, match, columns}` copies columns from another table into the kept rows "
            "after each incremental load; see docs/incremental.md."
        ),
    ] = None
    columns: Annotated[
        dict[str, DuckDBType],
        Says("must map column names to DuckDB types"),
        _doc("Declared DuckDB types, e.g. `{courseid: BIGINT}`, so the table has them even when a load is empty."),
    ] = {}

    _source: str = PrivateAttr("<built-in>")
    _fan_out: FanOut | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, raw: Any) -> Any:
        """``params:`` with nothing after it (YAML null) is the default, as an absent key."""
        if isinstance(raw, dict):
            return {k: v for k, v in raw.items() if v is not None or k not in _EMPTY_IS_DEFAULT}
        return raw

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError("not a name")
        if value in RESERVED_NAMES:
            raise problem(f"'{value}' is reserved; choose another name")
        return value

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        if value and not FUNCTION_RE.match(value):
            raise ValueError("not a function name")
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        return str(value).strip()

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("headers", "fail_on", mode="before")
    @classmethod
    def _text_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: str(v) if isinstance(v, (str, int)) and not isinstance(v, bool) else v for k, v in value.items()}
        return value

    _paths = field_validator("data_path", "metadata_path")(classmethod(lambda cls, v: _jsonpath(v)))

    @field_validator("empty_on")
    @classmethod
    def _with_defaults(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*DEFAULT_EMPTY_ON, *value)))

    def model_post_init(self, context: Any) -> None:
        for name, setting in self.settings.items():
            setting._name = name
        self._fan_out = fan_out_of(self.params, self.lookup.sql if self.lookup else None)

    @property
    def source(self) -> str:
        """The file the spec was read from (``templates/people.yaml``, the user's file)."""
        return self._source

    @property
    def fan_out(self) -> FanOut | None:
        """The lookup the endpoint fans out over, parsed once from its params (None: one call)."""
        return self._fan_out

    @property
    def table(self) -> str:
        return f"moodle.{self.name}"

    def upstream(self) -> tuple[str, ...]:
        """Assets this endpoint reads: lookup macros, a lookup query's deps and explicit deps."""
        names: list[str] = []
        if self.fan_out:
            names.extend(a for a in self.fan_out.assets if a != QUERY)
        if self.lookup:
            names.extend(self.lookup.deps)
        if self.explode:
            names.append(self.explode.asset)
        if self.incremental:
            names.extend(self.incremental.deps)
            if self.incremental.follow:
                names.append(self.incremental.follow.asset)
        names.extend(self.deps)
        return tuple(dict.fromkeys(names))


_EMPTY_IS_DEFAULT = frozenset(
    {
        "params",
        "parent_fields",
        "primary_key",
        "settings",
        "headers",
        "deps",
        "empty_on",
        "columns",
        "alternatives",
        "fail_on",
        "description",
    }
)
