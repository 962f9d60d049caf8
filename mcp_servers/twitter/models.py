"""What the X server keeps, encrypted under the ``social`` data-key domain: one row per approved
post (its idempotency record), keyed by the approved call's id.

A post's row is committed in state ``calling`` before X is called and moved to ``posted`` with X's
post id after: a retry of the same approved call (after a crash or a lost answer) finds the row and
never publishes a second time. The text and X's answer are one encrypted JSON document.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
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
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {text, url}


ENCRYPTED = (EncryptedColumn("twitter_posts", "data", "social", pk="key"),)
