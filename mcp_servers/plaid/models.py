"""Banking data synced by the Plaid MCP server, encrypted under the ``finance`` data-key domain.

Plain: Plaid's opaque ids, the sync cursor, account type, transaction date, personal-finance
category (primary/detailed), pending flag and currency — what sync, lookups and the spending report
filter on. Encrypted: every amount and balance, names, merchant names, account masks and the rest of
a transaction (location, counterparties, payment metadata...). Spending totals are computed by
decrypting the amounts of the rows a date/category query selects.

The Item's access token is never stored here: it lives in the broker's vault under
``plaid_items.secret_name``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto.columns import EncryptedColumn
from storage.models.base import Base, UTCDateTime, utcnow


class PlaidItemRow(Base):
    """One connected Item. ``cursor`` is committed in the same transaction as the rows it covers."""

    __tablename__ = "plaid_items"

    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str | None] = mapped_column(String(64))
    secret_name: Mapped[str] = mapped_column(String(128))
    cursor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PlaidAccountRow(Base):
    __tablename__ = "plaid_accounts"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[bytes] = mapped_column(LargeBinary)
    official_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    mask: Mapped[bytes | None] = mapped_column(LargeBinary)
    balances: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {available, current, limit} as strings
    balances_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlaidTransactionRow(Base):
    __tablename__ = "plaid_transactions"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    category_primary: Mapped[str | None] = mapped_column(String(64))
    category_detailed: Mapped[str | None] = mapped_column(String(128))
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str | None] = mapped_column(String(8))
    amount: Mapped[bytes] = mapped_column(LargeBinary)  # decimal string; positive = money out
    name: Mapped[bytes] = mapped_column(LargeBinary)
    merchant_name: Mapped[bytes | None] = mapped_column(LargeBinary)
    details: Mapped[bytes] = mapped_column(LargeBinary)  # JSON of the remaining fields
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


ENCRYPTED = (
    EncryptedColumn("plaid_accounts", "name", "finance", pk="account_id"),
    EncryptedColumn("plaid_accounts", "official_name", "finance", pk="account_id"),
    EncryptedColumn("plaid_accounts", "mask", "finance", pk="account_id"),
    EncryptedColumn("plaid_accounts", "balances", "finance", pk="account_id"),
    EncryptedColumn("plaid_transactions", "amount", "finance", pk="transaction_id"),
    EncryptedColumn("plaid_transactions", "name", "finance", pk="transaction_id"),
    EncryptedColumn("plaid_transactions", "merchant_name", "finance", pk="transaction_id"),
    EncryptedColumn("plaid_transactions", "details", "finance", pk="transaction_id"),
)
