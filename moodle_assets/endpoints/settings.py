"""A spec with run config applied (:class:`Resolved`), and the function a site is called with.

``resolve`` checks each setting against its type, minimum and choices and puts its value where
it goes (a param, the page size, the batch, a lookup filter); ``choose_function`` picks among a
spec's alternatives by site info's version and function list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moodle_assets.endpoints.availability import offered_functions
from moodle_assets.endpoints.lookups import FanOut
from moodle_assets.endpoints.spec import EndpointSpec, Paginate
from moodle_assets.moodle.versions import format_version, site_version


class EndpointFailure(RuntimeError):
    """An error code the spec declares fatal for the whole endpoint (``fail_on``)."""


class SettingsError(ValueError):
    """A run-config value the endpoint cannot use; says which setting and what is allowed."""


@dataclass(frozen=True)
class Resolved:
    """A spec with run config applied."""

    spec: EndpointSpec
    params: Mapping[str, Any]
    paginate: Paginate | None
    batch: int | None
    filters: Mapping[str, Any]  # "asset.column" -> value
    function: str = ""  # the function actually called (an alternative on a newer site)
    # The spec's lookups still in these params (a setting or --param may replace a macro's value).
    fan_out: FanOut | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not self.function:
            object.__setattr__(self, "function", self.spec.function)
        fan_out = self.spec.fan_out
        object.__setattr__(self, "fan_out", fan_out.within(self.params) if fan_out else None)


def choose_function(spec: EndpointSpec, site_info: Mapping[str, Any]) -> str:
    """The first alternative this site offers and is new enough for, else the spec's function.

    mod_quiz_get_user_quiz_attempts replaces mod_quiz_get_user_attempts from Moodle 5.0;
    site info's ``version`` and ``functions`` say which one this token can call. When the
    token can call none of them, the error names them all, with the versions they need.
    """
    offered = offered_functions(site_info)
    version = site_version(site_info)  # 2025041406.11: the decimal part counts; None: trust the list
    for alt in spec.alternatives:
        if alt.function in offered and (version is None or version >= alt.min_version):
            return alt.function
    if spec.alternatives and offered and spec.function not in offered:
        others = " nor ".join(f"{a.function} (version {format_version(a.min_version)}+)" for a in spec.alternatives)
        shown = format_version(version) if version is not None else "unknown"
        raise EndpointFailure(
            f"this token can call neither {spec.function} nor {others}; this site is version {shown}. "
            f"Add {spec.function} to the token's external service (Site administration > Server > "
            "Web services > External services > Functions)."
        )
    return spec.function


def _set_path(params: Any, dotted: str, value: Any) -> Any:
    """A copy of ``params`` with the value at a dotted path (``criteria.0.key``) replaced."""
    key, _, rest = dotted.partition(".")
    if isinstance(params, list):
        out_list = list(params)
        index = int(key)
        while len(out_list) <= index:
            out_list.append({})
        out_list[index] = _set_path(out_list[index], rest, value) if rest else value
        return out_list
    out = dict(params or {})
    out[key] = _set_path(out.get(key), rest, value) if rest else value
    return out


def coerce_setting(spec: EndpointSpec, name: str, value: Any) -> Any:
    """Check a run-config value against the setting's type, minimum and choices."""
    s = spec.settings[name]
    if s.choices is not None:
        if value not in s.choices:
            raise SettingsError(
                f"{spec.name}: setting '{name}' = {value!r} is not allowed; choose one of {', '.join(map(repr, s.choices))}"
            )
        return s.choices[value]
    if s.minimum is not None and value is not None and value < s.minimum:
        raise SettingsError(f"{spec.name}: setting '{name}' = {value!r} must be at least {s.minimum:g}")
    return value


def resolve(spec: EndpointSpec, config: Mapping[str, Any] | None = None, function: str = "") -> Resolved:
    """Apply run config (defaults where absent) to a spec's params, paging and lookups."""
    config = dict(config or {})
    unknown = set(config) - set(spec.settings)
    if unknown:
        raise SettingsError(
            f"{spec.name}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(spec.settings) or 'none'}"
        )
    params: dict = dict(spec.params)
    paginate, batch, filters = spec.paginate, spec.batch, {}
    for name, s in spec.settings.items():
        value = coerce_setting(spec, name, config.get(name, s.default))
        if s.filters:
            if value not in (None, 0, ""):
                filters[s.filters] = value
        elif s.sets == "paginate.page_size":
            paginate = paginate.model_copy(update={"page_size": int(value)})
        elif s.sets == "batch":
            batch = int(value)
        elif s.sets and s.sets.startswith("params."):
            if value is not None:
                params = _set_path(params, s.sets[len("params.") :], value)
    return Resolved(spec, params, paginate, batch, filters, function)
