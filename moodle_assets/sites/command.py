"""The ``sites`` command: ``sites list`` and ``sites check``.

``list`` shows what the sites file says (never a token: only which variable holds it and
whether it is set). ``check`` runs the single-site preflight on every site at once and
prints each site's report and a summary line per site.

Exit codes: 0 every site can run; 1 a site could not be reached or refused its token;
2 the sites file or a site's configuration is wrong (an unset token variable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from moodle_assets.project import DEFAULT_SITES_FILE, SITES_FILE_ENV, SettingError
from moodle_assets.tools.commands import EXIT_USAGE, add_preflight_options, preflight_specs, run_command

from .check import check_sites, exit_code
from .config import Sites, SitesError, load_sites
from .demo import add_sites_flags
from .render import reports_json, reports_text, sites_json, sites_text


def _load(command: str) -> Sites | int:
    """The sites, or the exit code after printing what is wrong with the file."""
    try:
        return load_sites()
    except SitesError as exc:
        print(f"moodle-assets {command}: {exc}", file=sys.stderr)
    except SettingError as exc:
        print(f"moodle-assets {command}: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"moodle-assets {command}: cannot read the sites file: {exc}", file=sys.stderr)
    return EXIT_USAGE


def run_list(args: argparse.Namespace) -> int:
    sites = _load("sites list")
    if isinstance(sites, int):
        return sites
    print(sites_json(sites) if args.json else sites_text(sites))
    return 0


def run_check(args: argparse.Namespace) -> int:
    def work() -> int:
        sites = _load("sites check")
        if isinstance(sites, int):
            return sites
        specs = preflight_specs("sites check")
        sample = not args.functions_only
        reports = asyncio.run(check_sites(sites.sites, specs, sample=sample))
        print(reports_json(reports) if args.json else reports_text(reports))
        return exit_code(reports)

    return run_command("sites check", work)


def add_sites_parser(sub: argparse._SubParsersAction) -> None:
    """The ``sites`` command; also gives ``demo-server`` its ``--sites N`` flag when it exists."""
    if "demo-server" in sub.choices:
        add_sites_flags(sub.choices["demo-server"])
    p = sub.add_parser(
        "sites",
        help="List the Moodle sites of the sites file, or check every one of them.",
        description=f"The sites come from {DEFAULT_SITES_FILE} in the project folder (or ${SITES_FILE_ENV}); "
        "without one there is one site, 'default', from MOODLE_URL and MOODLE_TOKEN. Each site's token is "
        "read from the environment variable its token_env names. docs/sites.md describes the file.",
    )
    actions = p.add_subparsers(dest="sites_command", required=True)
    show = actions.add_parser(
        "list", help="Each site's URL, its token variable (set or not; never the token) and settings."
    )
    show.add_argument("--json", action="store_true", help="Print the sites as JSON.")
    show.set_defaults(func=run_list)
    check = actions.add_parser(
        "check",
        help="Run the preflight on every site at once: one report and one summary line per site.",
        description="The preflight of 'moodle-assets preflight' for every site, side by side, each with its own "
        "URL, token variable and max_concurrency. A site that is down or refuses its token is reported and "
        "does not stop the others; the exit code is not 0 when any site cannot run.",
    )
    add_preflight_options(check)
    check.set_defaults(func=run_check)


__all__ = ["add_sites_parser", "run_check", "run_list"]
