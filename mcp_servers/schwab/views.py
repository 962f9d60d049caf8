"""Result shapes of the Schwab tools (what the model, the console and the money page read)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from mcp_servers._common import Source


class AccountItem(TypedDict):
    account: str  # masked: ••••1234
    type: str
    total: str | None
    cash: str | None
    buying_power: str | None
    currency: str
    synced_at: str


class AccountsResult(TypedDict):
    accounts: list[AccountItem]
    sources: list[Source]


class Holding(TypedDict):
    symbol: str
    description: str | None
    account: str
    quantity: str
    market_value: str
    average_price: str | None
    day_change: str | None
    allocation: str  # percent of the brokerage's value, one decimal


class PositionsResult(TypedDict):
    holdings: list[Holding]
    total: str
    cash: str
    currency: str
    sources: list[Source]


class TransactionItem(TypedDict):
    date: str
    type: str
    symbol: str | None
    description: str | None
    quantity: str | None
    price: str | None
    amount: str
    account: str


class TransactionsResult(TypedDict):
    start_date: str
    end_date: str
    transactions: list[TransactionItem]
    sources: list[Source]


class OrdersResult(TypedDict):
    orders: list[dict[str, Any]]
    sources: list[Source]


class QuoteItem(TypedDict):
    symbol: str
    last: str | None
    bid: str | None
    ask: str | None
    change: str | None
    quote_time: str | None


class QuotesResult(TypedDict):
    quotes: list[QuoteItem]
    missing: list[str]
    sources: list[Source]


class NetWorthPoint(TypedDict):
    date: str
    value: str


class NetWorthResult(TypedDict):
    series: list[NetWorthPoint]
    currency: str
    latest: str | None


class WorthAccount(TypedDict):
    account: str  # "Brokerage ••••1234"
    kind: str  # asset
    value: str


class WorthDay(TypedDict):
    date: str
    assets: str
    liabilities: str
    accounts: list[WorthAccount]  # only for days the last sync describes


class WorthResult(TypedDict):
    connected: bool
    currency: str
    days: list[WorthDay]
    sources: list[Source]


class Notice(TypedDict):
    title: str
    body: str


class Attention(TypedDict):
    reason: str
    detail: str
    since: str
    snapshot_id: str | None


class ConnectionResult(TypedDict, total=False):
    connected: bool
    refresh_expires_at: str | None
    hours_left: int | None
    reconnect: bool
    message: str
    notice: Notice
    attention: list[Attention]  # the console's "needs attention" (the manifest's status_tool)


class LimitsResult(TypedDict):
    max_order_notional: str | None
    max_daily_notional: str | None
    allowed_symbols: list[str]
    blocked_symbols: list[str]
    allow_options: bool
    allow_margin: bool
    used_today: str
    settings: dict[str, Any]  # the same limits, for the console's form


class PreviewResult(TypedDict):
    account: str
    symbol: str
    side: str
    quantity: int
    order_type: str
    limit_price: str | None
    stop_price: str | None
    time_in_force: str
    latest_quote: str | None
    quote_time: str | None
    estimated_notional: str
    priced_from: str
    within_limits: bool
    schwab_says: list[str]
    sources: list[Source]


class OrderResult(TypedDict, total=False):
    order_id: str
    account: str
    symbol: str
    side: str
    quantity: str
    filled: str
    order_type: str
    limit_price: str | None
    stop_price: str | None
    duration: str | None
    status: str
    status_text: str
    reason: str | None
    entered: str | None
    cancelable: bool
    already_done: bool
