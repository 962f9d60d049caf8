"""The encrypted brokerage store: accounts with positions, transactions, orders, order intents,
the owner's trading limits and the daily value snapshots.

A sync writes everything it fetched in one transaction, so a sync killed midway writes nothing and
the next one repeats it (upserts by Schwab's ids: no duplicates). An intent is inserted in its own
committed transaction *before* Schwab is called; :meth:`BrokerageStore.begin_intent` refuses a
second one with the same key, which is how one approval reaches Schwab at most once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.schwab.models import (
    ENCRYPTED,
    SchwabAccountRow,
    SchwabIntentRow,
    SchwabOrderRow,
    SchwabSettingRow,
    SchwabSnapshotRow,
    SchwabTransactionRow,
)
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow


@dataclass(frozen=True)
class StoredAccount:
    account_hash: str
    type: str
    mask: str
    balances: dict[str, str | None]
    positions: list[dict[str, Any]]
    synced_at: dt.datetime


@dataclass(frozen=True)
class Intent:
    key: str
    action: str
    account_hash: str
    spec_hash: str
    state: str
    created_at: dt.datetime
    order_id: str | None
    spec: dict[str, Any]
    result: dict[str, Any] | None


@dataclass(frozen=True)
class SyncBatch:
    accounts: Sequence[dict[str, Any]]  # account_hash, type, mask, balances, positions
    transactions: Sequence[dict[str, Any]]  # activity_id, account_hash, date, type, body
    orders: Sequence[dict[str, Any]]  # order_id, account_hash, status, entered_at, body
    snapshot: tuple[dt.date, dict[str, Any]] | None


class IntentExists(Exception):
    """An intent with this key was written before (the same approved call, again)."""


class BrokerageStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._acct = Sealer(cipher, ENCRYPTED, table="schwab_accounts")
        self._tx = Sealer(cipher, ENCRYPTED, table="schwab_transactions")
        self._ord = Sealer(cipher, ENCRYPTED, table="schwab_orders")
        self._int = Sealer(cipher, ENCRYPTED, table="schwab_intents")
        self._set = Sealer(cipher, ENCRYPTED, table="schwab_settings")
        self._snap = Sealer(cipher, ENCRYPTED, table="schwab_snapshots")

    # ---- sync ------------------------------------------------------------------------------

    def _order_row(self, o: dict[str, Any]) -> dict[str, Any]:
        oid = str(o["order_id"])
        return {
            "order_id": oid,
            "account_hash": o["account_hash"],
            "status": o["status"],
            "entered_at": o.get("entered_at"),
            "body": self._ord.seal_json("body", oid, o["body"]),
        }

    async def apply_sync(self, batch: SyncBatch, event: AuditEvent) -> None:
        now = utcnow()
        accounts = [
            {
                "account_hash": a["account_hash"],
                "type": a["type"],
                "mask": self._acct.seal("mask", a["account_hash"], a["mask"]),
                "balances": self._acct.seal_json("balances", a["account_hash"], a["balances"]),
                "positions": self._acct.seal_json("positions", a["account_hash"], a["positions"]),
                "synced_at": now,
            }
            for a in batch.accounts
        ]
        txs = [
            {
                "activity_id": t["activity_id"],
                "account_hash": t["account_hash"],
                "date": t["date"],
                "type": t["type"],
                "body": self._tx.seal_json("body", t["activity_id"], t["body"]),
            }
            for t in batch.transactions
        ]
        async with self._db.transaction() as s:
            await upsert(s, table_of(SchwabAccountRow), accounts, "account_hash")
            await upsert(s, table_of(SchwabTransactionRow), txs, "activity_id")
            await upsert(s, table_of(SchwabOrderRow), [self._order_row(o) for o in batch.orders], "order_id")
            if batch.snapshot is not None:
                day, value = batch.snapshot
                row = {
                    "day": day,
                    "value": self._snap.seal_json("value", day.isoformat(), value),
                    "taken_at": now,
                }
                await upsert(s, table_of(SchwabSnapshotRow), [row], "day")
            await self._audit.append(s, event)

    async def save_order(self, order: dict[str, Any]) -> None:
        async with self._db.transaction() as s:
            await upsert(s, table_of(SchwabOrderRow), [self._order_row(order)], "order_id")

    # ---- reads -----------------------------------------------------------------------------

    async def accounts(self) -> list[StoredAccount]:
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(SchwabAccountRow).order_by(SchwabAccountRow.account_hash))).all()
        return [
            StoredAccount(
                r.account_hash,
                r.type,
                self._acct.open("mask", r.account_hash, r.mask),
                self._acct.open_json("balances", r.account_hash, r.balances),
                self._acct.open_json("positions", r.account_hash, r.positions),
                r.synced_at,
            )
            for r in rows
        ]

    async def transactions(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        query = select(SchwabTransactionRow).where(SchwabTransactionRow.date >= start, SchwabTransactionRow.date <= end)
        async with self._db.transaction() as s:
            rows = (await s.scalars(query.order_by(SchwabTransactionRow.date.desc()))).all()
        return [
            {
                "activity_id": r.activity_id,
                "account_hash": r.account_hash,
                "date": r.date.isoformat(),
                "type": r.type,
                **self._tx.open_json("body", r.activity_id, r.body),
            }
            for r in rows
        ]

    async def orders(self, since: dt.datetime) -> list[dict[str, Any]]:
        query = select(SchwabOrderRow).where(SchwabOrderRow.entered_at >= since)
        async with self._db.transaction() as s:
            rows = (await s.scalars(query.order_by(SchwabOrderRow.entered_at.desc()))).all()
        return [
            {"order_id": r.order_id, "account_hash": r.account_hash, **self._ord.open_json("body", r.order_id, r.body)}
            for r in rows
        ]

    async def snapshots(self, start: dt.date, end: dt.date) -> list[tuple[dt.date, dict[str, Any]]]:
        query = select(SchwabSnapshotRow).where(SchwabSnapshotRow.day >= start, SchwabSnapshotRow.day <= end)
        async with self._db.transaction() as s:
            rows = (await s.scalars(query.order_by(SchwabSnapshotRow.day))).all()
        return [(r.day, self._snap.open_json("value", r.day.isoformat(), r.value)) for r in rows]

    # ---- settings --------------------------------------------------------------------------

    async def setting(self, key: str) -> dict[str, Any] | None:
        async with self._db.transaction() as s:
            row = await s.get(SchwabSettingRow, key)
        return None if row is None else dict(self._set.open_json("value", key, row.value))

    async def put_setting(self, key: str, value: dict[str, Any], event: AuditEvent) -> None:
        row = {"key": key, "value": self._set.seal_json("value", key, value), "updated_at": utcnow()}
        async with self._db.transaction() as s:
            await upsert(s, table_of(SchwabSettingRow), [row], "key")
            await self._audit.append(s, event)

    # ---- intents (idempotency) ---------------------------------------------------------------

    def _intent(self, r: SchwabIntentRow) -> Intent:
        result = None if r.result is None else self._int.open_json("result", r.key, r.result)
        return Intent(
            r.key,
            r.action,
            r.account_hash,
            r.spec_hash,
            r.state,
            r.created_at,
            r.order_id,
            self._int.open_json("spec", r.key, r.spec),
            result,
        )

    async def intent(self, key: str) -> Intent | None:
        async with self._db.transaction() as s:
            row = await s.get(SchwabIntentRow, key)
        return None if row is None else self._intent(row)

    async def begin_intent(
        self, key: str, action: str, account_hash: str, spec_hash: str, spec: dict[str, Any], event: AuditEvent
    ) -> Intent:
        """Commit the intent (state ``calling``) before Schwab is called; :class:`IntentExists` if it was."""
        now = utcnow()
        row = SchwabIntentRow(
            key=key,
            action=action,
            account_hash=account_hash,
            spec_hash=spec_hash,
            state="calling",
            day=now.date(),
            created_at=now,
            updated_at=now,
            spec=self._int.seal_json("spec", key, spec),
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
                await s.flush()
                await self._audit.append(s, event)
        except IntegrityError:
            raise IntentExists(key) from None
        return Intent(key, action, account_hash, spec_hash, "calling", now, None, spec, None)

    async def settle_intent(
        self, key: str, state: str, order_id: str | None, result: dict[str, Any], event: AuditEvent
    ) -> None:
        values = {
            "state": state,
            "order_id": order_id,
            "result": self._int.seal_json("result", key, result),
            "updated_at": utcnow(),
        }
        async with self._db.transaction() as s:
            await s.execute(update(SchwabIntentRow).where(SchwabIntentRow.key == key).values(**values))
            await self._audit.append(s, event)

    async def notional_on(self, day: dt.date) -> Decimal:
        """Notional of the orders placed (or possibly placed) on ``day``: what the daily limit counts."""
        query = select(SchwabIntentRow).where(
            SchwabIntentRow.day == day, SchwabIntentRow.action == "place", SchwabIntentRow.state != "rejected"
        )
        async with self._db.transaction() as s:
            rows = (await s.scalars(query)).all()
        return sum((Decimal(str(self._int.open_json("spec", r.key, r.spec)["notional"])) for r in rows), Decimal(0))
