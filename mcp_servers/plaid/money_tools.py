"""The Plaid tools for money over time (``finance.read``): net worth by day and cash flow by month,
computed from the synced store (see :mod:`mcp_servers.plaid.money`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from typing_extensions import TypedDict

from mcp_servers._common import LOCAL_READ, Source
from mcp_servers.plaid.money import LIABILITIES, DayValue, MonthFlow, balances_by_day, net_now, net_worth_series
from mcp_servers.plaid.money import cash_flow as monthly

if TYPE_CHECKING:
    from mcp_servers.plaid.server import PlaidDeps

NAME = "plaid"
MAX_NET_WORTH_DAYS = 366
MAX_CASH_FLOW_DAYS = 2 * 366


class NetWorthResult(TypedDict):
    start_date: str
    end_date: str
    series: list[DayValue]
    note: str
    sources: list[Source]


class CashFlowResult(TypedDict):
    start_date: str
    end_date: str
    months: list[MonthFlow]
    sources: list[Source]


class WorthAccount(TypedDict):
    account: str  # the bank's name for it and its last four digits: "Plaid Checking ••••0000"
    kind: str  # asset | liability
    value: str  # held, or owed


class WorthDay(TypedDict):
    date: str
    assets: str
    liabilities: str
    accounts: list[WorthAccount]


class WorthResult(TypedDict):
    connected: bool
    currency: str
    days: list[WorthDay]
    sources: list[Source]


def _range(start: dt.date, end: dt.date, most: int) -> None:
    if end < start or (end - start).days > most:
        raise ToolError(f"{NAME}: end_date must be on or after start_date, within {most} days")


def _whole_month(day: dt.date) -> dt.date:
    """The first day of the first whole month from ``day``: a month only partly synced is left out."""
    if day.day == 1:
        return day
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def register_money_tools(server: MCPServer, deps: PlaidDeps) -> None:
    gate, store = deps.gate, deps.service.store

    async def sources() -> list[Source]:
        return [{"channel": "bank", "server": NAME, "item_id": i.item_id, "principal": i.institution_id}
                for i in await store.items()]  # fmt: skip

    @server.tool(annotations=LOCAL_READ)
    async def net_worth(start_date: dt.date, end_date: dt.date, ctx: Context) -> NetWorthResult:
        """The owner's net worth across the connected bank and card accounts (assets minus what is
        owed) at the end of each day between two dates, from the balances walked back through the
        synced transactions; it starts no earlier than the synced history."""
        await gate.check(ctx, "finance.read", "net_worth")
        _range(start_date, end_date, MAX_NET_WORTH_DAYS)
        accounts = await store.accounts()
        first = await store.first_day()
        series: list[DayValue] = []
        if accounts and first is not None:
            begin = max(start_date, first)
            moves = await store.movements(begin)
            ids = {a.account_id for a in accounts}
            series = net_worth_series(net_now(accounts), moves, ids, begin, end_date)
        return {
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "series": series,
            "note": "Today's balances walked back through the synced transactions.",
            "sources": await sources(),
        }

    @server.tool(annotations=LOCAL_READ)
    async def worth_by_day(start_date: dt.date, end_date: dt.date, ctx: Context) -> WorthResult:
        """The banks' part of the owner's net worth at the end of each day between two dates: what
        the accounts held (assets) and what the cards and loans owed (liabilities), account by
        account (last four digits only); days before the synced history are left out."""
        await gate.check(ctx, "finance.read", "worth_by_day")
        _range(start_date, end_date, MAX_NET_WORTH_DAYS)
        accounts = await store.accounts()
        first = await store.first_day()
        begin = max(start_date, first) if first is not None else end_date
        balances = balances_by_day(accounts, await store.movements(begin), begin, end_date) if accounts else {}
        named = {a.account_id: (f"{a.name} ••••{a.mask}" if a.mask else a.name, a.type in LIABILITIES)
                 for a in accounts}  # fmt: skip
        days: list[WorthDay] = []
        for day in sorted(balances):
            parts = [
                WorthAccount(account=named[aid][0], kind="liability" if named[aid][1] else "asset", value=str(v))
                for aid, v in balances[day].items()
            ]
            held = sum((Decimal(p["value"]) for p in parts if p["kind"] == "asset"), Decimal(0))
            owed = sum((Decimal(p["value"]) for p in parts if p["kind"] == "liability"), Decimal(0))
            days.append(WorthDay(date=day.isoformat(), assets=str(held), liabilities=str(owed), accounts=parts))
        currency = next((a.currency for a in accounts if a.currency), None) or "USD"
        return {"connected": bool(accounts), "currency": currency, "days": days, "sources": await sources()}

    @server.tool(annotations=LOCAL_READ)
    async def cash_flow(start_date: dt.date, end_date: dt.date, ctx: Context) -> CashFlowResult:
        """Income against spending for each calendar month between two dates, whole months only
        (the current one "so far"); transfers between the owner's accounts and card payments are
        neither, and refunds lower spending."""
        await gate.check(ctx, "finance.read", "cash_flow")
        _range(start_date, end_date, MAX_CASH_FLOW_DAYS)
        ids = {a.account_id for a in await store.accounts()}
        first = await store.first_day()
        begin = _whole_month(max(start_date, first or start_date))
        moves = [m for m in await store.movements(begin) if m.day <= end_date]
        months = monthly(moves, ids)
        if months and months[-1]["month"] == end_date.strftime("%Y-%m") and not _month_end(end_date):
            months[-1]["label"] += " (so far)"
        return {
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "months": months,
            "sources": await sources(),
        }
