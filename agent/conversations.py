"""Conversations stored encrypted, with provenance labels kept beside each message.

Compaction keeps the newest messages within a budget and marks the rest compacted (they stay
stored, encrypted, for the owner's history view). Standing instructions live outside the history
and go into every system prompt, so compaction never drops them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.agent import ENCRYPTED, ConversationMessageRow, ConversationRow, StandingInstructionRow, UsageDayRow
from storage.models.base import utcnow

_TITLE, _CONTENT, _INSTRUCTION = ENCRYPTED[0], ENCRYPTED[1], ENCRYPTED[2]
DOMAIN = "conversation"


@dataclass(frozen=True)
class StoredMessage:
    id: str
    seq: int
    role: str
    content: Any
    label: dict[str, Any] | None
    compacted: bool


class ConversationStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def create(self, title: str, *, channel: str = "console") -> str:
        cid = str(uuid.uuid4())
        async with self._db.transaction() as s:
            s.add(
                ConversationRow(
                    id=cid,
                    channel=channel,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                    title=self._cipher.encrypt_text(DOMAIN, _TITLE.context({"id": cid}), title),
                )
            )
        return cid

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(select(ConversationRow).order_by(ConversationRow.updated_at.desc()).limit(limit))
            ).all()
        return [
            {
                "id": r.id,
                "channel": r.channel,
                "updated_at": r.updated_at.isoformat(),
                "title": self._cipher.decrypt_text(DOMAIN, _TITLE.context({"id": r.id}), r.title) if r.title else "",
            }
            for r in rows
        ]

    async def append(
        self, cid: str, messages: Sequence[dict[str, Any]], labels: Sequence[dict[str, Any] | None]
    ) -> None:
        async with self._db.transaction() as s:
            conv = await s.get(ConversationRow, cid, with_for_update=True)
            if conv is None:
                raise KeyError(f"no conversation {cid}")
            seq = int(
                await s.scalar(
                    select(func.coalesce(func.max(ConversationMessageRow.seq), 0)).where(
                        ConversationMessageRow.conversation_id == cid
                    )
                )
                or 0
            )
            for msg, label in zip(messages, labels, strict=True):
                seq += 1
                mid = str(uuid.uuid4())
                blob = self._cipher.encrypt_text(DOMAIN, _CONTENT.context({"id": mid}), json.dumps(msg["content"]))
                s.add(
                    ConversationMessageRow(
                        id=mid,
                        conversation_id=cid,
                        seq=seq,
                        role=msg["role"],
                        content=blob,
                        label=json.dumps(label) if label else None,
                        created_at=utcnow(),
                    )
                )
            conv.updated_at = utcnow()

    async def rewrite(self, cid: str, mid: str, content: Any) -> None:
        """Replace one message's content (a voice answer the owner cut off keeps only what was heard)."""
        blob = self._cipher.encrypt_text(DOMAIN, _CONTENT.context({"id": mid}), json.dumps(content))
        async with self._db.transaction() as s:
            await s.execute(
                update(ConversationMessageRow)
                .where(ConversationMessageRow.id == mid, ConversationMessageRow.conversation_id == cid)
                .values(content=blob)
            )

    async def messages(self, cid: str, *, include_compacted: bool = False) -> list[StoredMessage]:
        async with self._db.transaction() as s:
            q = select(ConversationMessageRow).where(ConversationMessageRow.conversation_id == cid)
            if not include_compacted:
                q = q.where(ConversationMessageRow.compacted.is_(False))
            rows = (await s.scalars(q.order_by(ConversationMessageRow.seq))).all()
        return [
            StoredMessage(
                r.id,
                r.seq,
                r.role,
                json.loads(self._cipher.decrypt_text(DOMAIN, _CONTENT.context({"id": r.id}), r.content)),
                json.loads(r.label) if r.label else None,
                r.compacted,
            )
            for r in rows
        ]

    async def history(self, cid: str) -> list[dict[str, Any]]:
        return [{"role": m.role, "content": m.content} for m in await self.messages(cid)]

    async def compact(self, cid: str, *, keep_chars: int = 60_000) -> int:
        """Mark the oldest messages compacted until the rest fit ``keep_chars``. Never splits a tool
        call from its result: the kept history starts at a user message that carries plain text."""
        msgs = await self.messages(cid)
        size, start = 0, len(msgs)
        for i in range(len(msgs) - 1, -1, -1):
            size += len(json.dumps(msgs[i].content))
            if size > keep_chars:
                break
            start = i
        while start < len(msgs) and not (msgs[start].role == "user" and isinstance(msgs[start].content, str)):
            start += 1
        dropped = [m.id for m in msgs[:start]]
        if dropped:
            async with self._db.transaction() as s:
                await s.execute(
                    update(ConversationMessageRow).where(ConversationMessageRow.id.in_(dropped)).values(compacted=True)
                )
        return len(dropped)

    async def add_instruction(self, text: str) -> str:
        iid = str(uuid.uuid4())
        async with self._db.transaction() as s:
            s.add(
                StandingInstructionRow(
                    id=iid,
                    active=True,
                    created_at=utcnow(),
                    text=self._cipher.encrypt_text(DOMAIN, _INSTRUCTION.context({"id": iid}), text),
                )
            )
        return iid

    async def remove_instruction(self, iid: str) -> None:
        async with self._db.transaction() as s:
            await s.execute(update(StandingInstructionRow).where(StandingInstructionRow.id == iid).values(active=False))

    async def instructions(self) -> list[tuple[str, str]]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(
                    select(StandingInstructionRow)
                    .where(StandingInstructionRow.active.is_(True))
                    .order_by(StandingInstructionRow.created_at)
                )
            ).all()
        return [(r.id, self._cipher.decrypt_text(DOMAIN, _INSTRUCTION.context({"id": r.id}), r.text)) for r in rows]


class DatabaseLedger:
    """Daily model spend in the database (survives restarts; shared by chat and jobs)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def spent(self, day: date) -> tuple[int, float]:
        async with self._db.transaction() as s:
            row = await s.get(UsageDayRow, day)
        return (0, 0.0) if row is None else (row.tokens, row.cost_usd)

    async def add(self, day: date, tokens: int, cost: float) -> None:
        async with self._db.transaction() as s:
            row = await s.get(UsageDayRow, day, with_for_update=True)
            if row is None:
                s.add(UsageDayRow(day=day, tokens=tokens, cost_usd=cost))
            else:
                row.tokens += tokens
                row.cost_usd += cost
