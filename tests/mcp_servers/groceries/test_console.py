"""The console side of groceries: the approval card the job leaves, the printable list after
approval, and the settings form (a bad value is refused with a clear message and changes nothing).
In Chromium at 1280 px and 390x844, with screenshots."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from agent.gateway.policy import PolicyContext
from integrations import Catalog
from storage.db import Database
from tests.mcp_servers.groceries.conftest import START, Rig, _Tokens
from tests.web.browser_kit import login
from tests.web.conftest import CHEAP_ARGON2, Console, FakeClock, enroll, serve
from tests.web.passkey_browser import ARGS, CHROMIUM, SHOTS
from web.app import create_app
from web.config import ConsoleConfig
from web.data import ConsoleData, ToolAccess

pytestmark = pytest.mark.anyio
PLAN = f"plan-{START}"
VIEWPORTS: tuple[tuple[str, ViewportSize], ...] = (
    ("desktop", {"width": 1280, "height": 900}),
    ("phone", {"width": 390, "height": 844}),
)


@dataclass
class Live:
    console: Console
    rig: Rig
    cookies: dict[str, str]


@pytest.fixture
async def live(rig: Rig, db: Database) -> AsyncIterator[Live]:
    clock = FakeClock()
    config = ConsoleConfig(clock=clock, argon2=CHEAP_ARGON2, auth_rate=(100.0, 1000), api_rate=(1000.0, 5000))
    parts = rig.parts

    def context() -> PolicyContext:
        return parts.policy_context("console", [], [])

    tools = ToolAccess(
        gateway=parts.gateway,
        context=context,
        registry=rig.registry,
        host=rig.host,
        tokens=_Tokens(),
        scopes=Catalog.load().tool_scopes,
    )
    secret, codes = await enroll(db, rig.keyring, config, clock.now)
    app = create_app(db, keyring=rig.keyring, config=config, agent=parts.services, data=ConsoleData(tools=tools))
    server, task, url = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=20, follow_redirects=False) as http:
            c = Console(url, http, clock, db, rig.keyring, app, secret, codes)
            yield Live(c, rig, await c.browser_login())
    finally:
        server.should_exit = True
        await task


def _headers(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def _get(live: Live, path: str) -> httpx.Response:
    return await live.console.http.get(path, headers=_headers(live.cookies))


async def _post(live: Live, path: str, fields: dict[str, Any]) -> httpx.Response:
    csrf = live.cookies["__Host-aegis_csrf"]
    return await live.console.http.post(path, data={"csrf_token": csrf, **fields}, headers=_headers(live.cookies))


async def test_the_card_shows_the_list_and_totals_and_the_page_prints_the_approved_plan(live: Live) -> None:
    aid = (await live.rig.calls.sync("groceries", "job-token", "grocery_order"))["approval"]
    card = html.unescape((await _get(live, f"/approvals/{aid}")).text)
    assert "deliver this grocery list to you" in card
    assert "Thu 3 Dec: protein" in card and "goal at least 175 g" in card and "limit 1900 kcal" in card
    result = await live.rig.parts.services.approvals.approve(aid, step_up_done=True)
    page = await _get(live, result.content["page"])
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Grocery list" in text and "approved" in text and "Shopping list" in text
    assert "Each day against your goals" in text and "Chicken breast" in text
    assert "/static/document.css" in text and 'id="print-page"' in text
    latest = html.unescape((await _get(live, "/integrations/groceries/pages/plan")).text)
    assert "Thu 3 Dec to Sun 6 Dec" in latest  # no id: the latest plan
    assert (await _get(live, "/integrations/groceries/pages/nope")).status_code == 404
    bad = html.unescape((await _get(live, "/integrations/groceries/pages/plan?id=../../etc")).text)
    assert "could not be read" in bad


async def test_settings_are_saved_validated_and_used_by_the_next_plan(live: Live) -> None:
    page = html.unescape((await _get(live, "/integrations/groceries/settings")).text)
    assert 'value="175"' in page and 'value="1900"' in page
    fields = {
        "protein_min_g": "180",
        "kcal_max": "1850",
        "kcal_min": "1500",
        "vegetables_min_g": "200",
        "days": "4",
        "budget_usd": "",
        "like": "salmon, Greek yogurt",
        "exclude": "meat",
        "adapt_to_activity": "on",
    }
    r = await _post(live, "/integrations/groceries/settings", fields)
    assert r.status_code == 303 and r.headers["location"].endswith("notice=saved")
    saved = await live.rig.store.settings()
    assert (saved.protein_min_g, saved.kcal_max, saved.like, saved.exclude) == (
        180,
        1850,
        ("salmon", "greek_yogurt"),
        ("meat",),
    )
    for bad, says in (
        ({**fields, "kcal_min": "2000"}, "energy floor"),
        ({**fields, "exclude": "unicorn"}, "unknown foods"),
        ({**fields, "protein_min_g": "lots"}, "protein_min_g"),
    ):
        r = await _post(live, "/integrations/groceries/settings", bad)
        assert r.status_code == 422 and says in html.unescape(r.text), r.text[-800:]
        assert await live.rig.store.settings() == saved  # nothing changed
    summary = await live.rig.calls.sync("groceries", "job-token", "grocery_order")
    plan = await live.rig.store.get(PLAN)
    assert plan is not None and summary["approval"]
    assert plan.body["goals"]["protein_min_g"] == 180 and plan.body["goals"]["kcal_max"] == 1850
    assert not any(i["key"] in ("chicken_breast", "turkey_breast", "lean_beef") for i in plan.body["shopping"])


async def _shoot(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    await page.screenshot(path=str(SHOTS / name), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= (page.viewport_size or {"width": 0})["width"], name


async def test_screenshots_of_the_card_and_the_printable_page(live: Live) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    aid = (await live.rig.calls.sync("groceries", "job-token", "grocery_order"))["approval"]
    c = live.console
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for label, viewport in VIEWPORTS:
                context = await browser.new_context(viewport=viewport)
                page = await context.new_page()
                await login(page, c)
                await page.screenshot(path=str(SHOTS / f"groceries-home-{label}.png"), full_page=True)
                await _shoot(page, f"{c.url}/approvals/{aid}", f"groceries-approval-{label}.png")
                await _shoot(page, f"{c.url}/integrations/groceries/pages/plan", f"groceries-list-{label}.png")
                await expect(page.locator("#print-page")).to_be_visible()
                await page.emulate_media(media="print")
                await page.screenshot(path=str(SHOTS / f"groceries-list-print-{label}.png"), full_page=True)
                await expect(page.locator("header.top")).to_be_hidden()
                await page.emulate_media(media="screen")
                await _shoot(page, f"{c.url}/integrations/groceries/settings", f"groceries-settings-{label}.png")
                await context.close()
        finally:
            await browser.close()
