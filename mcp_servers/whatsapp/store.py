"""The encrypted WhatsApp store: bridge messages in, decrypted :class:`StoredMessage` out.

Writes are upserts keyed by WhatsApp's message id, so a message handed over twice (an ack lost
before a bridge restart) is stored once. A batch and its audit row share one transaction; the
caller acknowledges the batch to the bridge only after it committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.whatsapp.models import ENCRYPTED, WhatsAppMessageRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.whatsapp.models import WhatsAppMessage

MAX_BODY = 65_536
_MESSAGES = table_of(WhatsAppMessageRow)


@dataclass(frozen=True)
class StoredMessage:
    id: str
    chat_id: str
    chat_name: str | None
    is_group: bool
    from_me: bool
    author: str | None
    saved_name: str | None
    push_name: str | None
    timestamp: int
    type: str
    body: str
    links: list[str]


class MessageStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="whatsapp_messages")

    def _row(self, m: WhatsAppMessage) -> dict[str, object]:
        author = None if m.from_me else (m.author or m.chat_id)
        names = {"saved": m.sender_saved_name, "push": m.sender_push_name}
        return {
            "id": m.id,
            "chat_id": m.chat_id,
            "is_group": m.is_group,
            "from_me": m.from_me,
            "author": author,
            "timestamp": m.timestamp,
            "type": m.type[:32],
            "chat_name": self._seal.seal_json("chat_name", m.id, m.chat_name),
            "sender_names": self._seal.seal_json("sender_names", m.id, names),
            "body": self._seal.seal("body", m.id, m.body[:MAX_BODY]),
            "links": self._seal.seal_json("links", m.id, list(m.links)),
            "stored_at": utcnow(),
        }

    def _open(self, row: WhatsAppMessageRow) -> StoredMessage:
        names = self._seal.open_json("sender_names", row.id, row.sender_names)
        return StoredMessage(
            id=row.id,
            chat_id=row.chat_id,
            chat_name=self._seal.open_json("chat_name", row.id, row.chat_name),
            is_group=row.is_group,
            from_me=row.from_me,
            author=row.author,
            saved_name=names.get("saved"),
            push_name=names.get("push"),
            timestamp=row.timestamp,
            type=row.type,
            body=self._seal.open("body", row.id, row.body),
            links=list(self._seal.open_json("links", row.id, row.links)),
        )

    async def save(
        self, messages: Iterable[WhatsAppMessage], *, audit: AuditLog | None = None, event: AuditEvent | None = None
    ) -> int:
        """Upsert ``messages`` (and append ``event``) in one transaction; returns how many rows were written."""
        rows = [self._row(m) for m in messages]
        async with self._db.transaction() as s:
            await upsert(s, _MESSAGES, rows, "id")
            if audit is not None and event is not None:
                await audit.append(s, event)
        return len(rows)

    async def get(self, ids: Sequence[str]) -> list[StoredMessage]:
        """Stored messages with these ids, in the order given (missing ids are skipped)."""
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(WhatsAppMessageRow).where(WhatsAppMessageRow.id.in_(list(ids))))).all()
        by_id = {r.id: self._open(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def recent(self, limit: int, chat_id: str | None = None) -> list[StoredMessage]:
        """The newest stored messages (of one chat), newest first."""
        query = select(WhatsAppMessageRow).order_by(WhatsAppMessageRow.timestamp.desc(), WhatsAppMessageRow.id)
        if chat_id is not None:
            query = query.where(WhatsAppMessageRow.chat_id == chat_id)
        async with self._db.transaction() as s:
            rows = (await s.scalars(query.limit(limit))).all()
        return [self._open(r) for r in rows]

    async def since(self, epoch: int, limit: int = 5000) -> list[StoredMessage]:
        """Stored messages sent at or after ``epoch`` (seconds), newest first, at most ``limit``."""
        query = (
            select(WhatsAppMessageRow)
            .where(WhatsAppMessageRow.timestamp >= epoch)
            .order_by(WhatsAppMessageRow.timestamp.desc(), WhatsAppMessageRow.id)
            .limit(limit)
        )
        async with self._db.transaction() as s:
            rows = (await s.scalars(query)).all()
        return [self._open(r) for r in rows]

    async def purge(self) -> int:
        """Delete every stored message (disconnecting); returns how many rows went."""
        async with self._db.transaction() as s:
            result = await s.execute(delete(WhatsAppMessageRow))
        return int(getattr(result, "rowcount", 0) or 0)
