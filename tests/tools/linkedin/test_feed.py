"""Reading the owner's LinkedIn feed in Debian's Chromium against a loopback LinkedIn: the owner's
``li_at`` is the one cookie sent, promoted posts are skipped, the cap and the paced scrolls hold,
and the first checkpoint or login wall stops the read with nothing more fetched. One browser launch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.tools.browser.loopback import chromium_runner  # noqa: F401 - the Chromium runner fixture
from tests.tools.linkedin.loopback import CHECKPOINT, SESSION, LinkedInSite, serve
from tools.browser.pages import NeedsAttention
from tools.browser.session import BrowserRunner, Source
from tools.linkedin.feed import Pace, age_to_time, challenge, read_feed, session_cookies

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class OneCookie:
    def __init__(self, site: str) -> None:
        self._cookies = json.dumps(session_cookies(f"li_at={SESSION}", site))
        self.saved: list[str] = []

    async def load(self) -> str | None:
        return self._cookies

    async def save(self, cookies: str) -> None:
        self.saved.append(cookies)


class NoShots:
    async def keep(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        return ""


def test_linkedin_ages_become_times_and_words_stay_unknown() -> None:
    assert age_to_time("3h • Edited •", NOW) == NOW - timedelta(hours=3)
    assert age_to_time("2d •", NOW) == NOW - timedelta(days=2)
    assert age_to_time("1mo", NOW) == NOW - timedelta(days=30)
    assert age_to_time("5m", NOW) == NOW - timedelta(minutes=5)
    assert age_to_time("Promoted", NOW) is None


def test_challenge_pages_are_known_by_their_address() -> None:
    assert challenge("https://www.linkedin.com/checkpoint/challenge/AgF") == (
        "captcha",
        "LinkedIn asks for a security check (checkpoint)",
    )
    assert challenge("https://www.linkedin.com/authwall?trk=x")[0] == "login"  # type: ignore[index]
    assert challenge("https://www.linkedin.com/uas/login")[0] == "login"  # type: ignore[index]
    assert challenge("https://www.linkedin.com/feed/") is None


def test_the_session_is_the_li_at_value_and_nothing_else_passes() -> None:
    [cookie] = session_cookies(' "li_at=AQEDAsessionvalue1234" ')
    assert cookie["name"] == "li_at" and cookie["value"] == "AQEDAsessionvalue1234"
    assert cookie["domain"] == "www.linkedin.com" and cookie["secure"] and cookie["httpOnly"]
    for bad in ("", "short", "li_at=has spaces in it, clearly", "<script>alert(1)</script>xxxxxxxxx"):
        with pytest.raises(ValueError):
            session_cookies(bad)


async def test_the_feed_is_read_gently_and_the_first_challenge_stops_it(runner: BrowserRunner) -> None:
    site = LinkedInSite()
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    with serve(site) as url:
        jar = OneCookie(url)
        async with runner.session(Source("linkedin", url), jar, NoShots()) as s:
            posts = await read_feed(s, Pace(cap=3, scrolls=2, pause=(2.0, 5.0)), now=NOW, pause=pause, site=url)
            assert [p.author for p in posts] == [
                "Maya Chen",
                "Drexel University College of Computing & Informatics",
                "Sam Okafor",
            ]  # the promoted post is skipped, and the cap holds
            first = posts[0]
            assert first.post_id == "urn:li:activity:7401100000000000101"
            assert first.link == "https://www.linkedin.com/feed/update/urn:li:activity:7401100000000000101/"
            assert first.author_url == f"{url}/in/maya-chen-ml"  # no tracking query
            assert first.text.startswith("We cut our retrieval eval time in half")
            assert first.posted_at == NOW - timedelta(hours=2)
            assert pauses == []  # the cap was met on the first screen: no scroll at all
            assert f"li_at={SESSION}" in site.cookies[0]

            everything = await read_feed(s, Pace(cap=10, scrolls=2), now=NOW, pause=pause, site=url)
            assert len(everything) == 4
            assert len(pauses) == 2 and all(2.0 <= p <= 5.0 for p in pauses)  # paced scrolls, then done

            site.challenge = True
            before = len(site.seen)
            with pytest.raises(NeedsAttention) as stopped:
                await read_feed(s, Pace(), now=NOW, pause=pause, site=url)
            assert stopped.value.reason == "captcha" and "security check" in stopped.value.message
            assert site.seen[before:] == ["/feed/", CHECKPOINT]  # stopped there: nothing more fetched

            await s.page.context.clear_cookies()  # the session LinkedIn no longer accepts
            site.challenge = False
            with pytest.raises(NeedsAttention) as walled:
                await read_feed(s, Pace(), now=NOW, pause=pause, site=url)
            assert walled.value.reason == "login"
            assert site.seen[-2:] == ["/feed/", "/authwall"]
