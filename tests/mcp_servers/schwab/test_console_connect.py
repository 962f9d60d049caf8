"""Connecting Schwab from the console, end to end, through the console's server-run OAuth (the
manifest's ``authorize_tool`` and ``redeem_tool``): the owner clicks Authorize, is sent to Schwab's
login page with the console's callback (from the owner's settings) and a state bound to the session;
Schwab sends them back with a code; the console checks the state, the Schwab server redeems the code
at Schwab's token endpoint and writes the token to the broker's vault itself; the next read uses it.
A day before the 7-day login ends, the integrations page says to reconnect Schwab. Only Schwab (the
network edge) is faked, answering like Schwab; the broker, console, gateway and server are real, so
the whole story is one test (the live stack is costly to start)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from aegis.agent_root import build_server_oauth
from aegis.logs import Redactor
from aegis.runtime import Context
from aegis.secrets import SecretSource
from aegis.settings import Settings
from agent.mcp_host import ServerSpec
from mcp_servers._common import CallGate, audit_log
from mcp_servers.schwab.__main__ import VaultTokens
from mcp_servers.schwab.args import SchwabDeps
from mcp_servers.schwab.server import build_server
from mcp_servers.schwab.service import SchwabService
from mcp_servers.schwab.store import BrokerageStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.lms_live import ConsoleOwner, LateVault, bind_server_key
from tests.web.conftest import FakeClock
from tests.web.conftest import console_config as console_config  # the console harness's fixture
from tests.web.harness_data import Live, demo_clock, start_live
from tools._http import build_http_client
from tools.credentials import from_one_line
from tools.schwab.bridge import HttpxBridge
from tools.schwab.client import APP_KEY, APP_SECRET, TOKEN, SchwabClient
from tools.schwab.demo import DemoSchwab
from web.config import ConsoleConfig
from web.oauth import STATE_TTL

pytestmark = pytest.mark.anyio
CONSOLE_URL = "https://aegis.example.net"
CALLBACK = f"{CONSOLE_URL}/static/oauth-return.html"
KEY, SECRET = "ownerAppKey00000000000000000000a", "ownerSecret0000b"
CODE = "C0.b2F1dGgyLmJkYy5zY2h3YWIuY29t.owner-code@"  # Schwab's codes end with "@"
REFRESH = "owner-refresh-token"


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


class FakeSchwab:
    """Schwab at the network edge: its token endpoint redeems one authorization code (HTTP Basic with
    the app's key and secret, the redirect_uri of the authorize request) and refreshes the refresh
    token it issued; the API answers only access tokens it issued (the demo Schwab's bodies)."""

    def __init__(self, now: dt.datetime) -> None:
        self.api = DemoSchwab(now=now)
        self.token_forms: list[dict[str, str]] = []
        self.issued: list[str] = []
        self.api_calls = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/oauth/token":
            if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.issued:
                return httpx.Response(401, json={"message": "Unauthorized"})
            self.api_calls += 1
            return self.api.handler(request)
        form = dict(httpx.QueryParams(request.content.decode()))
        self.token_forms.append(form)
        if request.headers.get("authorization") != "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode():
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "Unauthorized"})
        grant = form.get("grant_type")
        redeemable = form.get("code") == CODE and form.get("redirect_uri") == CALLBACK and not self.issued
        if grant == "authorization_code" and redeemable:  # a code works once
            return self._tokens()
        if grant == "refresh_token" and form.get("refresh_token") == REFRESH and self.issued:
            return self._tokens()
        return httpx.Response(400, json={"error": "invalid_request", "error_description": "Bad authorization code"})

    def _tokens(self) -> httpx.Response:
        self.issued.append(f"owner-access-token-{len(self.issued) + 1}")
        body = {"expires_in": 1800, "token_type": "Bearer", "scope": "api", "refresh_token": REFRESH}
        return httpx.Response(200, json=body | {"access_token": self.issued[-1], "id_token": "owner-id-token"})


@dataclass
class Stand:
    live: Live
    schwab: FakeSchwab
    vault: LateVault
    clock: FakeClock

    async def schwab_secrets(self) -> list[str]:
        return sorted(m["name"] for m in await self.live.broker.list_secrets() if m.get("resource") == "mcp:schwab")


@pytest.fixture
async def stand(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Stand]:
    def moment() -> dt.datetime:
        return dt.datetime.fromtimestamp(clock(), dt.UTC)

    schwab, vault, db = FakeSchwab(moment()), LateVault(), Database(db_url)
    keys = [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("finance", "chain") for p in ("enc", "idx")]
    keyring = Keyring(keys)
    settings = Settings(data_dir=tmp_path, secrets_dir=tmp_path / "run-secrets", console_url=CONSOLE_URL)
    ctx = Context(settings, SecretSource(settings.secrets_dir, production=False, environ={}), Redactor())
    async with build_http_client(transport=httpx.MockTransport(schwab.handler)) as http:

        def build() -> MCPServer:  # the server as __main__ builds it, its vault the broker's
            client = SchwabClient(vault, VaultTokens(vault), transport=HttpxBridge(http), clock=clock)
            store = BrokerageStore(db, FieldCipher(keyring), audit_log(keyring, "finance"))
            gate = CallGate(server="schwab", resource="mcp:schwab", verify=None)
            return build_server(SchwabDeps(SchwabService(client, store, clock=moment), gate, clock=moment))

        spec = ServerSpec("schwab", instance=build)  # in place of the harness's demo Schwab
        try:
            async with (
                start_live(db_url, tmp_path, clock, console_config, extra=[spec]) as live,
                bind_server_key("schwab", live, vault, tmp_path),
            ):
                assert live.data.tools is not None
                oauth = build_server_oauth(ctx, live.data.catalog, live.data.tools)
                assert oauth is not None  # the owner's settings name the console's address
                oauth.clock = clock
                live.data.server_oauth = oauth
                yield Stand(live, schwab, vault, clock)
        finally:
            await db.dispose()


async def _store_app(live: Live) -> None:
    """The owner put the Schwab app's key and secret in the vault (never the token)."""
    assert live.data.vault is not None
    for name, value in ((APP_KEY, KEY), (APP_SECRET, SECRET)):
        await live.data.vault.put(name, value, kind="api-token", resource="mcp:schwab")


async def test_only_the_owners_fresh_state_connects_and_the_token_lands_in_the_vault(stand: Stand) -> None:
    live, schwab = stand.live, stand.schwab
    await _store_app(live)
    owner = ConsoleOwner(live, await live.console.browser_login(), "schwab", "api.schwabapi.com")
    page = await owner.page()
    assert 'id="authorize-schwab"' in page and f'id="callback-schwab">{CALLBACK}<' in page

    # Refused, with nothing sent to Schwab and nothing stored: a state never issued, the owner's state
    # from another session (say, a forged link), and the owner's own state after its ten minutes.
    state = (await owner.authorize()).params["state"]
    assert await owner.come_back(code=CODE, state="x" * 43) == "/integrations?notice=oauth_failed#top"
    other = ConsoleOwner(live, await live.console.browser_login(), "schwab", "api.schwabapi.com")
    assert await other.come_back(code=CODE, state=state) == "/integrations?notice=oauth_failed#top"
    state = (await owner.authorize()).params["state"]
    stand.clock.advance(STATE_TTL + 1)
    assert await owner.come_back(code=CODE, state=state) == "/integrations?notice=oauth_failed&i=schwab#schwab"
    assert schwab.token_forms == [] and schwab.issued == []  # Schwab never saw the code
    assert await stand.schwab_secrets() == sorted([APP_KEY, APP_SECRET])  # no token stored
    assert '<span class="status status-ok">connected</span>' not in (await owner.page()).split('id="schwab"', 1)[1]

    url = await owner.authorize()
    assert (url.scheme, url.host, url.path) == ("https", "api.schwabapi.com", "/v1/oauth/authorize")
    query = dict(url.params)
    state = query.pop("state")
    assert query == {"response_type": "code", "client_id": KEY, "redirect_uri": CALLBACK}
    assert len(state) >= 43 and SECRET not in str(url)
    assert schwab.token_forms == []  # nothing sent to Schwab before the owner comes back

    assert await owner.come_back(code=CODE, state=state) == "/integrations?notice=oauth_connected&i=schwab#schwab"
    [form] = schwab.token_forms
    assert form == {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code": CODE, "client_id": KEY}
    assert await stand.schwab_secrets() == sorted([APP_KEY, APP_SECRET, TOKEN])
    stored = json.loads(from_one_line(await stand.vault.get(TOKEN)))  # written by the server, bound to it
    assert stored["token"]["access_token"] == "owner-access-token-1" and stored["token"]["refresh_token"] == REFRESH
    assert stored["creation_timestamp"] == int(stand.clock())

    # The same state and code again: refused before anything reaches Schwab.
    assert await owner.come_back(code=CODE, state=state) == "/integrations?notice=oauth_failed#top"
    assert len(schwab.token_forms) == 1
    page = await owner.page()  # connected: the probe read the accounts with the new token
    section = page[page.index('id="schwab"') :]
    assert '<span class="status status-ok">connected</span>' in section[:2000] and schwab.api_calls > 0
    assert 'id="attention-schwab"' not in page

    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="integration.connect")
    assert sorted((r["resource"], r["result"], r.get("reason")) for r in rows) == [
        ("integration:oauth", "fail", "state_from_another_session"),
        ("integration:oauth", "fail", "unknown_state"),  # never issued
        ("integration:oauth", "fail", "unknown_state"),  # spent
        ("integration:schwab", "fail", "expired_state"),
        ("integration:schwab", "ok", None),
    ]
    assert all(CODE not in str(r) and "owner-access" not in str(r) for r in rows)

    # Six and a bit days on, the login has 19 hours left: the console says to reconnect Schwab, and
    # the daily login check's result carries the owner's notice.
    stand.clock.advance(dt.timedelta(days=6, hours=4, minutes=30).total_seconds())
    owner = ConsoleOwner(live, await live.console.browser_login(), "schwab", "api.schwabapi.com")
    section = (await owner.page()).split('id="schwab"', 1)[1].split("</section>", 1)[0]
    assert 'id="attention-schwab">needs attention<' in section
    assert "reconnect Schwab: its login ends in 19 h" in section and "(login ending)" in section
    assert 'id="authorize-schwab"' in section  # the way to do it is right there
    check = await live.data.tools.read("schwab.connection") if live.data.tools else None
    assert check is not None and check.ok and check.content["reconnect"] is True
    assert check.content["notice"]["title"].startswith("Reconnect Schwab before")
