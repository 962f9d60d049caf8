"""Helpers for the console's browser suites: axe-core (installed by ``npm ci``) injected into the page
without loosening its CSP, the phone's "no sideways scrolling" check, and the two viewports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Page

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
