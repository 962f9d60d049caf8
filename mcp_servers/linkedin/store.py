"""The posts Aegis published on LinkedIn: one row per approved call, committed before LinkedIn is
called (see :mod:`.models`), with an audit event in the same transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from mcp_servers._store import Sealer
from mcp_servers.linkedin.models import ENCRYPTED, LinkedInPostRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow


@dataclass(frozen=True)
class Post:
    key: str
    state: str  # calling, published, rejected, unknown
    text_hash: str
    urn: str | None
    text: str
    created_at: dt.datetime


class PostExists(Exception):
    def __init__(self, post: Post) -> None:
        super().__init__(post.key)
        self.post = post


class PostStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db, self._audit = db, audit
        self._seal = Sealer(cipher, ENCRYPTED, table="linkedin_posts")

    def _post(self, r: LinkedInPostRow) -> Post:
        return Post(r.key, r.state, r.text_hash, r.urn, self._seal.open("text", r.key, r.text), r.created_at)

    async def begin(self, key: str, text_hash: str, text: str, event: AuditEvent) -> Post:
        """Commit the call (``calling``) before LinkedIn sees it; :class:`PostExists` if it was.

        A ``rejected`` earlier attempt of the same approval is replaced: LinkedIn published nothing."""
        now = utcnow()
        row = LinkedInPostRow(
            key=key,
            state="calling",
            text_hash=text_hash,
            text=self._seal.seal("text", key, text),
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._db.transaction() as s:
                await s.execute(
                    delete(LinkedInPostRow).where(LinkedInPostRow.key == key, LinkedInPostRow.state == "rejected")
                )
                s.add(row)
                await s.flush()
                await self._audit.append(s, event)
        except IntegrityError:
            existing = await self.get(key)
            assert existing is not None
            raise PostExists(existing) from None
        return Post(key, "calling", text_hash, None, text, now)

    async def settle(self, key: str, state: str, urn: str | None, event: AuditEvent) -> None:
        async with self._db.transaction() as s:
            await s.execute(
                update(LinkedInPostRow)
                .where(LinkedInPostRow.key == key)
                .values(state=state, urn=urn, updated_at=utcnow())
            )
            await self._audit.append(s, event)

    async def get(self, key: str) -> Post | None:
        async with self._db.transaction() as s:
            row = await s.get(LinkedInPostRow, key)
        return None if row is None else self._post(row)

    async def recent(self, limit: int) -> list[Post]:
        query = (
            select(LinkedInPostRow)
            .where(LinkedInPostRow.state.in_(("published", "unknown")))
            .order_by(LinkedInPostRow.created_at.desc())
            .limit(limit)
        )
        async with self._db.transaction() as s:
            rows = (await s.execute(query)).scalars().all()
        return [self._post(r) for r in rows]

    async def delete_all(self, event: AuditEvent) -> int:
        async with self._db.transaction() as s:
            result = await s.execute(delete(LinkedInPostRow))
            await self._audit.append(s, event)
        return int(getattr(result, "rowcount", 0) or 0)
