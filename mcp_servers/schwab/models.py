"""Brokerage data synced by the Schwab MCP server, encrypted under the ``finance`` data-key domain.

Plain: Schwab's opaque account hash, dates, transaction type, order status and times (what sync,
range queries and the open-order check filter on). Encrypted: every amount, quantity, symbol and
balance, the masked account number, and the idempotency records' order specs and results. The
account number itself is never stored here (it stays in the broker's vault and at Schwab); the
OAuth token lives in the vault as ``schwab-oauth``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class SchwabAccountRow(Base):
    __tablename__ = "schwab_accounts"

    account_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    mask: Mapped[bytes] = mapped_column(LargeBinary)
    balances: Mapped[bytes] = mapped_column(LargeBinary)  # JSON of decimal strings
    positions: Mapped[bytes] = mapped_column(LargeBinary)  # JSON list
    synced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchwabTransactionRow(Base):
    __tablename__ = "schwab_transactions"

    activity_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_hash: Mapped[str] = mapped_column(String(128), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    type: Mapped[str] = mapped_column(String(48))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {net_amount, symbol, quantity, price, description}


class SchwabOrderRow(Base):
    __tablename__ = "schwab_orders"

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_hash: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(40))
    entered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # JSON of the order as Schwab describes it


class SchwabIntentRow(Base):
    """One approved order call (place or cancel), written *before* Schwab is called.

    ``key`` is the approved call's id: the same approval never reaches Schwab twice. ``state`` is
    ``calling`` until Schwab answered (``done``, ``rejected``) or is ``unknown`` when the answer was
    lost; a ``calling``/``unknown`` record is settled by reading Schwab's orders, never by calling again
    blindly.
    """

    __tablename__ = "schwab_intents"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    account_hash: Mapped[str] = mapped_column(String(128))
    spec_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[str | None] = mapped_column(String(32))
    spec: Mapped[bytes] = mapped_column(LargeBinary)  # JSON: the order spec and its notional
    result: Mapped[bytes | None] = mapped_column(LargeBinary)  # JSON: what Schwab answered


class SchwabSettingRow(Base):
    """The owner's settings (trading limits), one encrypted JSON value per key."""

    __tablename__ = "schwab_settings"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchwabSnapshotRow(Base):
    """The brokerage's value at the end of a day (the money page's net worth over time)."""

    __tablename__ = "schwab_snapshots"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {total, cash, positions}
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("schwab_accounts", "mask", "finance", pk="account_hash"),
    EncryptedColumn("schwab_accounts", "balances", "finance", pk="account_hash"),
    EncryptedColumn("schwab_accounts", "positions", "finance", pk="account_hash"),
    EncryptedColumn("schwab_transactions", "body", "finance", pk="activity_id"),
    EncryptedColumn("schwab_orders", "body", "finance", pk="order_id"),
    EncryptedColumn("schwab_intents", "spec", "finance", pk="key"),
    EncryptedColumn("schwab_intents", "result", "finance", pk="key"),
    EncryptedColumn("schwab_settings", "value", "finance", pk="key"),
    EncryptedColumn("schwab_snapshots", "value", "finance", pk="day"),
)
