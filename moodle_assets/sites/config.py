"""Read the sites file, or make the one implicit site of a single-site setup.

With no sites file there is exactly one site, ``default``, from MOODLE_URL and MOODLE_TOKEN:
what every single-site user has today, unchanged. With a file (``moodle_sites.yaml`` in the
project folder, or ``$MOODLE_SITES_FILE``), every problem of every site is collected before
anything is raised, each naming the file, line, site and field, as the endpoint spec errors
do: one edit fixes them all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from moodle_assets.endpoints.problems import Says
from moodle_assets.endpoints.validation import MarkedLoader, line_of
from moodle_assets.project import sites_file

from .model import NAME_RE, SECRET_KEY_MESSAGE, SECRET_KEY_RE, Site

DEFAULT_SITE = "default"
URL_ENV = "MOODLE_URL"
TOKEN_ENV = "MOODLE_TOKEN"
_NEEDS = {
    "name": "a lower-case identifier such as north_campus",
    "url": "the site root such as https://moodle.example.edu",
    "token_env": "the name of the environment variable holding its token",
}


class _SitesLoader(MarkedLoader):
    """The endpoint files' line-keeping loader; a date that is no day (2025-13-01) stays
    text, so it is reported as the site's field, with every other problem, not as bad YAML."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_SitesLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_SitesLoader)  # noqa: S506 - a SafeLoader


class SitesError(ValueError):
    """One or more problems in the sites file; each line names file, site, field and line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid sites file:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Sites:
    """The configured sites, in file order, and where they were read from (None: no file)."""

    sites: tuple[Site, ...]
    source: Path | None

    @property
    def implicit(self) -> bool:
        """True for the single ``default`` site taken from MOODLE_URL / MOODLE_TOKEN."""
        return self.source is None


def implicit_site() -> Site:
    """The one site of a setup without a sites file. Not validated here: an unset or wrong
    MOODLE_URL is reported when the site is used, as the single-site commands always have."""
    return Site.model_construct(
        name=DEFAULT_SITE,
        url=os.environ.get(URL_ENV, "").strip(),
        token_env=TOKEN_ENV,
        max_concurrency=None,
        calendar_start=None,
    )


def token_of(site: Site, environ: Mapping[str, str] | None = None) -> str:
    """The site's token, from the variable the sites file names; ValueError naming the variable
    (never a value) when it is not set."""
    token = (os.environ if environ is None else environ).get(site.token_env, "").strip()
    if not token:
        raise ValueError(
            f"{site.token_env} is not set: export {site.token_env}=<this site's web-service token> "
            "(Site administration > Server > Web services > Manage tokens)"
        )
    return token


def load_sites(path: str | os.PathLike | None = None) -> Sites:
    """The sites of ``path``, else of the project's sites file, else the implicit ``default`` site.

    Raises :class:`SitesError` listing every problem, and ``SettingError`` when
    MOODLE_SITES_FILE names a file that is not there.
    """
    file = Path(path) if path is not None else sites_file()
    if file is None:
        return Sites((implicit_site(),), None)
    return Sites(tuple(parse_sites(file.read_text(encoding="utf-8"), str(file))), file)


def parse_sites(text: str, source: str) -> list[Site]:
    """Validate the YAML text of a sites file; raises :class:`SitesError` with every problem."""
    try:
        doc = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SitesError([f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if isinstance(doc, Mapping) and set(doc) == {"sites"}:
        doc = doc["sites"]
    if not isinstance(doc, list) or not doc:
        raise SitesError([f"{source}: expected a list of sites (or a mapping with a 'sites' list), at least one"])
    sites: list[Site] = []
    problems: list[str] = []
    first_line: dict[str, int | None] = {}
    for index, raw in enumerate(doc):
        site, errs = build_site(raw, source, index)
        problems.extend(errs)
        name = _name_of(raw)
        if name is None:
            continue
        line = line_of(raw, ("name",))
        if name in first_line:
            problems.append(
                _say(
                    source,
                    name,
                    index,
                    "name",
                    "duplicate name (also " + _line_text(first_line[name]) + "); site names must be unique",
                    line,
                )
            )
        else:
            first_line[name] = line
        if site is not None:
            sites.append(site)
    if problems:
        raise SitesError(problems)
    return sites


def build_site(raw: Any, source: str, index: int) -> tuple[Site | None, list[str]]:
    """One site from its YAML mapping: (site or None, every problem of it)."""
    if not isinstance(raw, Mapping):
        return None, [f"{source}: site #{index + 1} must be a mapping with at least name, url and token_env"]
    name = _name_of(raw)
    plain = {k: v for k, v in raw.items()}
    try:
        return Site.model_validate(plain), []
    except ValidationError as exc:
        found: dict[tuple[str, str], None] = {}
        for error in exc.errors(include_url=False):
            found.setdefault(_translate(error, plain, name), None)
        return None, [_say(source, name, index, field, message, line_of(raw, (field,))) for field, message in found]


def _name_of(raw: Any) -> str | None:
    """The site's name when it is a valid one (to name the site in every message)."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return name if isinstance(name, str) and NAME_RE.match(name) else None


def _translate(error: Mapping[str, Any], raw: Mapping[str, Any], name: str | None) -> tuple[str, str]:
    """(field, message) of one pydantic error, in the model's words; never echoing a secret."""
    field = str(error["loc"][0]) if error["loc"] else ""
    kind = error["type"]
    if kind == "extra_forbidden":
        if SECRET_KEY_RE.search(field):
            return field, SECRET_KEY_MESSAGE.replace("{NAME}", (name or "<name>").upper())
        return field, f"unknown field; known fields are {', '.join(Site.model_fields)}"
    if kind == "missing":
        return field, f"missing: every site needs '{field}', {_NEEDS.get(field, 'a value')}"
    if kind == "spec":
        return field, error["msg"]
    info = Site.model_fields.get(field)
    says = next((m for m in info.metadata if isinstance(m, Says)), None) if info is not None else None
    if says is not None:
        return field, says(raw.get(field))
    msg = error["msg"]
    return field, msg[:1].lower() + msg[1:]


def _line_text(line: int | None) -> str:
    return f"on line {line}" if line else "earlier in the file"


def _say(source: str, name: str | None, index: int, field: str, message: str, line: int | None) -> str:
    where = f"{source}: site '{name}'" if name else f"{source}: site #{index + 1}"
    if field:
        where += f", field '{field}'"
    return f"{where}: {message}" + (f" (line {line})" if line else "")


__all__ = ["DEFAULT_SITE", "Sites", "SitesError", "build_site", "implicit_site", "load_sites", "parse_sites"]
