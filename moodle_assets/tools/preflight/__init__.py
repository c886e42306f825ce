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

from collections import Counter
from collections.abc import Sequence

from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import MoodleClient

from .knowledge import SAMPLE_CONCURRENCY, SAMPLE_TIMEOUT, SITE_INFO, refusal_of
from .results import PreflightResult, SampleSummary, check_function, check_functions, summarise_site
from .sampling import Sampler
from .text import preflight_json, preflight_text

__all__ = [
    "SAMPLE_CONCURRENCY",
    "PreflightResult",
    "check_function",
    "check_functions",
    "preflight",
    "preflight_json",
    "preflight_text",
    "refusal_of",
]


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
        sampler = Sampler(client, site_info, specs, statuses, timeout, concurrency)
        statuses = await sampler.run()
    finally:
        client.on_request = previous
    course, user = sampler.course or {}, sampler.user or {}
    summary = SampleSummary(
        courseid=course.get("id"),
        course=course.get("shortname"),
        userid=user.get("id"),
        user=user.get("username"),
        calls=sum(calls.values()),
        calls_by_function=dict(sorted(calls.items())),
    )
    return PreflightResult(summarise_site(site_info), statuses, summary)
