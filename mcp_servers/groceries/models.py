"""Grocery plans and the owner's grocery settings, encrypted under the ``health`` data-key domain
(what a person eats is health data).

Plain: a plan's id (``plan-<first day>``, so a re-run for the same days replaces its plan rather than
adding one), its first day, its status and when it was made, approved and delivered: what the
queries filter on. Encrypted: the plan itself (foods, grams, totals, goals) and the settings.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class GroceryPlanRow(Base):
    __tablename__ = "grocery_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # waiting, approved, superseded
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GrocerySettingsRow(Base):
    __tablename__ = "grocery_settings"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "owner"
    body: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("grocery_plans", "body", "health", pk="id"),
    EncryptedColumn("grocery_settings", "body", "health", pk="id"),
)
