"""The content page in Debian's Chromium at 1280×800 and on a 390×844 phone: nothing scrolls sideways,
axe finds nothing serious, the strict CSP holds, a refused save keeps the text, the engagement chart
is drawn, and the length counter follows typing."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.web.browser_kit import screenshot_both
from tests.web.conftest import FakeClock
from tests.web.content_fake import FakeContent, clock_now, content_console
from tests.web.test_browser import CHROMIUM, SHOTS
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio


async def ready(page: Page) -> None:
    # A refused save comes back with the owner's text and the engine's reason.
    mine = "My password is in this one\nand a second line"
    await page.locator("#text-d-li").fill(mine)
    await page.locator("#draft-d-li button:has-text('Save')").click()
    await expect(page.locator("#error-d-li")).to_contain_text("Not saved: the text mentions a password")
    assert await page.locator("#text-d-li").input_value() == mine
    await expect(page.locator("#draft-d-li button:has-text('Save')")).to_be_enabled()
    await page.goto(page.url.split("/content/")[0] + "/content")  # the error page was the POST's answer
    await expect(page.locator("#draft-d-pub figure.chart")).to_have_attribute("data-drawn", "true")
    counter = page.locator("#count-d-li")
    assert "over" not in (await counter.get_attribute("class") or "")
    await page.locator("#text-d-li").fill("x" * 3001)
    await expect(counter).to_contain_text("about 3001 of 3000")
    await expect(counter).to_have_class("counter over")
    await page.locator("#text-d-li").fill("Small teams ship faster when they write things down.")
    await expect(counter).to_have_class("counter")


async def test_content_page_fits_a_phone_and_a_laptop(
    db_url: str, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    fake = FakeContent.around(clock_now(clock))
    async with content_console(db_url, clock, console_config, fake) as c:
        violations = await screenshot_both(c, "/content", "content", ready, Path(SHOTS), {"width": 1280, "height": 800})
    assert violations == []
