"""Several Moodle sites, declared in one file and checked before a harvest relies on them.

``moodle_sites.yaml`` (or ``$MOODLE_SITES_FILE``) lists the sites: a name, a URL, the name
of the environment variable holding the site's token, and per-site settings. Without the
file there is one site, ``default``, from MOODLE_URL and MOODLE_TOKEN, so a single-site
setup needs nothing new. The file format is :class:`Site` (:mod:`.model`); the reader is
:mod:`.config`; ``moodle-assets sites list|check`` is :mod:`.command`.
"""

from __future__ import annotations

from .config import DEFAULT_SITE, Sites, SitesError, implicit_site, load_sites, parse_sites
from .model import Site

__all__ = ["DEFAULT_SITE", "Site", "Sites", "SitesError", "implicit_site", "load_sites", "parse_sites"]
