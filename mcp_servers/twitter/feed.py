"""The synced home timeline and mentions (:class:`~mcp_servers.twitter.models.XFeedRow`) and the
sync's cursors: stored encrypted, one row per post id, pruned after :data:`KEEP_DAYS`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.twitter.models import ENCRYPTED, XCursorRow, XFeedRow
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow

Stream = Literal["home", "mentions"]
KEEP_DAYS = 14  # X's home timeline reaches back 7 days; a fortnight covers a week away


@dataclass(frozen=True)
class FeedPost:
    """A synced post: someone else's words (``author`` is their @handle)."""

    id: str
    created_at: datetime
    text: str
    author: str | None
    author_name: str | None
    metrics: dict[str, int]


@dataclass(frozen=True)
class Cursor:
    since_id: str | None
    synced_at: datetime | None


class FeedStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="twitter_feed")

    async def cursor(self, stream: Stream) -> Cursor:
        async with self._db.transaction() as s:
            row = await s.get(XCursorRow, stream)
            return Cursor(None, None) if row is None else Cursor(row.since_id, row.synced_at)

    async def save(self, stream: Stream, posts: Sequence[FeedPost]) -> int:
        """Store ``posts``: a post already stored keeps its one row, flagged for this stream too.
        Returns how many are new to this stream."""
        if not posts:
            return 0
        now = utcnow()
        async with self._db.transaction() as s:
            ids = [p.id for p in posts]
            known = {r.id: r for r in (await s.execute(select(XFeedRow).where(XFeedRow.id.in_(ids)))).scalars()}
            rows: list[dict[str, Any]] = []
            for p in posts:
                old = known.get(p.id)
                doc = {"text": p.text, "author": p.author, "author_name": p.author_name, "metrics": p.metrics}
                rows.append(
                    {
                        "id": p.id,
                        "home": stream == "home" or bool(old and old.home),
                        "mention": stream == "mentions" or bool(old and old.mention),
                        "created_at": p.created_at,
                        "synced_at": now,
                        "data": self._seal.seal_json("data", p.id, doc),
                    }
                )
            await upsert(s, table_of(XFeedRow), rows, "id")
            return sum(1 for p in posts if not self._flagged(known.get(p.id), stream))

    @staticmethod
    def _flagged(row: XFeedRow | None, stream: Stream) -> bool:
        return row is not None and (row.home if stream == "home" else row.mention)

    async def advance(self, stream: Stream, since_id: str | None) -> None:
        """Record a finished sync of ``stream``: its cursor moves to ``since_id`` (kept when None)."""
        now = utcnow()
        async with self._db.transaction() as s:
            row = await s.get(XCursorRow, stream)
            keep = since_id or (row.since_id if row is not None else None)
            await upsert(s, table_of(XCursorRow), [{"stream": stream, "since_id": keep, "synced_at": now}], "stream")

    async def posts(self, stream: Stream, limit: int, since_id: str | None = None) -> list[FeedPost]:
        flag = XFeedRow.home if stream == "home" else XFeedRow.mention
        stmt = select(XFeedRow).where(flag.is_(True)).order_by(XFeedRow.created_at.desc(), XFeedRow.id.desc())
        if since_id is None:
            stmt = stmt.limit(limit)
        async with self._db.transaction() as s:
            rows = list((await s.execute(stmt)).scalars())
        if since_id is not None:  # ids are numbers: compare them as numbers
            rows = [r for r in rows if int(r.id) > int(since_id)][:limit]
        return [self._open(r) for r in rows]

    def _open(self, row: XFeedRow) -> FeedPost:
        doc = self._seal.open_json("data", row.id, row.data)
        metrics = {str(k): int(v) for k, v in (doc.get("metrics") or {}).items() if isinstance(v, int)}
        return FeedPost(row.id, row.created_at, str(doc["text"]), doc.get("author"), doc.get("author_name"), metrics)

    async def prune(self, now: datetime) -> int:
        async with self._db.transaction() as s:
            gone = await s.execute(delete(XFeedRow).where(XFeedRow.created_at < now - timedelta(days=KEEP_DAYS)))
            return int(getattr(gone, "rowcount", 0) or 0)

    async def forget(self) -> int:
        """Delete every synced post and both cursors (disconnect)."""
        async with self._db.transaction() as s:
            gone = await s.execute(delete(XFeedRow))
            await s.execute(delete(XCursorRow))
            return int(getattr(gone, "rowcount", 0) or 0)
