"""The memory in Chromium: a live answer cites the memory it used as a link to the memory page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from agent.model import ScriptedModel
from tests.web.agent_stack import AgentConsole, agent_console
from tests.web.conftest import FakeClock
from tests.web.passkey_browser import CHROMIUM, SHOTS, phone
from tests.web.test_memory_page import memory_script
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    model = ScriptedModel(memory_script)
    async with agent_console(db_url, tmp_path, clock, console_config, model, console_tools=True) as ac:
        yield ac


async def _ask(page: Page, base: str, text: str) -> None:
    await page.goto(f"{base}/chat")
    await page.fill("#text", text)
    await page.click("#send")
    await page.wait_for_url("**/chat/*")
    await expect(page.locator("#live")).to_have_attribute("data-finished", "1", timeout=15_000)


async def test_a_live_answer_links_the_memory_it_used(stack: AgentConsole) -> None:
    c = stack.console
    async with phone(c.url) as p:
        await p.login_with_code(c)
        await _ask(p.page, c.url, "remember that I don't eat pork")
        await expect(p.page.locator("#live")).to_contain_text("Noted (active)")
        await _ask(p.page, c.url, "what do I eat?")
        cite = p.page.locator("#live a.memory-cite")
        await expect(cite).to_have_count(1)
        href = await cite.get_attribute("href")
        assert href is not None and href.startswith("/memory/") and len(href) == len("/memory/") + 36
        await cite.click()
        await p.page.wait_for_url(f"{c.url}{href}")
        await expect(p.page.locator("#memory-text")).to_have_text("I don't eat pork")
        await expect(p.page.locator("#uses li")).to_have_count(1)
        await p.page.screenshot(path=str(SHOTS / "memory-item.png"), full_page=True)
        await p.page.goto(f"{c.url}/memory")
        await expect(p.page.locator("#active li")).to_have_count(1)
        await p.page.screenshot(path=str(SHOTS / "memory.png"), full_page=True)
