"""Pairing a QR-linked integration (WhatsApp) in a real Chromium, desktop and phone: the QR code is
drawn by the console, follows the bridge as WhatsApp rotates it, and every state reads as words,
including a bridge that does not answer. The bridge is faked at its HTTP edge
(``tools.whatsapp.demo``); the WhatsApp MCP server, the console and the broker are real."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from agent.mcp_host import ServerSpec
from mcp_servers._common import CallGate, audit_log
from mcp_servers.whatsapp.server import WhatsAppDeps, build_server
from mcp_servers.whatsapp.service import WhatsAppService
from mcp_servers.whatsapp.store import MessageStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.web.conftest import FakeClock
from tests.web.harness_data import Live, start_live
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _login, _watch_csp
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.whatsapp.client import WhatsAppClient
from tools.whatsapp.demo import DemoBridge, demo_credentials, demo_transport
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


class Paired:
    def __init__(self, live: Live, bridge: DemoBridge) -> None:
        self.live, self.bridge = live, bridge


@pytest.fixture
async def paired(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Paired]:
    bridge = DemoBridge()
    bridge.state, bridge.qr = "pairing", "2@first-qr,AbCdEf0123456789,XyZ"
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("messages", "chain") for p in ("enc", "idx")]
    )
    db = Database(db_url)
    async with build_http_client(transport=demo_transport(bridge)) as http:
        client = WhatsAppClient(http, StaticCredentials(demo_credentials()), base_url="http://bridge")
        service = WhatsAppService(client, MessageStore(db, FieldCipher(keyring)), db, audit_log(keyring, "messages"))
        gate = CallGate(server="whatsapp", resource="mcp:whatsapp", verify=None)
        spec = ServerSpec("whatsapp", instance=lambda: build_server(WhatsAppDeps(service=service, gate=gate)))
        async with start_live(db_url, tmp_path, clock, console_config, extra=[spec]) as live:
            yield Paired(live, bridge)
    await db.dispose()


async def _qr(page: Page) -> str:
    src = await page.locator("#pair-qr").get_attribute("src")
    assert src is not None and src.startswith("data:image/svg+xml")
    return src


async def test_the_pairing_page_follows_the_bridge_in_chromium(paired: Paired) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url, bridge = paired.live.console.url, paired.bridge
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for label, viewport in VIEWPORTS.items():
                bridge.state, bridge.qr = "pairing", f"2@{label}-qr,AbCdEf0123456789,XyZ"
                page = await (await browser.new_context(viewport=viewport)).new_page()  # type: ignore[arg-type]
                _watch_csp(page, violations)
                # Behind the owner's login.
                await page.goto(f"{url}/integrations/whatsapp/pair")
                assert page.url.startswith(f"{url}/login")
                await _login(page, paired.live.console)

                await page.goto(f"{url}/integrations")
                await page.click("#connect-whatsapp")
                await page.wait_for_url(f"{url}/integrations/whatsapp/pair")
                await expect(page.locator("#pair-status")).to_have_text("Scan this code with WhatsApp on your phone")
                first = await _qr(page)
                await page.screenshot(path=str(SHOTS / f"whatsapp-pair-{label}.png"), full_page=True)

                # WhatsApp rotates the code: the page follows without a reload.
                bridge.qr = f"2@{label}-rotated,AbCdEf0123456789,XyZ"
                await expect(page.locator("#pair-qr")).not_to_have_attribute("src", first, timeout=10_000)

                # Every state shows as words, never silence.
                bridge.state = "phone_offline"
                await expect(page.locator("#pair-status")).to_have_text("Your phone is offline", timeout=10_000)
                assert await page.locator("#pair-qr").count() == 0
                bridge.state = "web_changed"
                await expect(page.locator("#pair-status")).to_have_text("WhatsApp Web changed", timeout=10_000)
                bridge.down = True
                await expect(page.locator("#pair-status")).to_contain_text("does not answer", timeout=10_000)
                await page.screenshot(path=str(SHOTS / f"whatsapp-pair-down-{label}.png"), full_page=True)
                bridge.down = False
                bridge.state = "connected"
                await expect(page.locator("#pair-status")).to_have_text("Connected", timeout=10_000)
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"the page scrolls sideways at {label}"

                # Connected: the home page has the messages panels.
                await page.goto(f"{url}/")
                unread = page.locator("#panel-whatsapp-unread")
                await expect(unread).to_contain_text("Sam Rivera")
                await expect(unread).to_contain_text("Still on for lunch Thursday?")
                await expect(page.locator("#panel-whatsapp-people")).to_be_visible()
                await unread.scroll_into_view_if_needed()
                await page.screenshot(path=str(SHOTS / f"whatsapp-home-{label}.png"))
                await page.context.close()
        finally:
            await browser.close()
    assert violations == []
    tokens = await paired.live.console.login_tokens()
    rows = await paired.live.console.audit(tokens["access_token"], action="integration.pair_view")
    assert [r["result"] for r in rows] == ["ok", "ok"]


async def test_the_pairing_state_and_code_routes(paired: Paired) -> None:
    console, bridge = paired.live.console, paired.bridge
    http = console.http
    anonymous = await http.get("/integrations/whatsapp/pair/state")
    assert anonymous.status_code in (303, 401) and "pair-qr" not in anonymous.text
    http.cookies.update(await console.browser_login())
    fragment = await http.get("/integrations/whatsapp/pair/state")
    assert fragment.status_code == 200 and fragment.headers["cache-control"] == "no-store"
    assert 'id="pair-qr"' in fragment.text and bridge.qr is not None and bridge.qr not in fragment.text
    assert (await http.get("/integrations/gmail/pair")).status_code == 404  # not a QR integration
    bad = await http.post(
        "/integrations/whatsapp/pair/code", data={"phone_number": "12"}, headers={"Origin": console.url}
    )
    assert bad.status_code in (303, 403)
