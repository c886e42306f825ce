"""The ``test`` and ``preflight`` subcommands: environment, errors and exit codes.

The site and token come from ``MOODLE_URL`` and ``MOODLE_TOKEN`` only, never from the
command line (where shell history and ``ps`` would keep the token). Every failure is one
line on stderr that says what to fix; the token is never printed, in text or JSON.

Exit codes: 0 done, 1 Moodle refused or could not be reached, 2 the command or the
configuration is wrong (missing variable, unknown endpoint, bad --param, invalid spec).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from moodle_assets.endpoints import SpecError, load_specs
from moodle_assets.endpoints.loader import USER_FILE_ENV, user_file_path
from moodle_assets.endpoints.runner import SettingsError
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import ClientSettings, MoodleClient, MoodleError
from moodle_assets.tools import render
from moodle_assets.tools.lookups import LookupUnavailable
from moodle_assets.tools.params import PARAM_HELP, ParamError, parse_lookups, parse_params
from moodle_assets.tools.preflight import SAMPLE_CONCURRENCY, preflight, preflight_json, preflight_text
from moodle_assets.tools.sample import SampleError, adhoc_spec, find_spec, take_sample, with_paths
from moodle_assets.warehouse import Warehouse

URL_ENV = "MOODLE_URL"
TOKEN_ENV = "MOODLE_TOKEN"
EXIT_MOODLE = 1
EXIT_USAGE = 2
# A person is waiting at the terminal: fail in seconds, not after a harvest's patience.
CLI_TIMEOUT = 30.0
CLI_RETRIES = 1
LOOKUP_LOCK_TIMEOUT = 5.0


class UsageError(Exception):
    """The command or its configuration is wrong; exit 2 with the message."""


def _fail(command: str, message: str) -> None:
    print(f"moodle-assets {command}: {' '.join(message.split())}", file=sys.stderr)


def client_settings() -> ClientSettings:
    """Site URL and token from the environment, with short timeouts for a person waiting."""
    url = os.environ.get(URL_ENV, "").strip()
    token = os.environ.get(TOKEN_ENV, "").strip()
    unset = [name for name, value in ((URL_ENV, url), (TOKEN_ENV, token)) if not value]
    if unset:
        raise UsageError(
            f"{' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set: export {URL_ENV}=https://your.moodle "
            f"(the site root) and {TOKEN_ENV}=<a web-service token> (Site administration > Server > "
            "Web services > Manage tokens)"
        )
    try:
        return ClientSettings(url=url, token=token, timeout=CLI_TIMEOUT, max_retries=CLI_RETRIES, max_concurrency=1)
    except ValueError as exc:
        raise UsageError(f"{URL_ENV}: {exc}") from None


def run_command(command: str, work: Callable[[], int]) -> int:
    """Run a command body, turning every known failure into one line and an exit code.

    The client's retry notices and httpx's request lines are silenced meanwhile: the one
    line on failure already says how many attempts were made, and a person reads stderr
    here, not a run log.
    """
    loggers = [logging.getLogger(name) for name in ("moodle_assets.moodle", "httpx")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        return work()
    except BrokenPipeError:  # `moodle-assets test ... | head`: the reader has seen enough
        sys.stdout = open(os.devnull, "w")
        return 0
    except UsageError as exc:
        _fail(command, str(exc))
        return EXIT_USAGE
    except SpecError as exc:
        print(f"moodle-assets {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SampleError, ParamError, SettingsError, LookupUnavailable) as exc:
        _fail(command, str(exc))
        return EXIT_USAGE
    except MoodleError as exc:
        _fail(command, str(exc))
        return EXIT_MOODLE
    except ValueError as exc:  # e.g. paging options given twice
        _fail(command, str(exc))
        return EXIT_USAGE
    finally:
        for log, level in zip(loggers, levels, strict=False):
            log.setLevel(level)


async def _with_client(settings: ClientSettings, job: Callable[[MoodleClient], Any]) -> Any:
    async with MoodleClient(settings) as client:
        return await job(client)


def run_test(args: argparse.Namespace) -> int:
    """``moodle-assets test``: one sample call of an endpoint or an ad-hoc function."""

    def work() -> int:
        if bool(args.endpoint) == bool(args.function):
            raise UsageError("give an ENDPOINT name or --function NAME (one of the two)")
        overrides = parse_params(args.param)
        lookups = parse_lookups(args.lookup)
        if args.function:
            spec = adhoc_spec(args.function, args.data_path, args.metadata_path)
        else:
            spec = with_paths(find_spec(load_specs(), args.endpoint), args.data_path, args.metadata_path)
        settings = client_settings()
        warehouse = Warehouse(lock_timeout=LOOKUP_LOCK_TIMEOUT)
        sample = asyncio.run(_with_client(settings, lambda c: take_sample(c, spec, overrides, lookups, warehouse)))
        print(render.sample_json(sample) if args.json else render.sample_text(sample))
        return 0

    return run_command("test", work)


def preflight_specs(command: str = "preflight") -> list[EndpointSpec]:
    """Built-ins and the user's endpoints; a broken user file is reported, not fatal here."""
    try:
        return load_specs()
    except SpecError as exc:
        _fail(
            command,
            f"{user_file_path()} is not used ({len(exc.problems)} problem(s); run "
            f"'moodle-assets test' or fix {USER_FILE_ENV}): {exc.problems[0]}",
        )
        return load_specs(include_user=False)


def run_preflight(args: argparse.Namespace) -> int:
    """``moodle-assets preflight``: check the credential, every asset's function and (unless
    ``--functions-only``) whether the token's role may read what each asset calls for."""

    def work() -> int:
        # A few sample calls at once, each bounded by the short CLI timeout.
        settings = replace(client_settings(), max_concurrency=SAMPLE_CONCURRENCY)
        specs = preflight_specs()
        sample = not getattr(args, "functions_only", False)
        result = asyncio.run(_with_client(settings, lambda c: preflight(c, specs, sample=sample, timeout=CLI_TIMEOUT)))
        print(preflight_json(result) if args.json else preflight_text(result))
        return 0

    return run_command("preflight", work)


def add_test_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test",
        help="Call one endpoint (first page, first lookup value) and show the request, records and data paths.",
        description="Fetch one sample of an endpoint, built-in or from your endpoints file "
        f"(${USER_FILE_ENV} or moodle_endpoints.yaml in the project folder), or of any function with --function. "
        "Nothing is written to DuckDB. Uses MOODLE_URL and MOODLE_TOKEN.",
    )
    p.add_argument("endpoint", nargs="?", help="Endpoint (asset) name, e.g. enrolled_users.")
    p.add_argument("--function", help="Call this web-service function without a spec.")
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help=f"Override a parameter: {PARAM_HELP}."
    )
    p.add_argument(
        "--lookup",
        action="append",
        default=[],
        metavar="ASSET.COLUMN=VALUE",
        help="Value for a lookup macro, e.g. courses.id=2 (repeat for arrays); else read from DuckDB.",
    )
    p.add_argument("--data-path", help="Try this JSONPath to the records instead of the spec's.")
    p.add_argument("--metadata-path", help="Try this JSONPath to the metadata (e.g. $.warnings).")
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(func=run_test)


def add_preflight_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preflight",
        help="Check MOODLE_URL and MOODLE_TOKEN, and which assets the token can run.",
        description="Call core_webservice_get_site_info and report the site, its version and the token's user; "
        "then call every asset's function once (one course and one student of the site, first page only, "
        "nothing written) and report per asset: can run, function missing from the token's external service, "
        "or refused by Moodle, with the capability to grant.",
    )
    add_preflight_options(p)
    p.set_defaults(func=run_preflight)


def add_preflight_options(p: argparse.ArgumentParser) -> None:
    """The options of a preflight, for one site or every site of the sites file."""
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.add_argument(
        "--functions-only",
        action="store_true",
        help="Only check each service's function list (one call per site); do not sample the assets' permissions.",
    )


__all__ = [
    "add_preflight_options",
    "add_preflight_parser",
    "add_test_parser",
    "preflight_specs",
    "run_command",
    "run_preflight",
    "run_test",
]
