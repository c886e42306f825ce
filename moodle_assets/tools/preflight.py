"""Preflight a Moodle site: does the credential work, and which assets can this token run?

``core_webservice_get_site_info`` is the one call every token may make. It names the site,
its release and version, the token's user, the functions of the token's external service
and the site's advanced features. From that alone we can tell, per asset, whether its
function is callable, whether this Moodle version has it at all, and whether a feature it
needs (competencies, badges, completion) is switched off — before a harvest fails on it.

The checks are plain functions returning data, so a Dagster sensor or asset check can
reuse them; the CLI only renders the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from moodle_assets.endpoints.runner import EndpointFailure, choose_function
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import MoodleClient

SITE_INFO = "core_webservice_get_site_info"
SERVICE_FUNCTIONS_PATH = "Site administration > Server > Web services > External services > Functions"


@dataclass(frozen=True)
class Requirement:
    """What a function needs beyond being in the service: a Moodle version or a site feature."""

    min_version: int | None = None
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
        min_version=2025041400, min_release="5.0", instead="mod_quiz_get_user_attempts"
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


@dataclass(frozen=True)
class FunctionStatus:
    """One asset's function on this site: callable or not, and what to do about it."""

    asset: str
    function: str
    source: str
    available: bool
    fix: str | None = None  # why it cannot run and what to change
    caveats: tuple[str, ...] = ()  # it can run, but may load nothing
    derived_from: str | None = None  # "course_contents.modules": exploded, no Moodle call


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


@dataclass
class PreflightResult:
    site: SiteSummary
    statuses: list[FunctionStatus] = field(default_factory=list)

    @property
    def missing(self) -> list[FunctionStatus]:
        return [s for s in self.statuses if not s.available]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "site": asdict(self.site),
            "assets": [{**asdict(s), "caveats": list(s.caveats)} for s in self.statuses],
            "available": len(self.statuses) - len(self.missing),
            "missing": len(self.missing),
        }


def version_number(version: Any) -> int | None:
    """``"2024100700"`` or ``"2024100700.01"`` -> 2024100700."""
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None


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


def check_function(function: str, site_info: Mapping[str, Any]) -> tuple[bool, str | None, tuple[str, ...]]:
    """(available, fix, caveats) of one function on the site ``site_info`` describes."""
    listed = {f.get("name") for f in site_info.get("functions") or [] if isinstance(f, Mapping)}
    need = REQUIREMENTS.get(function)
    version = version_number(site_info.get("version"))
    if need and need.min_version and version is not None and version < need.min_version and function not in listed:
        fix = (
            f"{function} exists only from Moodle {need.min_release} (version {need.min_version}); "
            f"this site runs {site_info.get('release', '?')} (version {site_info.get('version', '?')})"
        )
        if need.instead:
            fix += f": use {need.instead} on this site"
        return False, fix, ()
    if function not in listed:
        return False, f"add {function} to the external service ({SERVICE_FUNCTIONS_PATH})", ()
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
        out.append(FunctionStatus(spec.name, function, spec.source, available, fix, caveats))
    return out


async def preflight(client: MoodleClient, specs: Sequence[EndpointSpec]) -> PreflightResult:
    """Call site_info once and check every spec against it.

    Raises the client's typed errors when the credential or the URL does not work
    (InvalidTokenError, NotMoodleResponseError, MoodleUnavailableError): their messages
    say what to fix.
    """
    site_info = await client.call(SITE_INFO)
    return PreflightResult(summarise_site(site_info), check_functions(site_info, specs))
