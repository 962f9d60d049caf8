"""The console's Garmin connect page and its two steps, against the real Garmin server on its demo
(Garmin's answers at the network edge): the page, the login through the console-only tool, the
code's shape checked before anything reaches the server, and the integrations page afterwards."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.conftest import CHEAP_ARGON2, bearer, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
async def live(db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    clock = demo_clock()
    config = ConsoleConfig(clock=clock, argon2=CHEAP_ARGON2, auth_rate=(100.0, 1000), api_rate=(1000.0, 5000))
    async with start_live(db_url, tmp_path, clock, config, demos=("garmin",)) as lc:
        yield lc


def _card(html: str) -> str:
    found = re.search(r'<section class="card integration" id="garmin".*?</section>', html, re.S)
    assert found
    return found.group(0)


async def test_the_owner_logs_in_to_garmin_from_the_console(live: Live) -> None:
    cookies = cookie_header(await live.console.browser_login())
    page = await live.console.http.get("/integrations/garmin/connect", headers=cookies)
    assert page.status_code == 200 and 'id="garmin-login"' in page.text and "<script>" not in page.text
    assert "garmin-login" in page.text and "mcp:garmin" in page.text  # what to store, where
    before = _card((await live.console.http.get("/integrations", headers=cookies)).text)
    assert "not connected" in before
    auth = bearer((await live.console.login_tokens())["access_token"])
    bad = await live.console.http.post("/api/integrations/garmin/connect/finish", json={"value": "12ab"}, headers=auth)
    assert bad.status_code == 409  # not a code: nothing was sent to the server
    none_waiting = await live.console.http.post(
        "/api/integrations/garmin/connect/finish", json={"value": "123456"}, headers=auth
    )
    assert none_waiting.status_code == 409  # no sign-in waits for a code
    started = await live.console.http.post("/api/integrations/garmin/connect/start", headers=auth)
    assert started.status_code == 200 and started.json()["connected"] is True
    assert started.json()["synced"] is True and "tokens" not in started.text
    assert "garmin-tokens" in live.runtimes["garmin"].credentials.__repr__()  # kept by the secret store
    after = _card((await live.console.http.get("/integrations", headers=cookies)).text)
    assert 'status-ok">connected' in after
