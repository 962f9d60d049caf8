"""One run of the LinkedIn feed reader, at low volume, stopping at the first challenge.

A run needs the owner's session (``linkedin-session``: the ``li_at`` cookie value); without one the
feed is simply off. A run is at most one per sync slot (``slot``, a little under the job's two
hours): an earlier call is answered "skipped" without visiting LinkedIn. Before the visit it waits a
random while (``start_wait``), then reads one page with a few paced scrolls (:class:`Pace`).

The first challenge page (a checkpoint, the login wall, a captcha) ends the run: its encrypted
snapshot is kept, the status shows "needs attention" with the reason, and later runs fetch NOTHING
until the owner stores a new session, or, with the same session, once a day (``cooldown``: the owner
may have passed the check in their own browser). A page that did not load is not a challenge: the
next slot tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

import structlog
from mcp.server.mcpserver.exceptions import ToolError
from typing_extensions import TypedDict

from mcp_servers._common import vendor_errors
from mcp_servers._lms_sync import SnapshotKeeper
from mcp_servers.linkedin.feed_store import FeedStatus, FeedStore
from storage.audit import AuditEvent
from tools.browser.pages import Login, NeedsAttention
from tools.browser.routed import HttpxRoute
from tools.browser.session import CookieJar, Session, SnapshotSink
from tools.browser.session import Source as BrowserSource
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError
from tools.linkedin.feed import NAME, SESSION_CREDENTIAL, SITE, Pace, read_feed, session_cookies

log = structlog.get_logger("aegis.mcp_servers.linkedin.feed")
ACTOR = "mcp-linkedin"
CHALLENGES = frozenset({"captcha", "login", "mfa", "refused", "session"})
_RANDOM = secrets.SystemRandom()


class Runner(Protocol):
    """What a run needs of :class:`~tools.browser.session.BrowserRunner`."""

    def session(
        self,
        source: BrowserSource,
        jar: CookieJar,
        snapshots: SnapshotSink,
        *,
        route: HttpxRoute | None = None,
        login: Login | None = None,
    ) -> AbstractAsyncContextManager[Session]: ...


class SyncResult(TypedDict):
    state: str  # read, skipped, off
    fetched: int
    new: int
    note: str


class SessionJar:
    """The browser's cookies: only the owner's ``li_at`` from the vault. Nothing LinkedIn sets during
    a run is kept (the owner's session stays the one credential, and the vault is not written)."""

    def __init__(self, cookies: list[dict[str, Any]]) -> None:
        self._cookies = cookies

    async def load(self) -> str | None:
        return json.dumps(self._cookies)

    async def save(self, cookies: str) -> None:
        return None


def session_tag(value: str) -> str:
    """A short fingerprint telling one stored session from the next (never the session itself)."""
    return hashlib.sha256(value.strip().encode()).hexdigest()[:12]


def _blocked(status: FeedStatus, tag: str, now: datetime, cooldown: timedelta) -> bool:
    if status.reason not in CHALLENGES or status.session_tag != tag:
        return False
    last = status.attempted_at or status.since
    return last is not None and now - last < cooldown


@dataclass
class FeedReader:
    credentials: CredentialProvider
    store: FeedStore
    runner: Runner
    clock: Callable[[], datetime]
    pace: Pace = field(default_factory=Pace)
    slot: timedelta = timedelta(minutes=100)  # at most one run per slot of the two-hourly job
    cooldown: timedelta = timedelta(hours=24)
    # Seconds of random wait before LinkedIn is visited; with the paced scrolls a run stays well inside
    # the MCP host's 60-second tool-call timeout.
    start_wait: tuple[float, float] = (2.0, 12.0)
    site: str = SITE
    route: HttpxRoute | None = None  # the demo profile: the pages come from the in-memory LinkedIn
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def _session(self) -> str | None:
        try:
            value = (await self.credentials.get(SESSION_CREDENTIAL)).strip()
        except AuthExpired:
            return None
        return value or None

    async def _stop(
        self, reason: str, detail: str, snapshot: str | None, tag: str | None, audit: dict[str, Any]
    ) -> None:
        event = AuditEvent(
            ACTOR, "social.needs_attention", "error", resource=ACTOR, details={**audit, "reason": reason}
        )
        await self.store.needs_attention(reason, detail, snapshot, tag, event)
        log.warning("linkedin.feed.needs_attention", reason=reason)

    async def run(self, audit: dict[str, Any]) -> SyncResult:
        async with self.lock:
            return await self._run(audit)

    async def _run(self, audit: dict[str, Any]) -> SyncResult:
        session = await self._session()
        if session is None:
            note = "No LinkedIn session is stored (linkedin-session): the feed is not read."
            return {"state": "off", "fetched": 0, "new": 0, "note": note}
        tag, now = session_tag(session), self.clock()
        status = await self.store.status()
        if _blocked(status, tag, now, self.cooldown):
            raise ToolError(
                f"{NAME}: needs attention ({status.reason}): {status.detail}. Nothing was fetched: the owner must "
                "pass LinkedIn's check in their own browser and store a fresh linkedin-session."
            )
        fresh_session = status.reason in CHALLENGES and status.session_tag != tag
        if not fresh_session and status.attempted_at is not None and now - status.attempted_at < self.slot:
            note = f"LinkedIn's feed was read at {status.attempted_at.isoformat()}; at most once a sync slot."
            return {"state": "skipped", "fetched": 0, "new": 0, "note": note}
        try:
            cookies = session_cookies(session, self.site)
        except ValueError as exc:
            await self._stop("session", str(exc), None, tag, audit)
            raise ToolError(f"{NAME}: needs attention (session): {exc}; store the li_at cookie's value") from None
        await self.store.attempt(now)
        low, high = self.start_wait
        await self.sleep(low + _RANDOM.random() * max(0.0, high - low))
        keeper = SnapshotKeeper(self.store)
        if self.route is not None:
            self.route.refused = False
        try:
            async with self.runner.session(
                BrowserSource(NAME, self.site), SessionJar(cookies), keeper, route=self.route
            ) as s:
                posts = await read_feed(s, self.pace, now=now, pause=self.sleep, site=self.site)
        except NeedsAttention as exc:
            if self.route is not None and self.route.refused:
                await self._refused(tag, keeper.last, audit)
            await self._stop(exc.reason, exc.message, keeper.last, tag, audit)
            raise ToolError(
                f"{NAME}: needs attention ({exc.reason}): {exc.message}. The run stopped there and nothing more "
                "was fetched; the owner must step in from the integrations page."
            ) from None
        except AuthExpired:
            await self._refused(tag, keeper.last, audit)
        except IntegrationError:
            with vendor_errors(NAME):
                raise
        event = AuditEvent(
            ACTOR, "social.feed_sync", "ok", resource=ACTOR, details={**audit, "posts": len(posts), "mode": "browser"}
        )
        new = await self.store.store(posts, event)
        log.info("linkedin.feed.sync", posts=len(posts), new=new)
        return {"state": "read", "fetched": len(posts), "new": new, "note": f"{len(posts)} posts read, {new} new."}

    async def _refused(self, tag: str, snapshot: str | None, audit: dict[str, Any]) -> NoReturn:
        await self._stop("refused", "LinkedIn refused the saved session", snapshot, tag, audit)
        raise ToolError(
            f"{NAME}: the owner must reconnect the feed (refused): LinkedIn refused the saved session; "
            "store a fresh linkedin-session"
        )
