"""The encrypted finance store: Plaid Items, accounts and transactions.

A sync's rows and its new cursor are written in one transaction, and only if the Item's cursor is
still the one the sync started from (compare-and-set), so two overlapping syncs cannot both apply.
Spending totals select rows by the plain date and category and sum the decrypted amounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.plaid.models import ENCRYPTED, PlaidAccountRow, PlaidItemRow, PlaidTransactionRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.errors import DecryptionFailed
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.plaid.models import AccountBase, Transaction

_DETAIL_EXCLUDE = frozenset(
    {
        "transaction_id",
        "account_id",
        "amount",
        "date",
        "name",
        "merchant_name",
        "personal_finance_category",
        "pending",
        "iso_currency_code",
        "unofficial_currency_code",
    }
)


class CursorMoved(Exception):
    """Another sync committed for this Item since this one started; nothing was written."""


@dataclass(frozen=True)
class ItemState:
    item_id: str
    institution_id: str | None
    secret_name: str
    cursor: str | None


@dataclass(frozen=True)
class Movement:
    """One transaction as the money over time sees it (Plaid's sign: positive = money out)."""

    day: dt.date
    account_id: str
    amount: Decimal
    primary: str | None
    detailed: str | None
    pending: bool


@dataclass(frozen=True)
class StoredAccount:
    account_id: str
    item_id: str
    type: str
    subtype: str | None
    currency: str | None
    name: str
    official_name: str | None
    mask: str | None
    balances: dict[str, str | None]
    balances_at: dt.datetime


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class FinanceStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="plaid_transactions")
        self._acct = Sealer(cipher, ENCRYPTED, table="plaid_accounts")
        self._audit = audit

    # ---- rows ------------------------------------------------------------------------------

    def _tx_row(self, item_id: str, tx: Transaction, now: dt.datetime) -> dict[str, Any]:
        tid = tx.transaction_id
        pfc = tx.personal_finance_category
        details = tx.model_dump(mode="json", exclude=set(_DETAIL_EXCLUDE))
        return {
            "transaction_id": tid,
            "item_id": item_id,
            "account_id": tx.account_id,
            "date": tx.date,
            "category_primary": pfc.primary if pfc else None,
            "category_detailed": pfc.detailed if pfc else None,
            "pending": tx.pending,
            "currency": tx.iso_currency_code or tx.unofficial_currency_code,
            "amount": self._seal.seal("amount", tid, str(tx.amount)),
            "name": self._seal.seal("name", tid, tx.name),
            "merchant_name": self._seal.seal_opt("merchant_name", tid, tx.merchant_name),
            "details": self._seal.seal_json("details", tid, details),
            "updated_at": now,
        }

    def _account_row(self, item_id: str, account: AccountBase, now: dt.datetime) -> dict[str, Any]:
        aid, b = account.account_id, account.balances
        balances = {"available": _money(b.available), "current": _money(b.current), "limit": _money(b.limit)}
        return {
            "account_id": aid,
            "item_id": item_id,
            "type": account.type,
            "subtype": account.subtype,
            "currency": b.iso_currency_code or b.unofficial_currency_code,
            "name": self._acct.seal("name", aid, account.name),
            "official_name": self._acct.seal_opt("official_name", aid, account.official_name),
            "mask": self._acct.seal_opt("mask", aid, account.mask),
            "balances": self._acct.seal_json("balances", aid, balances),
            "balances_at": now,
        }

    # ---- items -----------------------------------------------------------------------------

    async def items(self) -> list[ItemState]:
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(PlaidItemRow).order_by(PlaidItemRow.created_at))).all()
        return [ItemState(r.item_id, r.institution_id, r.secret_name, r.cursor) for r in rows]

    async def connect(
        self,
        item_id: str,
        institution_id: str | None,
        secret_name: str,
        accounts: Iterable[AccountBase],
        event: AuditEvent,
    ) -> None:
        """Record a connected Item (a reconnect keeps its cursor) and its accounts."""
        now = utcnow()
        row = {"item_id": item_id, "institution_id": institution_id, "secret_name": secret_name}
        async with self._db.transaction() as s:
            await upsert(s, table_of(PlaidItemRow), [row], "item_id")
            await upsert(
                s, table_of(PlaidAccountRow), [self._account_row(item_id, a, now) for a in accounts], "account_id"
            )
            await self._audit.append(s, event)

    async def forget(self, item_id: str, event: AuditEvent) -> int:
        """Delete an Item with its accounts and transactions (after it was removed at Plaid)."""
        async with self._db.transaction() as s:
            gone = 0
            for model in (PlaidTransactionRow, PlaidAccountRow, PlaidItemRow):
                result = await s.execute(delete(model).where(model.item_id == item_id))
                gone += int(getattr(result, "rowcount", 0) or 0)
            await self._audit.append(s, event)
        return gone

    async def save_accounts(self, item_id: str, institution_id: str | None, accounts: Iterable[AccountBase]) -> None:
        now = utcnow()
        rows = [self._account_row(item_id, a, now) for a in accounts]
        async with self._db.transaction() as s:
            await upsert(s, table_of(PlaidAccountRow), rows, "account_id")
            if institution_id is not None:
                item = update(PlaidItemRow).where(
                    PlaidItemRow.item_id == item_id, PlaidItemRow.institution_id.is_(None)
                )
                await s.execute(item.values(institution_id=institution_id))

    async def apply_sync(
        self,
        item_id: str,
        *,
        expected: str | None,
        cursor: str | None,
        ops: Mapping[str, Transaction | None],
        accounts: Iterable[AccountBase],
        event: AuditEvent,
    ) -> None:
        """All of one sync loop in one transaction: upserts, deletions, accounts, cursor, audit row."""
        now = utcnow()
        rows = [self._tx_row(item_id, tx, now) for tx in ops.values() if tx is not None]
        removed = sorted(tid for tid, tx in ops.items() if tx is None)
        async with self._db.transaction() as s:
            current = await s.execute(
                select(PlaidItemRow.cursor).where(PlaidItemRow.item_id == item_id).with_for_update()
            )
            found = current.first()
            if found is None or found[0] != expected:
                raise CursorMoved(item_id)
            await upsert(s, table_of(PlaidTransactionRow), rows, "transaction_id")
            if removed:
                await s.execute(delete(PlaidTransactionRow).where(PlaidTransactionRow.transaction_id.in_(removed)))
            await upsert(
                s, table_of(PlaidAccountRow), [self._account_row(item_id, a, now) for a in accounts], "account_id"
            )
            await s.execute(
                update(PlaidItemRow).where(PlaidItemRow.item_id == item_id).values(cursor=cursor, synced_at=now)
            )
            await self._audit.append(s, event)

    # ---- reads -----------------------------------------------------------------------------

    async def accounts(self) -> list[StoredAccount]:
        try:
            return await self._accounts()
        except DecryptionFailed:
            if not await self.repair_account_names():
                raise
            return await self._accounts()

    async def _accounts(self) -> list[StoredAccount]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(select(PlaidAccountRow).order_by(PlaidAccountRow.item_id, PlaidAccountRow.type))
            ).all()
        out = []
        for r in rows:
            aid = r.account_id
            out.append(
                StoredAccount(
                    account_id=aid,
                    item_id=r.item_id,
                    type=r.type,
                    subtype=r.subtype,
                    currency=r.currency,
                    name=self._acct.open("name", aid, r.name),
                    official_name=self._acct.open_opt("official_name", aid, r.official_name),
                    mask=self._acct.open_opt("mask", aid, r.mask),
                    balances=self._acct.open_json("balances", aid, r.balances),
                    balances_at=r.balances_at,
                )
            )
        return out

    async def repair_account_names(self) -> int:
        """Re-seal account names that an earlier version sealed under the transactions table's
        context (a data-key rotation could not rewrap them). Returns how many were repaired."""
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(PlaidAccountRow))).all()
            repaired = 0
            for r in rows:
                try:
                    self._acct.open("name", r.account_id, r.name)
                except DecryptionFailed:
                    name = self._seal.open("name", r.account_id, r.name)  # the old context
                    r.name = self._acct.seal("name", r.account_id, name)
                    repaired += 1
        return repaired

    async def transactions(self, start: dt.date, end: dt.date, limit: int) -> list[dict[str, Any]]:
        """Transactions dated ``start..end`` inclusive, largest amounts first (decrypted)."""
        query = select(PlaidTransactionRow).where(PlaidTransactionRow.date >= start, PlaidTransactionRow.date <= end)
        async with self._db.transaction() as s:
            rows = (await s.scalars(query)).all()
        out = []
        for r in rows:
            tid = r.transaction_id
            amount = Decimal(self._seal.open("amount", tid, r.amount))
            merchant = self._seal.open_opt("merchant_name", tid, r.merchant_name)
            out.append(
                {
                    "transaction_id": tid,
                    "account_id": r.account_id,
                    "date": r.date.isoformat(),
                    "merchant": merchant or self._seal.open("name", tid, r.name),
                    "amount": str(amount),
                    "currency": r.currency or "",
                    "category": (r.category_primary or "UNCATEGORIZED").replace("_", " ").capitalize(),
                    "pending": r.pending,
                }
            )
        out.sort(key=lambda t: abs(Decimal(str(t["amount"]))), reverse=True)
        return out[:limit]

    async def outflows(self, start: dt.date, end: dt.date) -> dict[tuple[str, str], tuple[Decimal, int]]:
        """``(currency, primary category) -> (sum of positive amounts, count)`` for ``start..end`` inclusive."""
        query = select(
            PlaidTransactionRow.transaction_id,
            PlaidTransactionRow.category_primary,
            PlaidTransactionRow.currency,
            PlaidTransactionRow.amount,
        ).where(PlaidTransactionRow.date >= start, PlaidTransactionRow.date <= end)
        async with self._db.transaction() as s:
            rows = (await s.execute(query)).all()
        sums: dict[tuple[str, str], tuple[Decimal, int]] = {}
        for tid, category, currency, blob in rows:
            amount = Decimal(self._seal.open("amount", tid, blob))
            if amount <= 0:
                continue  # Plaid: negative = money in (income, refunds)
            key = (currency or "XXX", category or "UNCATEGORIZED")
            total, count = sums.get(key, (Decimal(0), 0))
            sums[key] = (total + amount, count + 1)
        return sums

    async def movements(self, start: dt.date) -> list[Movement]:
        """Every transaction dated ``start`` or later (amount decrypted), oldest first."""
        t = PlaidTransactionRow
        query = select(
            t.transaction_id, t.account_id, t.date, t.category_primary, t.category_detailed, t.pending, t.amount
        ).where(t.date >= start)
        async with self._db.transaction() as s:
            rows = (await s.execute(query.order_by(t.date))).all()
        return [
            Movement(day, account, Decimal(self._seal.open("amount", tid, blob)), primary, detailed, pending)
            for tid, account, day, primary, detailed, pending, blob in rows
        ]

    async def first_day(self) -> dt.date | None:
        async with self._db.transaction() as s:
            return await s.scalar(select(func.min(PlaidTransactionRow.date)))

    async def transaction_ids(self) -> list[str]:
        async with self._db.transaction() as s:
            return list((await s.scalars(select(PlaidTransactionRow.transaction_id))).all())
