"""The owner's net worth, one snapshot a day (:mod:`integrations.money`).

``day`` is the ISO date (text: ordered as dates, and a plain rotation cursor); ``content`` is the
snapshot as encrypted JSON: each integration's part (assets, liabilities, masked accounts) and what
was missing. It is under the ``conversation`` domain, like the briefings that quote it: the console
holds that key, and no integration's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class NetWorthSnapshotRow(Base):
    __tablename__ = "net_worth_snapshots"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (EncryptedColumn("net_worth_snapshots", "content", "conversation", pk="day"),)
