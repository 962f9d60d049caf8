"""Browser automation for sources without an API: Playwright driving Debian's Chromium, headless.

One isolated browser context per source, started from the cookies the source's :class:`CookieJar`
holds (the broker's vault in production: never a profile folder on disk) and saving them back when
the run ends well. Each navigation is rate-limited per source with jitter, retried with backoff on
network errors, and followed by a check for pages only the owner can get past (login, MFA, captcha).
Any :class:`~tools.browser.pages.NeedsAttention` stops the run after an encrypted screenshot and
HTML snapshot are kept for the owner (:class:`SnapshotSink`).

    runner = BrowserRunner(chromium=Path("/usr/bin/chromium"))
    async with runner.session(source, jar, snapshots) as s:
        await s.goto("/courses")
        table, _ = await s.find(Target.of("the assignments table", role="table", css="table.assignments"))
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from playwright.async_api import Browser, BrowserContext, Error, Locator, Page, Route, async_playwright

from tools.browser.pages import Login, NeedsAttention, Target, Way, blocker, fill_login, find

CHROMIUM = Path("/usr/bin/chromium")
ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
_RANDOM = secrets.SystemRandom()
RouteHandler = Callable[[Route], Awaitable[None]]


class CookieJar(Protocol):
    async def load(self) -> str | None:
        """The source's saved cookies (Playwright's JSON list), or None."""
        ...

    async def save(self, cookies: str) -> None: ...


class SnapshotSink(Protocol):
    async def keep(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        """Store an encrypted failure snapshot; returns its id."""
        ...


@dataclass(frozen=True)
class Source:
    name: str
    base_url: str
    min_interval: float = 2.0  # seconds between navigations, plus up to ``jitter`` more
    jitter: float = 1.0
    timeout_ms: float = 15_000
    attempts: int = 3


@dataclass
class Session:
    source: Source
    page: Page
    sleep: Callable[[float], Awaitable[None]]
    login: Login | None = None  # the owner's username and password, tried once at a login form
    _last: float = 0.0
    _logged_in: bool = False

    async def _pace(self) -> None:
        wait = self._last + self.source.min_interval + _RANDOM.random() * self.source.jitter - time.monotonic()
        if self._last and wait > 0:
            await self.sleep(wait)
        self._last = time.monotonic()

    async def goto(self, path: str) -> None:
        url = urljoin(self.source.base_url, path)
        if urlsplit(url).netloc != urlsplit(self.source.base_url).netloc:
            raise NeedsAttention(
                "layout_changed", "a link pointed off the site; not followed", integration=self.source.name
            )
        for attempt in range(1, self.source.attempts + 1):
            await self._pace()
            try:
                await self.page.goto(url, wait_until="domcontentloaded", timeout=self.source.timeout_ms)
                break
            except Error as exc:
                if attempt == self.source.attempts:
                    raise NeedsAttention(
                        "unreachable", f"the site did not load ({type(exc).__name__})", integration=self.source.name
                    ) from None
                await self.sleep(min(8.0, 0.5 * 2**attempt))
        await self.check()

    async def check(self) -> None:
        found = await blocker(self.page)
        if found is not None and found[0] == "login" and self.login is not None and not self._logged_in:
            self._logged_in = True  # once: a second login form means the login was refused
            await fill_login(self.page, self.login, timeout_ms=self.source.timeout_ms)
            found = await blocker(self.page)
            if found is not None and found[0] == "login":
                found = ("login", "the site refused the saved username and password")
        if found is not None:
            raise NeedsAttention(found[0], found[1], integration=self.source.name)

    async def find(self, target: Target) -> tuple[Locator, Way]:
        await self.check()
        return await find(self.page, target, timeout_ms=min(self.source.timeout_ms, 5000), source=self.source.name)


class BrowserRunner:
    def __init__(self, *, chromium: Path = CHROMIUM, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._chromium = chromium
        self._sleep = sleep

    @asynccontextmanager
    async def session(
        self,
        source: Source,
        jar: CookieJar,
        snapshots: SnapshotSink,
        *,
        route: RouteHandler | None = None,
        login: Login | None = None,
    ) -> AsyncIterator[Session]:
        """``route`` answers every request the page makes instead of the network (the demo profile's
        in-memory site, see :mod:`tools.browser.routed`)."""
        async with async_playwright() as pw:
            browser: Browser = await pw.chromium.launch(
                executable_path=str(self._chromium), args=list(ARGS), headless=True
            )
            try:
                context = await _context(browser, jar)
                if route is not None:
                    await context.route("**/*", route)
                page = await context.new_page()
                session = Session(source, page, self._sleep, login)
                try:
                    yield session
                except NeedsAttention as exc:
                    await _snapshot(snapshots, source, exc.reason, page)
                    raise
                await jar.save(json.dumps(await context.cookies()))
            finally:
                await browser.close()


async def _context(browser: Browser, jar: CookieJar) -> BrowserContext:
    context = await browser.new_context(accept_downloads=False, service_workers="block")
    saved = await jar.load()
    if saved:
        cookies: list[Any] = json.loads(saved)
        await context.add_cookies(cookies)
    return context


async def _snapshot(snapshots: SnapshotSink, source: Source, reason: str, page: Page) -> None:
    try:
        shot = await page.screenshot(full_page=True, timeout=5000)
        html = await page.content()
    except Error:
        return
    await snapshots.keep(source.name, reason, shot, html)
