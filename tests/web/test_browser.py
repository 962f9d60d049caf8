"""The whole flow in a real browser: Playwright for Python driving Debian's chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.web.conftest import Console

pytestmark = pytest.mark.anyio

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


async def _login(page: Page, console: Console) -> None:
    await page.goto(f"{console.url}/login")
    await page.fill("#email", console.email)
    await page.fill("#passphrase", console.passphrase)
    await page.fill("#code", console.fresh_code())
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{console.url}/")


def _watch_csp(page: Page, violations: list[str]) -> None:
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


async def test_login_audit_sessions_logout_in_chromium(console: Console, chromium: Path) -> None:
    async with async_playwright() as pw:
        # No try/except: if the installed browser cannot start, this test fails.
        browser: Browser = await pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            violations: list[str] = []
            _watch_csp(page, violations)

            await page.goto(f"{console.url}/")
            assert page.url == f"{console.url}/login"  # protected page: redirected
            await _login(page, console)
            assert await page.text_content("#who") == console.email
            await page.screenshot(path=str(SHOTS / "home.png"), full_page=True)

            cookies = {c["name"]: c for c in await context.cookies()}
            # Chromium accepts __Host- cookies on http://127.0.0.1 (a potentially trustworthy origin).
            assert set(cookies) == {"__Host-aegis_access", "__Host-aegis_refresh", "__Host-aegis_csrf"}
            assert cookies["__Host-aegis_access"]["httpOnly"] and cookies["__Host-aegis_refresh"]["httpOnly"]
            assert not cookies["__Host-aegis_csrf"]["httpOnly"]
            assert all(c["sameSite"] == "Strict" and c["secure"] for c in cookies.values())
            assert await page.evaluate("document.cookie.includes('aegis_access')") is False

            await page.click("#admin-menu summary")
            await page.click("nav a:visible:has-text('Audit log')")
            await page.wait_for_url(f"{console.url}/audit")
            assert "Hash chain verified" in (await page.text_content("#chain") or "")
            actions = await page.locator("#audit td.action").all_text_contents()
            assert "auth.login" in actions
            await page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)

            await page.click("#admin-menu summary")  # the System menu
            await page.click("nav a:visible:has-text('Sessions')")
            await page.wait_for_url(f"{console.url}/sessions")
            assert await page.locator("#sessions tbody tr").count() == 1
            assert "(this session)" in (await page.text_content("#sessions") or "")
            await page.screenshot(path=str(SHOTS / "sessions.png"), full_page=True)

            await page.click("#logout")
            await page.wait_for_url(f"{console.url}/login")
            await page.goto(f"{console.url}/sessions")
            assert page.url == f"{console.url}/login?next=%2Fsessions"  # and back there after logging in
            assert violations == []

            phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            mobile = await phone.new_page()
            _watch_csp(mobile, violations)
            await _login(mobile, console)
            assert await mobile.text_content("#who") == console.email
            width = await mobile.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # nothing forces sideways scrolling on a phone
            await mobile.screenshot(path=str(SHOTS / "home-phone.png"), full_page=True)
            await mobile.goto(f"{console.url}/audit")
            await mobile.screenshot(path=str(SHOTS / "audit-phone.png"), full_page=True)
            assert violations == []
        finally:
            await browser.close()
