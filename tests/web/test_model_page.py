"""The Model page against a real broker: the key goes into the vault bound to ``model:chat``, the
console's own key cannot read it back, only the ``chat-model`` identity can, and chat uses the new
model at once. A refused code or a failed check stores nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import text

from aegis.identities import CHAT_MODEL
from aegis.logs import Redactor
from aegis.model_root import MODEL_RESOURCE, Edges, ModelManager
from aegis.runtime import Context
from aegis.secrets import SecretSource
from aegis.settings import Settings
from agent.call_tokens import CallTokens
from agent.model_switch import SwitchableModel
from broker.client import BrokerClient, BrokerClientError
from tests.aegis.model_fakes import openai_server
from tests.web.agent_stack import AgentConsole, agent_console, form_headers, post_form, read_events, start_turn
from tests.web.browser_kit import DESKTOP, PHONE, assert_accessible, assert_fits, login
from tests.web.conftest import FakeClock
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from tools.credentials import BrokerCredentials
from web.config import ConsoleConfig
from web.vault import BrokerVault

pytestmark = pytest.mark.anyio
KEY = "local-CANARY-7c1e-never-shown"
LOCAL = "http://127.0.0.1:11434/v1"


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[tuple[AgentConsole, Path, httpx.AsyncClient]]:
    switch = SwitchableModel()
    async with agent_console(db_url, tmp_path, clock, console_config, switch) as ac:
        assert ac.broker_admin is not None
        created = await ac.broker_admin.create_key(
            principal=CHAT_MODEL.name,
            description=CHAT_MODEL.description,
            max_scopes=list(CHAT_MODEL.scopes),
            max_resources=list(CHAT_MODEL.resources),
            scopes=list(CHAT_MODEL.scopes),
            resources=list(CHAT_MODEL.resources),
            expires_in_days=1,
        )
        key_file = tmp_path / "chat-model.key"
        key_file.write_text(str(created["api_key"]))
        key_file.chmod(0o600)
        broker = BrokerClient(ac.broker_admin.http)
        settings = Settings(data_dir=tmp_path / "data", secrets_dir=tmp_path / "run-secrets")
        settings.data_dir.mkdir()
        ctx = Context(settings, SecretSource(settings.secrets_dir, production=False, environ={}), Redactor())
        vault = BrokerVault(broker, tokens=CallTokens(broker, ac.console_key), resources=(MODEL_RESOURCE,))
        keys = BrokerCredentials(broker, api_key_file=key_file, resource=MODEL_RESOURCE)
        server = openai_server(["llama3.2", "qwen3"], key=KEY)
        ac.services.models = ModelManager(ctx, switch, vault=vault, keys=keys, edges=Edges(http=server))
        yield ac, key_file, server


async def test_choosing_a_local_model_in_the_console(
    stack: tuple[AgentConsole, Path, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    ac, key_file, _ = stack
    c = ac.console
    cookies = await c.browser_login()
    page = (await c.http.get("/model", headers=form_headers(cookies))).text
    assert 'id="model-none"' in page and 'aria-current="page"' in page
    chat = (await c.http.get("/chat", headers=form_headers(cookies))).text
    assert 'id="no-model"' in chat

    form = {"provider": "openai", "model": "qwen3", "base_url": LOCAL, "api_key": KEY}
    refused = await post_form(c, cookies, "/model", **form, step_up_code="000000")
    assert refused.status_code == 422 and "not accepted" in refused.text
    assert 'value="qwen3"' in refused.text and KEY not in refused.text  # the choice kept, the key never echoed
    assert ac.broker_admin is not None and await ac.broker_admin.list_secrets() == []

    wrong_model = await post_form(c, cookies, "/model", **{**form, "model": "mixtral"}, step_up_code=c.fresh_code())
    assert wrong_model.status_code == 422 and "does not offer" in wrong_model.text
    assert await ac.broker_admin.list_secrets() == []

    ok = await post_form(c, cookies, "/model", **form, step_up_code=c.fresh_code())
    assert ok.status_code == 303 and ok.headers["location"] == "/model?notice=saved" and KEY not in ok.text
    [meta] = await ac.broker_admin.list_secrets()
    assert meta["name"] == "model.openai" and meta["resource"] == MODEL_RESOURCE
    page = (await c.http.get("/model?notice=saved", headers=form_headers(cookies))).text
    assert 'id="model-in-use">qwen3<' in page and "stay on this machine" in page and KEY not in page
    assert 'id="key-stored-openai"' in page

    # Chat answers with the new model, without a restart.
    cid = await start_turn(c, cookies, "hello?")
    events = await read_events(c, cookies, cid)
    assert "hello from qwen3" in "".join(d.get("text", "") for k, d in events if k == "text")

    # The console's key writes but cannot read; the chat-model key reads only model:chat.
    broker = BrokerClient(ac.broker_admin.http)
    with pytest.raises(BrokerClientError):
        await broker.mint(ac.console_key, aud="aegis", scopes=["secrets.read"], resource=MODEL_RESOURCE, ttl_seconds=60)
    model_key = key_file.read_text()
    with pytest.raises(BrokerClientError):
        await broker.mint(model_key, aud="aegis", scopes=["secrets.read"], resource="mcp:gmail", ttl_seconds=60)
    minted = await broker.mint(model_key, aud="aegis", scopes=["secrets.read"], resource=MODEL_RESOURCE, ttl_seconds=60)
    assert (await broker.read_secret("model.openai", str(minted["access_token"])))["value"] == KEY

    async with c.db.transaction() as s:
        rows = (await s.execute(text("SELECT action, result, details FROM audit_log"))).all()
    chosen = [r for r in rows if r[0] == "model.choose"]
    assert [r[1] for r in chosen] == ["fail", "ok"]
    assert all(KEY not in str(r) for r in rows) and KEY not in caplog.text


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_the_model_page_in_chromium(
    stack: tuple[AgentConsole, Path, httpx.AsyncClient], viewport: dict[str, int]
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    ac, _, _ = stack
    tag = "-phone" if viewport == PHONE else ""
    SHOTS.mkdir(parents=True, exist_ok=True)
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            phone = viewport == PHONE
            context = await browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)  # type: ignore[arg-type]
            page = await context.new_page()
            _watch_csp(page, violations)
            await login(page, ac.console)
            await page.goto(f"{ac.console.url}/model")
            await expect(page.locator("#model-none")).to_be_visible()
            await assert_accessible(page)
            await assert_fits(page, viewport["width"])
            await page.check("input[name=provider][value=openai]")
            await page.fill("#model-id", "qwen3")
            await page.fill("#model-url", LOCAL)
            await page.fill("#model-key", KEY)
            await page.fill("#model-code", ac.console.fresh_code())
            await page.screenshot(path=str(SHOTS / f"model-choose{tag}.png"), full_page=True)
            await page.click("#model-form button[type=submit]")
            await expect(page.locator("#model-in-use")).to_have_text("qwen3")
            await expect(page.locator("#notice")).to_contain_text("Saved and checked")
            assert page.url.endswith("/model?notice=saved")
            await assert_accessible(page)
            await page.screenshot(path=str(SHOTS / f"model-in-use{tag}.png"), full_page=True)
        finally:
            await browser.close()
    assert violations == []
