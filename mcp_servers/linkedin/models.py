"""LinkedIn posts Aegis published (or tried to), encrypted under the ``social`` data-key domain.

One row per approved call, written *before* LinkedIn is called: ``key`` is the approved call's id, so
the same approval never reaches LinkedIn twice. ``state`` is ``calling`` until LinkedIn answered
(``published`` with the post's URN, or ``rejected``); ``unknown`` when the answer was lost, and then
nothing is sent again for that approval (members cannot read their posts back through the API).
Plain: the key, state, URN, times. Encrypted: the text as approved.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
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


ENCRYPTED = (EncryptedColumn("linkedin_posts", "text", "social", pk="key"),)
