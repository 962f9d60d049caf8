"""Garmin data, encrypted under the ``health`` data-key domain.

``garmin_days``: one row per calendar day (the id is the date), its figures sealed as JSON.
``garmin_activities``: one row per Garmin activity id, with its day plain (the range queries filter
on it) and everything else sealed. ``garmin_status``: one row, the open "needs attention" entry and
the last good sync, sealed too (an error text can quote what Garmin answered).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class GarminDayRow(Base):
    __tablename__ = "garmin_days"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)  # yyyy-mm-dd
    data: Mapped[bytes] = mapped_column(LargeBinary)
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GarminActivityRow(Base):
    __tablename__ = "garmin_activities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # Garmin's activityId
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GarminStatusRow(Base):
    __tablename__ = "garmin_status"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


ENCRYPTED = (
    EncryptedColumn("garmin_days", "data", "health"),
    EncryptedColumn("garmin_activities", "data", "health"),
    EncryptedColumn("garmin_status", "data", "health"),
)
