"""Coursework on the console in Debian's Chromium, from the demo term of every coursework source: the
home page's deadlines panel merges them by date with status and course, each platform's grades draw
over time as one line per course, on a desktop and a phone; a browser source that needs the owner
shows so on the integrations page, with the page it saw."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from mcp_servers._coursework import LmsStore
from mcp_servers.pearson.models import TABLES
from storage.audit import AuditEvent
from tests.web.browser_kit import DESKTOP, PHONE, assert_fits, login
from tests.web.conftest import FakeClock, cookie_header
from tests.web.harness_data import Live, start_live
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
SOURCES = ("canvas", "blackboard", "pearson")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())  # the demo terms are dated around the real today


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with start_live(db_url, tmp_path, clock, console_config, demos=SOURCES) as lc:
        for name in SOURCES:
            manifest = lc.data.catalog.get(name)
            assert manifest is not None and manifest.jobs
            result = await lc.data.tools.read(manifest.jobs[0].tool) if lc.data.tools else None
            assert result is not None and result.ok, result
            lc.data.forget(name)
        yield lc


async def test_deadlines_from_all_three_sources_and_grades_over_time_on_desktop_and_phone(live: Live) -> None:
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for viewport, tag in ((DESKTOP, ""), (PHONE, "-phone")):
                context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                page = await context.new_page()
                _watch_csp(page, violations)
                page.on("pageerror", lambda e: violations.append(f"page error: {e}"))
                await login(page, live.console)
                panel = page.locator("#panel-core-deadlines")
                await expect(panel).to_be_visible()
                text = await panel.inner_text()
                for source in ("Canvas", "Blackboard", "Pearson Mastering"):
                    assert source in text, source
                assert "not submitted" in text and "submitted" in text
                assert "Problem Set 9: Eigenvalues" in text and "Chapter 14 Homework" in text
                await assert_fits(page, viewport["width"])
                await panel.screenshot(path=str(SHOTS / f"coursework-deadlines{tag}.png"))
                grades = page.locator("#panel-blackboard-grades figure.chart").first
                await expect(grades).to_have_attribute("data-drawn", "true")
                await grades.locator("summary").click()
                assert await grades.locator("thead th").count() == 3  # the day, and one line per course
                await page.locator("#panel-blackboard-grades").screenshot(
                    path=str(SHOTS / f"coursework-grades{tag}.png")
                )
                await context.close()
        finally:
            await browser.close()
    assert violations == []


async def test_a_browser_source_that_needs_the_owner_says_why_with_the_page_it_saw(live: Live) -> None:
    runtime = live.runtimes["pearson"]
    store = LmsStore(runtime.db, runtime.cipher, TABLES, "coursework")
    page = "<html><body><h1>Verify it's you</h1><script>alert(1)</script></body></html>"
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)  # the bytes a screenshot starts with
    sid = await store.keep_snapshot("pearson", "mfa", png, page)
    audit = runtime.audit
    event = AuditEvent("mcp:pearson", "coursework.needs_attention", "error", resource="mcp:pearson")
    await store.needs_attention(
        "mfa", "the site asks for a second factor (MFA)", sid, mode="browser", audit=audit, event=event
    )
    live.data.forget("pearson")
    cookies = await live.console.browser_login()
    html = (await live.console.http.get("/integrations", headers=cookie_header(cookies))).text
    card = html[html.index('id="pearson"') :]
    card = card[: card.index("</section>")]
    assert 'id="attention-pearson"' in card and "second factor (MFA)" in card
    assert "in a headless browser with your login" in card  # the mode, in plain words
    assert f'href="/integrations/pearson/snapshots/{sid}"' in card
    shown = await live.console.http.get(f"/integrations/pearson/snapshots/{sid}", headers=cookie_header(cookies))
    assert shown.status_code == 200
    assert 'src="data:image/png;base64,' in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text and "<script>alert(1)" not in shown.text
    missing = await live.console.http.get("/integrations/pearson/snapshots/nope", headers=cookie_header(cookies))
    assert missing.status_code == 404
