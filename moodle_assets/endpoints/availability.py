"""Which endpoints a token can run, from site info's function list.

``core_webservice_get_site_info`` lists every function the token's external service
offers. Comparing it with the functions the endpoints call tells a user, before anything
fails, which endpoints cannot run and which function to add to the service.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle.versions import site_version

SITE_INFO_FUNCTION = "core_webservice_get_site_info"


def offered_functions(site_info: Mapping[str, Any]) -> set[str]:
    """The names in site info's ``functions`` (an answer, or a stored row whose list is JSON text)."""
    functions = site_info.get("functions") or []
    if isinstance(functions, str):
        functions = json.loads(functions)
    return {f.get("name") for f in functions if isinstance(f, Mapping)}


def unavailable(specs: Iterable[EndpointSpec], site_info: Mapping[str, Any]) -> dict[str, str]:
    """Endpoint name -> the function to add to the service, for every endpoint that cannot run.

    An endpoint runs if its function, or one of its alternatives the site is new enough for
    (as ``runner.choose_function`` picks them), is offered; an exploded endpoint runs if the
    one it explodes does.
    """
    offered = offered_functions(site_info)
    version = site_version(site_info)
    by_name = {s.name: s for s in specs}

    def blocker(spec: EndpointSpec) -> str | None:
        if spec.explode:
            parent = by_name.get(spec.explode.asset)
            return blocker(parent) if parent else None
        if spec.function in offered or any(
            a.function in offered and (version is None or version >= a.min_version) for a in spec.alternatives
        ):
            return None
        return spec.function

    return {name: fn for name, spec in by_name.items() if (fn := blocker(spec))}
