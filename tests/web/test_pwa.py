"""Platform: installable PWA (manifest, icons, service worker, offline page), accessibility, phone
layout and dark mode, checked in Debian's Chromium on the Home, Integrations and Secrets pages."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.web.conftest import Console, FakeClock
from tests.web.harness_data import Live, demo_clock, start_live
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
CACHED = "caches.open('aegis-shell-v1').then((c) => c.keys()).then((ks) => ks.map((k) => new URL(k.url).pathname))"
PAGES = {"home-overview": "/", "integrations": "/integrations", "secrets": "/secrets"}

A11Y = """() => {
  const problems = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (!byFor && !el.closest("label") && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) {
      problems.push("unlabelled: " + el.outerHTML.slice(0, 100));
    }
  }
  const levels = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => Number(h.tagName[1]));
  if (levels[0] !== 1) problems.push("the first heading is not an h1");
  if (levels.filter((l) => l === 1).length !== 1) problems.push("not exactly one h1");
  levels.forEach((l, i) => {
    if (i > 0 && l > levels[i - 1] + 1) problems.push(`heading jumps h${levels[i - 1]} -> h${l}`);
  });
  for (const [sel, what] of [["header", "banner"], ["nav[aria-label]", "navigation"], ["main#main", "main"]]) {
    if (document.querySelectorAll(sel).length !== 1) problems.push(`landmark ${what}: not exactly one`);
  }
  for (const el of document.querySelectorAll("button, a[href], summary")) {
    if (!el.textContent.trim() && !el.getAttribute("aria-label")) problems.push("control without a name");
  }
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupes.length) problems.push("duplicate ids: " + dupes.join(","));
  if (!document.documentElement.lang) problems.push("no lang");
  return problems;
}"""


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    crc = struct.unpack(">I", data[16 + length : 20 + length])[0]
    assert crc == zlib.crc32(data[12 : 16 + length]) & 0xFFFFFFFF
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_manifest_icons_worker_and_offline_page_are_served(console: Console) -> None:
    r = await console.http.get("/static/manifest.webmanifest")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(r.text)
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        got = await console.http.get(icon["src"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        w, h = _png_size(got.content)
        assert icon["sizes"] == f"{w}x{h}"
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    sw = await console.http.get("/static/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/"
    assert "content-security-policy" in sw.headers
    other = await console.http.get("/static/console.js")
    assert "service-worker-allowed" not in other.headers
    offline = await console.http.get("/static/offline.html")
    assert offline.status_code == 200 and "You are offline" in offline.text and "<script" not in offline.text


def test_the_worker_caches_only_the_shell() -> None:
    text = (STATIC / "sw.js").read_text()
    shell = text[text.index("const SHELL = [") : text.index("];")]
    entries = [line.strip().strip('",') for line in shell.splitlines()[1:] if line.strip()]
    assert entries and all(e.startswith("/static/") for e in entries), entries
    assert text.count("cache.put") == 0 and text.count("cache.addAll(SHELL)") == 1  # nothing added at run time
    for entry in entries:
        assert (STATIC / entry.removeprefix("/static/")).is_file(), entry


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


async def _login(page: Page, console: Console) -> None:
    await page.goto(f"{console.url}/login")
    await page.fill("#email", console.email)
    await page.fill("#passphrase", console.passphrase)
    await page.fill("#code", console.fresh_code())
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{console.url}/")


async def _context(browser: Browser, phone: bool, **extra: Any) -> BrowserContext:
    if phone:
        return await browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2, **extra
        )
    return await browser.new_context(viewport={"width": 1280, "height": 900}, **extra)


async def _connect_everything(live: Live) -> None:
    token = '{"access_token": "ya29.demo-gmail-access-token-not-a-real-credential", "expires_at": 4102444800}'
    assert live.data.vault is not None and live.data.tools is not None
    await live.data.vault.put("gmail-oauth", token, kind="oauth-token", resource="mcp:gmail")
    assert (await live.data.tools.console_only("plaid.sandbox_connect")).ok
    catalog = live.data.catalog
    for integration in (catalog.manifests["plaid"], catalog.manifests["gmail"]):
        assert (await live.data.sync_now(integration)).ok


async def test_pages_in_chromium_desktop_and_phone(live: Live, chromium: Path) -> None:
    await _connect_everything(live)
    url = live.console.url
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        violations: list[str] = []

        def watch(message: Any) -> None:
            if "Content Security Policy" in message.text:
                violations.append(message.text)

        try:
            for phone in (False, True):
                context = await _context(browser, phone)
                page = await context.new_page()
                page.on("console", watch)
                await _login(page, live.console)
                for shot, path in PAGES.items():
                    await page.goto(f"{url}{path}")
                    assert await page.evaluate(A11Y) == [], (path, phone)
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= (390 if phone else 1280), (path, width)
                    name = f"{shot}-phone.png" if phone else f"{shot}.png"
                    await page.screenshot(path=str(SHOTS / name), full_page=True)
                assert violations == []
                await context.close()
        finally:
            await browser.close()


async def test_home_content_keyboard_and_dark_mode(live: Live, chromium: Path) -> None:
    await _connect_everything(live)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            context = await _context(browser, False, color_scheme="dark")
            page = await context.new_page()
            await _login(page, live.console)
            await expect(page.locator("#panel-plaid-money figure.chart").first).to_have_attribute("data-drawn", "true")
            assert await page.locator("#panel-gmail-important_mail .view-items li").count() >= 1
            await page.click("#panel-plaid-money details summary")
            assert await page.locator("#panel-plaid-money details table tbody tr").count() >= 2
            # Keyboard: the first Tab lands on the skip link, which is visible and focus-styled.
            await page.goto(f"{live.console.url}/integrations")
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
                " return [e.className, s.outlineStyle, e.getBoundingClientRect().left >= 0]; })()"
            )
            assert focused == ["skip", "solid", True]
            await page.keyboard.press("Enter")
            assert page.url.endswith("#main")
            # Dark mode: dark background, light text.
            colours = await page.evaluate(
                "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
            )
            assert colours == ["rgb(18, 19, 23)", "rgb(232, 233, 236)"]
            await page.goto(live.console.url + "/")
            await page.screenshot(path=str(SHOTS / "home-overview-dark.png"), full_page=True)
        finally:
            await browser.close()


async def test_service_worker_registers_and_serves_the_offline_page(live: Live, chromium: Path) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            context = await _context(browser, True)
            page = await context.new_page()
            await _login(page, live.console)
            scope = await page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
            assert scope == f"{live.console.url}/"
            manifest = await page.evaluate(
                "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
            )
            assert manifest["name"] == "Aegis"
            cached = await page.evaluate(CACHED)
            assert "/static/offline.html" in cached and all(p.startswith("/static/") for p in cached)
            await page.reload()  # now controlled by the worker
            assert await page.evaluate("navigator.serviceWorker.controller !== null")
            await page.goto(f"{live.console.url}/integrations")
            cached = await page.evaluate(CACHED)
            assert all(p.startswith("/static/") for p in cached)  # pages and API answers are never stored
            await context.set_offline(True)
            await page.goto(f"{live.console.url}/secrets")
            assert "You are offline" in (await page.text_content("h1") or "")
            await page.screenshot(path=str(SHOTS / "offline-phone.png"), full_page=True)
        finally:
            await browser.close()
