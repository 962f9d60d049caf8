"""Connecting LinkedIn from the console, end to end, through the console's server-run OAuth (the
manifest's ``authorize_tool`` and ``redeem_tool``): the owner clicks Authorize, is sent to LinkedIn's
authorization page with the posting scope, the console's callback and a state bound to the session;
LinkedIn sends them back with a code; the console checks the state, the LinkedIn server redeems the
code with the client secret from the vault and writes the member's token to the vault itself; the
probe (who am I) then answers. Only LinkedIn (the network edge) is faked, answering like LinkedIn; the
broker, console, gateway and server are real, so the story is one test (the live stack is costly)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
from mcp_servers.linkedin.feed_service import FeedReader
from mcp_servers.linkedin.feed_store import FeedStore
from mcp_servers.linkedin.server import LinkedInDeps, build_server
from mcp_servers.linkedin.store import PostStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.lms_live import ConsoleOwner, LateVault, bind_server_key
from tests.web.conftest import FakeClock
from tests.web.conftest import console_config as console_config  # the console harness's fixture
from tests.web.harness_data import Live, demo_clock, start_live
from tools._http import build_http_client
from tools.browser.session import BrowserRunner
from tools.linkedin import demo
from tools.linkedin.client import APP_CREDENTIAL, TOKEN_CREDENTIAL, LinkedInClient
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
CONSOLE_URL = "https://aegis.example.net"
CALLBACK = f"{CONSOLE_URL}/static/oauth-return.html"
CLIENT_ID, SECRET = demo.DEMO_APP.split(":")


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@dataclass
class Stand:
    live: Live
    linkedin: demo.DemoLinkedIn
    vault: LateVault

    async def secrets(self) -> list[str]:
        return sorted(m["name"] for m in await self.live.broker.list_secrets() if m.get("resource") == "mcp:linkedin")

    def token_forms(self) -> list[dict[str, str]]:
        return [
            dict(httpx.QueryParams(r.content.decode()))
            for r in self.linkedin.requests
            if r.url.path == "/oauth/v2/accessToken"
        ]


@pytest.fixture
async def stand(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Stand]:
    linkedin, vault, db = demo.DemoLinkedIn(redirect_uri=CALLBACK), LateVault(), Database(db_url)
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("social", "chain") for p in ("enc", "idx")]
    )
    settings = Settings(data_dir=tmp_path, secrets_dir=tmp_path / "run-secrets", console_url=CONSOLE_URL)
    ctx = Context(settings, SecretSource(settings.secrets_dir, production=False, environ={}), Redactor())
    async with build_http_client(transport=httpx.MockTransport(linkedin.handle)) as http:

        def build() -> MCPServer:  # the server as __main__ builds it, its vault the broker's
            cipher, audit = FieldCipher(keyring), audit_log(keyring, "social")
            store, feed = PostStore(db, cipher, audit), FeedStore(db, cipher, audit)
            gate = CallGate(server="linkedin", resource="mcp:linkedin", verify=None)
            reader = FeedReader(vault, feed, BrowserRunner(), lambda: datetime.fromtimestamp(clock(), UTC))
            return build_server(LinkedInDeps(LinkedInClient(http, vault), store, gate, vault, reader, feed))

        spec = ServerSpec("linkedin", instance=build)
        try:
            async with (
                start_live(db_url, tmp_path, clock, console_config, extra=[spec]) as live,
                bind_server_key("linkedin", live, vault, tmp_path),
            ):
                assert live.data.tools is not None
                oauth = build_server_oauth(ctx, live.data.catalog, live.data.tools)
                assert oauth is not None
                oauth.clock = clock
                live.data.server_oauth = oauth
                yield Stand(live, linkedin, vault)
        finally:
            await db.dispose()


async def test_the_owner_authorizes_aegis_at_linkedin_and_the_token_lands_in_the_vault(stand: Stand) -> None:
    live = stand.live
    assert live.data.vault is not None
    await live.data.vault.put(APP_CREDENTIAL, demo.DEMO_APP, kind="api-token", resource="mcp:linkedin")
    owner = ConsoleOwner(live, await live.console.browser_login(), "linkedin", "www.linkedin.com")
    page = await owner.page()
    assert 'id="authorize-linkedin"' in page and CALLBACK in page

    # A state the console never issued: refused before LinkedIn sees the code.
    await owner.authorize()
    assert await owner.come_back(code=demo.DEMO_CODE, state="x" * 43) == "/integrations?notice=oauth_failed#top"
    assert stand.token_forms() == [] and await stand.secrets() == [APP_CREDENTIAL]

    url = await owner.authorize()
    assert (url.scheme, url.host, url.path) == ("https", "www.linkedin.com", "/oauth/v2/authorization")
    query = dict(url.params)
    state = query.pop("state")
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid profile email w_member_social",
    }
    assert len(state) >= 43 and SECRET not in str(url)

    done = await owner.come_back(code=demo.DEMO_CODE, state=state)
    assert done == "/integrations?notice=oauth_connected&i=linkedin#linkedin"
    [form] = stand.token_forms()
    assert form == {
        "grant_type": "authorization_code",
        "code": demo.DEMO_CODE,
        "redirect_uri": CALLBACK,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    assert await stand.secrets() == sorted([APP_CREDENTIAL, TOKEN_CREDENTIAL])
    assert await stand.vault.get(TOKEN_CREDENTIAL) == demo.DEMO_TOKEN  # written by the server

    # The same state again: refused, LinkedIn is not asked a second time.
    assert await owner.come_back(code=demo.DEMO_CODE, state=state) == "/integrations?notice=oauth_failed#top"
    assert len(stand.token_forms()) == 1
    page = await owner.page()  # connected: the probe (who am I) answered with the new token
    section = page[page.index('id="linkedin"') :]
    assert '<span class="status status-ok">connected</span>' in section[:2000]
    assert any(r.url.path == "/v2/userinfo" for r in stand.linkedin.requests)
