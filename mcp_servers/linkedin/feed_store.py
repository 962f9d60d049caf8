"""The owner's LinkedIn feed as read in a browser: posts (deduplicated by their activity URN), the
reader's status ("needs attention" with its reason and snapshot) and the stop snapshots, encrypted
under the ``social`` domain, each write with its audit event in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcp_servers._coursework import snapshot_record
from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.linkedin.models import ENCRYPTED, LinkedInFeedRow, LinkedInFeedStatusRow, LinkedInSnapshotRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.linkedin.feed import FeedPost


@dataclass(frozen=True)
class StoredPost:
    post_id: str
    author: str
    author_url: str | None
    text: str
    posted_at: datetime | None
    seen_at: datetime


@dataclass(frozen=True)
class FeedStatus:
    attempted_at: datetime | None
    synced_at: datetime | None
    reason: str | None  # an open "needs attention": captcha, login, mfa, layout_changed, unreachable, refused
    detail: str
    since: datetime | None
    snapshot_id: str | None
    session_tag: str | None


NO_STATUS = FeedStatus(None, None, None, "", None, None, None)


class FeedStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db, self._audit = db, audit
        self._posts = Sealer(cipher, ENCRYPTED, table="linkedin_feed")
        self._snaps = Sealer(cipher, ENCRYPTED, table="linkedin_snapshots")

    async def _status_row(self, s: AsyncSession) -> LinkedInFeedStatusRow:
        row = await s.get(LinkedInFeedStatusRow, 1)
        if row is None:
            row = LinkedInFeedStatusRow(id=1)
            s.add(row)
        return row

    async def attempt(self, when: datetime) -> None:
        """Mark a run as begun (before LinkedIn is visited): the next slot's run is counted from here."""
        async with self._db.transaction() as s:
            (await self._status_row(s)).attempted_at = when

    async def store(self, posts: Sequence[FeedPost], event: AuditEvent) -> int:
        """Keep the posts (a post read again replaces its row) and clear "needs attention". Returns
        how many were new."""
        now = utcnow()
        async with self._db.transaction() as s:
            ids = [p.post_id for p in posts]
            known = set(
                (await s.execute(select(LinkedInFeedRow.post_id).where(LinkedInFeedRow.post_id.in_(ids)))).scalars()
            )
            rows = [
                {
                    "post_id": p.post_id,
                    "posted_at": p.posted_at,
                    "seen_at": now,
                    "data": self._posts.seal_json(
                        "data", p.post_id, {"author": p.author, "author_url": p.author_url, "text": p.text}
                    ),
                }
                for p in posts
            ]
            await upsert(s, table_of(LinkedInFeedRow), rows, "post_id")
            status = await self._status_row(s)
            status.synced_at, status.reason, status.detail = now, None, None
            status.since, status.snapshot_id, status.session_tag = None, None, None
            await self._audit.append(s, event)
        return len(set(ids) - known)

    async def needs_attention(
        self, reason: str, detail: str, snapshot_id: str | None, session_tag: str | None, event: AuditEvent
    ) -> None:
        """Record why the run stopped (kept until a good run); the stored posts stay."""
        async with self._db.transaction() as s:
            status = await self._status_row(s)
            if status.reason != reason or status.since is None:
                status.since = utcnow()
            status.reason, status.detail = reason, detail[:300]
            status.snapshot_id, status.session_tag = snapshot_id, session_tag
            await self._audit.append(s, event)

    async def status(self) -> FeedStatus:
        async with self._db.transaction() as s:
            r = await s.get(LinkedInFeedStatusRow, 1)
        if r is None:
            return NO_STATUS
        return FeedStatus(r.attempted_at, r.synced_at, r.reason, r.detail or "", r.since, r.snapshot_id, r.session_tag)

    async def recent(self, limit: int, since: datetime | None = None) -> list[StoredPost]:
        order = LinkedInFeedRow.posted_at.desc().nulls_last() if since is None else LinkedInFeedRow.posted_at.desc()
        query = select(LinkedInFeedRow).order_by(order, LinkedInFeedRow.seen_at.desc()).limit(limit)
        if since is not None:
            query = query.where(LinkedInFeedRow.posted_at >= since)
        async with self._db.transaction() as s:
            rows = (await s.execute(query)).scalars().all()
        out = []
        for r in rows:
            d = self._posts.open_json("data", r.post_id, r.data)
            out.append(StoredPost(r.post_id, d["author"], d.get("author_url"), d["text"], r.posted_at, r.seen_at))
        return out

    async def keep_snapshot(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        """A :class:`tools.browser.session.SnapshotSink`: the page's screenshot and HTML, sealed."""
        sid, doc = snapshot_record(source, screenshot, html)
        async with self._db.transaction() as s:
            s.add(
                LinkedInSnapshotRow(
                    id=sid, created_at=utcnow(), reason=reason, data=self._snaps.seal_json("data", sid, doc)
                )
            )
        return sid

    async def snapshot(self, snapshot_id: str) -> tuple[LinkedInSnapshotRow, dict[str, str]] | None:
        async with self._db.transaction() as s:
            row = await s.get(LinkedInSnapshotRow, snapshot_id)
        if row is None:
            return None
        doc: dict[str, str] = self._snaps.open_json("data", row.id, row.data)
        return row, doc

    async def delete_all(self, event: AuditEvent) -> int:
        async with self._db.transaction() as s:
            result = await s.execute(delete(LinkedInFeedRow))
            await s.execute(delete(LinkedInFeedStatusRow))
            await s.execute(delete(LinkedInSnapshotRow))
            await self._audit.append(s, event)
        return int(getattr(result, "rowcount", 0) or 0)
