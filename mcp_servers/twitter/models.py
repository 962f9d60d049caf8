"""What the X server keeps, encrypted under the ``social`` data-key domain.

- ``twitter_posts``: one row per approved post (its idempotency record), keyed by the approved
  call's id. A row is committed in state ``calling`` before X is called and moved to ``posted`` with
  X's post id after: a retry of the same approved call (after a crash or a lost answer) finds the row
  and never publishes a second time. The text, X's answer and the post's latest engagement (refreshed
  by the sync) are one encrypted JSON document.
- ``twitter_feed``: the synced home timeline and mentions, one row per X post id (a post that is in
  both is stored once, with both flags), pruned after :data:`~mcp_servers.twitter.feed.KEEP_DAYS`.
  The post's text, author and metrics are one encrypted JSON document; its time is plain for ordering.
- ``twitter_cursors``: per stream (``home``, ``mentions``) the newest post id seen (X's ``since_id``)
  and when it last synced. Post ids only, nothing anyone wrote.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class XPostRow(Base):
    __tablename__ = "twitter_posts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # the approved call's id
    state: Mapped[str] = mapped_column(String(16))  # calling | posted | deleted
    post_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {text, url, posted_at?, metrics?, metrics_at?}


class XFeedRow(Base):
    __tablename__ = "twitter_feed"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # X's post id
    home: Mapped[bool] = mapped_column(Boolean, default=False)
    mention: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # when it was posted
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {text, author, author_name, metrics}


class XCursorRow(Base):
    __tablename__ = "twitter_cursors"

    stream: Mapped[str] = mapped_column(String(16), primary_key=True)  # home | mentions
    since_id: Mapped[str | None] = mapped_column(String(32))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("twitter_posts", "data", "social", pk="key"),
    EncryptedColumn("twitter_feed", "data", "social", pk="id"),
)
