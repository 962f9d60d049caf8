"""Apple Health samples, encrypted under the ``health`` data-key domain.

Plain: the metric name, the sample's start (UTC) and the day it belongs to on the phone's own clock,
and the units: what the daily queries filter on. Encrypted: every measured value and the source
(device name). The row id is a SHA-256 of (metric, start, source), so a repeated or overlapping
window lands on the same rows; it reveals nothing that the plain columns do not, beyond a device
name that can only be confirmed by guessing it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class HealthSampleRow(Base):
    __tablename__ = "health_samples"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), index=True)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    units: Mapped[str] = mapped_column(String(32))
    source: Mapped[bytes] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)  # JSON of the sample's values
    batch_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("health_samples", "source", "health", pk="id"),
    EncryptedColumn("health_samples", "value", "health", pk="id"),
)
