"""Device usage synced by the ActivityWatch server: one encrypted summary per day (``coursework`` domain:
productivity data, kept with the coursework it is read against)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class DeviceUsageDayRow(Base):
    __tablename__ = "device_usage_days"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)  # the day, yyyy-mm-dd (UTC)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # {active, focus, apps: {app: s}, categories: {c: s}}
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (EncryptedColumn("device_usage_days", "data", "coursework"),)
