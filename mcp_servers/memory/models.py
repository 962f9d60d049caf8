"""The assistant's memory: each fact encrypted under the ``memory`` data-key domain, with where it
came from (the owner's words, or a tool result and its provenance labels), when, and how it was
confirmed. A memory proposed from untrusted content stays ``quarantined`` until the owner confirms it.

Forgetting deletes the memory and every event of its history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class MemoryRow(Base):
    __tablename__ = "memories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # active, quarantined
    integrity: Mapped[str] = mapped_column(String(16))  # TRUSTED or UNTRUSTED, from the source's label
    source_kind: Mapped[str] = mapped_column(String(16))  # owner or tool
    confirmed_how: Mapped[str] = mapped_column(String(32))  # owner_said, owner_confirmed, owner_edited, unconfirmed
    text: Mapped[bytes] = mapped_column(LargeBinary)
    provenance: Mapped[bytes] = mapped_column(LargeBinary)  # JSON: the source's label and references
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemoryEventRow(Base):
    """A memory's history: created, edited, confirmed, used (and for what)."""

    __tablename__ = "memory_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    memory_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("memories", "text", "memory"),
    EncryptedColumn("memories", "provenance", "memory"),
    EncryptedColumn("memory_events", "detail", "memory"),
)
