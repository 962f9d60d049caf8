"""The console's Schwab login, server side: Schwab's authorize URL for the console's state, and the
code redeemed at Schwab's token endpoint (faked at the HTTP edge) with the token kept in the vault."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.mcp_servers.schwab.conftest import LINK, Schwab, error_text
from tools.credentials import from_one_line
from tools.schwab.client import TOKEN
from tools.schwab.demo import DEMO_APP_KEY, DEMO_APP_SECRET

pytestmark = pytest.mark.anyio
CALLBACK = "https://aegis.example/static/oauth-return.html"
STATE = "s" * 43
CODE = "C0.b2F1dGgyLmJkYy5zY2h3YWIuY29t.demo-code@"


async def test_the_login_url_carries_the_consoles_state_and_callback(schwab: Schwab) -> None:
    out = await schwab.call("authorize", {"redirect_uri": CALLBACK, "state": STATE}, LINK)
    url = urlsplit(out["url"])
    assert out["host"] == "api.schwabapi.com"
    assert (url.scheme, url.netloc, url.path) == ("https", "api.schwabapi.com", "/v1/oauth/authorize")
    q = parse_qs(url.query)
    assert q == {"response_type": ["code"], "client_id": [DEMO_APP_KEY], "redirect_uri": [CALLBACK], "state": [STATE]}
    assert DEMO_APP_SECRET not in out["url"]


async def test_the_code_is_redeemed_once_and_the_token_goes_to_the_vault(schwab: Schwab) -> None:
    before = len(schwab.demo.token_requests)
    out = await schwab.call("redeem", {"redirect_uri": CALLBACK, "code": CODE}, LINK)
    assert out["stored"] == TOKEN and out["refresh_expires_at"]
    assert "demo-" not in json.dumps(out)  # neither token leaves the server
    [request] = schwab.demo.token_requests[before:]
    form = parse_qs(request.content.decode())
    assert form["grant_type"] == ["authorization_code"] and form["code"] == [CODE]
    assert form["redirect_uri"] == [CALLBACK] and form["client_id"] == [DEMO_APP_KEY]  # as schwab-py sends it
    basic = base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == f"{DEMO_APP_KEY}:{DEMO_APP_SECRET}"
    stored = json.loads(from_one_line(await schwab.secrets.credentials.get(TOKEN)))
    assert stored["token"]["refresh_token"] == "demo-refresh-token" and stored["creation_timestamp"] > 0
    accounts = await schwab.call("accounts")  # the new token works at once
    assert accounts["accounts"][0]["account"] == "••••7726"


async def test_a_refused_code_stores_nothing_and_the_tools_are_console_only(schwab: Schwab) -> None:
    old = await schwab.secrets.credentials.get(TOKEN)
    schwab.demo.refresh_refused = True  # the token endpoint answers 400 invalid_client
    refused = await schwab.raw("redeem", {"redirect_uri": CALLBACK, "code": CODE}, LINK)
    assert "must reconnect" in error_text(refused) and "login_refused" in error_text(refused)
    assert await schwab.secrets.credentials.get(TOKEN) == old
    read_only = await schwab.raw("authorize", {"redirect_uri": CALLBACK, "state": STATE})  # a read token
    assert read_only.is_error
    plain_http = await schwab.raw("authorize", {"redirect_uri": "http://evil.example/", "state": STATE}, LINK)
    assert plain_http.is_error
