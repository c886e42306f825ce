"""The parts of an endpoint spec below the endpoint itself: settings, paging, partitions,
lookups, alternatives, explode and incremental sections, and the names and limits they check.

Each is a pydantic model that forbids unknown keys; :mod:`moodle_assets.endpoints.spec` puts them
together into :class:`EndpointSpec` and re-exports them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from moodle_assets.endpoints.duckdb_types import is_duckdb_type
from moodle_assets.endpoints.problems import Says, SpecError, _jsonpath, check_jsonpath, problem  # noqa: F401 (used from here)
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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveInt = Annotated[StrictInt, Field(ge=1)]


def _duckdb_type(text: str) -> str:
    if not is_duckdb_type(text):
        raise problem(
            f"{text!r} is not a DuckDB type; use one such as BIGINT, DOUBLE, VARCHAR, BOOLEAN, TIMESTAMP or JSON"
        )
    return text


DuckDBType = Annotated[StrictStr, AfterValidator(_duckdb_type)]


class Setting(_Model):
    """A template setting, offered as typed Dagster run config.

    ``sets`` points at what the value changes: ``params.status`` (a param, dotted path),
    ``paginate.page_size`` or ``batch``; ``filters`` names a lookup (``courses.id``) that a
    non-zero value narrows to that single value (the "0 = all" convention of the templates).
    ``choices`` maps what the user types to what Moodle is sent (Status "all" -> "").
    """

    type: Annotated[
        Literal["int", "str", "bool", "float"],
        Says("type {value!r} is not one of int, str, bool, float"),
        Field(description="`int`, `str`, `bool` or `float`."),
    ] = "int"
    default: Any = Field(None, description="The value when the run config does not give one.")
    help: Annotated[StrictStr, Field(description="Shown beside the setting in the Launchpad.")] = ""
    sets: Annotated[
        StrictStr | None,
        Field(
            description="What the value changes: `params.NAME` (a dotted path, list positions as numbers), "
            "`paginate.page_size` or `batch`."
        ),
    ] = None
    filters: Annotated[
        StrictStr | None,
        Field(description="`ASSET.COLUMN`: a lookup the value narrows to one value when it is not 0 or empty."),
    ] = None
    choices: Annotated[
        dict[str, Any] | None,
        Says("choices must map what the user picks to what Moodle is sent"),
        Field(description="What the user picks -> what Moodle is sent."),
    ] = None
    minimum: Annotated[
        StrictInt | StrictFloat | None,
        Says("minimum {value!r} must be a number"),
        Field(description="The smallest value allowed, checked before calling."),
    ] = None
    _name: str = PrivateAttr("")

    @property
    def name(self) -> str:
        return self._name

    @model_validator(mode="after")
    def _targets_one_thing(self) -> Setting:
        if bool(self.sets) == bool(self.filters):
            raise problem(
                "needs exactly one of 'sets' (params.X, paginate.page_size, batch) or 'filters' (ASSET.COLUMN)"
            )
        if self.sets and not (self.sets.startswith("params.") or self.sets in ("paginate.page_size", "batch")):
            raise problem(f"sets {self.sets!r}: must be params.<name>, paginate.page_size or batch")
        if self.choices and self.default not in self.choices:
            raise problem(f"default {self.default!r} is not one of the choices {', '.join(map(str, self.choices))}")
        return self


class Paginate(_Model):
    """How Moodle pages a function (docs/endpoints.md, Paging)."""

    style: Literal["limit_offset", "page"] = Field(
        description="`limit_offset` (options[i][name]=limitfrom|limitnumber) or `page` (page and perpage parameters)."
    )
    page_size: Annotated[
        PositiveInt, Says("{value!r} must be a positive integer"), Field(description="Records asked for per page.")
    ] = 100
    page_param: Annotated[StrictStr, Field(description="`page` style: the page number's parameter.")] = "page"
    perpage_param: Annotated[StrictStr, Field(description="`page` style: the page size's parameter.")] = "perpage"
    first_page: Annotated[
        StrictInt,
        Says("{value!r} must be a whole number (the number of the first page)"),
        Field(description="`page` style: the first page's number."),
    ] = 0
    total_path: Annotated[
        StrictStr | None,
        Field(description="JSONPath to the total number of records, e.g. `$.total`: paging stops on reaching it."),
    ] = None
    stop_on_short_page: Annotated[
        StrictBool,
        Says("{value!r} must be true or false"),
        Field(description="Stop on a page shorter than page_size (only where Moodle pages in SQL)."),
    ] = False

    _total_path = field_validator("total_path")(classmethod(lambda cls, v: _jsonpath(v)))


class Partition(_Model):
    """Time partitions (docs/endpoints.md, Partitions)."""

    type: Literal["daily", "weekly", "monthly"] = Field("daily", description="`daily`, `weekly` or `monthly`.")
    start: Annotated[
        StrictStr | date | None,
        Says("{value!r} must be an ISO date such as 2025-01-01"),
        Field(description="The first partition, an ISO date (default 2025-01-01, a fixed day)."),
    ] = None
    end_offset: Annotated[
        StrictInt,
        Says("{value!r} must be a whole number of partitions (after today)"),
        Field(description="Partitions after today (future deadlines)."),
    ] = 0
    field: Annotated[
        StrictStr | None, Field(description="The record's unix-time field that places it in a partition.")
    ] = None
    env_start: Annotated[StrictStr | None, Field(description="An environment variable that overrides `start`.")] = None


class Lookup(_Model):
    """A fan-out over the rows of a SQL query on the warehouse: ``{lookup.COLUMN}`` in params."""

    sql: StrictStr = Field(description="A query over the warehouse; its columns feed `{lookup.COLUMN}`.")
    deps: Annotated[
        tuple[str, ...],
        Field(min_length=1, description="The assets the query reads."),
        Says(
            "name the assets the query reads, as a list such as [quizzes, enrolled_users], "
            "so lineage and run order are right"
        ),
    ]


class Alternative(_Model):
    """Another function for the same data, used when the site is new enough and offers it."""

    function: Annotated[
        StrictStr,
        Says("{value!r} is not a Moodle web-service function name (e.g. mod_quiz_get_user_quiz_attempts)"),
        Field(description="The function called instead."),
    ]
    # A Moodle $version: 2025041400, 2025041406.11 (moodle.versions)
    min_version: Decimal = Field(Decimal(0), description="The site version it needs, e.g. 2025041400.")

    @field_validator("function")
    @classmethod
    def _function_name(cls, value: str) -> str:
        if not FUNCTION_RE.match(value):
            raise ValueError("not a function name")
        return value

    @field_validator("min_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Decimal:
        try:
            return parse_version(value)
        except ValueError as exc:
            raise problem(str(exc)) from None


class Explode(_Model):
    """Rows made from a JSON list column of another asset's table, with no Moodle call:
    the modules of each course section, the criteria of each course completion."""

    asset: StrictStr = Field(description="The asset whose table has the list column.")
    column: StrictStr = Field(description="The JSON list column.")
    keys: dict[str, str] = Field(default_factory=dict, description="New column -> parent column, copied onto each row.")


class Follow(_Model):
    """Columns an incremental table copies from another table instead of re-reading its items.

    A course renamed or hidden changes the same course fields in every enrolled user's
    ``core_enrol_get_users_courses`` answer; the ``courses`` table, read in full each night,
    already holds the new values, so the kept rows take them from there (Moodle formats
    both answers the same way) instead of re-reading every user of the course.
    """

    asset: StrictStr = Field(description="The asset whose table holds the current values.")
    match: dict[StrictStr, StrictStr] = Field(
        min_length=1, description="How rows match: this table's column -> the followed table's column."
    )
    columns: dict[StrictStr, StrictStr] = Field(
        min_length=1, description="The columns copied: this table's column -> the followed table's column."
    )


class Incremental(_Model):
    """How a fan-out refreshes only what may have changed.

    ``changed`` is a query over the warehouse returning the lookup rows (same columns) that
    may have changed since ``{cutoff}`` (unix seconds of the last successful load's start),
    e.g. the course x user pairs whose user accessed the course since then.
    """

    changed: StrictStr = Field(
        description="A query returning the lookup rows that may have changed since {cutoff} (unix seconds)."
    )
    deps: tuple[str, ...] = Field((), description="The assets the query reads.")
    rotate: StrictInt | None = Field(
        None,
        ge=1,
        description="Also re-read, on every incremental run, 1/rotate of the items verified longest ago: "
        "changes no query sees are then at most rotate runs old (rotate days with nightly runs).",
    )
    follow: Follow | None = Field(
        None, description="Columns the kept rows copy from another table after each incremental load."
    )

    @field_validator("changed")
    @classmethod
    def _macros(cls, value: str) -> str:
        # {cutoff} is the only macro; a query may also go without it (rows that differ
        # between two tables need no time), but a misspelt one would reach DuckDB as text.
        unknown = sorted(set(re.findall(r"\{([a-z_]+)\}", value)) - {"cutoff"})
        if unknown:
            raise ValueError(f"unknown macro {{{unknown[0]}}}: the query may use {{cutoff}} only")
        return value
