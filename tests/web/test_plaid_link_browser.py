"""Plaid Link in a real Chromium: only its page lets in Plaid's script and frame; the widget's link
token comes from Aegis, its public token goes back to Aegis and is exchanged on the server.

Plaid's script is the one thing faked, at the network edge: Playwright answers the request for
``https://cdn.plaid.com/link/v2/stable/link-initialize.js`` with a stand-in that behaves like Link
(``Plaid.create({token, onSuccess, onExit}).open()``) and finishes with a public token that the
sandbox bank issued, as Plaid's servers would. Everything behind the console is real."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, Route, async_playwright, expect

from integrations import Catalog
from tests.web.conftest import FakeClock
from tests.web.harness_data import Live, start_live
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _login, _watch_csp
from web.config import ConsoleConfig

PLAID_LINK_SCRIPT = Catalog.load().manifests["plaid"].connect.csp["script-src"][0]

pytestmark = pytest.mark.anyio


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


def fake_link(public_token: str) -> str:
    """Link's shape: create() with the link token and callbacks; open() ends in onSuccess."""
    return (
        "window.Plaid = { create(config) { window.linkToken = config.token; return {"
        f" open() {{ setTimeout(() => config.onSuccess({json.dumps(public_token)},"
        " { institution: { name: 'First Platypus Bank' } }), 20); },"
        " exit() {}, destroy() {} }; } };"
    )


async def _serve_link(page: Page, script: str | None) -> None:
    async def answer(route: Route) -> None:
        if script is None:
            await route.abort("internetdisconnected")
        else:
            await route.fulfill(status=200, content_type="application/javascript", body=script)

    await page.route(PLAID_LINK_SCRIPT, answer)


async def test_plaid_link_connects_a_bank_in_chromium(live: Live) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = live.console.url
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = await (await browser.new_context()).new_page()
            _watch_csp(page, violations)
            await _login(page, live.console)

            # Plaid's script cannot be fetched: the page says so and offers nothing to click.
            await _serve_link(page, None)
            await page.goto(f"{url}/integrations/plaid/connect")
            await expect(page.locator("#plaid-status")).to_contain_text("could not be loaded")
            await expect(page.locator("#plaid-open")).to_be_disabled()
            await page.unroute(PLAID_LINK_SCRIPT)

            # A public token Plaid never issued: the exchange is refused and nothing is stored.
            await _serve_link(page, fake_link("public-sandbox-00000000-0000-0000-0000-000000000000"))
            await page.goto(f"{url}/integrations/plaid/connect")
            await page.click("#plaid-open")
            await expect(page.locator("#plaid-status")).to_contain_text("Nothing was saved")
            assert page.url == f"{url}/integrations/plaid/connect"
            await page.unroute(PLAID_LINK_SCRIPT)

            # The real path: link token from Aegis, Link finishes, Aegis exchanges on the server.
            exchanges = live.bank.calls.count("/item/public_token/exchange")
            await _serve_link(page, fake_link(live.bank.issue_public_token()))
            response = await page.goto(f"{url}/integrations/plaid/connect")
            assert response is not None
            policy = response.headers["content-security-policy"]
            assert f"script-src 'self' {PLAID_LINK_SCRIPT};" in policy
            assert "frame-src 'self' https://cdn.plaid.com/;" in policy
            assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
            await expect(page.locator("#plaid-open")).to_be_enabled()
            await page.screenshot(path=str(SHOTS / "plaid-link.png"), full_page=True)
            await page.click("#plaid-open")
            await page.wait_for_url(f"{url}/integrations?notice=connected&i=plaid#plaid")
            await expect(page.locator("#notice")).to_contain_text("Connected.")
            link_token = await page.evaluate("window.linkToken")
            assert link_token is None  # a new page: the token lived only on the Link page
            assert live.bank.calls.count("/item/public_token/exchange") == exchanges + 1

            # Only the Link page is widened; every other page keeps the strict policy.
            other = await page.goto(f"{url}/integrations")
            assert other is not None and "plaid" not in other.headers["content-security-policy"]
        finally:
            await browser.close()
    assert violations == []
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="integration.link")
    done = [(r["resource"], r["result"]) for r in rows]
    assert ("tool:plaid.exchange_public_token", "ok") in done
    assert ("tool:plaid.exchange_public_token", "fail") in done
    assert done.count(("tool:plaid.create_link_token", "ok")) == 2
