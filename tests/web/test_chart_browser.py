"""The home page's spending chart drawn by Chart.js (served by the console, under its strict CSP) in
Debian's Chromium, in light and dark mode, on a desktop and a phone; real Plaid sandbox data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.web.browser_kit import DESKTOP, PHONE, assert_accessible, assert_fits, login
from tests.web.conftest import FakeClock, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
TICK_COLOUR = "() => window.Chart.getChart(document.querySelector('.chart canvas')).options.scales.y.ticks.color"
FG = "() => getComputedStyle(document.documentElement).getPropertyValue('--fg').trim()"


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


async def test_spending_chart_light_dark_desktop_and_phone(live: Live) -> None:
    cookies = await live.console.browser_login()
    r = await live.console.http.post(
        "/integrations/plaid/sandbox", data={"csrf_token": cookies["__Host-aegis_csrf"]}, headers=cookie_header(cookies)
    )
    assert r.status_code == 303
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for viewport, tag in ((DESKTOP, ""), (PHONE, "-phone")):
                context = await browser.new_context(viewport=viewport, color_scheme="light")  # type: ignore[arg-type]
                page = await context.new_page()
                _watch_csp(page, violations)
                page.on("pageerror", lambda e: violations.append(f"page error: {e}"))
                await login(page, live.console)
                figure = page.locator("#panel-plaid-money figure.chart").first
                await expect(figure).to_have_attribute("data-drawn", "true")
                canvas = figure.locator("canvas")
                await expect(canvas).to_be_visible()
                box = await canvas.bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 150
                assert box["x"] + box["width"] <= viewport["width"]
                light = await page.evaluate(TICK_COLOUR)
                assert light == await page.evaluate(FG)
                await assert_accessible(page)
                await assert_fits(page, viewport["width"])
                await figure.screenshot(path=str(SHOTS / f"chart-light{tag}.png"))

                await page.emulate_media(color_scheme="dark")  # the chart follows, without a reload
                await page.wait_for_function(f"(light) => ({TICK_COLOUR})() !== light", arg=light)
                assert await page.evaluate(TICK_COLOUR) == await page.evaluate(FG)
                await assert_accessible(page)
                await page.screenshot(path=str(SHOTS / f"home-dark{tag}.png"), full_page=True)
                await figure.screenshot(path=str(SHOTS / f"chart-dark{tag}.png"))
                # The same figures stay available as a table.
                await figure.locator("summary").click()
                assert await figure.locator("tbody tr").count() >= 2
                await context.close()
        finally:
            await browser.close()
    assert violations == []
