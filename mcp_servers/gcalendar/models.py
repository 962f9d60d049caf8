"""Events synced by the Google Calendar MCP server, encrypted under the ``calendar`` data-key domain.

Plain columns are what sync and window queries need and what provenance labels carry: the event
ids, status, start and end in UTC, whether it is all day, and the organizer's address
(``principal``). Title, description, location and attendees are encrypted, each bound to its row id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class CalendarAccountRow(Base):
    """Per-calendar sync state: Google's sync token to continue from (None: a full sync is due)."""

    __tablename__ = "gcalendar_accounts"

    calendar: Mapped[str] = mapped_column(String(320), primary_key=True)
    sync_token: Mapped[str | None] = mapped_column(String(512))
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CalendarEventRow(Base):
    __tablename__ = "gcalendar_events"

    id: Mapped[str] = mapped_column(String(1024), primary_key=True)  # Google's event (instance) id
    calendar: Mapped[str] = mapped_column(String(320), index=True)
    status: Mapped[str] = mapped_column(String(16))
    recurring_event_id: Mapped[str | None] = mapped_column(String(1024))
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    principal: Mapped[str | None] = mapped_column(String(320))  # provenance: the organizer's address
    organizer_self: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[bytes] = mapped_column(LargeBinary)
    description: Mapped[bytes] = mapped_column(LargeBinary)
    location: Mapped[bytes] = mapped_column(LargeBinary)
    attendees: Mapped[bytes] = mapped_column(LargeBinary)  # JSON [{"email", "response"}]
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = tuple(
    EncryptedColumn("gcalendar_events", column, "calendar")
    for column in ("summary", "description", "location", "attendees")
)
