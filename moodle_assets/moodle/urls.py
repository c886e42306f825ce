"""Moodle URLs: the REST path under a site root, URLs safe to print, and Moodle 5.1's public/ folder."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["REST_PATH", "strip_userinfo"]

REST_PATH = "/webservice/rest/server.php"


def strip_userinfo(url: str) -> str:
    """Drop ``user:password@`` from a URL before it goes into a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# Moodle 5.1 moved its web-accessible code into <moodle>/public; the site URL ($CFG->wwwroot) and
# every path under it (webservice/rest/server.php, (token)pluginfile.php) stay as they were. A web
# server still serving the code folder shows this page, or redirects to .../public/.
PUBLIC_FOLDER_PAGE = "must not be publicly accessible"
PUBLIC_FOLDER_SERVER = (
    "This is a Moodle 5.1+ whose web server still serves the Moodle code folder instead of its public/ "
    "folder: the site's administrator must point the web server's document root at <moodle>/public "
    "(Moodle 5.1 upgrade notes, 'Code directories restructure'). Keep the Moodle URL the site root, "
    "without /public."
)
PUBLIC_FOLDER_URL = (
    "Remove /public from the Moodle URL: on Moodle 5.1+ public/ is the folder the web server serves, "
    "not part of the site's address (the URL stays the site root, as users open it)."
)


def in_public_folder(url: str) -> bool:
    """Whether a URL points into a public/ folder (``.../public`` or ``.../public/webservice/...``)."""
    path = urlsplit(url.strip()).path.rstrip("/")
    path = path.removesuffix(REST_PATH)
    return path.endswith("/public")
