"""The Schwab MCP server: ``build_server(deps)`` registers typed, token-checked tools.

Scopes: ``finance.read`` for sync, accounts, positions, transactions, orders, quotes, net_worth,
connection, limits and preview_order; ``finance.trade`` for place_order and cancel_order (FINANCIAL
in the registry: every call is approved by the owner with a TOTP step-up, the approval bound to the
exact arguments); ``finance.link`` for set_limits (console only). Account numbers never appear in a
result: accounts are named by their last four digits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers._common import LOCAL_READ, READ, SEND, SYNC, audit_details, vendor_errors
from mcp_servers.schwab.args import INSTRUCTIONS, MAX_RANGE_DAYS, NAME, SchwabDeps, Symbol, src
from mcp_servers.schwab.limits_form import LimitsInvalid, parse_limits
from mcp_servers.schwab.login_tools import login_clock, register_login_tools
from mcp_servers.schwab.order_tools import register_order_tools
from mcp_servers.schwab.views import (
    AccountsResult,
    ConnectionResult,
    LimitsResult,
    NetWorthResult,
    OrdersResult,
    PositionsResult,
    QuotesResult,
    TransactionsResult,
    WorthResult,
)
from mcp_servers.schwab.worth import worth_days


def build_server(deps: SchwabDeps) -> MCPServer:
    server = MCPServer(NAME, instructions=INSTRUCTIONS)
    gate, svc = deps.gate, deps.service

    now = deps.now

    @server.tool(annotations=SYNC)
    async def sync(ctx: Context) -> dict[str, int]:
        """Fetch balances, positions, transactions and orders from Schwab into the encrypted store. Counts only."""
        claims = await gate.check(ctx, "finance.read", "sync")
        with vendor_errors(NAME):
            return await svc.sync(audit_details(claims))

    @server.tool(annotations=LOCAL_READ)
    async def accounts(ctx: Context) -> AccountsResult:
        """The owner's Schwab accounts (last four digits only) with their value, cash and buying power
        (from the last sync; the first read syncs)."""
        claims = await gate.check(ctx, "finance.read", "accounts")
        with vendor_errors(NAME):
            rows = await svc.accounts(audit_details(claims))
        return {
            "accounts": [
                {
                    "account": a.mask,
                    "type": a.type,
                    "total": a.balances.get("total"),
                    "cash": a.balances.get("cash"),
                    "buying_power": a.balances.get("buying_power"),
                    "currency": "USD",
                    "synced_at": a.synced_at.isoformat(),
                }
                for a in rows
            ],
            "sources": [src(a.mask) for a in rows],
        }

    @server.tool(annotations=LOCAL_READ)
    async def positions(ctx: Context) -> PositionsResult:
        """Holdings across the Schwab accounts with each one's share of the total (allocation)."""
        claims = await gate.check(ctx, "finance.read", "positions")
        with vendor_errors(NAME):
            rows = await svc.accounts(audit_details(claims))
        total = sum((Decimal(a.balances.get("total") or 0) for a in rows), Decimal(0))
        cash = sum((Decimal(a.balances.get("cash") or 0) for a in rows), Decimal(0))
        holdings = [
            {
                "symbol": p["symbol"],
                "description": p.get("description"),
                "account": a.mask,
                "quantity": p["quantity"],
                "market_value": p["market_value"],
                "average_price": p.get("average_price"),
                "day_change": p.get("day_change"),
                "allocation": str((Decimal(p["market_value"]) * 100 / total).quantize(Decimal("0.1")))
                if total
                else "0",
            }
            for a in rows
            for p in a.positions
        ]
        holdings.sort(key=lambda h: Decimal(str(h["market_value"])), reverse=True)
        return {
            "holdings": cast(Any, holdings),
            "total": str(total),
            "cash": str(cash),
            "currency": "USD",
            "sources": [src(a.mask) for a in rows],
        }

    @server.tool(annotations=LOCAL_READ)
    async def transactions(start_date: dt.date, end_date: dt.date, ctx: Context) -> TransactionsResult:
        """Brokerage activity between two dates (inclusive): trades, dividends, transfers; amount is the
        cash effect (negative = cash out)."""
        await gate.check(ctx, "finance.read", "transactions")
        if end_date < start_date or (end_date - start_date).days > MAX_RANGE_DAYS:
            raise ToolError(f"{NAME}: end_date must be on or after start_date, within {MAX_RANGE_DAYS} days")
        masks = {a.account_hash: a.mask for a in await svc.store.accounts()}
        rows = await svc.store.transactions(start_date, end_date)
        return {
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "transactions": [
                {
                    "date": r["date"],
                    "type": r["type"].replace("_", " ").lower(),
                    "symbol": r.get("symbol"),
                    "description": r.get("description"),
                    "quantity": r.get("quantity"),
                    "price": r.get("price"),
                    "amount": r["net_amount"],
                    "account": masks.get(r["account_hash"], "••••"),
                }
                for r in rows
            ],
            "sources": [src(r["activity_id"]) for r in rows],
        }

    @server.tool(annotations=READ)
    async def orders(ctx: Context, days: Annotated[int, Field(ge=1, le=60)] = 7) -> OrdersResult:
        """Orders entered in the last ``days`` days with their status as Schwab states it (accepted,
        pending review, rejected with the reason, filled, partly filled, cancelled)."""
        await gate.check(ctx, "finance.read", "orders")
        with vendor_errors(NAME):
            views = await svc.live_orders(now() - dt.timedelta(days=days), now())
        return {"orders": views, "sources": [src(str(v["order_id"])) for v in views]}

    @server.tool(annotations=READ)
    async def quotes(
        symbols: Annotated[list[Symbol], Field(min_length=1, max_length=20)], ctx: Context
    ) -> QuotesResult:
        """Latest quotes (last, bid, ask, change and the quote's time) for up to 20 symbols."""
        await gate.check(ctx, "finance.read", "quotes")
        wanted = sorted({s.upper() for s in symbols})
        with vendor_errors(NAME):
            found = await svc.client.quotes(wanted)
        return {
            "quotes": [
                {
                    "symbol": q.symbol,
                    "last": None if q.quote.last_price is None else str(q.quote.last_price),
                    "bid": None if q.quote.bid_price is None else str(q.quote.bid_price),
                    "ask": None if q.quote.ask_price is None else str(q.quote.ask_price),
                    "change": None if q.quote.net_change is None else str(q.quote.net_change),
                    "quote_time": q.at.isoformat() if q.at else None,
                }
                for q in found.values()
            ],
            "missing": [s for s in wanted if s not in found],
            "sources": [src(s, "Schwab market data") for s in found],
        }

    @server.tool(annotations=LOCAL_READ)
    async def net_worth(start_date: dt.date, end_date: dt.date, ctx: Context) -> NetWorthResult:
        """The brokerage's value at the end of each day (daily snapshots taken by sync)."""
        await gate.check(ctx, "finance.read", "net_worth")
        await deps.ensure_history()
        rows = await svc.store.snapshots(start_date, end_date)
        series = [{"date": d.isoformat(), "value": str(v["total"])} for d, v in rows]
        return {"series": cast(Any, series), "currency": "USD", "latest": series[-1]["value"] if series else None}

    @server.tool(annotations=LOCAL_READ)
    async def worth_by_day(start_date: dt.date, end_date: dt.date, ctx: Context) -> WorthResult:
        """The brokerage's part of the owner's net worth at the end of each day between two dates:
        the accounts' value from the daily snapshots (a day without one, a weekend, keeps the last
        value), account by account (last four digits) for the days the last sync describes. Before
        the first sync of a connected brokerage, it syncs."""
        claims = await gate.check(ctx, "finance.read", "worth_by_day")
        if end_date < start_date or (end_date - start_date).days > MAX_RANGE_DAYS:
            raise ToolError(f"{NAME}: end_date must be on or after start_date, within {MAX_RANGE_DAYS} days")
        await deps.ensure_history()
        accounts = await svc.store.accounts()
        if not accounts and await svc.client.refresh_expires_at() is not None:  # connected, never synced
            with vendor_errors(NAME):
                accounts = await svc.accounts(audit_details(claims))
        snapshots = await svc.store.snapshots(start_date - dt.timedelta(days=7), end_date)
        days = worth_days(accounts, snapshots, start_date, end_date)
        sources = [src(a.mask) for a in accounts]
        return {"connected": bool(accounts), "currency": "USD", "days": days, "sources": sources}

    @server.tool(annotations=LOCAL_READ)
    async def connection(ctx: Context) -> ConnectionResult:
        """Whether Schwab stays connected: the refresh token lasts 7 days from the login and cannot be
        extended, so the owner reconnects before it ends (from a day ahead: a notice, and an entry
        under ``attention`` for the console's "needs attention")."""
        await gate.check(ctx, "finance.read", "connection")
        expires = await svc.client.refresh_expires_at()
        if expires is None:
            return {"connected": False, "refresh_expires_at": None, "hours_left": None, "reconnect": True,
                    "message": "Schwab is not connected: connect Schwab in the console", "attention": []}  # fmt: skip
        return login_clock(expires, now())

    async def limits_now() -> LimitsResult:
        current = await svc.limits()
        used = await svc.store.notional_on(now().date())
        return cast(LimitsResult, {**current, "used_today": str(used), "settings": current})

    @server.tool(annotations=LOCAL_READ)
    async def limits(ctx: Context) -> LimitsResult:
        """The owner's trading limits and how much of today's limit is used."""
        await gate.check(ctx, "finance.read", "limits")
        return await limits_now()

    @server.tool(annotations=SEND)
    async def set_limits(values: dict[str, Any], ctx: Context) -> LimitsResult:
        """Console only: replace the owner's trading limits (a blank price means no limit of that
        kind). Checked first: on any problem nothing is stored and the error names each one."""
        claims = await gate.check(ctx, "finance.link", "set_limits")
        try:
            value = parse_limits(values)
        except LimitsInvalid as exc:
            raise ToolError(f"{NAME}: limits not saved: {exc}"[:600]) from None
        await svc.set_limits(value, audit_details(claims))
        return await limits_now()

    register_order_tools(server, deps)
    register_login_tools(server, deps)
    return server
