"""A server that loops through pages is stopped at its first repeat, not after 10 000 calls."""

from __future__ import annotations

import asyncio

import pytest

from moodle_assets.moodle import MoodleError, limit_offset, page_perpage


class CyclingSite:
    """Answers pages A, B, A, B, ... whatever the offset asked for."""

    def __init__(self) -> None:
        self.calls = 0

    async def call(self, function, params=None):
        self.calls += 1
        first = 1 if self.calls % 2 else 3
        return [{"id": first}, {"id": first + 1}]


async def _walk(pages) -> list:
    return [page async for page in pages]


@pytest.mark.parametrize("style", ["limit_offset", "page_perpage"])
def test_a_cycle_of_pages_is_an_error_on_the_first_repeat(style):
    site = CyclingSite()
    if style == "limit_offset":
        pages = limit_offset(site, "core_enrol_get_enrolled_users", {"courseid": 2}, page_size=2, records_of=list)
        where, earlier, paging = "limitfrom=4", "limitfrom=0", "limitfrom/limitnumber"
    else:
        pages = page_perpage(site, "mod_forum_get_forum_discussions", {"forumid": 1}, page_size=2, records_of=list)
        where, earlier, paging = "page=2", "page=0", "page/perpage"
    with pytest.raises(MoodleError) as caught:
        asyncio.run(_walk(pages))
    assert site.calls == 3
    assert caught.value.fatal
    assert str(caught.value).split(": ", 1)[1] == (
        f"the page at {where} repeats the 2 records of the page at {earlier}, so the server ignores the "
        f"paging parameters ({paging}) and paging would never end. Check the parameter names this function "
        "accepts on this Moodle version, or turn paging off for this endpoint."
    )
