"""X for Aegis: the synced timeline and mentions, posts published once, and the content channel.

The ``sync_social`` job (:mod:`mcp_servers.twitter.sync`) keeps the home timeline, the mentions
and the engagement of the owner's recent posts in the encrypted store; the reads answer from it,
with ``synced_at``, and never call X. Timeline and mention reads answer ``{"posts": [...],
"sources": [...]}``: every post is someone else's words, each named in ``sources`` by its author
(the provenance the gateway labels it with), like mail. When X answers the sync with its
"client-forbidden" document (an access level that posts but cannot read), reads are off: each read
answers a clear ``notice``, :meth:`XService.status` lists it under "needs attention", and posting
still works.

A post publishes exactly the approved text, once: its record is committed under the approved call's
id before X is called; a retry of that call returns the first answer, and one that finds the record
still ``calling`` (the process died while X was answering) sends again, where X's own rule against a
duplicate of a recent post stops a second publication.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from mcp_servers.twitter.feed import Cursor, FeedPost, FeedStore, Stream
from mcp_servers.twitter.store import PostExists, PostRecord, PostStore
from mcp_servers.twitter.sync import TIER_NOTICE, FeedSync, ReadsState
from storage.audit import AuditEvent
from tools.errors import InvalidRequest
from tools.twitter.client import DuplicatePost, XClient
from tools.twitter.length import check_post, weighted_length

log = structlog.get_logger("aegis.mcp_servers.twitter")
ACTOR = "mcp-twitter"
STATUS_URL = "https://x.com/i/web/status/{id}"
NOT_SYNCED = "Nothing is synced from X yet: the sync_social job reads the timeline and mentions every 2 hours."
REVOKE_NOTE = (
    "Aegis deleted the stored X timeline, mentions and post records, and the console removes the tokens "
    "from the vault. The tokens still work at X until you revoke them: in X's developer console "
    "(console.x.com), open your app's Keys and tokens and regenerate (revoke) the access token and secret."
)
__all__ = ["TIER_NOTICE", "PostRefused", "XService"]


class PostRefused(Exception):
    """The post was not sent; the message says why."""


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def _when(at: datetime) -> str:
    """As the console writes times: "Thu 03 Dec 07:38 UTC"."""
    return f"{at.astimezone(UTC):%a %d %b %H:%M} UTC"


def _post_view(p: FeedPost) -> dict[str, Any]:
    return {
        "id": p.id,
        "text": p.text,
        "author": p.author,
        "author_name": p.author_name,
        "created_at": _iso(p.created_at),
        "when": _when(p.created_at),
        "metrics": p.metrics,
        "url": STATUS_URL.format(id=p.id),
    }


class XService:
    def __init__(self, client: XClient, store: PostStore, feed: FeedStore) -> None:
        self.client = client
        self.store = store
        self.feed = feed
        self.reads = ReadsState()
        self.syncer = FeedSync(client, feed, store, self.reads)

    # ---- the sync and the reads ------------------------------------------------------------

    async def sync(self) -> dict[str, Any]:
        return await self.syncer.run()

    def _notice(self, cursor: Cursor) -> dict[str, Any]:
        if self.reads.off is not None:
            return {"notice": self.reads.off.detail}
        return {} if cursor.synced_at is not None else {"notice": NOT_SYNCED}

    async def _stream(self, stream: Stream, limit: int, since_id: str | None) -> dict[str, Any]:
        posts = [_post_view(p) for p in await self.feed.posts(stream, limit, since_id)]
        cursor = await self.feed.cursor(stream)
        sources = [
            {"channel": "social", "server": "twitter", "item_id": p["id"], "principal": p["author"]} for p in posts
        ]
        return {"posts": posts, "sources": sources, "synced_at": _iso(cursor.synced_at), **self._notice(cursor)}

    async def home_timeline(self, limit: int, since_id: str | None = None) -> dict[str, Any]:
        return await self._stream("home", limit, since_id)

    async def mentions(self, limit: int, since_id: str | None = None) -> dict[str, Any]:
        return await self._stream("mentions", limit, since_id)

    async def post_metrics(self, ids: Sequence[str] | None, limit: int) -> dict[str, Any]:
        """The engagement the sync last stored of the owner's posts published through Aegis: the
        given ones, or the latest ``limit``."""
        if ids:
            found = [r for r in [await self.store.by_post_id(i) for i in ids] if r is not None and r.state == "posted"]
        else:
            found = await self.store.published(limit)
        posts = [
            {
                "id": r.post_id,
                "url": r.url,
                "posted_at": r.posted_at,
                "metrics": r.metrics,
                "metrics_at": r.metrics_at,
            }
            for r in found
        ]
        known = {r.post_id for r in found}
        unknown = [i for i in ids or [] if i not in known]
        notice = {"notice": self.reads.off.detail} if self.reads.off is not None else {}
        return {"posts": posts, **({"unknown": unknown} if unknown else {}), **notice}

    async def published(self, limit: int) -> dict[str, Any]:
        """The owner's posts published through Aegis, newest first: the owner's own public words."""
        found = await self.store.published(limit)
        return {"posts": [{"id": r.post_id, "text": r.text, "url": r.url, "posted_at": r.posted_at} for r in found]}

    @staticmethod
    def measure(text: str) -> dict[str, Any]:
        length = weighted_length(text)
        return {"length": length.weighted, "limit": length.limit}

    async def account(self) -> dict[str, Any]:
        me = (await self.client.me()).get("data") or {}
        return {
            "username": me.get("username"),
            "name": me.get("name"),
            "reads": "off" if self.reads.off else "on",
            "notice": self.reads.off.detail if self.reads.off else None,
        }

    async def status(self) -> dict[str, Any]:
        attention = []
        if self.reads.off is not None:
            a = self.reads.off
            attention.append({"reason": a.reason, "detail": a.detail, "since": a.since, "snapshot_id": None})
        synced = [c.synced_at for c in [await self.feed.cursor("home"), await self.feed.cursor("mentions")]]
        last = min((s for s in synced if s is not None), default=None)
        return {"attention": attention, "mode": "rest", "synced_at": _iso(last)}

    async def disconnect(self, details: dict[str, Any]) -> dict[str, Any]:
        """Forget everything stored from X. The tokens are the console's to delete from the vault;
        only the owner can revoke them at X (there is no revoke call for pasted OAuth 1.0a tokens)."""
        feed = await self.feed.forget()
        posts = await self.store.forget(AuditEvent(ACTOR, "social.disconnect", "ok", resource=ACTOR, details=details))
        self.reads.off = self.reads.off_at = None
        return {"removed": [], "deleted": {"posts": feed, "published": posts}, "note": REVOKE_NOTE}

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
