"""Moodle 5.1 serves its code from <moodle>/public; the site URL and the REST path do not change.

What a harvester meets is a web server that was not reconfigured (it redirects to /public/ or
shows Moodle's "must not be publicly accessible" page) or a Moodle URL given with /public: each
is reported with the fix, and the REST call itself goes where it always went.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from moodle_helpers import SITE, TOKEN

from moodle_assets.moodle import ClientSettings, MoodleClient, MoodleError, NotMoodleResponseError

PAGE = (
    "<!DOCTYPE html><html><body><p>The Moodle root directory must not be publicly accessible. Please "
    "reconfigure your web server to use the `/public` directory instead.</p></body></html>"
)
SERVER_FIX = "the site's administrator must point the web server's document root at <moodle>/public"
URL_FIX = "Remove /public from the Moodle URL"


def error_for(handler, url: str = SITE) -> tuple[str, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return handler(request)

    async def main() -> MoodleError:
        client = MoodleClient(ClientSettings(url, TOKEN, max_retries=0), transport=httpx.MockTransport(record))
        async with client:
            with pytest.raises(NotMoodleResponseError) as caught:
                await client.call("core_webservice_get_site_info")
        return caught.value

    return str(asyncio.run(main())), seen


def test_the_rest_path_stays_under_the_site_root() -> None:
    assert ClientSettings("https://moodle.example.edu", "t").endpoint == (
        "https://moodle.example.edu/webservice/rest/server.php"
    )
    assert ClientSettings("https://example.edu/moodle/", "t").endpoint == (
        "https://example.edu/moodle/webservice/rest/server.php"
    )


def test_a_server_redirecting_to_public_needs_its_document_root_moved() -> None:
    message, seen = error_for(
        lambda r: httpx.Response(302, headers={"Location": f"{SITE}/public/webservice/rest/server.php"})
    )
    assert seen == [f"{SITE}/webservice/rest/server.php"]  # not followed: the token stays put
    assert "redirects (HTTP 302) to http://moodle.test/public/webservice/rest/server.php" in message
    assert SERVER_FIX in message and "without /public" in message
    assert "Set the Moodle URL to the site root the redirect points to" not in message


def test_moodles_own_page_about_the_public_folder_names_the_fix() -> None:
    message, _ = error_for(lambda r: httpx.Response(200, text=PAGE, headers={"Content-Type": "text/html"}))
    assert "answered HTTP 200 with an HTML page" in message and SERVER_FIX in message


@pytest.mark.parametrize("url", [f"{SITE}/public", f"{SITE}/public/", f"{SITE}/public/webservice/rest/server.php"])
def test_a_moodle_url_with_public_is_told_to_drop_it(url: str) -> None:
    message, seen = error_for(
        lambda r: httpx.Response(404, text="<html>Not found</html>", headers={"Content-Type": "text/html"}), url
    )
    assert seen == [f"{SITE}/public/webservice/rest/server.php"]
    assert URL_FIX in message


def test_other_redirects_keep_their_advice() -> None:
    message, _ = error_for(lambda r: httpx.Response(301, headers={"Location": "https://moodle.test/"}))
    assert "Set the Moodle URL to the site root the redirect points to" in message and SERVER_FIX not in message
