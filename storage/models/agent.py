"""The agent's tables: encrypted conversations, standing instructions, daily spend and approvals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted
    channel: Mapped[str] = mapped_column(String(16), default="console")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ConversationMessageRow(Base):
    """One message in Messages API block form. ``content`` is encrypted JSON; ``label`` is the
    provenance label of what the message carries (public metadata: sources, integrity, readers)."""

    __tablename__ = "conversation_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    label: Mapped[str | None] = mapped_column(Text)
    compacted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StandingInstructionRow(Base):
    """Instructions from the owner that hold for every conversation (kept outside the history, so
    they survive compaction)."""

    __tablename__ = "standing_instructions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    text: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageDayRow(Base):
    """Model spend per day, shared by chat and jobs, so a restart does not reset the daily cap."""

    __tablename__ = "usage_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class ApprovalRow(Base):
    """A pending or decided approval. ``args`` and ``card`` are encrypted; ``args_hash`` binds the grant."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    tool: Mapped[str] = mapped_column(String(128))
    args: Mapped[bytes] = mapped_column(LargeBinary)
    args_hash: Mapped[str] = mapped_column(String(64))
    card: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    step_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(256))


ENCRYPTED = (
    EncryptedColumn("conversations", "title", "conversation"),
    EncryptedColumn("conversation_messages", "content", "conversation"),
    EncryptedColumn("standing_instructions", "text", "conversation"),
    EncryptedColumn("approvals", "args", "conversation"),
    EncryptedColumn("approvals", "card", "conversation"),
)
