"""Preflight every configured site side by side, each on its own terms.

Each site gets its own client: its own URL, the token from its own environment variable
(a token is only ever sent to its own site), its own ``max_concurrency``. The sites run
concurrently in one event loop, so a slow or unreachable site costs its own time limit,
not the sum of everyone's. A site that cannot run — down, not Moodle, a refused or unset
token — is that site's verdict; the others are still checked and reported.

The preflight itself is the single-site one (:func:`moodle_assets.tools.preflight.preflight`);
this module only chooses each site's settings and collects the verdicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import ClientSettings, MoodleClient, MoodleError
from moodle_assets.tools.commands import CLI_RETRIES, CLI_TIMEOUT, EXIT_MOODLE, EXIT_USAGE
from moodle_assets.tools.preflight import SAMPLE_CONCURRENCY, PreflightResult, preflight

from .config import TOKEN_ENV, URL_ENV, token_of
from .model import Site

EXIT_OK = 0


@dataclass(frozen=True)
class SiteReport:
    """One site's verdict: a preflight result, or why the site cannot run (never its token)."""

    site: Site
    result: PreflightResult | None = None
    error: str | None = None
    exit_code: int = EXIT_OK

    @property
    def can_run(self) -> bool:
        return self.result is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site.name,
            "url": self.site.url,
            "token_env": self.site.token_env,
            "can_run": self.can_run,
            "error": self.error,
            "preflight": self.result.as_dict() if self.result is not None else None,
        }


def concurrency_of(site: Site) -> int:
    """Calls in flight to this site: its own setting, else the single-site preflight's."""
    return site.max_concurrency or SAMPLE_CONCURRENCY


def settings_for(site: Site, environ: Mapping[str, str] | None = None) -> ClientSettings:
    """The site's client settings, its token read from its own variable. Raises ValueError
    with a message naming the variable (never its value) when something is missing."""
    if not site.url:
        raise ValueError(f"{URL_ENV} is not set: export {URL_ENV}=https://your.moodle (the site root)")
    token = token_of(site, environ)
    try:
        return ClientSettings(
            url=site.url,
            token=token,
            timeout=CLI_TIMEOUT,
            max_retries=CLI_RETRIES,
            max_concurrency=concurrency_of(site),
        )
    except ValueError as exc:  # only the implicit site's URL is unchecked (the file's are validated)
        raise ValueError(f"{URL_ENV}: {exc}") from None


async def check_site(site: Site, specs: Sequence[EndpointSpec], *, sample: bool = True) -> SiteReport:
    """Preflight one site; every failure becomes this site's report, never an exception."""
    try:
        settings = settings_for(site)
    except ValueError as exc:
        return SiteReport(site, error=str(exc), exit_code=EXIT_USAGE)
    try:
        async with MoodleClient(settings) as client:
            result = await preflight(
                client, specs, sample=sample, timeout=CLI_TIMEOUT, concurrency=concurrency_of(site)
            )
    except MoodleError as exc:
        return SiteReport(site, error=_in_site_terms(str(exc), site), exit_code=EXIT_MOODLE)
    except Exception as exc:  # one site's surprise must not hide the others' verdicts
        return SiteReport(site, error=f"{type(exc).__name__}: {exc}", exit_code=EXIT_MOODLE)
    return SiteReport(site, result=result)


def _in_site_terms(message: str, site: Site) -> str:
    """The client's messages name the single-site variable; this site's token is elsewhere."""
    return message if site.token_env == TOKEN_ENV else message.replace(TOKEN_ENV, site.token_env)


async def check_sites(sites: Sequence[Site], specs: Sequence[EndpointSpec], *, sample: bool = True) -> list[SiteReport]:
    """Every site at once; the reports in the order of the sites."""
    return list(await asyncio.gather(*(check_site(site, specs, sample=sample) for site in sites)))


def exit_code(reports: Sequence[SiteReport]) -> int:
    """0 when every site can run; else the worst: 2 a site's configuration (an unset token
    variable), 1 a site that could not be reached or refused the token."""
    return max((r.exit_code for r in reports), default=EXIT_OK)


__all__ = ["SiteReport", "check_site", "check_sites", "concurrency_of", "exit_code", "settings_for"]
