"""An order as the owner asked for it, the owner's limits, and the order spec Schwab receives.

:func:`check_limits` runs before every preview and every placement, on a notional priced from a
fresh quote: the limit price when there is one, else the quote (the ask when buying), and for a stop
the higher of the stop and the quote. A missing price is never a reason to skip a limit; a symbol
without a fresh quote is refused. Equities only: an option symbol is refused unless the owner enabled
options (and even then this server has no option orders); a buy beyond the account's cash, or a
sell of more than is held, needs margin, refused unless enabled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

from schwab.orders.common import Duration, EquityInstruction, OrderStrategyType, OrderType, Session
from schwab.orders.generic import OrderBuilder

from tools.schwab.models import Quote

Side = Literal["BUY", "SELL"]
Kind = Literal["MARKET", "LIMIT", "STOP", "STOP_LIMIT"]
TimeInForce = Literal["DAY", "GOOD_TILL_CANCEL"]
EQUITY = re.compile(r"^[A-Z]{1,5}(?:[./][A-Z]{1,2})?$")
QUOTE_MAX_AGE = dt.timedelta(minutes=15)
DEFAULT_LIMITS: dict[str, Any] = {
    "max_order_notional": "1000",
    "max_daily_notional": "2000",
    "allowed_symbols": [],
    "blocked_symbols": [],
    "allow_options": False,
    "allow_margin": False,
}


class OrderRefused(Exception):
    """The order breaks one of the owner's limits or cannot be priced: nothing was sent to Schwab."""


@dataclass(frozen=True)
class OrderRequest:
    account: str  # the last four digits of the account number, as the owner sees it
    symbol: str
    side: Side
    quantity: int
    order_type: Kind
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    duration: TimeInForce = "DAY"

    def __post_init__(self) -> None:
        needs_limit = self.order_type in ("LIMIT", "STOP_LIMIT")
        needs_stop = self.order_type in ("STOP", "STOP_LIMIT")
        if needs_limit != (self.limit_price is not None):
            raise OrderRefused(f"a {self.order_type} order {'needs' if needs_limit else 'takes no'} limit_price")
        if needs_stop != (self.stop_price is not None):
            raise OrderRefused(f"a {self.order_type} order {'needs' if needs_stop else 'takes no'} stop_price")
        for price in (self.limit_price, self.stop_price):
            if price is not None and price <= 0:
                raise OrderRefused("prices must be positive")
        if self.quantity < 1:
            raise OrderRefused("quantity must be at least 1 share")

    def fingerprint(self) -> str:
        """What the approval bound, canonically: a changed order has another fingerprint."""
        doc = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Priced:
    price: Decimal  # what one share is counted at for the limits
    basis: str  # where that price came from, in plain words
    notional: Decimal
    quote: Decimal | None
    quote_time: dt.datetime | None


def price(req: OrderRequest, quote: Quote | None, now: dt.datetime) -> Priced:
    """The notional the limits are checked against, from a fresh quote."""
    if quote is None or quote.price is None:
        raise OrderRefused(f"no quote for {req.symbol}: the order cannot be priced, so it is refused")
    at = quote.at
    if at is None or now - at > QUOTE_MAX_AGE:
        raise OrderRefused(f"the latest quote for {req.symbol} is older than 15 minutes: refused")
    market = quote.quote.ask_price if req.side == "BUY" and quote.quote.ask_price else quote.price
    assert market is not None
    if req.limit_price is not None:
        unit, basis = req.limit_price, "your limit price"
    elif req.stop_price is not None:
        unit, basis = max(req.stop_price, market), "the higher of your stop price and the latest quote"
    else:
        unit, basis = market, "the latest quote (" + ("ask" if req.side == "BUY" else "last") + ")"
    notional = (unit * req.quantity).quantize(Decimal("0.01"))
    return Priced(unit, basis, notional, quote.price, at)


def _money(v: Any) -> Decimal | None:
    return None if v in (None, "") else Decimal(str(v))


def check_limits(
    req: OrderRequest,
    priced: Priced,
    limits: dict[str, Any],
    *,
    spent_today: Decimal,
    cash: Decimal | None,
    held: Decimal,
) -> None:
    """Raise :class:`OrderRefused` naming the first limit the order breaks."""
    symbol = req.symbol
    if not EQUITY.match(symbol):
        what = "options" if not limits.get("allow_options") else "this kind of instrument"
        raise OrderRefused(f"{symbol} is not a stock or ETF symbol; {what} cannot be traded here")
    allowed = [s.upper() for s in limits.get("allowed_symbols") or []]
    if allowed and symbol not in allowed:
        raise OrderRefused(f"{symbol} is not on your list of allowed symbols")
    if symbol in [s.upper() for s in limits.get("blocked_symbols") or []]:
        raise OrderRefused(f"{symbol} is on your block list")
    per_order = _money(limits.get("max_order_notional"))
    if per_order is not None and priced.notional > per_order:
        raise OrderRefused(f"estimated notional {priced.notional} exceeds your per-order limit {per_order}")
    per_day = _money(limits.get("max_daily_notional"))
    if per_day is not None and spent_today + priced.notional > per_day:
        raise OrderRefused(
            f"estimated notional {priced.notional} with {spent_today} already today exceeds your daily limit {per_day}"
        )
    if not limits.get("allow_margin"):
        if req.side == "BUY" and (cash is None or priced.notional > cash):
            raise OrderRefused(f"estimated notional {priced.notional} is more than the account's cash: margin is off")
        if req.side == "SELL" and req.quantity > held:
            raise OrderRefused(f"selling {req.quantity} {symbol} with {held} held would be a short sale: margin is off")


def order_spec(req: OrderRequest) -> dict[str, Any]:
    """The JSON schwab-py's builder makes for this equity order (prices as strings, API-NOTES §2)."""
    instruction = EquityInstruction.BUY if req.side == "BUY" else EquityInstruction.SELL
    builder = (
        OrderBuilder()
        .set_session(Session.NORMAL)
        .set_duration(Duration.DAY if req.duration == "DAY" else Duration.GOOD_TILL_CANCEL)
        .set_order_type(OrderType[req.order_type])
        .set_order_strategy_type(OrderStrategyType.SINGLE)
        .add_equity_leg(instruction, req.symbol, req.quantity)
    )
    if req.limit_price is not None:
        builder.set_price(str(req.limit_price))
    if req.stop_price is not None:
        builder.set_stop_price(str(req.stop_price))
    spec: dict[str, Any] = builder.build()
    return spec


def order_matches(order: dict[str, Any], req: OrderRequest) -> bool:
    """Whether an order Schwab lists is this request (the open-order check before any retry)."""
    legs = order.get("orderLegCollection") or []
    if len(legs) != 1:
        return False
    leg = legs[0]
    same = (
        (leg.get("instrument") or {}).get("symbol") == req.symbol
        and leg.get("instruction") == req.side
        and Decimal(str(leg.get("quantity", 0))) == req.quantity
        and order.get("orderType") == req.order_type
    )
    if not same:
        return False
    for key, want in (("price", req.limit_price), ("stopPrice", req.stop_price)):
        if want is not None and _money(order.get(key)) != want:
            return False
    return True


PLAIN_STATUS = {
    "AWAITING_MANUAL_REVIEW": "pending review",
    "ACCEPTED": "accepted",
    "QUEUED": "accepted",
    "WORKING": "accepted, working",
    "NEW": "accepted",
    "PENDING_ACTIVATION": "accepted, waiting for the market",
    "AWAITING_PARENT_ORDER": "waiting",
    "AWAITING_CONDITION": "waiting",
    "AWAITING_STOP_CONDITION": "waiting for the stop price",
    "AWAITING_RELEASE_TIME": "waiting",
    "PENDING_ACKNOWLEDGEMENT": "sent, not yet acknowledged",
    "REJECTED": "rejected",
    "FILLED": "filled",
    "CANCELED": "cancelled",
    "PENDING_CANCEL": "cancel requested",
    "PENDING_REPLACE": "change requested",
    "REPLACED": "replaced",
    "EXPIRED": "expired",
}


def qty(value: Decimal) -> str:
    """A share count as people write it: 4, not 4.0."""
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def plain_status(status: str, filled: Decimal, quantity: Decimal, reason: str | None) -> str:
    """Schwab's status as it is, in plain words; partial fills and rejections say how and why."""
    if status == "REJECTED":
        return f"rejected: {reason}" if reason else "rejected (Schwab gave no reason)"
    if status not in ("FILLED", "CANCELED", "EXPIRED") and 0 < filled < quantity:
        return f"partly filled: {qty(filled)} of {qty(quantity)}"
    if status in ("CANCELED", "EXPIRED") and 0 < filled < quantity:
        return f"{PLAIN_STATUS[status]} after a partial fill of {qty(filled)} of {qty(quantity)}"
    return PLAIN_STATUS.get(status, status.lower().replace("_", " "))
