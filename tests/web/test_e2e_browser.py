"""End to end in a real Chromium (Playwright for Python): log in with TOTP, ask a question the model
answers with a tool call, watch it stream and expand the tool trace, have a send held for approval,
approve it with a step-up code, see the mail go and the audit rows; then again on a phone.

Everything behind the browser is real (broker, call tokens, MCP servers in-process on demo data,
registry pins, gateway, stores, audit chain) except the scripted model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.web.agent_stack import DANA, AgentConsole, GatedModel, agent_console, scripted
from tests.web.browser_kit import assert_accessible
from tests.web.conftest import FakeClock
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
WAIT = 20_000  # ms


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture
def model() -> GatedModel:
    return GatedModel(scripted())


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig, model: GatedModel
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, model) as ac:
        yield ac


async def _login(page: Page, ac: AgentConsole) -> None:
    c = ac.console
    await page.goto(f"{c.url}/chat")
    assert page.url == f"{c.url}/login?next=%2Fchat"
    await page.fill("#email", c.email)
    await page.fill("#passphrase", c.passphrase)
    await page.fill("#code", c.fresh_code())  # RFC 6238 computed by the test, not by the console
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{c.url}/chat")  # back to the page it came for


async def _ask(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")
    await page.wait_for_url("**/chat/*")


async def _open_tool(page: Page, tool: str) -> None:
    details = page.locator("#thread details.tool", has_text=tool).last
    await details.locator("summary").click()
    await expect(details).to_have_attribute("open", "")


async def _send_and_approve(page: Page, ac: AgentConsole, shot: str) -> str:
    """Dana's reply: held by the gateway, opened from the chat's link, approved with a fresh code."""
    c = ac.console
    await page.click("#new-conversation")
    await _ask(page, "reply to the last email from Dana")
    await expect(page.locator("#thread")).to_contain_text("waiting for your approval", timeout=WAIT)
    # The trace says it in words, with the approval link in view before any fold is opened.
    inline = page.locator("#thread a.approval-inline").last
    await expect(inline).to_be_visible()
    await expect(page.locator("#thread .tool-sentence").last).to_have_text(
        "Waiting for your approval to send this email."
    )
    await _open_tool(page, "gmail.send")
    link = page.locator("#thread a.approval-link").last
    href = await link.get_attribute("href")
    assert href is not None and href.startswith("/approvals/")
    assert await inline.get_attribute("href") == href
    await page.click("nav a:visible:has-text('Approvals')")
    await page.wait_for_url(f"{c.url}/approvals")
    await expect(page.locator(f'#pending a[href="{href}"]')).to_be_visible()
    await page.screenshot(path=str(SHOTS / f"approvals{shot}.png"), full_page=True)
    await page.click(f'#pending a[href="{href}"]')
    await page.wait_for_url(f"{c.url}{href}")
    await page.goto(f"{c.url}{href}")  # the phone notification's deep link lands on the same card
    card = page.locator("#card")
    await expect(card).to_have_attribute("data-state", "pending")
    await expect(card.locator('[data-arg="to"]')).to_contain_text(DANA)
    await expect(card.locator('[data-arg="to"] .chip')).to_contain_text("from untrusted: email")
    await expect(card.locator('[data-arg="body"]')).to_contain_text("Thanks⟨U+200B⟩ for the draft")
    await expect(card.locator("#original-request")).to_have_text("reply to the last email from Dana")
    await expect(page.locator("#card-title")).to_contain_text("Aegis wants to send this email to")
    await expect(page.locator("#card-pin")).to_be_hidden()  # internals under the "details" fold
    await assert_accessible(page)
    await page.screenshot(path=str(SHOTS / f"approval-card{shot}.png"), full_page=True)
    sent_before = len(ac.mailbox.sent)
    await page.fill("#step_up_code", c.fresh_code())  # a new time step: a used code is refused
    await page.click("#approve")
    await expect(page.locator("#card-state")).to_have_text("approved and run", timeout=WAIT)
    await expect(page.locator("#decision-note")).to_contain_text("approved; ran")
    assert len(ac.mailbox.sent) == sent_before + 1
    assert DANA.encode() in ac.mailbox.sent[-1]
    return href


async def _audit_shows_the_flow(page: Page, ac: AgentConsole, shot: str) -> None:
    url = ac.console.url
    await page.goto(f"{url}/audit")
    assert "Hash chain verified" in (await page.text_content("#chain") or "")
    await page.screenshot(path=str(SHOTS / f"audit-agent{shot}.png"), full_page=True)
    await page.goto(f"{url}/audit?action=tool.call")
    calls = await page.locator("#audit tbody tr").all_text_contents()
    assert any("gmail.send" in r and "allow" in r for r in calls)
    assert any("gmail.send" in r and "pending" in r for r in calls)
    assert any("plaid.balances" in r for r in calls) or shot  # the phone run asks no balance
    await page.goto(f"{url}/audit?action=approval.approve")
    rows = await page.locator("#audit tbody tr").all_text_contents()
    assert rows and all("approval.approve" in r for r in rows)


WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((e) => `${e.tagName}.${e.className}#${e.id}: ${(e.textContent || '').slice(0, 40)}`)"""


async def _fits(page: Page, width: int) -> None:
    """Nothing forces sideways scrolling on a phone."""
    wider = await page.evaluate(WIDEST)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, (page.url, wider)


async def _browser_flow(browser: Browser, ac: AgentConsole, model: GatedModel) -> None:
    violations: list[str] = []
    context: BrowserContext = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    _watch_csp(page, violations)
    await _login(page, ac)
    await page.click("nav a:visible:has-text('Chat')")

    model.gate = asyncio.Event()  # hold the model so the page opens while the turn runs
    await _ask(page, "what's my balance?")
    live = page.locator("#live")
    await expect(live).to_be_visible()
    await expect(page.locator("#stop")).to_be_visible()
    await expect(page.locator("#send")).to_be_disabled()
    model.gate.set()
    model.gate = None
    await expect(live).to_have_attribute("data-finished", "1", timeout=WAIT)  # streamed over SSE
    await expect(live).to_contain_text("Your balances: Plaid Credit Card")
    # Once finished, the streamed text becomes the console's Markdown rendering of the stored reply.
    await expect(live).to_have_attribute("data-formatted", "1", timeout=WAIT)
    await expect(live.locator(".body.md")).to_contain_text("Your balances: Plaid Credit Card")
    await expect(live.locator(".inert-link")).to_have_text("https://dashboard.plaid.example/accounts?view=all")
    assert await live.locator("a[href^='https://']").count() == 0
    await _open_tool(page, "plaid.balances")
    trace = live.locator("details.tool").first
    await expect(trace.locator(".tool-status")).to_have_text("ok")
    await expect(trace.locator(".tool-rules")).to_have_text("R12_DEFAULT_ALLOW")
    await expect(trace.locator(".tool-label")).to_contain_text("integrity SYSTEM, confidentiality PRIVATE")
    await expect(trace.locator(".tool-result")).to_contain_text("Plaid Checking")
    await expect(page.locator("#stop")).to_have_count(0)
    await expect(page.locator("#send")).to_be_enabled()
    await page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)

    await _send_and_approve(page, ac, "")
    await _audit_shows_the_flow(page, ac, "")
    assert violations == []
    await context.close()

    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = await phone.new_page()
    _watch_csp(mobile, violations)
    await _login(mobile, ac)
    await mobile.click("nav a:visible:has-text('Chat')")
    await _fits(mobile, 390)
    await _send_and_approve(mobile, ac, "-phone")
    await _fits(mobile, 390)
    await mobile.goto(f"{ac.console.url}/chat")
    await mobile.locator("#conversations a").first.click()
    await _open_tool(mobile, "gmail.send")
    await _fits(mobile, 390)
    await mobile.screenshot(path=str(SHOTS / "chat-phone.png"), full_page=True)
    await _audit_shows_the_flow(mobile, ac, "-phone")
    assert violations == []
    await phone.close()


async def test_chat_approve_audit_in_chromium(stack: AgentConsole, model: GatedModel, chromium: Path) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            await _browser_flow(browser, stack, model)
        finally:
            await browser.close()
    assert len(stack.mailbox.sent) == 2
    assert await stack.services.approvals.pending() == []
