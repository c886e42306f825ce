"""The sites and their check reports as the ``sites`` command prints them.

Only names of environment variables and whether they are set are ever shown; a token's
value (or any part of it) is never read here at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from moodle_assets.project import DEFAULT_SITES_FILE, SITES_FILE_ENV
from moodle_assets.tools.preflight import SAMPLE_CONCURRENCY, preflight_text
from moodle_assets.tools.preflight.text import summary_line

from .check import SiteReport
from .config import URL_ENV, Sites
from .model import Site


def _is_set(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def token_state(site: Site) -> str:
    """Where the site's token comes from and whether it is there: never the token."""
    if _is_set(site.token_env):
        return f"from ${site.token_env} (set)"
    return f"from ${site.token_env} (NOT SET: export {site.token_env}=<this site's token>)"


def site_dict(site: Site) -> dict:
    return {
        "name": site.name,
        "url": site.url,
        "token_env": site.token_env,
        "token_set": _is_set(site.token_env),
        "max_concurrency": site.max_concurrency,
        "calendar_start": site.calendar_start.isoformat() if site.calendar_start else None,
    }


def sites_text(sites: Sites) -> str:
    """``sites list``: where the sites come from, then each site's URL, token source and settings."""
    if sites.implicit:
        out = [
            f"No sites file ({DEFAULT_SITES_FILE} in the project folder, or ${SITES_FILE_ENV}): "
            f"one site, from {URL_ENV} and {sites.sites[0].token_env}."
        ]
    else:
        out = [f"Sites file: {sites.source} ({len(sites.sites)} site{'s' if len(sites.sites) != 1 else ''})"]
    for site in sites.sites:
        url = site.url or f"(not set: export {URL_ENV}=https://your.moodle)"
        out += [
            "",
            site.name,
            f"  url:             {url}",
            f"  token:           {token_state(site)}",
            "  max_concurrency: "
            + (str(site.max_concurrency) if site.max_concurrency else f"{SAMPLE_CONCURRENCY} (default)"),
            "  calendar_start:  "
            + (site.calendar_start.isoformat() if site.calendar_start else "(default: each endpoint's start)"),
        ]
    return "\n".join(out)


def sites_json(sites: Sites) -> str:
    doc = {"source": str(sites.source) if sites.source else None, "sites": [site_dict(s) for s in sites.sites]}
    return json.dumps(doc, indent=2, ensure_ascii=False)


def verdict(report: SiteReport) -> str:
    """One line: the preflight's own summary, or why the site cannot run."""
    if report.result is not None:
        return summary_line(report.result)
    return "CANNOT RUN: " + " ".join((report.error or "").split())


def reports_text(reports: Sequence[SiteReport]) -> str:
    """``sites check``: each site's full preflight report, then one summary line per site."""
    out: list[str] = []
    for report in reports:
        site = report.site
        out.append(f"=== site {site.name}: {site.url or '(no URL)'} ===")
        out.append(preflight_text(report.result) if report.result is not None else verdict(report))
        out.append("")
    width = max(len(r.site.name) for r in reports)
    out.append("Summary:")
    out += [f"  {r.site.name.ljust(width)}  {verdict(r)}" for r in reports]
    return "\n".join(out)


def reports_json(reports: Sequence[SiteReport]) -> str:
    return json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False, default=str)


__all__ = ["reports_json", "reports_text", "sites_json", "sites_text", "token_state", "verdict"]
