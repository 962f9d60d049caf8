"""Mail synced by the Gmail MCP server: messages encrypted under the ``mail`` data-key domain.

Plain columns are what sync and lookups need and what the gateway's provenance labels carry: the
Gmail ids, label ids, the internal date, the history id and the sender address (``principal``, the
provenance principal). Subject, sender and recipients as written, snippet, body text and
the mail analysis are encrypted, each bound to its row id (see :class:`~storage.crypto.field.FieldContext`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class MailAccountRow(Base):
    """Per-account sync state: the Gmail history id to continue from (None: a full sync is due)."""

    __tablename__ = "mail_accounts"

    account: Mapped[str] = mapped_column(String(320), primary_key=True)
    history_id: Mapped[str | None] = mapped_column(String(32))
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailMessageRow(Base):
    __tablename__ = "mail_messages"

    id: Mapped[str] = mapped_column(String(256), primary_key=True)  # the Gmail message id
    account: Mapped[str] = mapped_column(String(320), index=True)
    thread_id: Mapped[str] = mapped_column(String(256), index=True)
    label_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    internal_date: Mapped[int | None] = mapped_column(BigInteger, index=True)  # epoch milliseconds
    history_id: Mapped[str | None] = mapped_column(String(32))
    principal: Mapped[str | None] = mapped_column(String(320))  # provenance: the sender's address
    subject: Mapped[bytes] = mapped_column(LargeBinary)
    sender: Mapped[bytes] = mapped_column(LargeBinary)
    recipients: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {"to": ..., "cc": ...}
    snippet: Mapped[bytes] = mapped_column(LargeBinary)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    # JSON: category, action items, dates, questions (None: stored before mail analysis existed)
    analysis: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The model's analysis (agent.mail_analysis): None until the model was asked; "analysed" with the
    # encrypted result in model_analysis, or why its answer was not used (the rules' result stands).
    model_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    model_analysis: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = tuple(
    EncryptedColumn("mail_messages", column, "mail")
    for column in ("subject", "sender", "recipients", "snippet", "body", "analysis", "model_analysis")
)
