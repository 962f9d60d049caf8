"""The approved posts' idempotency records (:class:`~mcp_servers.twitter.models.XPostRow`), with each
published post's latest engagement (refreshed by the sync)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mcp_servers._store import Sealer
from mcp_servers.twitter.models import ENCRYPTED, XPostRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow


@dataclass(frozen=True)
class PostRecord:
    key: str
    state: str  # calling | posted | deleted
    post_id: str | None
    text: str
    url: str | None
    posted_at: str | None = None  # ISO 8601, UTC
    metrics: dict[str, int] = field(default_factory=dict)
    metrics_at: str | None = None


class PostExists(Exception):
    """A record for this approved call was already committed."""


class PostStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="twitter_posts")
        self._audit = audit

    def _record(self, row: XPostRow) -> PostRecord:
        data: dict[str, Any] = self._seal.open_json("data", row.key, row.data)
        metrics = {str(k): int(v) for k, v in (data.get("metrics") or {}).items() if isinstance(v, int)}
        posted_at = data.get("posted_at") or (row.updated_at.isoformat() if row.state != "calling" else None)
        text, url = str(data["text"]), data.get("url")
        return PostRecord(row.key, row.state, row.post_id, text, url, posted_at, metrics, data.get("metrics_at"))

    async def get(self, key: str) -> PostRecord | None:
        async with self._db.transaction() as s:
            row = await s.get(XPostRow, key)
            return None if row is None else self._record(row)

    async def begin(self, key: str, text: str, event: AuditEvent) -> None:
        """Commit the record (state ``calling``) before X is called; :class:`PostExists` if it was."""
        now = utcnow()
        row = XPostRow(
            key=key,
            state="calling",
            post_id=None,
            created_at=now,
            updated_at=now,
            data=self._seal.seal_json("data", key, {"text": text, "url": None}),
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
                await s.flush()
                await self._audit.append(s, event)
        except IntegrityError:
            raise PostExists(key) from None

    async def finish(self, key: str, state: str, post_id: str | None, url: str | None, event: AuditEvent) -> None:
        async with self._db.transaction() as s:
            row = await s.get(XPostRow, key)
            if row is None:
                return
            data = self._seal.open_json("data", key, row.data)
            row.state, row.post_id, row.updated_at = state, post_id, utcnow()
            posted = {"posted_at": row.updated_at.isoformat()} if state == "posted" and "posted_at" not in data else {}
            row.data = self._seal.seal_json("data", key, {**data, "url": url, **posted})
            await self._audit.append(s, event)

    async def by_post_id(self, post_id: str) -> PostRecord | None:
        async with self._db.transaction() as s:
            row = (await s.execute(select(XPostRow).where(XPostRow.post_id == post_id))).scalars().first()
            return None if row is None else self._record(row)

    async def recent(self, limit: int) -> list[PostRecord]:
        async with self._db.transaction() as s:
            stmt = select(XPostRow).where(XPostRow.state == "posted").order_by(XPostRow.created_at.desc()).limit(limit)
            return [self._record(r) for r in (await s.execute(stmt)).scalars()]

    async def published(self, limit: int, since: datetime | None = None) -> list[PostRecord]:
        """The posts published through Aegis (with X's id), newest first; ``since``: posted after."""
        stmt = select(XPostRow).where(XPostRow.state == "posted", XPostRow.post_id.is_not(None))
        if since is not None:
            stmt = stmt.where(XPostRow.created_at >= since)
        stmt = stmt.order_by(XPostRow.created_at.desc()).limit(limit)
        async with self._db.transaction() as s:
            return [self._record(r) for r in (await s.execute(stmt)).scalars()]

    async def set_metrics(self, found: Mapping[str, tuple[dict[str, int], str | None]], at: str) -> int:
        """Keep each post's latest engagement (``post_id -> (metrics, X's created_at)``)."""
        if not found:
            return 0
        async with self._db.transaction() as s:
            rows = (await s.execute(select(XPostRow).where(XPostRow.post_id.in_(list(found))))).scalars()
            done = 0
            for row in rows:
                metrics, created = found[str(row.post_id)]
                data = self._seal.open_json("data", row.key, row.data)
                data |= {"metrics": metrics, "metrics_at": at} | ({"posted_at": created} if created else {})
                row.data = self._seal.seal_json("data", row.key, data)
                done += 1
            return done

    async def forget(self, event: AuditEvent) -> int:
        """Delete every post record (disconnect); the posts stay on X."""
        async with self._db.transaction() as s:
            gone = await s.execute(delete(XPostRow))
            await self._audit.append(s, event)
            return int(getattr(gone, "rowcount", 0) or 0)
