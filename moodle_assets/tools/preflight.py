"""Preflight a Moodle site: does the credential work, and which assets can this token run?

Two steps. ``core_webservice_get_site_info`` names the site, its release and version, the
token's user, the functions of the token's external service and the site's advanced
features: from that alone we know, per asset, whether its function is in the service, whether
this Moodle version has it at all, and whether a feature it needs is switched off.

A function in the service can still refuse: what the token's user may read is decided by the
capabilities of the user's role (a harvest account without moodle/grade:viewall gets
``nopermissions`` on every grade report). So every asset's function is then called once, as a
harvest would call it (the same settings, params, lookups and first page, through
:mod:`moodle_assets.endpoints.runner`), for one real course and one real student of it,
discovered on the site: the first page of ``course_index`` and an enrolled student of one of
its first courses. Lookup values come from the other samples (a quiz of that course, a forum,
a group), read with the runner's own lookup SQL over an in-memory copy of the sampled rows.
Each asset then reads:

* ``ok``        the sample answered (or answered "no data here": ``empty_on`` codes);
* ``missing``   its function is not in the token's external service (no call made);
* ``refused``   Moodle refused for lack of a capability: which one, and where to grant it;
* ``blocked``   its ids come from an asset that cannot run, so it would load nothing;
* ``failed``    another error (a ``fail_on`` code such as competencies switched off, a bad
                parameter in a user's endpoint);
* ``unchecked`` no sample was possible (no lookup value in the sample course, no answer in
                time).

Assets exploded from another asset's table make no call and follow their parent. One call per
function (a second or third enrolled_users call only when the first courses have nobody
enrolled), a bounded number at once, each with a time limit.

The checks are plain functions returning data, so a Dagster sensor or asset check can
reuse them; the CLI only renders the result (:func:`preflight_text`, :func:`preflight_json`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from moodle_assets.endpoints.extract import extract_records
from moodle_assets.endpoints.macros import lookup_refs
from moodle_assets.endpoints.runner import (
    EndpointFailure,
    LookupQuery,
    SettingsError,
    choose_function,
    lookup_queries,
    lookup_sql,
    plan_calls,
    resolve,
)
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import (
    FunctionNotInServiceError,
    MoodleAPIError,
    MoodleClient,
    MoodleError,
)
from moodle_assets.moodle.versions import parse_version, site_version
from moodle_assets.tools.sample import first_page
from moodle_assets.warehouse.column_types import JSON, VARCHAR, type_of, widen
from moodle_assets.warehouse.sql import quote

SITE_INFO = "core_webservice_get_site_info"
SERVICE_FUNCTIONS_PATH = "Site administration > Server > Web services > External services > Functions"
DEFINE_ROLES_PATH = "Site administration > Users > Permissions > Define roles"
CHECK_PERMISSIONS_PATH = "Site administration > Users > Permissions > Check system permissions"

# Statuses of an asset.
OK = "ok"
MISSING = "missing"
REFUSED = "refused"
BLOCKED = "blocked"
FAILED = "failed"
UNCHECKED = "unchecked"

SAMPLE_TIMEOUT = 30.0  # seconds for one sample call, retries included
SAMPLE_CONCURRENCY = 4  # sample calls in flight at once
COURSE_TRIES = 3  # courses of course_index tried for an enrolled student

# The built-in assets the samples are discovered from.
COURSE_INDEX = "course_index"
ENROLLED_USERS = "enrolled_users"
COURSE_ASSETS = frozenset({"course_index", "courses", "courses_by_field"})
USER_ASSETS = frozenset({"users", "enrolled_users", "users_by_field"})

# Run config that narrows a built-in asset's one call to the sample course or user, so a site
# with 50,000 users is not read whole to check a permission ("{course}"/"{user}": their ids).
NARROWING: dict[str, dict[str, str]] = {
    "users": {"search_field": "id", "search_value": "{user}"},
    "courses_by_field": {"filter_field": "id", "filter_value": "{course}"},
}


@dataclass(frozen=True)
class Requirement:
    """What a function needs beyond being in the service: a Moodle version or a site feature."""

    min_version: str | None = None  # a Moodle $version (moodle.versions), e.g. "2025041400"
    min_release: str | None = None  # the release name of min_version, for people
    instead: str | None = None  # the function to use on older sites
    feature: str | None = None  # name in site_info advancedfeatures
    feature_label: str | None = None
    setting_path: str = "Site administration > General > Advanced features"


_COMPETENCIES = Requirement(feature="enablecompetencies", feature_label="Enable competencies")
_COMPLETION = Requirement(feature="enablecompletion", feature_label="Enable completion tracking")
_BADGES = Requirement(feature="enablebadges", feature_label="Enable badges")

REQUIREMENTS: dict[str, Requirement] = {
    "mod_quiz_get_user_quiz_attempts": Requirement(
        min_version="2025041400", min_release="5.0", instead="mod_quiz_get_user_attempts"
    ),
    "report_competency_data_for_report": _COMPETENCIES,
    "core_competency_list_course_competencies": _COMPETENCIES,
    "core_competency_list_competencies": _COMPETENCIES,
    "core_competency_list_user_plans": _COMPETENCIES,
    "core_competency_list_plan_competencies": _COMPETENCIES,
    "core_competency_read_competency_framework": _COMPETENCIES,
    "tool_lp_data_for_user_competency_summary_in_course": _COMPETENCIES,
    "core_completion_get_activities_completion_status": _COMPLETION,
    "core_completion_get_course_completion_status": _COMPLETION,
    "core_badges_get_user_badges": _BADGES,
    "core_reportbuilder_retrieve_report": Requirement(
        feature="enablecustomreports", feature_label="Enable custom reports"
    ),
}

# ------------------------------------------------------------------ what Moodle checks

# Moodle's English names of capabilities (lang/en/role.php and the plugins' lang files). A
# refusal names the capability only this way: "Sorry, but you do not currently have
# permissions to do that (View grades of other users)."
CAPABILITY_NAMES: dict[str, str] = {
    "moodle/course:view": "View courses without participation",
    "moodle/course:viewhiddencourses": "View hidden courses",
    "moodle/course:viewparticipants": "View participants",
    "moodle/site:viewparticipants": "View participants",
    "moodle/course:enrolreview": "Review course enrolments",
    "moodle/course:managegroups": "Manage groups",
    "moodle/site:accessallgroups": "Access all groups",
    "moodle/user:viewdetails": "View user profiles",
    "moodle/user:viewuseractivitiesreport": "See user activity reports",
    "moodle/grade:viewall": "View grades of other users",
    "gradereport/user:view": "View your own grade report",
    "report/progress:view": "View activity completion reports",
    "report/completion:view": "View course completion report",
    "mod/quiz:viewreports": "View quiz reports",
    "mod/assign:grade": "Grade assignment",
    "mod/forum:viewdiscussion": "View discussions",
    "moodle/badges:viewotherbadges": "View public badges in other users' profiles",
    "moodle/competency:coursecompetencyview": "View course competencies",
    "moodle/competency:usercompetencyview": "View a user competency",
    "moodle/competency:competencyview": "View competency frameworks",
}

# The capabilities each function's code checks for a harvest's call (another user, every
# course), in the order it checks them (Moodle 4.5 source).
FUNCTION_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "core_course_get_courses": ("moodle/course:view",),
    "core_course_get_contents": ("moodle/course:view",),
    "core_enrol_get_enrolled_users": ("moodle/course:viewparticipants",),
    "core_group_get_course_groups": ("moodle/course:managegroups",),
    "core_group_get_group_members": ("moodle/course:managegroups",),
    "gradereport_user_get_grade_items": ("gradereport/user:view", "moodle/grade:viewall"),
    "gradereport_overview_get_course_grades": ("moodle/grade:viewall",),
    "core_completion_get_activities_completion_status": ("report/progress:view",),
    "core_completion_get_course_completion_status": ("report/completion:view",),
    "mod_quiz_get_user_attempts": ("mod/quiz:viewreports",),
    "mod_quiz_get_user_quiz_attempts": ("mod/quiz:viewreports",),
    "mod_assign_get_submissions": ("mod/assign:grade",),
    "mod_forum_get_forum_discussions": ("mod/forum:viewdiscussion",),
    "core_badges_get_user_badges": ("moodle/badges:viewotherbadges",),
    "core_competency_list_course_competencies": ("moodle/competency:coursecompetencyview",),
    "report_competency_data_for_report": (
        "moodle/competency:coursecompetencyview", "moodle/competency:usercompetencyview",
    ),
}

# Refusals whose message names no capability: (function or None for any, errorcode) -> capability.
ERROR_CAPABILITIES: dict[tuple[str | None, str], str] = {
    ("core_completion_get_course_completion_status", "cannotviewreport"): "report/completion:view",
    ("gradereport_user_get_grade_items", "nopermissiontoviewgrades"): "moodle/grade:viewall",
    ("gradereport_overview_get_course_grades", "nopermissiontoviewgrades"): "moodle/grade:viewall",
    ("mod_forum_get_forum_discussions", "noviewdiscussionspermission"): "mod/forum:viewdiscussion",
    (None, "notingroup"): "moodle/site:accessallgroups",
    (None, "accessdenied"): "moodle/site:accessallgroups",
    (None, "coursehidden"): "moodle/course:viewhiddencourses",
    (None, "cannotviewprofile"): "moodle/user:viewdetails",
    (None, "nopermissiontoviewgrades"): "moodle/grade:viewall",
    (None, "requireloginerror"): "moodle/course:view",
    (None, "errorcoursecontextnotvalid"): "moodle/course:view",
}

# Refusals that come as a warning and an empty answer instead of an exception:
# (function, warningcode) -> capability.
WARNING_CAPABILITIES: dict[tuple[str, str], str] = {
    ("mod_assign_get_submissions", "1"): "mod/assign:grade",
    ("mod_assign_get_assignments", "2"): "moodle/course:view",
    ("mod_quiz_get_quizzes_by_courses", "1"): "moodle/course:view",
}
_ACCESS_WARNING = re.compile(r"no access rights|not have (the )?(requested )?(capability|permission)", re.IGNORECASE)

_PERMISSION_CODES = frozenset(
    {"nopermissions", "required_capability_exception", "requireloginerror", "accessdenied",
     "nopermissiontoviewgrades", "cannotviewprofile", "cannotviewreport", "notingroup", "coursehidden",
     "noviewdiscussionspermission", "errorcoursecontextnotvalid"}
)
_CAPABILITY_RE = re.compile(r"\b((?:moodle|mod|report|gradereport|block|tool|local|enrol|qbank|quiz)"
                            r"/[a-z0-9_]+:[a-z0-9_]+)\b")
_NAMED_RE = re.compile(r"permissions to do that \((.+)\)\.?\s*$", re.DOTALL)


@dataclass(frozen=True)
class Refusal:
    """What Moodle refused for: the capability (when it can be told) and Moodle's name of it."""

    capability: str | None
    name: str | None
    also: tuple[str, ...] = ()  # further capabilities the function checks after this one


def refusal_of(function: str, errorcode: str | None, exception: str | None, message: str,
               debuginfo: str | None = None) -> Refusal | None:
    """The capability a Moodle error refuses for, or None when the error is not a refusal.

    Moodle names a missing capability by its title in the message ("... (Manage groups).");
    a site with debugging on may add the capability itself in ``debuginfo``. Some refusals
    name nothing (cannotviewreport, noviewdiscussionspermission): what the function's code
    checks says which capability it was.
    """
    code = (errorcode or "").strip()
    refused = (
        code in _PERMISSION_CODES
        or (exception or "").endswith(("required_capability_exception", "require_login_exception"))
        or (function, code) in ERROR_CAPABILITIES
    )
    if not refused:
        return None
    capability = None
    for text in (debuginfo or "", message or ""):
        if m := _CAPABILITY_RE.search(text):
            capability = m.group(1)
            break
    named = _NAMED_RE.search(message or "")
    name = named.group(1).strip() if named else None
    checked = FUNCTION_CAPABILITIES.get(function, ())
    if capability is None and name:
        by_function = [c for c in checked if CAPABILITY_NAMES.get(c) == name]
        anywhere = [c for c, title in CAPABILITY_NAMES.items() if title == name]
        capability = (by_function or (anywhere if len(anywhere) == 1 else [None]))[0]
    if capability is None and not name:
        capability = ERROR_CAPABILITIES.get((function, code)) or ERROR_CAPABILITIES.get((None, code))
    if name is None and capability:
        name = CAPABILITY_NAMES.get(capability)
    also = tuple(checked[checked.index(capability) + 1:]) if capability in checked else ()
    return Refusal(capability, name, also)


def grant_fix(refusal: Refusal) -> str:
    """What to do about a refusal, in one sentence."""
    if refusal.capability:
        what = refusal.capability + (f" ({refusal.name})" if refusal.name else "")
        fix = f"grant {what} to the role of the token's user ({DEFINE_ROLES_PATH})"
        if refusal.also:
            fix += f"; this function also checks {', '.join(refusal.also)}"
        return fix
    if refusal.name:
        return (f"grant the capability Moodle calls \"{refusal.name}\" to the role of the token's user "
                f"({DEFINE_ROLES_PATH})")
    return (f"find the capability the token's user lacks ({CHECK_PERMISSIONS_PATH}) and grant it to the "
            f"user's role ({DEFINE_ROLES_PATH})")


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class FunctionStatus:
    """One asset on this site: can it run with this token, and what to do if not."""

    asset: str
    function: str
    source: str
    available: bool  # can run: in the service and, when sampled, the sample was not refused
    fix: str | None = None  # why it cannot run and what to change
    caveats: tuple[str, ...] = ()  # it can run, but may load nothing
    derived_from: str | None = None  # "course_contents.modules": exploded, no Moodle call
    status: str = OK
    capability: str | None = None  # refused: the capability to grant
    capability_name: str | None = None  # refused: Moodle's name of it
    moodle_said: str | None = None  # Moodle's message [errorcode] for a refused or failed sample
    blocked_by: str | None = None  # the upstream asset that cannot run
    sampled_with: Mapping[str, Any] | None = None  # the lookup values of the sample call
    also: tuple[str, ...] = ()  # further capabilities the function checks

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["caveats"] = list(self.caveats)
        out["also"] = list(self.also)
        out["sampled_with"] = dict(self.sampled_with) if self.sampled_with is not None else None
        return out


@dataclass(frozen=True)
class SiteSummary:
    """The parts of site_info worth showing (never ``userprivateaccesskey``, a secret)."""

    sitename: str
    siteurl: str
    release: str
    version: str
    username: str
    fullname: str
    userid: int | None
    userissiteadmin: bool | None
    functions: int


@dataclass(frozen=True)
class SampleSummary:
    """What the samples were made with, and how many calls preflight made in all."""

    courseid: int | None
    course: str | None  # the course's shortname
    userid: int | None
    user: str | None  # the user's username
    calls: int
    calls_by_function: Mapping[str, int]


@dataclass
class PreflightResult:
    site: SiteSummary
    statuses: list[FunctionStatus] = field(default_factory=list)
    sample: SampleSummary | None = None  # None: only the function list was checked

    @property
    def missing(self) -> list[FunctionStatus]:
        """Every asset that cannot run (whatever the reason)."""
        return [s for s in self.statuses if not s.available]

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses if s.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "site": asdict(self.site),
            "sampled": self.sample is not None,
            "sample": None if self.sample is None else {
                **asdict(self.sample), "calls_by_function": dict(self.sample.calls_by_function)},
            "assets": [s.as_dict() for s in self.statuses],
            "available": len(self.statuses) - len(self.missing),
            **{status: self.count(status) for status in (MISSING, REFUSED, BLOCKED, FAILED, UNCHECKED)},
        }


def summarise_site(site_info: Mapping[str, Any]) -> SiteSummary:
    return SiteSummary(
        sitename=str(site_info.get("sitename", "")),
        siteurl=str(site_info.get("siteurl", "")),
        release=str(site_info.get("release", "")),
        version=str(site_info.get("version", "")),
        username=str(site_info.get("username", "")),
        fullname=str(site_info.get("fullname", "")),
        userid=site_info.get("userid"),
        userissiteadmin=site_info.get("userissiteadmin"),
        functions=len(site_info.get("functions") or []),
    )


def _features(site_info: Mapping[str, Any]) -> dict[str, Any]:
    return {f.get("name"): f.get("value") for f in site_info.get("advancedfeatures") or [] if isinstance(f, Mapping)}


def _service_fix(function: str) -> str:
    return f"add {function} to the external service ({SERVICE_FUNCTIONS_PATH})"


def check_function(function: str, site_info: Mapping[str, Any]) -> tuple[bool, str | None, tuple[str, ...]]:
    """(available, fix, caveats) of one function on the site ``site_info`` describes."""
    listed = {f.get("name") for f in site_info.get("functions") or [] if isinstance(f, Mapping)}
    need = REQUIREMENTS.get(function)
    version = site_version(site_info)
    if (need and need.min_version and version is not None and version < parse_version(need.min_version)
            and function not in listed):
        fix = (
            f"{function} exists only from Moodle {need.min_release} (version {need.min_version}); "
            f"this site runs {site_info.get('release', '?')} (version {site_info.get('version', '?')})"
        )
        if need.instead:
            fix += f": use {need.instead} on this site"
        return False, fix, ()
    if function not in listed:
        return False, _service_fix(function), ()
    caveats: list[str] = []
    if need and need.feature:
        value = _features(site_info).get(need.feature)
        if value is None:
            caveats.append(f"needs '{need.feature_label}' on ({need.setting_path}); the site does not say whether it is")
        elif not int(value):
            caveats.append(
                f"'{need.feature_label}' is off on this site, so this asset loads no rows: "
                f"switch it on in {need.setting_path}"
            )
    return True, None, tuple(caveats)


def check_functions(site_info: Mapping[str, Any], specs: Sequence[EndpointSpec]) -> list[FunctionStatus]:
    """Per asset: is its function callable with this token on this site, and what to fix if not.

    An asset with alternatives is checked with the function a materialisation would choose
    (mod_quiz_get_user_quiz_attempts on Moodle 5.0+). An asset exploded from another
    asset's table makes no call and needs nothing from the service.
    """
    out = []
    for spec in specs:
        if spec.explode:
            derived = f"{spec.explode.asset}.{spec.explode.column}"
            out.append(FunctionStatus(spec.name, "", spec.source, True, derived_from=derived))
            continue
        try:
            function = choose_function(spec, site_info)
        except EndpointFailure:
            function = spec.function  # neither it nor an alternative is offered: report it
        available, fix, caveats = check_function(function, site_info)
        out.append(FunctionStatus(spec.name, function, spec.source, available, fix, caveats,
                                  status=OK if available else MISSING))
    return out


# ------------------------------------------------------------------ samples


def data_upstream(spec: EndpointSpec) -> tuple[str, ...]:
    """The assets whose rows this one's calls are made from (lookups, an explode's parent)."""
    names = [ref.asset for ref in lookup_refs(spec.params) if ref.asset != "lookup"]
    if spec.lookup:
        names.extend(spec.lookup.deps)
    if spec.explode:
        names.append(spec.explode.asset)
    return tuple(dict.fromkeys(names))


def pick_user(records: Sequence[Mapping[str, Any]], me: Any) -> dict | None:
    """A user to sample per-user functions with: a student, never the token's own user (a
    function asked about its caller checks nothing) nor the guest."""
    others = [dict(r) for r in records if isinstance(r, Mapping) and r.get("id") not in (None, me)
              and r.get("username") != "guest"]
    students = [r for r in others if any(isinstance(role, Mapping) and role.get("shortname") == "student"
                                         for role in r.get("roles") or [])]
    return (students or others or [None])[0]


def _cell(value: Any, column_type: str | None) -> Any:
    """A value as its column takes it: nested values as JSON text, widened scalars as text."""
    if value is None:
        return None
    if column_type == JSON:
        return json.dumps(value)
    if column_type == VARCHAR and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)
    return value


class SampleTables:
    """The sampled rows as tables ``moodle.<asset>`` of an in-memory DuckDB, so the lookups of
    later samples are read with the runner's own lookup SQL (:func:`lookup_sql`), as a harvest
    reads them from the warehouse. Scalars become typed columns and nested values JSON, as in
    the warehouse; declared column types are kept for tables that stay empty."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}
        self._con = duckdb.connect(":memory:")
        self._con.execute("CREATE SCHEMA moodle")

    def close(self) -> None:
        self._con.close()

    def get(self, asset: str) -> list[dict]:
        return self.rows.get(asset) or []

    def put(self, asset: str, records: list[dict], declared: Mapping[str, str] | None = None) -> None:
        self.rows[asset] = records
        types: dict[str, str | None] = {k: str(v).upper() for k, v in (declared or {}).items()}
        for record in records:
            for key, value in record.items():
                types[key] = widen(types.get(key), type_of(value))
        table = f"moodle.{quote(asset)}"
        self._con.execute(f"DROP TABLE IF EXISTS {table}")
        if not types:
            return
        names = list(types)
        self._con.execute(f"CREATE TABLE {table} (" + ", ".join(f"{quote(n)} {types[n] or VARCHAR}" for n in names) + ")")
        if records:
            self._con.executemany(
                f"INSERT INTO {table} VALUES ({', '.join('?' for _ in names)})",
                [[_cell(r.get(n), types[n]) for n in names] for r in records],
            )

    def first_row(self, query: LookupQuery) -> list[dict]:
        """The first lookup row of ``query`` (none when a table it reads has no rows or columns)."""
        sql, params = lookup_sql(query, 1)
        try:
            cursor = self._con.execute(sql, params)
            found = [d[0] for d in cursor.description]
            return [dict(zip(found, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error:
            return []


@dataclass
class _Answer:
    records: list[dict] = field(default_factory=list)
    document: Any = None
    error: Exception | None = None
    timed_out: bool = False


class _Sampler:
    """One sample call per asset, in dependency order, a bounded number at once."""

    def __init__(self, client: MoodleClient, site_info: Mapping[str, Any], specs: Sequence[EndpointSpec],
                 statuses: Sequence[FunctionStatus], timeout: float, concurrency: int) -> None:
        self.client = client
        self.site_info = site_info
        self.specs = {s.name: s for s in specs}
        self.checked = {s.asset: s for s in statuses}
        self.timeout = timeout
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.me = site_info.get("userid")
        self.tables = SampleTables()
        self.results: dict[str, FunctionStatus] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.course: dict | None = None
        self.user: dict | None = None

    # -------------------------------------------------------------- driving

    async def run(self) -> list[FunctionStatus]:
        try:
            await self._discover()
            names = list(self.specs)
            await asyncio.gather(*(self._get(name) for name in names))
        finally:
            self.tables.close()
        self._settle()
        return [self.results[name] for name in names]

    def _get(self, name: str) -> asyncio.Future:
        if name in self.results:
            done: asyncio.Future = asyncio.get_running_loop().create_future()
            done.set_result(self.results[name])
            return done
        if name not in self.tasks:
            self.tasks[name] = asyncio.ensure_future(self._run(name))
        return self.tasks[name]

    async def _run(self, name: str) -> FunctionStatus:
        spec, checked = self.specs[name], self.checked[name]
        upstream = [u for u in data_upstream(spec) if u in self.specs]
        for parent in upstream:
            await self._get(parent)
        if spec.explode:
            result = self._follow(checked, self.results.get(spec.explode.asset))
        elif not checked.available:
            result = checked
        elif checked.function == SITE_INFO and not spec.params:
            result = checked  # answered already: the credential check
        else:
            result = await self._sample(spec, checked)
        self.results[name] = result
        return result

    def _settle(self) -> None:
        """An asset that can run but whose ids come from one that cannot is blocked by it
        (enrolled_users, sampled first to find the sample student, learns about courses here)."""
        changed = True
        while changed:
            changed = False
            for name, result in list(self.results.items()):
                spec = self.specs[name]
                if spec.explode:
                    settled = self._follow(self.checked[name], self.results.get(spec.explode.asset))
                elif result.status == OK:
                    bad = [u for u in data_upstream(spec) if u in self.results and self.results[u].status != OK]
                    settled = self._blocked(result, bad[0]) if bad else result
                else:
                    settled = result
                if settled != result:
                    self.results[name] = settled
                    changed = True

    # -------------------------------------------------------------- the sample course and user

    async def _discover(self) -> None:
        """A course (from course_index's first page) and a student of it (from enrolled_users)."""
        candidates: list[dict] = []
        index = self.specs.get(COURSE_INDEX)
        if index is not None and self.checked[COURSE_INDEX].available:
            answer = await self._call(index, self.checked[COURSE_INDEX], None)
            result = await self._classify(index, self.checked[COURSE_INDEX], answer, None)
            self.results[COURSE_INDEX] = result
            if result.status == OK:
                candidates = [r for r in answer.records if r.get("id") is not None]
        enrolled = self.specs.get(ENROLLED_USERS)
        if enrolled is not None and self.checked[ENROLLED_USERS].available and candidates:
            queries = lookup_queries(resolve(enrolled, function=self.checked[ENROLLED_USERS].function))
            column = queries[0].columns[0] if queries and len(queries[0].columns) == 1 else None
            results: list[FunctionStatus] = []
            for course in candidates[:COURSE_TRIES] if column else []:
                used = {f"{queries[0].asset}.{column}": course["id"]}
                answer = await self._call(enrolled, self.checked[ENROLLED_USERS], [{column: course["id"]}])
                results.append(await self._classify(enrolled, self.checked[ENROLLED_USERS], answer, used))
                # Nobody enrolled, or refused for this course only (a hidden course, a local
                # override): the next course tells whether it is the course or the role.
                user = pick_user(answer.records, self.me) if results[-1].status == OK else None
                if user is not None:
                    self.course, self.user = course, user
                    break
            if results:
                answered = [r for r in results if r.status == OK]
                self.results[ENROLLED_USERS] = answered[-1] if answered else results[0]
        if self.course is None and candidates:
            self.course = candidates[0]
        if index is not None:
            self.tables.put(COURSE_INDEX, [self.course] if self.course else [], index.columns)
        if enrolled is not None:
            self.tables.put(ENROLLED_USERS, [self.user] if self.user else [], enrolled.columns)

    def _id(self, which: str) -> Any:
        record = self.course if which == "course" else self.user
        return record.get("id") if record else None

    def _known_row(self, query: LookupQuery) -> dict | None:
        """Lookup values known without the upstream rows: the sample course and user."""
        row = {}
        for column in query.columns:
            if column == "courseid" or (column == "id" and query.asset in COURSE_ASSETS):
                value = self._id("course")
            elif column == "userid" or (column == "id" and query.asset in USER_ASSETS):
                value = self._id("user")
            else:
                return None
            if value is None:
                return None
            row[column] = value
        return row

    def _narrowing(self, spec: EndpointSpec) -> dict[str, Any] | None:
        wanted = NARROWING.get(spec.name)
        if not wanted or not spec.source.startswith("templates/"):
            return None
        config = {}
        for name, value in wanted.items():
            setting = spec.settings.get(name)
            if setting is None:
                return None
            if value in ("{course}", "{user}"):
                known = self._id(value[1:-1])
                if known is None:
                    return None
                value = str(known)
            elif setting.choices is not None and value not in setting.choices:
                return None
            config[name] = value
        return config

    # -------------------------------------------------------------- one sample

    async def _sample(self, spec: EndpointSpec, checked: FunctionStatus) -> FunctionStatus:
        try:
            resolved = resolve(spec, self._narrowing(spec), function=checked.function)
        except SettingsError as exc:
            return replace(checked, available=False, status=FAILED, fix=str(exc))
        queries = lookup_queries(resolved)
        rows, used, blocked_by = None, None, None
        if queries:
            query = queries[0]
            sources = [query.asset] if query.sql is None else list(spec.lookup.deps if spec.lookup else ())
            sources = [s for s in sources if s in self.specs]
            bad = [s for s in sources if self.results[s].status != OK]
            if not bad:
                # Nothing in the sample course (no competencies there): the sample course and
                # user still show whether Moodle lets the token ask.
                rows = self.tables.first_row(query) or [
                    known for known in [self._known_row(query)] if known is not None]
                if not rows:
                    return replace(
                        checked, available=False, status=UNCHECKED,
                        fix=f"{' and '.join(sources)} had no "
                        f"{', '.join(f'{query.asset}.{c}' for c in query.columns)} in the sample"
                        + (f" (course {self._id('course')})" if self.course else ""),
                    )
            else:
                blocked_by = bad[0]
                known = self._known_row(query)
                if known is None:
                    return self._blocked(checked, blocked_by)
                rows = [known]
            used = {f"{query.asset}.{c}": rows[0][c] for c in query.columns}
        answer = await self._call(spec, checked, rows)
        result = await self._classify(spec, checked, answer, used)
        if answer.error is None and not answer.timed_out:
            self.tables.put(spec.name, self._table(spec.name, answer.records), spec.columns)
        if blocked_by and result.status == OK:
            result = self._blocked(result, blocked_by)
        return result

    def _table(self, name: str, records: list[dict]) -> list[dict]:
        """The rows later lookups read: for users, the one sample user."""
        if name in USER_ASSETS and name != "users_by_field":
            user = self.user if self.user is not None else pick_user(records, self.me)
            if self.user is None:
                self.user = user
            return [r for r in records if user and r.get("id") == user.get("id")][:1] or ([user] if user else [])
        return records

    async def _call(self, spec: EndpointSpec, checked: FunctionStatus, rows: list[dict] | None) -> _Answer:
        try:
            resolved = resolve(spec, self._narrowing(spec), function=checked.function)
            now = datetime.now(UTC)
            window = (now - timedelta(days=1), now) if spec.partition else None
            call = next(iter(plan_calls(resolved, rows, now, window=window)), None)
        except ValueError as exc:  # a macro that cannot be resolved, a bad setting
            return _Answer(error=exc)
        if call is None:
            return _Answer(error=ValueError("no call planned: no lookup values"))
        async with self.slots:
            try:
                document, _ = await asyncio.wait_for(first_page(self.client, resolved, call), self.timeout)
            except TimeoutError:
                return _Answer(timed_out=True)
            except MoodleError as exc:
                return _Answer(error=exc)
        try:
            records = extract_records(document, spec.data_path, spec.parent_fields, spec.scalar_column)
        except Exception as exc:  # noqa: BLE001 - an answer the spec cannot read is this asset's finding
            return _Answer(document=document, error=ValueError(f"the answer could not be read: {exc}"))
        context = dict(call.context)
        records = [{**{k: v for k, v in context.items() if k not in r}, **r} for r in records]
        return _Answer(records, document)

    async def _classify(self, spec: EndpointSpec, checked: FunctionStatus, answer: _Answer,
                        used: Mapping[str, Any] | None) -> FunctionStatus:
        base = replace(checked, sampled_with=used)
        function = checked.function
        if answer.timed_out:
            return replace(base, available=False, status=UNCHECKED,
                           fix=f"no answer within {self.timeout:g} s; try: moodle-assets test {spec.name}")
        error = answer.error
        if isinstance(error, FunctionNotInServiceError):
            return replace(base, available=False, status=MISSING, fix=_service_fix(function))
        if isinstance(error, MoodleAPIError):
            code = error.errorcode
            said = f"{error.moodle_message} [{code or error.exception or 'error'}]"
            if code in spec.fail_on:
                return replace(base, available=False, status=FAILED, moodle_said=said, fix=spec.fail_on[code])
            refusal = refusal_of(function, code, error.exception, error.moodle_message, error.debuginfo)
            if refusal is not None and code == "cannotviewreport" and await self._completion_off():
                # Completion tracking is off: there is nothing to report, it is not a refusal.
                return replace(base, caveats=base.caveats + (
                    f"the sample course has completion tracking off, so Moodle said: {said}",))
            if refusal is not None:
                return self._refused(base, refusal, said)
            if code in spec.empty_on:
                return base
            return replace(base, available=False, status=FAILED, moodle_said=said,
                           fix=f"the sample call failed; see it with: moodle-assets test {spec.name}")
        if isinstance(error, MoodleError):  # the site did not answer usably (transport, HTTP)
            message = " ".join(str(error).split())
            return replace(base, available=False, status=UNCHECKED, fix=f"the sample call did not complete: {message}")
        if error is not None:  # the call could not be planned (a macro, a setting)
            return replace(base, available=False, status=FAILED, fix=" ".join(str(error).split()))
        soft = self._warned_refusal(function, answer)
        if soft is not None:
            refusal, said = soft
            return self._refused(base, refusal, said)
        return base

    def _refused(self, base: FunctionStatus, refusal: Refusal, said: str) -> FunctionStatus:
        return replace(base, available=False, status=REFUSED, capability=refusal.capability,
                       capability_name=refusal.name, moodle_said=said, also=refusal.also, fix=grant_fix(refusal))

    def _warned_refusal(self, function: str, answer: _Answer) -> tuple[Refusal, str] | None:
        """An empty answer whose warnings say the token may not read the data (no exception)."""
        if answer.records or not isinstance(answer.document, Mapping):
            return None
        for warning in answer.document.get("warnings") or []:
            if not isinstance(warning, Mapping):
                continue
            message, code = str(warning.get("message", "")), str(warning.get("warningcode", ""))
            if (function, code) in WARNING_CAPABILITIES or _ACCESS_WARNING.search(message):
                capability = WARNING_CAPABILITIES.get((function, code))
                name = CAPABILITY_NAMES.get(capability) if capability else None
                checked = FUNCTION_CAPABILITIES.get(function, ())
                also = tuple(checked[checked.index(capability) + 1:]) if capability in checked else ()
                return Refusal(capability, name, also), f"warning {code}: {message}"
        return None

    async def _completion_off(self) -> bool:
        """Completion tracking is off on the site or in the sample course (cannotviewreport then
        means there is nothing to report)."""
        feature = _features(self.site_info).get("enablecompletion")
        if feature is not None and not int(feature):
            return True
        if "courses" in self.specs:
            await self._get("courses")
        course_id = self._id("course")
        for name in ("courses", COURSE_INDEX):
            for record in self.tables.get(name):
                if record.get("id") == course_id and "enablecompletion" in record:
                    return not record["enablecompletion"]
        return False

    def _blocked(self, status: FunctionStatus, parent: str) -> FunctionStatus:
        """Its ids come from ``parent``, which cannot run: what unblocks the parent unblocks it."""
        upstream = self.results[parent]
        return replace(status, available=False, status=BLOCKED, blocked_by=parent,
                       capability=upstream.capability, capability_name=upstream.capability_name,
                       also=upstream.also, fix=f"its ids come from {parent}, which cannot run: {upstream.fix}")

    def _follow(self, checked: FunctionStatus, parent: FunctionStatus | None) -> FunctionStatus:
        """An exploded asset makes no call: it can run when its parent can, and what unblocks
        the parent (the capability to grant) unblocks it."""
        if parent is None or parent.status == OK:
            return checked
        return replace(checked, available=False, status=BLOCKED, blocked_by=parent.asset,
                       capability=parent.capability, capability_name=parent.capability_name,
                       also=parent.also, fix=f"its rows come from {parent.asset}, which cannot run: {parent.fix}")


async def preflight(
    client: MoodleClient,
    specs: Sequence[EndpointSpec],
    *,
    sample: bool = True,
    timeout: float = SAMPLE_TIMEOUT,
    concurrency: int = SAMPLE_CONCURRENCY,
) -> PreflightResult:
    """Call site_info, check every spec against it, then (``sample``) call each asset's
    function once to see whether the token's role may read what the asset needs.

    Raises the client's typed errors when the credential or the URL does not work
    (InvalidTokenError, NotMoodleResponseError, MoodleUnavailableError): their messages
    say what to fix.
    """
    calls: Counter[str] = Counter()
    previous = client.on_request

    def count(function: str, fields: list[tuple[str, str]]) -> None:
        calls[function] += 1
        if previous is not None:
            previous(function, fields)

    client.on_request = count
    try:
        site_info = await client.call(SITE_INFO)
        statuses = check_functions(site_info, specs)
        if not sample:
            return PreflightResult(summarise_site(site_info), statuses)
        sampler = _Sampler(client, site_info, specs, statuses, timeout, concurrency)
        statuses = await sampler.run()
    finally:
        client.on_request = previous
    course, user = sampler.course or {}, sampler.user or {}
    summary = SampleSummary(
        courseid=course.get("id"), course=course.get("shortname"), userid=user.get("id"), user=user.get("username"),
        calls=sum(calls.values()), calls_by_function=dict(sorted(calls.items())),
    )
    return PreflightResult(summarise_site(site_info), statuses, summary)


# ------------------------------------------------------------------ rendering

_MARKS = {OK: "✓", UNCHECKED: "?"}
_LABELS = {REFUSED: "refused", BLOCKED: "cannot run", FAILED: "failed", UNCHECKED: "not checked"}


def asset_lines(s: FunctionStatus, width: int) -> list[str]:
    """One asset: a mark, its name, its function and what to do; Moodle's words below."""
    what = s.function or f"(no Moodle call: rows from {s.derived_from})"
    line = f"  {_MARKS.get(s.status, '✗')} {s.asset.ljust(width)}  {what}"
    if s.status == MISSING:
        line += f": {s.fix}"
    elif s.status in _LABELS:
        line += f": {_LABELS[s.status]}: {s.fix}"
    out = [line]
    if s.moodle_said and s.status != OK:
        out.append(f"      Moodle said: {s.moodle_said}")
    out += [f"      ! {c}" for c in s.caveats]
    return out


def preflight_text(result: PreflightResult) -> str:
    site = result.site
    out = [
        f"Site: {site.sitename} ({site.siteurl})",
        f"Moodle: {site.release}, version {site.version}",
        f"Token user: {site.username} ({site.fullname}, id {site.userid}"
        + (", site administrator)" if site.userissiteadmin else ")"),
        f"External service: {site.functions} functions",
    ]
    sample = result.sample
    if sample is not None:
        course = f"course {sample.courseid} ({sample.course})" if sample.courseid is not None else "no course"
        user = f"user {sample.userid} ({sample.user})" if sample.userid is not None else "no user"
        out.append(f"Samples: each asset's function called once with {course} and {user}; "
                   f"{sample.calls} calls in all")
    out += ["", "Assets:"]
    width = max([len(s.asset) for s in result.statuses] + [0])
    for s in result.statuses:
        out += asset_lines(s, width)
    out.append("")
    out.append(summary_line(result))
    return "\n".join(out)


_SUMMARY = (
    (MISSING, "needs its function added", "need their function added", " to the token's external service"),
    (REFUSED, "is refused: grant the capability", "are refused: grant the capabilities", " named above"),
    (BLOCKED, "waits on", "wait on", " an asset that cannot run"),
    (FAILED, "failed", "failed", ""),
    (UNCHECKED, "could not be checked", "could not be checked", ""),
)


def summary_line(result: PreflightResult) -> str:
    """One sentence: never "all can run" unless every asset's sample said so."""
    total = len(result.statuses)
    if result.sample is None:
        missing = result.count(MISSING)
        head = (f"All {total} assets' functions are in the token's service" if not missing else
                f"{total - missing} of {total} assets' functions are in the token's service; {missing} "
                f"{'needs its' if missing == 1 else 'need their'} function added to it")
        return f"The token works. {head}. Permissions were not sampled (--functions-only)."
    ok = result.count(OK)
    if ok == total:
        return f"The token works. All {total} assets can run."
    parts = []
    for status, one, many, rest in _SUMMARY:
        n = result.count(status)
        if n:
            parts.append(f"{n} {one if n == 1 else many}{rest}")
    return f"The token works. {ok} of {total} assets can run; " + "; ".join(parts) + "."


def preflight_json(result: PreflightResult) -> str:
    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str)
