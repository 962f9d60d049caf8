"""Outlook mail and events synced by the Outlook MCP server, encrypted under the ``mail`` data-key domain.

Plain columns are what sync, window queries and provenance labels need: ids, folder, conversation,
times in UTC, the sender's or organizer's address (``principal``). Subjects, bodies, locations and
people are encrypted, each bound to its row id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class OutlookStateRow(Base):
    """Per stream (``inbox``, ``sentitems``, ``calendar``): the delta link to continue from."""

    __tablename__ = "outlook_state"

    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    delta_link: Mapped[str | None] = mapped_column(String(4096))
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutlookMessageRow(Base):
    __tablename__ = "outlook_messages"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    folder: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(512), index=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    principal: Mapped[str | None] = mapped_column(String(320))  # provenance: the sender's address
    is_read: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[bytes] = mapped_column(LargeBinary)
    sender: Mapped[bytes] = mapped_column(LargeBinary)
    recipients: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {"to": [...], "cc": [...]}
    preview: Mapped[bytes] = mapped_column(LargeBinary)
    analysis: Mapped[bytes] = mapped_column(LargeBinary)  # JSON: category, action items, dates, questions
    # The model's analysis (agent.mail_analysis): None until the model was asked; "analysed" with the
    # encrypted result in model_analysis, or why its answer was not used (the rules' result stands).
    model_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    model_analysis: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutlookEventRow(Base):
    __tablename__ = "outlook_events"

    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    series_master_id: Mapped[str | None] = mapped_column(String(512))
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    show_as: Mapped[str] = mapped_column(String(24), default="busy")
    principal: Mapped[str | None] = mapped_column(String(320))  # provenance: the organizer's address
    organizer_self: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[bytes] = mapped_column(LargeBinary)
    description: Mapped[bytes] = mapped_column(LargeBinary)
    location: Mapped[bytes] = mapped_column(LargeBinary)
    attendees: Mapped[bytes] = mapped_column(LargeBinary)  # JSON [{"email", "response"}]
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


MESSAGE_TEXT = ("subject", "sender", "recipients", "preview", "analysis", "model_analysis")
EVENT_TEXT = ("summary", "description", "location", "attendees")
ENCRYPTED = (
    *(EncryptedColumn("outlook_messages", c, "mail") for c in MESSAGE_TEXT),
    *(EncryptedColumn("outlook_events", c, "mail") for c in EVENT_TEXT),
)
