"""The approved posts' idempotency records (:class:`~mcp_servers.twitter.models.XPostRow`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
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


class PostExists(Exception):
    """A record for this approved call was already committed."""


class PostStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="twitter_posts")
        self._audit = audit

    def _record(self, row: XPostRow) -> PostRecord:
        data: dict[str, Any] = self._seal.open_json("data", row.key, row.data)
        return PostRecord(row.key, row.state, row.post_id, str(data["text"]), data.get("url"))

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
            row.data = self._seal.seal_json("data", key, {**data, "url": url})
            await self._audit.append(s, event)

    async def by_post_id(self, post_id: str) -> PostRecord | None:
        async with self._db.transaction() as s:
            row = (await s.execute(select(XPostRow).where(XPostRow.post_id == post_id))).scalars().first()
            return None if row is None else self._record(row)

    async def recent(self, limit: int) -> list[PostRecord]:
        async with self._db.transaction() as s:
            stmt = select(XPostRow).where(XPostRow.state == "posted").order_by(XPostRow.created_at.desc()).limit(limit)
            return [self._record(r) for r in (await s.execute(stmt)).scalars()]
