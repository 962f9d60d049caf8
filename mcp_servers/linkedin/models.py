"""LinkedIn posts Aegis published (or tried to), encrypted under the ``social`` data-key domain.

One row per approved call, written *before* LinkedIn is called: ``key`` is the approved call's id, so
the same approval never reaches LinkedIn twice. ``state`` is ``calling`` until LinkedIn answered
(``published`` with the post's URN, or ``rejected``); ``unknown`` when the answer was lost, and then
nothing is sent again for that approval (members cannot read their posts back through the API).
Plain: the key, state, URN, times. Encrypted: the text as approved.

The owner's feed, read in a browser (:mod:`tools.linkedin.feed`): its posts, the reader's status and
the encrypted snapshots of pages a run stopped at.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class LinkedInPostRow(Base):
    __tablename__ = "linkedin_posts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    text_hash: Mapped[str] = mapped_column(String(64))
    urn: Mapped[str | None] = mapped_column(String(80), nullable=True)
    text: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkedInFeedRow(Base):
    """A post of the owner's feed (written by someone else), keyed by its activity URN: read again,
    it is the same row. Plain: the URN and times. Encrypted: author, profile link and text."""

    __tablename__ = "linkedin_feed"

    post_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    posted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LinkedInFeedStatusRow(Base):
    """The feed reader's one status row: the last attempt and good run, and the open "needs attention"
    (reason, detail, since, snapshot) with a short tag of the session it stopped with."""

    __tablename__ = "linkedin_feed_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_tag: Mapped[str | None] = mapped_column(String(16), nullable=True)


class LinkedInSnapshotRow(Base):
    """The page a feed run stopped at (screenshot and HTML), encrypted, for the owner to look at."""

    __tablename__ = "linkedin_snapshots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)


ENCRYPTED = (
    EncryptedColumn("linkedin_posts", "text", "social", pk="key"),
    EncryptedColumn("linkedin_feed", "data", "social", pk="post_id"),
    EncryptedColumn("linkedin_snapshots", "data", "social"),
)
