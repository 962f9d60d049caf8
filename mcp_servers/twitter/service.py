"""X for Aegis: reads (switched off with a notice on a tier without them), posts published once.

Reads answer ``{"posts": [...], "sources": [...]}``: every post is someone else's words, each named
in ``sources`` by its author (the provenance the gateway labels it with), like mail. When X answers a
read with its "client-forbidden" document (the free access level posts but cannot read timelines),
reads stop calling X, each answers a clear ``notice`` instead, and :meth:`XService.status` lists it
under "needs attention"; posting still works.

A post publishes exactly the approved text, once: its record is committed under the approved call's
id before X is called; a retry of that call returns the first answer, and one that finds the record
still ``calling`` (the process died while X was answering) sends again, where X's own rule against a
duplicate of a recent post stops a second publication.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from mcp_servers.twitter.store import PostExists, PostRecord, PostStore
from storage.audit import AuditEvent
from tools.errors import InvalidRequest
from tools.twitter.client import DuplicatePost, ReadsNotInTier, XClient
from tools.twitter.length import check_post

log = structlog.get_logger("aegis.mcp_servers.twitter")
ACTOR = "mcp-twitter"
STATUS_URL = "https://x.com/i/web/status/{id}"
TIER_NOTICE = (
    "Reading X (home timeline, mentions, metrics) needs a paid X API access level; this app's level "
    "only posts. Reads are off until the owner upgrades at console.x.com and reconnects. Posting works."
)


class PostRefused(Exception):
    """The post was not sent; the message says why."""


@dataclass(frozen=True)
class Attention:
    reason: str
    detail: str
    since: str


def _when(created_at: Any) -> str:
    """X's ``created_at`` (ISO 8601, UTC) as the console writes times: "Thu 03 Dec 07:38 UTC"."""
    try:
        at = datetime.fromisoformat(str(created_at).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return ""
    return f"{at:%a %d %b %H:%M} UTC"


def _post_view(post: dict[str, Any], users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    author = users.get(str(post.get("author_id")), {})
    handle = f"@{author['username']}" if author.get("username") else None
    return {
        "id": str(post["id"]),
        "text": str(post.get("text", "")),
        "author": handle,
        "author_name": author.get("name"),
        "created_at": post.get("created_at"),
        "when": _when(post.get("created_at")),
        "metrics": post.get("public_metrics") or {},
        "url": STATUS_URL.format(id=post["id"]),
    }


def posts_of(page: dict[str, Any]) -> dict[str, Any]:
    """X's ``data``/``includes``/``meta`` page as posts, each with its author as its source."""
    users = {str(u["id"]): u for u in (page.get("includes") or {}).get("users", [])}
    posts = [_post_view(p, users) for p in page.get("data") or []]
    sources = [{"channel": "social", "server": "twitter", "item_id": p["id"], "principal": p["author"]} for p in posts]
    return {"posts": posts, "newest_id": (page.get("meta") or {}).get("newest_id"), "sources": sources}


class XService:
    def __init__(self, client: XClient, store: PostStore) -> None:
        self.client = client
        self.store = store
        self.reads_off: Attention | None = None

    # ---- reads -----------------------------------------------------------------------------

    async def _read(self, call: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        if self.reads_off is not None:
            return {"posts": [], "sources": [], "notice": self.reads_off.detail}
        try:
            return posts_of(await call())
        except ReadsNotInTier as exc:
            since = datetime.now(UTC).isoformat(timespec="seconds")
            self.reads_off = Attention(exc.code or "client-forbidden", TIER_NOTICE, since)
            log.warning("twitter.reads_off", reason=exc.code)
            return {"posts": [], "sources": [], "notice": TIER_NOTICE}

    async def home_timeline(self, limit: int, since_id: str | None = None) -> dict[str, Any]:
        return await self._read(lambda: self.client.home_timeline(max_results=limit, since_id=since_id))

    async def mentions(self, limit: int, since_id: str | None = None) -> dict[str, Any]:
        async def call() -> dict[str, Any]:  # X's minimum page for mentions is 5
            page = await self.client.mentions(max_results=max(5, limit), since_id=since_id)
            return {**page, "data": (page.get("data") or [])[:limit]}

        return await self._read(call)

    async def post_metrics(self, ids: list[str] | None, limit: int) -> dict[str, Any]:
        """Engagement (``public_metrics``) of the given posts, or of the owner's latest posted ones."""
        wanted = ids or [r.post_id for r in await self.store.recent(limit) if r.post_id]
        if not wanted:
            return {"posts": [], "sources": []}
        out = await self._read(lambda: self.client.posts(wanted))
        return {**out, "posts": [{k: p[k] for k in ("id", "created_at", "metrics", "url")} for p in out["posts"]]}

    async def account(self) -> dict[str, Any]:
        me = (await self.client.me()).get("data") or {}
        return {
            "username": me.get("username"),
            "name": me.get("name"),
            "reads": "off" if self.reads_off else "on",
            "notice": self.reads_off.detail if self.reads_off else None,
        }

    def status(self) -> dict[str, Any]:
        attention = []
        if self.reads_off is not None:
            a = self.reads_off
            attention.append({"reason": a.reason, "detail": a.detail, "since": a.since, "snapshot_id": None})
        return {"attention": attention, "mode": "rest", "synced_at": None}

    # ---- side effects ----------------------------------------------------------------------

    async def post(self, text: str, key: str, details: dict[str, Any]) -> dict[str, Any]:
        """Publish ``text`` as it is, once for the approved call ``key``."""
        check_post(text)  # PostTooLong: nothing is sent
        found = await self.store.get(key)
        if found is not None and found.text != text:
            raise PostRefused("this approval was given for another text; nothing was sent")
        if found is not None and found.state != "calling":
            return self._answer(found, again=True)
        if found is None:
            try:
                await self.store.begin(key, text, AuditEvent(ACTOR, "social.post", "calling", details=details))
            except PostExists:
                raise PostRefused("this approved post is being published already; nothing more was sent") from None
        try:
            data = (await self.client.create_post(text)).get("data") or {}
        except DuplicatePost:
            if found is None:
                raise PostRefused("X refuses a duplicate of one of your recent posts; nothing was sent") from None
            # The interrupted first attempt reached X: it is published already, once.
            event = AuditEvent(ACTOR, "social.post", "posted_before", details=details)
            await self.store.finish(key, "posted", None, None, event)
            return {"id": None, "url": None, "text": text, "already_done": True}
        pid = str(data["id"])
        url = STATUS_URL.format(id=pid)
        await self.store.finish(key, "posted", pid, url, AuditEvent(ACTOR, "social.post", "ok", details=details))
        log.info("twitter.posted", post_id=pid)
        return {"id": pid, "url": url, "text": text, "already_done": False}

    @staticmethod
    def _answer(record: PostRecord, *, again: bool) -> dict[str, Any]:
        return {"id": record.post_id, "url": record.url, "text": record.text, "already_done": again}

    async def delete_post(self, post_id: str, details: dict[str, Any]) -> dict[str, Any]:
        if not post_id.isdigit():
            raise InvalidRequest("a post id is digits only", integration="twitter")
        deleted = bool(((await self.client.delete_post(post_id)).get("data") or {}).get("deleted"))
        record = await self.store.by_post_id(post_id)
        if record is not None and deleted:
            event = AuditEvent(ACTOR, "social.delete", "ok", details=details)
            await self.store.finish(record.key, "deleted", post_id, record.url, event)
        return {"id": post_id, "deleted": deleted}
