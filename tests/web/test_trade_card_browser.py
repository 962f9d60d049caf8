"""An order the owner asked for, held for approval: its card in plain words with what Schwab's
preview says now (account masked, latest quote and its time, estimated notional, how it was
priced), the step-up code field, on a desktop and a phone, under the strict CSP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.web.agent_stack import AgentConsole, agent_console, form_headers, read_events, scripted, start_turn
from tests.web.browser_kit import DESKTOP, PHONE, assert_accessible, assert_fits, login
from tests.web.conftest import FakeClock
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
ASK = "Buy 3 SCHD at a limit of 28.50 in account 7726"


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, scripted()) as ac:
        yield ac


async def _held_order(stack: AgentConsole, cookies: dict[str, str]) -> str:
    cid = await start_turn(stack.console, cookies, ASK)
    results = [d for k, d in await read_events(stack.console, cookies, cid) if k == "tool_result"]
    assert [(r["tool"], r["status"]) for r in results] == [("schwab.place_order", "approval_required")]
    return str(results[0]["approval_id"])


async def test_the_order_card_says_what_it_would_do(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    aid = await _held_order(stack, cookies)
    html = (await c.http.get(f"/approvals/{aid}", headers=form_headers(cookies))).text
    facts = html.split('<dl class="figures" id="facts">', 1)[1].split("</dl>", 1)[0]
    for words in ("Account</dt><dd>••••7726", "Symbol</dt><dd>SCHD", "Limit price</dt><dd>28.50", "Latest quote"):
        assert words in facts
    assert "Estimated notional</dt><dd>85.50" in facts and "Priced from</dt><dd>your limit price" in facts
    assert "schwab.preview_order" in html and 'name="step_up_code"' in html
    assert "40817726" not in html


async def test_order_card_screenshots(stack: AgentConsole) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    cookies = await stack.console.browser_login()
    aid = await _held_order(stack, cookies)
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for viewport, tag in ((DESKTOP, ""), (PHONE, "-phone")):
                context = await browser.new_context(viewport=viewport, color_scheme="light")  # type: ignore[arg-type]
                page = await context.new_page()
                _watch_csp(page, violations)
                await login(page, stack.console)
                await page.goto(f"{stack.console.url}/approvals/{aid}")
                assert await page.locator("#facts").is_visible()
                await assert_accessible(page)
                await assert_fits(page, viewport["width"])
                await page.screenshot(path=str(SHOTS / f"order-approval{tag}.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
    assert violations == []
