"""The console as a new owner meets it, in Debian's Chromium (Playwright) on a desktop (1366x900) and
a phone (390x844): the setup from the one-time link, every page with axe-core (no serious or
critical violation) and no CSP violation, the phone's bottom bar with its approvals badge, tables
as cards. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

from base64 import b32decode
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from storage.db import Database
from tests.web.agent_stack import AgentConsole, agent_console, read_events, scripted, start_turn
from tests.web.browser_kit import DESKTOP, PHONE, assert_accessible, assert_fits, login
from tests.web.conftest import EMAIL, PASSPHRASE, FakeClock, make_keyring, serve, totp
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from web.app import create_app
from web.config import ConsoleConfig
from web.setup_gate import SetupGate

pytestmark = pytest.mark.anyio
WAIT = 20_000
PAGES = [
    *("/", "/chat", "/approvals", "/integrations", "/secrets", "/model"),
    *("/jobs", "/briefings", "/sessions", "/audit"),
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        found = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield found
        finally:
            await found.close()


async def _page(browser: Browser, viewport: dict[str, int], violations: list[str], **kw: Any) -> Page:
    phone = viewport == PHONE
    context = await browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone, **kw)  # type: ignore[arg-type]
    page = await context.new_page()
    _watch_csp(page, violations)
    page.on("pageerror", lambda e: violations.append(f"page error: {e}"))
    return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_setup_from_the_one_time_link(
    browser: Browser, viewport: dict[str, int], db_url: str, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    tag = "-phone" if viewport == PHONE else ""
    db = Database(db_url)
    gate, token = SetupGate.new()
    server, task, url = await serve(create_app(db, keyring=make_keyring(), config=console_config, setup=gate))
    violations: list[str] = []
    try:
        page = await _page(browser, viewport, violations)
        await page.goto(f"{url}/setup")
        await expect(page.locator("#setup")).to_have_attribute("data-step", "locked")
        await assert_accessible(page)

        await page.goto(f"{url}/setup?token={token}")
        assert page.url == f"{url}/setup"  # the token left the address bar at once
        await expect(page.locator("#setup")).to_have_attribute("data-step", "account")
        await page.fill("#email", EMAIL)
        await page.fill("#passphrase", "short")
        await expect(page.locator("#strength-text")).to_contain_text("too short")
        await page.fill("#passphrase", PASSPHRASE)
        await expect(page.locator("#strength-text")).to_contain_text("strong")
        assert float(await page.eval_on_selector("#strength", "m => m.value")) >= 50
        await page.fill("#passphrase2", PASSPHRASE)
        await assert_accessible(page)
        await page.screenshot(path=str(SHOTS / f"setup-account{tag}.png"), full_page=True)
        await page.click("#setup button[type=submit]")

        await expect(page.locator("#setup")).to_have_attribute("data-step", "totp")
        await expect(page.locator("img.qr")).to_be_visible()
        assert await page.eval_on_selector("img.qr", "i => i.naturalWidth") > 100  # the QR really rendered
        await assert_accessible(page)
        await page.screenshot(path=str(SHOTS / f"setup-authenticator{tag}.png"), full_page=True)
        secret_b32 = (await page.text_content("#totp-secret") or "").strip()
        secret = b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
        await page.fill("#code", totp(secret, clock.now))
        await page.click("form[action='/setup/totp'] button[type=submit]:not([name])")

        await expect(page.locator("#setup")).to_have_attribute("data-step", "recovery")
        codes = await page.locator("#recovery-codes code").all_text_contents()
        assert len(codes) == 10
        await assert_accessible(page)
        if viewport == PHONE:
            await assert_fits(page, PHONE["width"])
        await page.screenshot(path=str(SHOTS / f"setup-recovery-codes{tag}.png"), full_page=True)

        await page.click("#setup-login")
        await page.fill("#email", EMAIL)
        await page.fill("#passphrase", PASSPHRASE)
        await page.fill("#code", codes[0])
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{url}/integrations")  # the next setup step: integrations
        await page.goto(f"{url}/setup")
        assert page.url.startswith(f"{url}/login")  # the setup is closed for good
        assert violations == []
        await page.context.close()
    finally:
        server.should_exit = True
        await task
        await db.dispose()


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, scripted()) as ac:
        yield ac


async def _one_approval_waiting(ac: AgentConsole) -> None:
    cookies = await ac.console.browser_login()
    cid = await start_turn(ac.console, cookies, "reply to the last email from Dana")
    await read_events(ac.console, cookies, cid)
    assert len(await ac.services.approvals.pending()) == 1


async def test_every_page_on_a_desktop(browser: Browser, stack: AgentConsole) -> None:
    await _one_approval_waiting(stack)
    violations: list[str] = []
    page = await _page(browser, DESKTOP, violations)
    await login(page, stack.console)
    await expect(page.locator("#waiting-badge")).to_have_text("1 waiting")
    await expect(page.locator(".nav-phone")).to_be_hidden()
    for path in PAGES:
        await page.goto(f"{stack.console.url}{path}")
        await assert_accessible(page)
        await assert_fits(page, DESKTOP["width"])
        name = path.strip("/") or "home"
        await page.screenshot(path=str(SHOTS / f"page-{name}.png"), full_page=True)
    await page.goto(f"{stack.console.url}/login")
    await assert_accessible(page)
    assert violations == []
    await page.context.close()


async def test_every_page_and_the_navigation_on_a_phone(browser: Browser, stack: AgentConsole) -> None:
    await _one_approval_waiting(stack)
    violations: list[str] = []
    page = await _page(browser, PHONE, violations)
    await login(page, stack.console)
    nav = page.locator("#phone-nav")
    await expect(nav).to_be_visible()
    await expect(page.locator(".nav-full")).to_be_hidden()
    await expect(page.locator("#waiting-badge-phone")).to_have_text("1 waiting")
    box = await nav.bounding_box()
    assert box is not None and box["y"] + box["height"] >= PHONE["height"] - 1  # at the bottom
    assert box["height"] <= 100  # a bar, not a third of the screen
    await page.screenshot(path=str(SHOTS / "phone-home.png"))

    await nav.get_by_role("link", name="Approvals").click()
    await page.wait_for_url(f"{stack.console.url}/approvals")
    await nav.locator("summary").click()
    await expect(page.locator("#more-menu ul")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "phone-more-menu.png"))
    await assert_accessible(page)
    await page.locator("#more-menu").get_by_role("link", name="Sessions").click()
    await page.wait_for_url(f"{stack.console.url}/sessions")
    await expect(page.locator("#more-menu summary")).to_have_class("current")
    # The sessions table is a stack of cards: the Revoke button is on screen, not off to the right.
    revoke = page.locator("#sessions button", has_text="Revoke").first
    await expect(revoke).to_be_visible()
    rbox = await revoke.bounding_box()
    assert rbox is not None and rbox["x"] + rbox["width"] <= PHONE["width"]
    await expect(page.locator("#sessions thead")).to_have_css("position", "absolute")
    await page.screenshot(path=str(SHOTS / "phone-sessions.png"), full_page=True)

    for path in PAGES:
        await page.goto(f"{stack.console.url}{path}")
        await assert_fits(page, PHONE["width"])
        await assert_accessible(page)
        name = path.strip("/") or "home"
        await page.screenshot(path=str(SHOTS / f"phone-page-{name}.png"), full_page=True)
    assert violations == []
    await page.context.close()


async def test_static_assets_are_served(stack: AgentConsole) -> None:
    async with httpx.AsyncClient(base_url=stack.console.url) as http:
        for name in ("/static/charts.js", "/static/setup.js", "/static/vendor/chart.umd.min.js"):
            assert (await http.get(name)).status_code == 200, name
