"""The encrypted memory store: each memory's text and provenance sealed under the ``memory``
data-key domain and bound to its row id; its history (created, edited, confirmed, used) likewise.

Search decrypts and matches here: the text is never stored or indexed in the clear.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcp_servers._store import Sealer
from mcp_servers.memory.models import ENCRYPTED, MemoryEventRow, MemoryRow
from storage.crypto.field import FieldCipher
from storage.db import Database

ACTIVE = "active"
QUARANTINED = "quarantined"
MAX_TEXT = 2_000


@dataclass(frozen=True)
class Memory:
    id: str
    text: str
    state: str
    integrity: str
    source_kind: str
    confirmed_how: str
    provenance: dict[str, Any]  # {"label": the source's label, "ref": what it was written from}
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None


@dataclass(frozen=True)
class MemoryEvent:
    action: str
    detail: dict[str, Any]
    at: datetime


class MemoryStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="memories")
        self._events = Sealer(cipher, ENCRYPTED, table="memory_events")

    def _memory(self, row: MemoryRow) -> Memory:
        return Memory(
            id=row.id,
            text=self._seal.open("text", row.id, row.text),
            state=row.state,
            integrity=row.integrity,
            source_kind=row.source_kind,
            confirmed_how=row.confirmed_how,
            provenance=self._seal.open_json("provenance", row.id, row.provenance),
            created_at=row.created_at,
            updated_at=row.updated_at,
            confirmed_at=row.confirmed_at,
        )

    async def _event(self, s: AsyncSession, memory_id: str, action: str, detail: dict[str, Any], now: datetime) -> None:
        # Sealed under the event row's own id (the context a data-key rotation rewraps it under),
        # which the insert gives: flush first, then seal.
        row = MemoryEventRow(memory_id=memory_id, action=action, detail=b"", at=now)
        s.add(row)
        await s.flush()
        row.detail = self._events.seal_json("detail", str(row.id), detail)

    async def add(
        self,
        text: str,
        *,
        state: str,
        integrity: str,
        source_kind: str,
        confirmed_how: str,
        provenance: dict[str, Any],
        now: datetime,
    ) -> Memory:
        mid = str(uuid.uuid4())
        row = MemoryRow(
            id=mid,
            state=state,
            integrity=integrity,
            source_kind=source_kind,
            confirmed_how=confirmed_how,
            text=self._seal.seal("text", mid, text[:MAX_TEXT]),
            provenance=self._seal.seal_json("provenance", mid, provenance),
            created_at=now,
            updated_at=now,
            confirmed_at=now if state == ACTIVE else None,
        )
        async with self._db.transaction() as s:
            s.add(row)
            await self._event(s, mid, "created", {"state": state, "source": source_kind}, now)
        return self._memory(row)

    async def get(self, memory_id: str) -> Memory | None:
        async with self._db.read() as s:
            row = await s.get(MemoryRow, memory_id[:36])
            return None if row is None else self._memory(row)

    async def listing(self, *, state: str | None = None) -> list[Memory]:
        q = select(MemoryRow).order_by(MemoryRow.created_at.desc())
        if state is not None:
            q = q.where(MemoryRow.state == state)
        async with self._db.read() as s:
            return [self._memory(r) for r in (await s.execute(q)).scalars()]

    async def search(self, query: str, *, state: str | None = None, limit: int = 20) -> list[Memory]:
        """Memories whose text holds every word of ``query`` (case-insensitive); all when empty."""
        words = query.casefold().split()
        found = [m for m in await self.listing(state=state) if all(w in m.text.casefold() for w in words)]
        return found[:limit]

    async def update(
        self, memory_id: str, now: datetime, *, action: str, text: str | None = None, **fields: Any
    ) -> Memory | None:
        """Change a memory's text and/or its plain columns (``state``, ``integrity``,
        ``confirmed_how``, ``confirmed_at``) and ``provenance``; records ``action`` in its history."""
        async with self._db.transaction() as s:
            row = await s.get(MemoryRow, memory_id[:36], with_for_update=True)
            if row is None:
                return None
            detail: dict[str, Any] = {k: v for k, v in fields.items() if k in ("state", "confirmed_how")}
            if text is not None:
                detail["previous_text"] = self._seal.open("text", row.id, row.text)
                row.text = self._seal.seal("text", row.id, text[:MAX_TEXT])
            if "provenance" in fields:
                row.provenance = self._seal.seal_json("provenance", row.id, fields.pop("provenance"))
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = now
            await self._event(s, row.id, action, detail, now)
            return self._memory(row)

    async def record_use(self, memory_ids: list[str], detail: dict[str, Any], now: datetime) -> None:
        async with self._db.transaction() as s:
            for mid in memory_ids:
                await self._event(s, mid, "used", detail, now)

    async def history(self, memory_id: str) -> list[MemoryEvent]:
        q = select(MemoryEventRow).where(MemoryEventRow.memory_id == memory_id[:36]).order_by(MemoryEventRow.id)
        async with self._db.read() as s:
            rows = list((await s.execute(q)).scalars())
        return [MemoryEvent(r.action, self._events.open_json("detail", str(r.id), r.detail), r.at) for r in rows]

    async def forget(self, memory_id: str) -> bool:
        """Delete the memory and its whole history, for good."""
        async with self._db.transaction() as s:
            gone = await s.execute(delete(MemoryRow).where(MemoryRow.id == memory_id[:36]))
            await s.execute(delete(MemoryEventRow).where(MemoryEventRow.memory_id == memory_id[:36]))
        return bool(getattr(gone, "rowcount", 0))
