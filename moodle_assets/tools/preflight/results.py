"""The result of a preflight, and what site info alone tells of every asset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from moodle_assets.endpoints.runner import EndpointFailure, choose_function
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle.versions import parse_version, site_version

from .knowledge import BLOCKED, FAILED, MISSING, OK, REFUSED, REQUIREMENTS, SERVICE_FUNCTIONS_PATH, UNCHECKED

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
            "sample": None
            if self.sample is None
            else {**asdict(self.sample), "calls_by_function": dict(self.sample.calls_by_function)},
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


def site_features(site_info: Mapping[str, Any]) -> dict[str, Any]:
    return {f.get("name"): f.get("value") for f in site_info.get("advancedfeatures") or [] if isinstance(f, Mapping)}


def service_fix(function: str) -> str:
    return f"add {function} to the external service ({SERVICE_FUNCTIONS_PATH})"


def check_function(function: str, site_info: Mapping[str, Any]) -> tuple[bool, str | None, tuple[str, ...]]:
    """(available, fix, caveats) of one function on the site ``site_info`` describes."""
    listed = {f.get("name") for f in site_info.get("functions") or [] if isinstance(f, Mapping)}
    need = REQUIREMENTS.get(function)
    version = site_version(site_info)
    if (
        need
        and need.min_version
        and version is not None
        and version < parse_version(need.min_version)
        and function not in listed
    ):
        fix = (
            f"{function} exists only from Moodle {need.min_release} (version {need.min_version}); "
            f"this site runs {site_info.get('release', '?')} (version {site_info.get('version', '?')})"
        )
        if need.instead:
            fix += f": use {need.instead} on this site"
        return False, fix, ()
    if function not in listed:
        return False, service_fix(function), ()
    caveats: list[str] = []
    if need and need.feature:
        value = site_features(site_info).get(need.feature)
        if value is None:
            caveats.append(
                f"needs '{need.feature_label}' on ({need.setting_path}); the site does not say whether it is"
            )
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
        out.append(
            FunctionStatus(
                spec.name, function, spec.source, available, fix, caveats, status=OK if available else MISSING
            )
        )
    return out


@dataclass
class Answer:
    """What one sample call brought back: its records and document, or its error, or nothing in time."""

    records: list[dict] = field(default_factory=list)
    document: Any = None
    error: Exception | None = None
    timed_out: bool = False
