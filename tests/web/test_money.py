"""The money page: the finance integrations' declared sections (brokerage value over time, holdings
and allocation, balances, spending, the week's largest movements), each read through the gateway,
drawn by Chart.js under the strict CSP on a desktop and a phone."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from integrations import Catalog
from tests.web.browser_kit import screenshot_both
from tests.web.conftest import Console, FakeClock, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from tests.web.test_browser import CHROMIUM, SHOTS
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


def _sections(html: str) -> dict[str, str]:
    found = re.findall(r'<section class="card panel" id="panel-([a-z]+-[a-z_]+)".*?</section>', html, re.S)
    bodies = re.findall(r'(<section class="card panel" id="panel-[a-z]+-[a-z_]+".*?</section>)', html, re.S)
    assert len(found) == len(bodies)
    return dict(zip(found, bodies, strict=True))


async def test_without_an_agent_every_section_says_not_connected(console: Console) -> None:
    cookies = await console.browser_login()
    html = (await console.http.get("/money", headers=cookie_header(cookies))).text
    sections = _sections(html)
    assert list(sections) == [f"{p.integration or 'core'}-{p.view.id}" for p in Catalog.load().money()]
    assert all('data-state="not_connected"' in body for body in sections.values())
    assert 'href="/money" aria-current="page"' in html


async def test_the_money_page_composes_every_finance_integration(live: Live) -> None:
    cookies = await live.console.browser_login()
    r = await live.console.http.post(
        "/integrations/plaid/sandbox", data={"csrf_token": cookies["__Host-aegis_csrf"]}, headers=cookie_header(cookies)
    )
    assert r.status_code == 303
    html = (await live.console.http.get("/money", headers=cookie_header(cookies))).text
    sections = _sections(html)
    assert all('data-state="ok"' in body for body in sections.values()), sections.keys()
    # One net worth across the bank and the brokerage, from the day's snapshot: 90 days, split by part.
    worth = sections["core-net_worth"].replace("&#34;", '"')
    spec = json.loads(unescape(re.search(r'data-chart="([^"]+)"', sections["core-net_worth"]).group(1)))  # type: ignore[union-attr]
    assert spec["kind"] == "line" and len(spec["labels"]) == 90  # the brokerage's demo history reaches 90 days
    assert [s["name"] for s in spec["series"]] == ["Net worth", "Banks and cards", "Brokerage"]
    total, bank, brokerage = (s["values"] for s in spec["series"])
    assert all(k is not None for k in brokerage) and sum(b is not None for b in bank) >= 60  # the bank's is shorter
    for t, b, k in zip(total, bank, brokerage, strict=True):
        assert t is None if b is None else abs(t - b - k) < 0.01  # a day without the bank's part has no total
    figure = re.search(r"<dt>Net worth \(USD\)</dt><dd>([0-9,.]+)</dd>", worth)
    assert figure and float(figure.group(1).replace(",", "")) == pytest.approx(total[-1])
    assert "Since yesterday" in worth and "Since a week ago" in worth and "Plaid Checking ••••0000" in worth
    holdings = sections["schwab-allocation"]
    assert "VTI" in holdings and "%" in holdings and '"kind":"doughnut"' in holdings.replace("&#34;", '"')
    assert "40817726" not in html  # account numbers stay masked
    assert "Spent in the last 30 days" in sections["plaid-spending"]
    assert sections["plaid-movements"].count("<li") >= 1
    assert "trade VTI" in sections["schwab-activity"]
    flow = sections["plaid-cash_flow"].replace("&#34;", '"')
    assert '"kind":"bar"' in flow and '"name":"Income"' in flow and '"name":"Spending"' in flow
    assert '"timeline":true' in flow and "Kept over these months" in flow


async def test_screenshots_desktop_and_phone(live: Live) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    cookies = await live.console.browser_login()
    await live.console.http.post(
        "/integrations/plaid/sandbox", data={"csrf_token": cookies["__Host-aegis_csrf"]}, headers=cookie_header(cookies)
    )

    async def ready(page: Page) -> None:
        for name in ("core-net_worth", "plaid-cash_flow", "schwab-allocation", "plaid-spending"):
            await expect(page.locator(f"#panel-{name} figure.chart").first).to_have_attribute("data-drawn", "true")

    desktop = {"width": 1280, "height": 800}
    assert await screenshot_both(live.console, "/money", "money", ready, SHOTS, desktop) == []
