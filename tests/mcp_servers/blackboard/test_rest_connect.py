"""Connecting Blackboard's REST API from the console (three-legged OAuth), end to end: the owner clicks
Authorize, is sent to Learn's authorize page with the console's callback (from the owner's settings)
and a state bound to the session; Learn sends them back with a code; the console checks the state,
the Blackboard server redeems the code at Learn's token endpoint and writes the refresh token to the
vault itself; the next sync reads Learn's REST API with it. Only Learn (the network edge) is faked,
answering like Learn; the broker, console, gateway and server are real."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from aegis.agent_root import build_server_oauth
from aegis.logs import Redactor
from aegis.runtime import Context
from aegis.secrets import SecretSource
from aegis.settings import Settings
from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers.blackboard.models import TABLES
from mcp_servers.blackboard.server import build_server
from mcp_servers.blackboard.service import BlackboardSource
from storage.audit import AuditLog
from tests.mcp_servers.lms_live import ConsoleOwner, LateVault, LiveSource, live_source
from tests.web.conftest import FakeClock, cookie_header
from tests.web.harness_data import demo_clock
from tools.blackboard import demo
from tools.blackboard.client import BlackboardClient
from tools.browser.session import BrowserRunner
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
CONSOLE_URL = "https://aegis.example.net"
CALLBACK = f"{CONSOLE_URL}/static/oauth-return.html"
CODE = "k7Qw2xZ9authorizationCodeFromLearn"
REFRESH = "learnRefreshTokenIssuedForTheOwner000001"


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


class FakeLearn:
    """Learn at the network edge: its token endpoint redeems one authorization code (HTTP Basic with
    the application's key and secret, the same redirect_uri as the authorize request) for a refresh
    token, then serves the REST API to the access token that refresh token buys."""

    def __init__(self) -> None:
        self.data = demo.DemoBlackboard()
        self.requests: list[httpx.Request] = []
        self.redeemed = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != demo.API + "/v1/oauth2/token":
            return self.data.handle(request)
        key, _, secret = demo.DEMO_APP.partition(":")
        if request.headers.get("authorization") != "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode():
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "Invalid client"})
        form = dict(httpx.QueryParams(request.content.decode()))
        if form.get("grant_type") == "authorization_code":
            if form.get("code") != CODE or form.get("redirect_uri") != CALLBACK or self.redeemed:
                return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid code"})
            self.redeemed += 1
            return self._tokens(refresh=REFRESH)
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") == REFRESH:
            return self._tokens()
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid refresh token"})

    def _tokens(self, refresh: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"access_token": demo.DEMO_ACCESS, "token_type": "bearer", "expires_in": 3599}
        if refresh:
            body |= {"refresh_token": refresh, "scope": "read offline"}
        return httpx.Response(200, json=body)


class Owner(ConsoleOwner):
    """The owner's browser on the console, on Blackboard's page."""

    def __init__(self, src: LiveSource, cookies: dict[str, str]) -> None:
        super().__init__(src.live, cookies, "blackboard", "learn.drexel.edu")

    async def authorize(self) -> httpx.URL:
        """Click "Authorize Aegis at Blackboard"; returns where the continue link leads."""
        page = await self.http.get("/integrations", headers=cookie_header(self.cookies))
        assert 'id="authorize-blackboard"' in page.text and CALLBACK in page.text
        return await super().authorize()


@dataclass
class Stand:
    src: LiveSource
    learn: FakeLearn
    ctx: Context  # the owner's settings, with the console's address


@pytest.fixture
async def stand(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig, runner: BrowserRunner
) -> AsyncIterator[Stand]:
    learn = FakeLearn()
    settings = Settings(data_dir=tmp_path, secrets_dir=tmp_path / "run-secrets", console_url=CONSOLE_URL)
    ctx = Context(settings, SecretSource(settings.secrets_dir, production=False, environ={}), Redactor())
    async with httpx.AsyncClient(transport=httpx.MockTransport(learn.handler)) as http:

        def build(vault: LateVault, store: LmsStore, reads: Reads, audit: AuditLog) -> MCPServer:
            jar = vault_cookies(vault, vault, "blackboard")
            source = BlackboardSource(BlackboardClient(http, vault), vault, store, runner, jar)
            return build_server(reads, source, audit, vault)

        async with live_source(
            "blackboard", TABLES, build, db_url=db_url, tmp=tmp_path, clock=clock, config=console_config
        ) as src:
            yield Stand(src, learn, ctx)


async def test_the_owner_authorizes_aegis_at_learn_and_the_next_sync_uses_the_rest_api(stand: Stand) -> None:
    src, learn, ctx = stand.src, stand.learn, stand.ctx
    live = src.live
    assert live.data.vault is not None and live.data.tools is not None
    live.data.server_oauth = build_server_oauth(ctx, live.data.catalog, live.data.tools)
    # The school registered Aegis: the owner stores the application key (never the token).
    await live.data.vault.put("blackboard-app", demo.DEMO_APP, kind="api-token", resource="mcp:blackboard")
    owner = Owner(src, await live.console.browser_login())

    url = await owner.authorize()
    assert (url.scheme, url.host, url.path) == (
        "https",
        "learn.drexel.edu",
        demo.API + "/v1/oauth2/authorizationcode",
    )
    key = demo.DEMO_APP.partition(":")[0]
    query = dict(url.params)
    state = query.pop("state")
    assert query == {"redirect_uri": CALLBACK, "response_type": "code", "client_id": key, "scope": "read offline"}
    assert len(state) >= 32 and demo.DEMO_APP.partition(":")[2] not in str(url)  # the secret stays put
    assert learn.requests == []  # nothing sent to Learn before the owner comes back

    # Another session (say, a forged link) cannot spend this state; nor can a state never issued.
    other = Owner(src, await live.console.browser_login())
    assert await other.come_back(code=CODE, state=state) == "/integrations?notice=oauth_failed#top"
    url = await owner.authorize()  # that state is spent: a new flow
    state = url.params["state"]
    assert await owner.come_back(code=CODE, state="x" * 43) == "/integrations?notice=oauth_failed#top"
    assert learn.redeemed == 0 and [m["name"] for m in await src.secrets()] == ["blackboard-app"]

    assert await owner.come_back(code=CODE, state=state) == (
        "/integrations?notice=oauth_connected&i=blackboard#blackboard"
    )
    (token_call,) = learn.requests
    assert dict(httpx.QueryParams(token_call.content.decode())) == {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": CALLBACK,
    }
    assert sorted(m["name"] for m in await src.secrets()) == ["blackboard-app", "blackboard-refresh"]
    assert await src.vault.get("blackboard-refresh") == REFRESH  # written by the server, bound to it
    # The same state and code again: refused before anything reaches Learn.
    assert await owner.come_back(code=CODE, state=state) == "/integrations?notice=oauth_failed#top"
    assert learn.redeemed == 1 and len(learn.requests) == 1

    synced = await live.data.tools.read("blackboard.sync", {})
    assert synced.ok, synced.error
    assert synced.content == {"courses": 2, "work": 8, "announcements": 2, "mode": "rest"}
    status = await live.data.tools.read("blackboard.status", {})
    assert status.ok and status.content["mode"] == "rest"

    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="integration.connect")
    assert sorted((r["resource"], r["result"]) for r in rows) == [
        ("integration:blackboard", "ok"),  # the one that stored a token
        *[("integration:oauth", "fail")] * 3,  # another session's, an unknown and a spent state
    ]
    assert all(REFRESH not in str(r) and CODE not in str(r) for r in rows)


async def test_a_refusal_at_learn_or_a_missing_key_stores_nothing(stand: Stand) -> None:
    src, learn, ctx = stand.src, stand.learn, stand.ctx
    live = src.live
    assert live.data.vault is not None and live.data.tools is not None
    owner = Owner(src, await live.console.browser_login())
    # Without a console address in the settings there is no callback to give Learn: no button.
    page = await live.console.http.get("/integrations", headers=cookie_header(owner.cookies))
    assert 'id="authorize-setup-blackboard"' in page.text and 'id="authorize-blackboard"' not in page.text

    live.data.server_oauth = build_server_oauth(ctx, live.data.catalog, live.data.tools)
    # No application key stored yet: the server says so and the owner is back with nothing started.
    r = await live.console.http.post(
        "/integrations/blackboard/oauth/start",
        data={"csrf_token": owner.cookies["__Host-aegis_csrf"]},
        headers=cookie_header(owner.cookies),
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/integrations?notice=oauth_failed&i=blackboard")

    await live.data.vault.put("blackboard-app", demo.DEMO_APP, kind="api-token", resource="mcp:blackboard")
    state = (await owner.authorize()).params["state"]
    assert await owner.come_back(error="access_denied", state=state) == (
        "/integrations?notice=oauth_denied&i=blackboard#blackboard"
    )
    state = (await owner.authorize()).params["state"]
    assert await owner.come_back(code="a-code-learn-never-issued", state=state) == (
        "/integrations?notice=oauth_failed&i=blackboard#blackboard"
    )
    assert len(learn.requests) == 1 and learn.redeemed == 0  # Learn refused it
    assert [m["name"] for m in await src.secrets()] == ["blackboard-app"]  # no refresh token stored
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="integration.connect")
    assert rows[0]["reason"] == "redeem_refused" and "a-code-learn-never-issued" not in str(rows)
