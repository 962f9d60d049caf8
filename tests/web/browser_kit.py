"""Helpers for the console's browser suites: axe-core (installed by ``npm ci``) injected into the page
without loosening its CSP, the phone's "no sideways scrolling" check, and the two viewports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

from tests.web.conftest import Console

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")

_RUN_AXE = """async () => {
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
}"""

WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((e) => `${e.tagName}.${e.className}#${e.id}: ${(e.textContent || '').slice(0, 40)}`)"""


def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError("axe-core is not installed: run `npm ci` at the repository root")
    return AXE.read_text(encoding="utf-8")


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. The script is evaluated
    through the DevTools protocol, so the page's CSP stays exactly as served."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    found: list[dict[str, Any]] = await page.evaluate(_RUN_AXE)
    return found


async def assert_accessible(page: Page) -> None:
    found = await serious_violations(page)
    assert found == [], f"{page.url}: {json.dumps(found, indent=1)}"


async def assert_fits(page: Page, width: int) -> None:
    """Nothing forces sideways scrolling."""
    wider = await page.evaluate(WIDEST)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, (page.url, wider)


async def login(page: Page, c: Console) -> None:
    """Log in through the page's own form, landing on Home."""
    await page.goto(f"{c.url}/login")
    await page.fill("#email", c.email)
    await page.fill("#passphrase", c.passphrase)
    await page.fill("#code", c.fresh_code())
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{c.url}/")


Ready = Callable[[Page], Awaitable[None]]


async def screenshot_both(
    console: Console, path: str, name: str, ready: Ready, shots: Path, desktop: dict[str, int] = DESKTOP
) -> list[str]:
    """Log in, open ``path`` on a desktop and a phone, wait for ``ready``, check accessibility and
    width, save ``<name>.png`` and ``<name>-phone.png``; returns the CSP violations and page errors."""
    from tests.web.test_browser import ARGS, CHROMIUM, _watch_csp

    await asyncio.to_thread(shots.mkdir, parents=True, exist_ok=True)
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for viewport, tag in ((desktop, ""), (PHONE, "-phone")):
                context = await browser.new_context(viewport=viewport, color_scheme="light")  # type: ignore[arg-type]
                page = await context.new_page()
                _watch_csp(page, violations)
                page.on("pageerror", lambda e: violations.append(f"page error: {e}"))
                await login(page, console)
                await page.goto(f"{console.url}{path}")
                await ready(page)
                await assert_accessible(page)
                await assert_fits(page, viewport["width"])
                await page.screenshot(path=str(shots / f"{name}{tag}.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
    return violations
