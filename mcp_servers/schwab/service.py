"""Schwab service logic: sync, reads from the encrypted store, and orders placed at most once.

Placing or cancelling (:meth:`SchwabService.place`, :meth:`SchwabService.cancel`) is keyed by the
approved call's id. The intent is committed before Schwab is called. The same key again never calls
Schwab a second time: a settled intent returns what Schwab answered then; an unsettled one (a crash
or a lost answer between the intent and Schwab's answer) is settled by listing the account's orders
since the intent and adopting the matching one; only when Schwab has no such order is it placed.
A different order under the same key is refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from mcp_servers.schwab.store import BrokerageStore, Intent, IntentExists, StoredAccount, SyncBatch
from mcp_servers.schwab.trading import (
    DEFAULT_LIMITS,
    OrderRefused,
    OrderRequest,
    Priced,
    check_limits,
    order_matches,
    order_spec,
    plain_status,
    price,
    qty,
)
from storage.audit import AuditEvent
from tools.errors import IntegrationError, NotFound
from tools.schwab.client import OrderRejected, SchwabClient
from tools.schwab.models import Account, AccountNumber, Order, Quote, mask_number

log = structlog.get_logger("aegis.mcp_servers.schwab")

ACTOR = "mcp:schwab"
HISTORY_DAYS = 60  # Schwab serves transactions and orders of the last 60 days
LIMITS = "limits"


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _m(v: Decimal | None) -> str | None:
    """Money as a two-decimal string (Schwab sends JSON numbers: 2681.0)."""
    return None if v is None else str(v.quantize(Decimal("0.01")))


def order_view(order: Order, mask: str) -> dict[str, Any]:
    leg = order.legs[0] if order.legs else None
    return {
        "order_id": str(order.order_id),
        "account": mask,
        "symbol": leg.instrument.symbol if leg else "",
        "side": leg.instruction if leg else "",
        "quantity": qty(order.quantity),
        "filled": qty(order.filled_quantity),
        "order_type": order.order_type,
        "limit_price": _s(order.price),
        "stop_price": _s(order.stop_price),
        "duration": order.duration,
        "status": order.status,
        "status_text": plain_status(order.status, order.filled_quantity, order.quantity, order.status_description),
        "reason": order.status_description,
        "entered": order.entered_time.isoformat() if order.entered_time else None,
        "cancelable": order.cancelable,
    }


@dataclass(frozen=True)
class OrderOutcome:
    order: dict[str, Any]
    again: bool  # this approval had reached Schwab before; nothing new was sent


class SchwabService:
    def __init__(
        self,
        client: SchwabClient,
        store: BrokerageStore,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.client = client
        self.store = store
        self._clock = clock
        self._lock = asyncio.Lock()

    # ---- accounts --------------------------------------------------------------------------

    async def _numbers(self) -> list[AccountNumber]:
        return await self.client.account_numbers()

    async def account_hash(self, account: str) -> tuple[str, str]:
        """``(hash, mask)`` of the account whose number ends in ``account`` (the owner's four digits)."""
        digits = account.strip().lstrip("•*x. ")
        found = [n for n in await self._numbers() if n.account_number.get_secret_value().endswith(digits)]
        if len(digits) < 4 or len(found) != 1:
            raise OrderRefused(f"no single Schwab account ends in {digits!r}: give the last four digits")
        return found[0].hash_value, found[0].mask

    # ---- sync ------------------------------------------------------------------------------

    async def sync(self, details: dict[str, Any]) -> dict[str, int]:
        async with self._lock:
            now = self._clock()
            numbers = {n.account_number.get_secret_value(): n for n in await self._numbers()}
            accounts = await self.client.accounts()
            batch_accounts: list[dict[str, Any]] = []
            txs: list[dict[str, Any]] = []
            orders: list[dict[str, Any]] = []
            total = cash = invested = Decimal(0)
            for acct in accounts:
                number = acct.securities_account.account_number.get_secret_value()
                ref = numbers.get(number)
                if ref is None:
                    continue
                row = self._account_row(acct, ref)
                batch_accounts.append(row)
                b = acct.securities_account.current_balances
                total += b.liquidation_value or Decimal(0)
                cash += b.cash_balance or Decimal(0)
                invested += sum((p.market_value for p in acct.securities_account.positions), Decimal(0))
                start = now.date() - dt.timedelta(days=HISTORY_DAYS - 1)
                fetched = await self.client.transactions(ref.hash_value, start, now.date())
                txs.extend(self._tx_row(t, ref.hash_value) for t in fetched)
                since = now - dt.timedelta(days=HISTORY_DAYS - 1)
                orders.extend(self._order_row(o, ref) for o in await self.client.orders(ref.hash_value, since, now))
            snapshot = (now.date(), {"total": _m(total), "cash": _m(cash), "invested": _m(invested)})
            event = AuditEvent(
                ACTOR,
                "finance.sync",
                "ok",
                resource=ACTOR,
                details={**details, "accounts": len(batch_accounts), "transactions": len(txs), "orders": len(orders)},
            )
            await self.store.apply_sync(SyncBatch(batch_accounts, txs, orders, snapshot if accounts else None), event)
        return {"accounts": len(batch_accounts), "transactions": len(txs), "orders": len(orders)}

    @staticmethod
    def _account_row(acct: Account, ref: AccountNumber) -> dict[str, Any]:
        sa = acct.securities_account
        b = sa.current_balances
        return {
            "account_hash": ref.hash_value,
            "type": sa.type,
            "mask": ref.mask,
            "balances": {
                "total": _m(b.liquidation_value),
                "cash": _m(b.cash_balance),
                "buying_power": _m(b.buying_power),
                "available": _m(b.available_funds),
            },
            "positions": [
                {
                    "symbol": p.instrument.symbol,
                    "description": p.instrument.description,
                    "asset_type": p.instrument.asset_type,
                    "quantity": qty(p.long_quantity - p.short_quantity),
                    "average_price": _s(p.average_price),
                    "market_value": _m(p.market_value),
                    "day_change": _m(p.current_day_profit_loss),
                }
                for p in sa.positions
            ],
        }

    @staticmethod
    def _tx_row(t: Any, account_hash: str) -> dict[str, Any]:
        item = next((i for i in t.transfer_items if i.instrument and i.instrument.symbol), None)
        return {
            "activity_id": str(t.activity_id),
            "account_hash": account_hash,
            "date": t.time.date(),
            "type": t.type,
            "body": {
                "net_amount": _m(t.net_amount),
                "symbol": item.instrument.symbol if item and item.instrument else None,
                "quantity": _s(item.amount) if item else None,
                "price": _s(item.price) if item else None,
                "description": t.description,
            },
        }

    @staticmethod
    def _order_row(o: Order, ref: AccountNumber) -> dict[str, Any]:
        return {
            "order_id": str(o.order_id),
            "account_hash": ref.hash_value,
            "status": o.status,
            "entered_at": o.entered_time,
            "body": order_view(o, ref.mask),
        }

    # ---- limits ----------------------------------------------------------------------------

    async def limits(self) -> dict[str, Any]:
        return {**DEFAULT_LIMITS, **(await self.store.setting(LIMITS) or {})}

    async def set_limits(self, limits: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
        event = AuditEvent(ACTOR, "finance.limits", "ok", resource=ACTOR, details=details)
        await self.store.put_setting(LIMITS, limits, event)
        return await self.limits()

    # ---- orders ----------------------------------------------------------------------------

    async def quote(self, symbol: str) -> Quote | None:
        return (await self.client.quotes([symbol])).get(symbol)

    async def vet(self, req: OrderRequest) -> tuple[str, str, Priced, Quote | None, dict[str, Any]]:
        """Resolve the account, price the order from a fresh quote and check every limit."""
        account_hash, mask = await self.account_hash(req.account)
        quote = await self.quote(req.symbol)
        priced = price(req, quote, self._clock())
        acct = await self.client.accounts()
        cash, held = None, Decimal(0)
        for a in acct:
            if mask_number(a.securities_account.account_number.get_secret_value()) == mask:
                b = a.securities_account.current_balances
                cash = b.available_funds if b.available_funds is not None else b.cash_balance
                held = sum(
                    (p.long_quantity for p in a.securities_account.positions if p.instrument.symbol == req.symbol),
                    Decimal(0),
                )
        limits = await self.limits()
        spent = await self.store.notional_on(self._clock().date())
        check_limits(req, priced, limits, spent_today=spent, cash=cash, held=held)
        return account_hash, mask, priced, quote, limits

    async def preview(self, req: OrderRequest) -> dict[str, Any]:
        account_hash, mask, priced, _quote, _ = await self.vet(req)
        spec = order_spec(req)
        schwab = await self.client.preview_order(account_hash, spec)
        return {"account": mask, "spec": spec, "priced": priced, "schwab": schwab}

    async def place(self, req: OrderRequest, key: str, details: dict[str, Any]) -> OrderOutcome:
        fingerprint = req.fingerprint()
        existing = await self.store.intent(key)
        if existing is not None:
            return await self._again(existing, req, fingerprint)
        account_hash, mask, priced, _quote, _ = await self.vet(req)
        spec = order_spec(req)
        body = {"request": fingerprint, "spec": spec, "notional": str(priced.notional), "mask": mask}
        event = AuditEvent(ACTOR, "finance.order", "pending", resource=ACTOR, details={**details, "key": key})
        try:
            intent = await self.store.begin_intent(key, "place", account_hash, fingerprint, body, event)
        except IntentExists:
            found = await self.store.intent(key)
            assert found is not None
            return await self._again(found, req, fingerprint)
        return await self._send(intent, req, mask)

    async def _again(self, intent: Intent, req: OrderRequest, fingerprint: str) -> OrderOutcome:
        if intent.action != "place" or intent.spec_hash != fingerprint:
            raise OrderRefused("this approval was given for a different order; nothing was sent")
        mask = str(intent.spec["mask"])
        if intent.state in ("done", "rejected") and intent.result is not None:
            return OrderOutcome(intent.result, again=True)
        adopted = await self._find_placed(intent, req, mask)
        if adopted is not None:
            return OrderOutcome(adopted, again=True)
        log.info("schwab.order_not_found_retrying", key=intent.key)
        return await self._send(intent, req, mask)

    async def _find_placed(self, intent: Intent, req: OrderRequest, mask: str) -> dict[str, Any] | None:
        """Schwab's order for an unsettled intent, if it reached Schwab (then the intent is settled)."""
        since = intent.created_at - dt.timedelta(minutes=1)
        orders = await self.client.orders(intent.account_hash, since, self._clock() + dt.timedelta(minutes=1))
        match = next(
            (o for o in orders if order_matches(o.model_dump(by_alias=True, mode="json"), req)),
            None,
        )
        if match is None:
            return None
        view = order_view(match, mask)
        await self._settle(intent, "done", view)
        return view

    async def _send(self, intent: Intent, req: OrderRequest, mask: str) -> OrderOutcome:
        try:
            order_id = await self.client.place_order(intent.account_hash, intent.spec["spec"])
        except OrderRejected as exc:
            view = {"status": "REJECTED", "status_text": f"rejected: {exc.message}", "reason": exc.message}
            await self._settle(intent, "rejected", view)
            return OrderOutcome(view, again=False)
        except IntegrationError as exc:
            if exc.code == "trading_not_enabled":
                await self._settle(intent, "rejected", {"status": "NOT_SENT", "reason": exc.message})
                raise
            # The answer was lost: the order may exist. Look before anything else happens.
            adopted = await self._find_placed(intent, req, mask)
            if adopted is not None:
                return OrderOutcome(adopted, again=False)
            await self._settle(intent, "unknown", {"status": "UNKNOWN", "reason": type(exc).__name__})
            raise
        try:
            order = await self.client.order(intent.account_hash, order_id)
            view = order_view(order, mask)
        except (NotFound, IntegrationError):
            view = {"order_id": str(order_id), "status": "ACCEPTED", "status_text": "accepted", "account": mask}
        await self._settle(intent, "done", view)
        return OrderOutcome(view, again=False)

    async def _settle(self, intent: Intent, state: str, view: dict[str, Any]) -> None:
        order_id = view.get("order_id")
        event = AuditEvent(
            ACTOR,
            "finance.order",
            "ok" if state == "done" else "fail",
            resource=ACTOR,
            details={"key": intent.key, "state": state, "status": view.get("status"), "order_id": order_id},
        )
        await self.store.settle_intent(intent.key, state, order_id, view, event)
        if "symbol" in view and order_id:
            await self.store.save_order(
                {
                    "order_id": order_id,
                    "account_hash": intent.account_hash,
                    "status": view["status"],
                    "entered_at": dt.datetime.fromisoformat(view["entered"]) if view.get("entered") else None,
                    "body": view,
                }
            )

    async def cancel(self, account: str, order_id: int, key: str, details: dict[str, Any]) -> OrderOutcome:
        account_hash, mask = await self.account_hash(account)
        fingerprint = hashlib.sha256(f"cancel:{account_hash}:{order_id}".encode()).hexdigest()
        existing = await self.store.intent(key)
        if existing is not None:
            if existing.spec_hash != fingerprint:
                raise OrderRefused("this approval was given for a different cancellation; nothing was sent")
            if existing.result is not None and existing.state == "done":
                return OrderOutcome(existing.result, again=True)
            intent = existing
        else:
            event = AuditEvent(ACTOR, "finance.cancel", "pending", resource=ACTOR, details={**details, "key": key})
            body = {"order_id": order_id, "mask": mask, "notional": "0"}
            try:
                intent = await self.store.begin_intent(key, "cancel", account_hash, fingerprint, body, event)
            except IntentExists:
                raise OrderRefused("this cancellation is already under way") from None
        before = await self.client.order(account_hash, order_id)
        if before.status in ("CANCELED", "FILLED", "EXPIRED", "REJECTED", "REPLACED"):
            view = order_view(before, mask)
            await self._settle(intent, "done", view)
            return OrderOutcome(view, again=intent is existing)
        await self.client.cancel_order(account_hash, order_id)
        view = order_view(await self.client.order(account_hash, order_id), mask)
        await self._settle(intent, "done", view)
        return OrderOutcome(view, again=False)

    async def live_orders(self, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
        """Orders as Schwab lists them now (each also saved, so the console shows the latest status)."""
        views = []
        for ref in await self._numbers():
            for o in await self.client.orders(ref.hash_value, since, until):
                row = self._order_row(o, ref)
                await self.store.save_order(row)
                views.append(row["body"])
        views.sort(key=lambda v: v.get("entered") or "", reverse=True)
        return views

    # ---- reads from the store --------------------------------------------------------------

    async def accounts(self, details: dict[str, Any]) -> list[StoredAccount]:
        """The stored accounts; before the first sync, a sync (so a fresh connection shows at once)."""
        rows = await self.store.accounts()
        if not rows:
            await self.sync(details)
            rows = await self.store.accounts()
        return rows
