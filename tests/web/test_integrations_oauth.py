"""Google OAuth consent: PKCE S256, a single-use state bound to the session, the code exchanged at
Google's token endpoint (faked with httpx.MockTransport), the token saved to the broker's vault."""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web.conftest import FakeClock, cookie_header
from tests.web.harness_data import GOOGLE, Live, demo_clock, start_live
from web.config import ConsoleConfig
from web.oauth import AUTH_URL, STATE_TTL, code_challenge

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


async def _start(live: Live, cookies: dict[str, str]) -> dict[str, str]:
    r = await live.console.http.post(
        "/integrations/gmail/oauth/start",
        data={"csrf_token": cookies["__Host-aegis_csrf"]},
        headers=cookie_header(cookies),
    )
    assert r.status_code == 200, r.text
    found = re.search(r'id="continue-google" href="([^"]+)"', r.text)
    assert found
    url = htmllib.unescape(found.group(1))
    assert url.startswith(AUTH_URL + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def _callback(live: Live, cookies: dict[str, str], **query: str) -> str:
    r = await live.console.http.get("/integrations/oauth/callback", params=query, headers=cookie_header(cookies))
    assert r.status_code == 303, r.text
    location: str = r.headers["location"]
    return location


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


async def test_consent_round_trip_stores_the_token_and_gmail_uses_it(live: Live) -> None:
    cookies = await live.console.browser_login()
    q = await _start(live, cookies)
    assert q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["client_id"] == GOOGLE.client_id and q["redirect_uri"] == GOOGLE.redirect_uri
    assert q["access_type"] == "offline" and "gmail.modify" in q["scope"] and len(q["state"]) >= 40
    code = live.google.issue(q["code_challenge"])
    assert await _callback(live, cookies, code=code, state=q["state"]) == (
        "/integrations?notice=oauth_connected&i=gmail#gmail"
    )
    sent = {k: v[0] for k, v in live.google.requests[-1].items()}
    assert sent["grant_type"] == "authorization_code" and sent["code"] == code
    digest = hashlib.sha256(sent["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == q["code_challenge"]
    stored = [m for m in await live.broker.list_secrets() if m["name"] == "gmail-oauth"]
    assert stored and stored[0]["type"] == "oauth-token" and stored[0]["resource"] == "mcp:gmail"
    assert stored[0]["metadata"]["token_uri"] == "https://oauth2.googleapis.com/token"
    # The Gmail server now reads that token from the broker: the home panel fills.
    home = await live.console.http.get("/", headers=cookie_header(cookies))
    assert 'id="panel-gmail-important_mail" aria-labelledby="panel-gmail-important_mail-title" data-state="ok"' in (
        home.text
    )
    # Audited without the token, and the state is single use.
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], limit=200)
    assert ("integration.connect", "ok") in [(r["action"], r["result"]) for r in rows]
    assert live.google.access_token not in str(rows) and sent["code_verifier"] not in str(rows)
    replay = await _callback(live, cookies, code=live.google.issue(q["code_challenge"]), state=q["state"])
    assert replay == "/integrations?notice=oauth_failed#top"  # an unknown state names no integration
    last = (await live.console.audit(tokens["access_token"], action="integration.connect"))[0]
    assert (last["result"], last["reason"]) == ("fail", "unknown_state")


async def test_a_state_from_another_session_is_refused_before_google_is_called(live: Live) -> None:
    first = await live.console.browser_login()
    second = await live.console.browser_login()
    q = await _start(live, first)
    code = live.google.issue(q["code_challenge"])
    assert await _callback(live, second, code=code, state=q["state"]) == "/integrations?notice=oauth_failed#top"
    assert live.google.requests == []
    # Consumed by the attempt: the rightful session cannot use it afterwards either.
    assert await _callback(live, first, code=code, state=q["state"]) == "/integrations?notice=oauth_failed#top"
    assert not [m for m in await live.broker.list_secrets() if m["name"] == "gmail-oauth"]


async def test_expired_state_denied_consent_and_google_errors_store_nothing(live: Live, clock: FakeClock) -> None:
    cookies = await live.console.browser_login()
    q = await _start(live, cookies)
    clock.advance(STATE_TTL + 1)
    assert await _callback(live, cookies, code=live.google.issue(q["code_challenge"]), state=q["state"]) == (
        "/integrations?notice=oauth_failed&i=gmail#gmail"
    )
    cookies = await live.console.browser_login()
    q = await _start(live, cookies)
    assert await _callback(live, cookies, error="access_denied", state=q["state"]) == (
        "/integrations?notice=oauth_denied&i=gmail#gmail"
    )
    q = await _start(live, cookies)
    live.google.fail_with = (400, {"error": "invalid_grant", "error_description": "<script>x</script>"})
    assert await _callback(live, cookies, code="4/whatever", state=q["state"]) == (
        "/integrations?notice=oauth_failed&i=gmail#gmail"
    )
    tokens = await live.console.login_tokens()
    reasons = [r["reason"] for r in await live.console.audit(tokens["access_token"], action="integration.connect")]
    assert reasons == ["google_invalid_grant", "denied", "expired_state"]
    assert not [m for m in await live.broker.list_secrets() if m["name"] == "gmail-oauth"]


async def test_the_static_return_page_hands_over_same_site(live: Live) -> None:
    page = await live.console.http.get("/static/oauth-return.html")
    script = await live.console.http.get("/static/oauth-return.js")
    assert page.status_code == 200 and '<script src="/static/oauth-return.js"' in page.text
    assert "<script>" not in page.text  # CSP: no inline script
    assert "/integrations/oauth/callback?" in script.text and "location.replace" in script.text
