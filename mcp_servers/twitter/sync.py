"""The ``sync_social`` job's side of X: the home timeline and mentions since the last post seen,
and the engagement of the owner's own recent posts, into the encrypted store the reads answer from.

Each stream is read newest first from its cursor (X's ``since_id``), at most :data:`MAX_PAGES` pages
of :data:`PAGE` posts a run (every post read is billed; a gap older than that is left behind), each
page stored as it arrives. The cursor moves only when the stream's pages are all read, so a run cut
short (a rate limit, a crash) loses nothing: the next one reads the same posts again and the store
keeps each post once.

A 429 whose reset is near is waited out by the client; a later one ends the run early but
successfully (``deferred``), leaving the rest for the next run. X's "client-forbidden" answer (an
access level without reads) switches reads off (:class:`ReadsState`): the run succeeds with the
notice and, for a day, asks X nothing more before it tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from mcp_servers.twitter.feed import FeedPost, FeedStore, Stream
from mcp_servers.twitter.store import PostStore
from tools.errors import RateLimited
from tools.twitter.client import ReadsNotInTier, XClient

log = structlog.get_logger("aegis.mcp_servers.twitter")
PAGE = 50
MAX_PAGES = 3
METRICS_DAYS = 30
REPROBE = timedelta(days=1)
TIER_NOTICE = (
    "Reading X (home timeline, mentions, metrics) needs a paid X API access level; this app's level "
    "only posts. Reads are off until the owner upgrades at console.x.com and reconnects. Posting works."
)


@dataclass(frozen=True)
class Attention:
    reason: str
    detail: str
    since: str


@dataclass
class ReadsState:
    """Whether X lets this app read: off (with why and since when) after a "client-forbidden" answer."""

    off: Attention | None = None
    off_at: datetime | None = None

    def switch_off(self, code: str | None, now: datetime) -> None:
        if self.off is None:
            self.off = Attention(code or "client-forbidden", TIER_NOTICE, now.isoformat(timespec="seconds"))
            log.warning("twitter.reads_off", reason=code)
        self.off_at = now

    def resting(self, now: datetime) -> bool:
        """Reads are off and were found off less than :data:`REPROBE` ago."""
        return self.off is not None and self.off_at is not None and now - self.off_at < REPROBE


def parse_time(value: Any, default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return default


def _metrics(raw: Any) -> dict[str, int]:
    return {str(k): v for k, v in (raw or {}).items() if isinstance(v, int) and not isinstance(v, bool)}


def feed_posts(page: dict[str, Any], now: datetime) -> list[FeedPost]:
    """X's ``data``/``includes`` page as posts, each with its author's handle and name."""
    users = {str(u.get("id")): u for u in (page.get("includes") or {}).get("users", []) if isinstance(u, dict)}
    out = []
    for p in page.get("data") or []:
        author = users.get(str(p.get("author_id")), {})
        handle = f"@{author['username']}" if author.get("username") else None
        at = parse_time(p.get("created_at"), now)
        metrics = _metrics(p.get("public_metrics"))
        out.append(FeedPost(str(p["id"]), at, str(p.get("text", "")), handle, author.get("name"), metrics))
    return out


class FeedSync:
    def __init__(
        self,
        client: XClient,
        feed: FeedStore,
        posts: PostStore,
        reads: ReadsState,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client, self.feed, self.posts, self.reads, self.now = client, feed, posts, reads, now

    async def run(self) -> dict[str, Any]:
        now = self.now()
        out: dict[str, Any] = {"reads": "on", "home_new": 0, "mentions_new": 0, "metrics": 0, "deferred": False}
        if self.reads.resting(now):
            out |= {"reads": "off", "notice": TIER_NOTICE}
        else:
            try:
                for stream in ("home", "mentions"):
                    out[f"{stream}_new"] = await self._stream(stream)
                out["metrics"] = await self._metrics(now)
                self.reads.off = self.reads.off_at = None
            except ReadsNotInTier as exc:
                self.reads.switch_off(exc.code, now)
                out |= {"reads": "off", "notice": TIER_NOTICE}
            except RateLimited as exc:
                wait = int(exc.retry_after) if exc.retry_after is not None else None
                log.info("twitter.sync_deferred", retry_after=wait)
                out |= {"deferred": True, **({"retry_after_s": wait} if wait is not None else {})}
        out["pruned"] = await self.feed.prune(now)
        return out

    async def _page(self, stream: Stream, since_id: str | None, token: str | None) -> dict[str, Any]:
        if stream == "home":
            return await self.client.home_timeline(max_results=PAGE, since_id=since_id, pagination_token=token)
        return await self.client.mentions(max_results=PAGE, since_id=since_id, pagination_token=token)

    async def _stream(self, stream: Stream) -> int:
        since_id = (await self.feed.cursor(stream)).since_id
        newest: str | None = None
        token: str | None = None
        new = 0
        for _ in range(MAX_PAGES):
            page = await self._page(stream, since_id, token)
            meta = page.get("meta") or {}
            newest = newest or (str(meta["newest_id"]) if meta.get("newest_id") else None)
            new += await self.feed.save(stream, feed_posts(page, self.now()))
            token = str(meta["next_token"]) if meta.get("next_token") else None
            if token is None:
                break
        await self.feed.advance(stream, newest)
        return new

    async def _metrics(self, now: datetime) -> int:
        """Refresh the engagement of the owner's posts published through Aegis in the last 30 days."""
        recent = await self.posts.published(100, since=now - timedelta(days=METRICS_DAYS))
        ids = [r.post_id for r in recent if r.post_id]
        if not ids:
            return 0
        page = await self.client.posts(ids)
        found = {
            str(p["id"]): (_metrics(p.get("public_metrics")), p.get("created_at"))
            for p in page.get("data") or []
            if isinstance(p, dict) and p.get("id")
        }
        return await self.posts.set_metrics(found, now.isoformat(timespec="seconds"))
