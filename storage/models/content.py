"""The content engine's drafts and the owner's content settings (:mod:`agent.content`).

A draft row keeps what the engine queries on in the clear (its network, slot day, status, the
approval that publishes it, the published post's id and time) and everything the owner wrote or
read in ``body``: the text, its sources, its checks, the refusal, the labels of its inputs and the
engagement collected after publishing, as encrypted JSON bound to the row's id. The settings (themes,
voice, approved link hosts) are one encrypted row. Both are under the ``conversation`` domain, like
the approvals that publish the drafts: the console holds that key, and no integration's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class ContentDraftRow(Base):
    __tablename__ = "content_drafts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    integration: Mapped[str] = mapped_column(String(32), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # the slot's day on the owner's clock
    status: Mapped[str] = mapped_column(String(24), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approval_id: Mapped[str | None] = mapped_column(String(64), index=True)
    post_id: Mapped[str | None] = mapped_column(String(128))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ContentSettingsRow(Base):
    __tablename__ = "content_settings"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "owner": one row
    body: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("content_drafts", "body", "conversation"),
    EncryptedColumn("content_settings", "body", "conversation"),
)
