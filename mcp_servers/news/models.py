"""News stories, events and the owner's news settings, encrypted under the ``social`` data-key domain.

Plain: a story's id (a hash of its normalised link), when it was published and first seen, and an
event's id (a hash of its feed, UID and start) and start time: what the queries filter and order
on. Encrypted: everything else (titles, links, sources, summaries, article text, event details) and
the settings (the owner's topics say what the owner follows).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class NewsStoryRow(Base):
    __tablename__ = "news_stories"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class NewsEventRow(Base):
    __tablename__ = "news_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class NewsSettingsRow(Base):
    __tablename__ = "news_settings"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "owner"
    body: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("news_stories", "body", "social", pk="id"),
    EncryptedColumn("news_events", "body", "social", pk="id"),
    EncryptedColumn("news_settings", "body", "social", pk="id"),
)
