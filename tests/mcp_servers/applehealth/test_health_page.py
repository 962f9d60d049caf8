"""The console's health page over the real Apple Health server (90 demo days), in Chromium at
1280 px and on a phone, under the console's strict CSP; and the summary tool the page reads."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from mcp import Client
from playwright.async_api import async_playwright, expect

from mcp_servers._common import CallGate, audit_log
from mcp_servers.applehealth.server import HealthDeps, build_server
from mcp_servers.applehealth.store import HealthStore
from storage.audit import AuditEvent
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.applehealth.test_backfill import _export
from tests.mcp_servers.conftest import Clock, Tokens
from tests.web.browser_kit import PHONE, assert_fits, login
from tests.web.conftest import CHEAP_ARGON2, Console, FakeClock, cookie_header, enroll, make_keyring, serve
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS, _watch_csp
from tools.applehealth.demo import demo_payload
from tools.applehealth.parse import parse_payload
from web.app import create_app
from web.config import ConsoleConfig
from web.data import ConsoleData, ToolAccess, ToolResult

pytestmark = pytest.mark.anyio
TODAY = dt.date(2026, 12, 2)
NOON = dt.datetime.combine(TODAY, dt.time(12), dt.UTC).timestamp()


@dataclass
class ServerTools:
    """The console's READ path, straight to the real server (the gateway has its own tests)."""

    client: Client
    tokens: Tokens
    reads: list[str]

    async def read(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        self.reads.append(tool)
        server, _, name = tool.partition(".")
        if server != "applehealth":
            return ToolResult(False, error="not running")
        out = await self.client.call_tool(name, dict(args or {}), meta=self.tokens.meta("health.read"))
        if out.is_error:
            return ToolResult(False, error="failed")
        return ToolResult(True, out.structured_content)

    async def console_only(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        meta = self.tokens.meta("health.ingest")
        out = await self.client.call_tool(tool.partition(".")[2], dict(args or {}), meta=meta)
        if out.is_error:
            return ToolResult(False, error=" ".join(getattr(c, "text", "") for c in out.content))
        return ToolResult(True, out.structured_content)


@dataclass
class Page:
    console: Console
    tools: ServerTools
    cookies: dict[str, str]

    async def get(self, path: str) -> httpx.Response:
        return await self.console.http.get(path, headers=cookie_header(self.cookies))


@pytest.fixture
async def page(
    db: Database, db_url: str, make_gate: Callable[[str], CallGate], signing_key: Any, clock: Clock
) -> AsyncIterator[Page]:
    keys = [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("health", "chain") for p in ("enc", "idx")]
    ring = Keyring(keys)
    store = HealthStore(db, FieldCipher(ring), audit_log(ring, "health"))
    await store.ingest(parse_payload(demo_payload(TODAY)), AuditEvent("test", "health.ingest", "ok"))
    server = build_server(HealthDeps(store=store, gate=make_gate("applehealth"), today=lambda: TODAY))
    web_clock = FakeClock()
    config = ConsoleConfig(clock=web_clock, argon2=CHEAP_ARGON2, auth_rate=(100.0, 1000), api_rate=(1000.0, 5000))
    console_db = Database(db_url)
    keyring = make_keyring()
    secret, codes = await enroll(console_db, keyring, config, web_clock.now)
    async with Client(server) as client:
        tools = ServerTools(client, Tokens(signing_key, clock, "applehealth"), [])
        data = ConsoleData(tools=cast(ToolAccess, tools), clock=lambda: NOON)
        app = create_app(console_db, keyring=keyring, config=config, data=data)
        http_server, task, url = await serve(app)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=20, follow_redirects=False) as http:
                console = Console(url, http, web_clock, console_db, keyring, app, secret, codes)
                yield Page(console, tools, await console.browser_login())
        finally:
            http_server.should_exit = True
            await task


def _table(html: str, section: str) -> list[list[str]]:
    block = re.search(rf'<section class="card" id="{section}">.*?</section>', html, re.S)
    assert block, section
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", block.group(0), re.S)
    return [[label, *re.findall(r'<td class="num">([^<]*)</td>', cells)] for label, cells in rows]


async def test_week_month_and_year_show_every_chart_from_the_demo_data(page: Page) -> None:
    week = await page.get("/health/overview")
    assert week.status_code == 200
    for section in ("steps", "sleep", "resting_hr", "hrv_ms", "weight_kg", "active_kcal", "workouts"):
        assert f'id="chart-{section}"' in week.text
    steps = _table(week.text, "chart-steps")
    assert len(steps) == 7 and steps[-1][0] == "Wed 02 Dec"
    assert steps[-1][1] == "n/a"  # today: no steps pushed yet, not zero
    assert all(5200 <= float(v.replace(",", "")) <= 13800 for _, v in steps[:-1])
    sleep = _table(week.text, "chart-sleep")
    assert len(sleep) == 7 and all(len(row) == 5 for row in sleep)  # deep, REM, core, awake
    month = await page.get("/health/overview?period=month")
    assert len(_table(month.text, "chart-resting_hr")) == 30
    year = await page.get("/health/overview?period=year")
    weeks = _table(year.text, "chart-weight_kg")
    assert 52 <= len(weeks) <= 54
    assert weeks[0][1] == "n/a" and weeks[-3][1] != "n/a"  # 90 days of data in a year's view
    assert "Weight, latest" in year.text and "applehealth.summary" in page.tools.reads
    workouts = re.findall(r'<td data-label="kcal" class="num">([^<]*)</td>', week.text)
    assert workouts and all(float(k) > 0 for k in workouts)  # the energy a workout burned is shown


async def test_a_source_that_fails_says_so_instead_of_showing_nothing(page: Page) -> None:
    async def broken(tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        if tool.endswith(".summary"):
            return ToolResult(False, error="the store is unreachable")
        return await ServerTools.read(page.tools, tool, args)

    page.tools.read = broken  # type: ignore[method-assign]
    r = await page.get("/health/overview")
    assert "Apple Health needs attention: the store is unreachable" in r.text
    assert 'id="health-empty"' in r.text


async def test_the_page_in_chromium_desktop_and_phone(page: Page) -> None:
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for viewport, tag in (({"width": 1280, "height": 900}, ""), (PHONE, "-phone")):
                context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                tab = await context.new_page()
                _watch_csp(tab, violations)
                tab.on("pageerror", lambda e: violations.append(f"page error: {e}"))
                await login(tab, page.console)
                await tab.goto(f"{page.console.url}/health/overview?period=month")
                for section in ("steps", "sleep", "weight_kg"):
                    figure = tab.locator(f"#chart-{section} figure.chart")
                    await expect(figure).to_have_attribute("data-drawn", "true")
                await assert_fits(tab, viewport["width"])
                await tab.screenshot(path=str(SHOTS / f"health{tag}.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
    assert violations == []


async def test_the_backfill_upload_shows_its_progress_and_stores_once(page: Page, tmp_path: Path) -> None:
    export = _export(tmp_path / "export.xml", 500)  # about 3 MB: several pieces
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            tab = await context.new_page()
            await login(tab, page.console)
            await tab.goto(f"{page.console.url}/integrations/applehealth/devices")
            await tab.set_input_files("#upload-file", str(export))
            await tab.click("#upload-start")
            status = tab.locator("#upload-status")
            await expect(status).to_contain_text("Done:", timeout=60_000)
            await expect(status).to_contain_text(f"{500 * 26} samples read, {500 * 26} new")
            bar = tab.locator("#upload-progress")
            size = str(export.stat().st_size)
            assert await bar.get_attribute("max") == await bar.evaluate("b => String(b.value)") == size
            await tab.screenshot(path=str(SHOTS / "health-upload.png"), full_page=True)
            await tab.click("#upload-start")  # the same file again: nothing stored twice
            await expect(status).to_contain_text(f"Done: {500 * 26} samples read, 0 new", timeout=60_000)
            await context.close()
        finally:
            await browser.close()
