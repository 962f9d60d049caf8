"""The content page over real HTTP, against a fake content engine shaped like the protocol: the queue
with checks, sources and refusals, editing that never loses the owner's text, publishing through an
approval card, the settings form, and the console's usual guards (login, CSRF, audit)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.web.conftest import Console, FakeClock, cookie_header
from tests.web.content_fake import INJECTED, LONG_X, REFUSAL, FakeContent, clock_now, content_console
from web.config import ConsoleConfig
from web.routes.content_view import safe_link, time_left

pytestmark = pytest.mark.anyio
CSRF = "__Host-aegis_csrf"


@pytest.fixture
def fake(clock: FakeClock) -> FakeContent:
    return FakeContent.around(clock_now(clock))


@pytest.fixture
async def site(
    db_url: str, clock: FakeClock, console_config: ConsoleConfig, fake: FakeContent
) -> AsyncIterator[tuple[Console, dict[str, str]]]:
    async with content_console(db_url, clock, console_config, fake) as c:
        yield c, await c.browser_login()


async def post(c: Console, cookies: dict[str, str], path: str, **fields: Any) -> httpx.Response:
    return await c.http.post(path, data={"csrf_token": cookies[CSRF], **fields}, headers=cookie_header(cookies))


async def page(c: Console, cookies: dict[str, str], path: str = "/content") -> str:
    r = await c.http.get(path, headers=cookie_header(cookies))
    assert r.status_code == 200, r.text[:300]
    return r.text


def article(body: str, did: str) -> str:
    found = re.search(rf'<(article|li) [^>]*id="draft-{did}".*?</\1>', body, re.S)
    assert found, f"draft {did} is not on the page"
    return found.group(0)


def textarea(body: str, did: str) -> str:
    found = re.search(rf'<textarea id="text-{did}"[^>]*>(.*?)</textarea>', body, re.S)
    assert found, f"no text box for {did}"
    return html.unescape(found.group(1))


async def test_the_queue_shows_drafts_checks_sources_and_refusals(site: tuple[Console, dict[str, str]]) -> None:
    c, cookies = site
    body = await page(c, cookies)
    assert 'aria-current="page">Content</a>' in body and body.count('href="/content"') >= 2  # desktop and phone
    # Open drafts come first, then published posts, then the ones that ran out.
    order = [body.index(f'id="draft-{d}"') for d in ("d-li", "d-x", "d-ref", "d-pub", "d-old")]
    assert order == sorted(order)

    li = article(body, "d-li")
    assert "LinkedIn" in li and "chip-ready" in li and "expires in 10 h" in li
    assert textarea(body, "d-li") == "Small teams ship faster when they write things down."
    assert 'formaction="/content/d-li/publish"' in li and 'form="discard-d-li"' in li
    assert str(escape(INJECTED)) in li and "written by others" in li
    assert (
        'href="https://news.example.com/ai?id=7" rel="noopener noreferrer nofollow" referrerpolicy="no-referrer"' in li
    )
    assert "(news.example.com)" in li
    assert 'href="javascript:' not in body and '<code class="small">javascript:alert(1)</code>' in li
    assert "<img" not in body and "<iframe" not in body  # nothing from a source loads by itself

    x = article(body, "d-x")
    assert "chip-held" in x and "2 failed" in x and 'class="counter over"' in x
    assert re.search(r'check-fail" data-check="length">.*?failed.*?345 of 280', x, re.S)
    assert re.search(r'check-fail" data-check="links">.*?evil.example is not approved', x, re.S)
    assert re.search(r'check-ok" data-check="hidden">', x)
    assert 'formaction="/content/d-x/publish"' in x  # held: the text is saved and checked again first

    ref = article(body, "d-ref")
    assert str(escape(REFUSAL)) in ref and "<textarea" not in ref and 'form="discard-d-ref"' in ref

    pub = article(body, "d-pub")
    assert 'href="https://www.linkedin.com/feed/update/urn:li:share:9"' in pub and "See it on LinkedIn" in pub
    assert 'class="chart" data-chart="' in pub and "likes" in pub and "impressions" in pub
    assert "<dd>38</dd>" in pub  # the latest sync's likes
    assert "chip-expired" in article(body, "d-old") and "chip-rejected" in article(body, "d-rej")


async def test_saving_runs_the_checks_again_and_keeps_the_text_on_refusal(
    site: tuple[Console, dict[str, str]], fake: FakeContent
) -> None:
    c, cookies = site
    fixed = "Shipping small beats shipping big.\r\nThat is the whole post."
    r = await post(c, cookies, "/content/d-x/edit", text=fixed)
    assert r.status_code == 303 and r.headers["location"] == "/content?notice=saved#draft-d-x"
    assert fake.calls[-1] == ("edit", ("d-x", "Shipping small beats shipping big.\nThat is the whole post."))
    body = await page(c, cookies, r.headers["location"].split("#")[0])
    assert "Saved. The checks ran again" in body and "chip-ready" in article(body, "d-x")
    assert f"{len(fixed) - 1} of 280" in article(body, "d-x")

    mine = "My new text, with my password in it\nand a second line"
    r = await post(c, cookies, "/content/d-li/edit", text=mine)
    assert r.status_code == 409
    assert textarea(r.text, "d-li") == mine  # nothing the owner typed is lost
    assert 'id="error-d-li"' in r.text and "Not saved: the text mentions a password" in r.text
    assert fake.drafts["d-li"].text.startswith("Small teams")  # the engine kept the old text

    r = await post(c, cookies, "/content/d-li/edit", text="   \r\n ")
    assert r.status_code == 422 and "The post is empty" in r.text
    r = await post(c, cookies, "/content/d-li/edit", text="x" * 10_001)
    assert r.status_code == 422 and textarea(r.text, "d-li") == "x" * 10_001 and "10,001 characters" in r.text
    r = await post(c, cookies, "/content/d-old/edit", text="too late")
    assert r.status_code == 409 and "this draft is no longer open" in r.text
    r = await post(c, cookies, "/content/nope/edit", text="hi")
    assert r.status_code == 404 and "That draft is not in the queue any more" in r.text
    assert (await post(c, cookies, "/content/a%20b/publish")).status_code == 404 and fake.calls[-1][0] == "edit"

    tokens = await c.login_tokens()
    rows = await c.audit(tokens["access_token"], action="content.edit")
    assert {(row["result"], row["resource"]) for row in rows} >= {("ok", "draft:d-x"), ("fail", "draft:d-li")}
    assert all(mine not in str(row) for row in rows)  # counts, never the words


async def test_publish_sends_the_owner_to_the_approval_card(
    site: tuple[Console, dict[str, str]], fake: FakeContent
) -> None:
    c, cookies = site
    r = await post(c, cookies, "/content/d-li/publish", text=fake.drafts["d-li"].text)
    assert r.status_code == 303 and r.headers["location"] == "/approvals/appr-d-li"
    assert [name for name, _ in fake.calls] == ["publish"]  # unchanged text: no save first
    session = fake.calls[0][1][1]
    assert isinstance(session, str) and session
    body = await page(c, cookies)
    li = article(body, "d-li")
    assert "waiting for your approval" in li and 'href="/approvals/appr-d-li"' in li

    # A changed text is saved (and checked) first; a failed check keeps it on the page.
    r = await post(c, cookies, "/content/d-x/publish", text=LONG_X + " still too long")
    assert r.status_code == 409 and "Not sent for approval: a check failed" in r.text
    assert fake.drafts["d-x"].text == (LONG_X + " still too long").strip()
    r = await post(c, cookies, "/content/d-x/publish", text="Short and fine.")
    assert r.status_code == 303 and r.headers["location"] == "/approvals/appr-d-x"
    assert fake.drafts["d-x"].text == "Short and fine." and fake.drafts["d-x"].status == "awaiting_approval"

    tokens = await c.login_tokens()
    rows = await c.audit(tokens["access_token"], action="content.publish")
    assert sorted(row["result"] for row in rows) == ["fail", "ok", "ok"]


async def test_discard_asks_first_and_reports(site: tuple[Console, dict[str, str]], fake: FakeContent) -> None:
    c, cookies = site
    assert 'data-confirm="Discard this draft? Nothing is published."' in article(await page(c, cookies), "d-li")
    r = await post(c, cookies, "/content/d-li/discard")
    assert r.status_code == 303 and fake.drafts["d-li"].status == "rejected"
    r = await post(c, cookies, "/content/d-li/discard")
    assert r.status_code == 409 and "Not discarded: this draft is no longer open" in r.text


async def test_settings_keep_what_the_owner_typed_when_refused(
    site: tuple[Console, dict[str, str]], fake: FakeContent
) -> None:
    c, cookies = site
    body = await page(c, cookies, "/content/settings")
    assert "Plain, short, no hype." in body and 'value="x"' in body and ">running a small team</textarea>" in body

    typed = {"themes": "teams\nwriting", "voice": "Calm.", "allowed_links": "example.org\nnot a host", "paused": "x"}
    r = await post(c, cookies, "/content/settings", **typed)
    assert r.status_code == 422 and "“not a host” is not a host name" in r.text
    assert 'name="allowed_links" aria-invalid="true"' in r.text and 'name="themes" aria-invalid' not in r.text
    assert "example.org\nnot a host</textarea>" in r.text and ">teams\nwriting</textarea>" in r.text
    assert 'value="x" checked' in r.text and not [n for n, _ in fake.calls if n == "save_settings"]

    r = await post(c, cookies, "/content/settings", **(typed | {"allowed_links": "", "voice": "LOUD!!!"}))
    assert r.status_code == 422 and "Not saved: your voice asks for shouting" in r.text and "LOUD!!!" in r.text
    r = await post(c, cookies, "/content/settings", **(typed | {"allowed_links": "", "paused": "myspace"}))
    assert r.status_code == 422 and "is not a network installed here" in r.text

    good = typed | {"allowed_links": "https://Example.org/path\nblog.example.net\nexample.org"}
    r = await post(c, cookies, "/content/settings", **good)
    assert r.status_code == 303 and r.headers["location"] == "/content/settings?notice=saved"
    assert fake.values.themes == ("teams", "writing") and fake.values.voice == "Calm."
    assert fake.values.allowed_links == ("example.org", "blog.example.net") and fake.values.paused == ("x",)
    assert "(paused: X)" in await page(c, cookies)


async def test_logged_out_and_cross_site_requests_are_refused(
    site: tuple[Console, dict[str, str]], fake: FakeContent
) -> None:
    c, cookies = site
    r = await c.http.get("/content")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcontent"
    r = await c.http.get("/content/settings")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await c.http.post("/content/d-li/publish", data={"text": "hi"})
    assert r.status_code in (303, 401) and fake.calls == []
    r = await c.http.post("/content/d-li/publish", data={"text": "hi"}, headers=cookie_header(cookies))
    assert r.status_code == 403 and fake.calls == []  # no CSRF token
    bad = {"csrf_token": "forged", "themes": "x"}
    r = await c.http.post("/content/settings", data=bad, headers=cookie_header(cookies))
    assert r.status_code == 403 and fake.calls == []


async def test_without_the_engine_the_page_says_so_and_the_nav_hides_it(
    db_url: str, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    async with content_console(db_url, clock, console_config, None) as c:
        cookies = await c.browser_login()
        home = await page(c, cookies, "/")
        assert 'href="/content"' not in home
        body = await page(c, cookies)
        assert "The content engine is not running" in body and "<textarea" not in body
        r = await post(c, cookies, "/content/d-li/edit", text="hi")
        assert r.status_code == 503


async def test_the_empty_queue_explains_when_drafts_come(
    db_url: str, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    async with content_console(db_url, clock, console_config, FakeContent({})) as c:
        body = await page(c, await c.browser_login())
        assert 'id="content-empty"' in body and "Every day at 7:00" in body
        assert "A network is connected (LinkedIn, X)" in body
        assert 'href="/model"' in body  # no model configured: it says where to choose one


def test_time_left_and_links_in_words() -> None:
    now = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert time_left(now + timedelta(minutes=200), now) == "expires in 3 h 20 min"
    assert time_left(now + timedelta(hours=2), now) == "expires in 2 h"
    assert time_left(now + timedelta(seconds=30), now) == "expires in 1 min"
    assert time_left(now + timedelta(days=3), now) == "expires in 3 days"
    assert time_left(now - timedelta(minutes=1), now) == "expires now"
    assert time_left((now + timedelta(hours=1)).replace(tzinfo=None), now) == "expires in 1 h"  # no zone: UTC
    assert safe_link(" https://example.org/a ") == "https://example.org/a"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "https://", "//example.org", None, "http://[::1"):
        assert safe_link(bad) is None
