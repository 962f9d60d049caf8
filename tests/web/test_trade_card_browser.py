"""An order the owner asked for, held for approval: its card in plain words with what Schwab's
preview says now (account masked, latest quote and its time, estimated notional, how it was
priced), the step-up code field, on a desktop and a phone, under the strict CSP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.web.agent_stack import AgentConsole, agent_console, form_headers, read_events, scripted, start_turn
from tests.web.browser_kit import screenshot_both
from tests.web.conftest import FakeClock
from tests.web.test_browser import CHROMIUM, SHOTS
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
    cookies = await stack.console.browser_login()
    aid = await _held_order(stack, cookies)

    async def ready(page: Page) -> None:
        assert await page.locator("#facts").is_visible()

    assert await screenshot_both(stack.console, f"/approvals/{aid}", "order-approval", ready, SHOTS) == []
