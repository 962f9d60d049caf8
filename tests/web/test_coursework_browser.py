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

from tests.web.browser_kit import DESKTOP, PHONE, assert_fits, login
from tests.web.conftest import FakeClock
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
