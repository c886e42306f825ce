"""Moodle version numbers: parse them, compare them, name them.

A site's ``version`` (core_webservice_get_site_info, ``$version`` in version.php) is a
build date with a two-digit counter and, on weekly builds, a decimal part: ``2024100700`` on
4.5, ``2025041406.11`` on 5.0.6+. Moodle itself compares them as numbers, so the decimal
part counts (2025041406.11 > 2025041406.05 > 2025041400) and dropping it, or comparing the
text, gets them wrong. Every place that reads or compares a version goes through here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["RELEASES", "at_least", "format_version", "parse_version", "release_name", "site_version"]

Version = Decimal

# The version of each major release's first build (its x.y.0), to name a version for people.
RELEASES: dict[str, Version] = {
    "4.1": Decimal(2022112800),
    "4.2": Decimal(2023042400),
    "4.3": Decimal(2023100900),
    "4.4": Decimal(2024042200),
    "4.5": Decimal(2024100700),
    "5.0": Decimal(2025041400),
    "5.1": Decimal(2025100600),
}

_SHAPE = re.compile(r"\d{10}(\.\d+)?")


def parse_version(value: Any) -> Version:
    """``2024100700``, ``"2025041406.11"``, ``2025041406.11`` (a YAML float) -> a Decimal.

    Raises ValueError for anything that is not a Moodle version number (a release name like
    "5.0", an empty value, a date in another format), saying what a version looks like.
    """
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, float):
        text = repr(value)  # the shortest text that reads back as the same float: 2025041406.11
    else:
        text = str(value).strip() if value is not None else ""
    if not _SHAPE.fullmatch(text):
        raise ValueError(
            f"{value!r} is not a Moodle version number: use the 10-digit $version of the release, "
            "e.g. 2025041400 for 5.0 or 2025041406.11 (site info's 'version'), not the release name"
        )
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
        raise ValueError(f"{value!r} is not a Moodle version number") from None


def site_version(site_info: Any) -> Version | None:
    """The version of the site a site-info answer (or stored row) describes; None if it says none."""
    value = site_info.get("version") if hasattr(site_info, "get") else site_info
    try:
        return parse_version(value)
    except ValueError:
        return None


def at_least(version: Any, minimum: Any) -> bool:
    """Whether ``version`` is ``minimum`` or newer; an unknown version is never new enough."""
    try:
        return parse_version(version) >= parse_version(minimum)
    except ValueError:
        return False


def format_version(version: Any) -> str:
    """A version as Moodle writes it: 2025041400, 2025041406.11 (no exponent, no trailing dot)."""
    number = parse_version(version)
    return format(number, "f")


def release_name(version: Any) -> str | None:
    """The major release a version belongs to ("5.0" for 2025041406.11), or None if older
    than the releases known here."""
    try:
        number = parse_version(version)
    except ValueError:
        return None
    names = [name for name, first in RELEASES.items() if number >= first]
    return names[-1] if names else None
