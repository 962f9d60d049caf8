"""A stateful in-memory Schwab for the demo profile and for tests of ``mcp_servers.schwab``.

:func:`demo_transport` answers what schwab-py calls on ``https://api.schwabapi.com`` with bodies
shaped like Schwab's (API-NOTES §2): the OAuth token endpoint, account numbers, accounts with
positions, quotes (timed now, prices moving a little each day), orders (a placed order answers 201
with an empty body and its id in ``Location``), preview, cancel and transactions dated around today.
Knobs for tests: ``read_only`` (order calls answer 401 as for an app without trading approval),
``next_status`` (what a new order becomes), ``reject_next`` (a 400 with Schwab's message),
``drop_after_place`` (the order is recorded, then the connection drops before the answer),
``refresh_refused`` (the token endpoint says the refresh token is invalid).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import httpx

from tools.schwab.client import APP_KEY, APP_SECRET, TOKEN, wrap_token

BASE: Final = "https://api.schwabapi.com"
ACCOUNT_NUMBER: Final = "40817726"
ACCOUNT_HASH: Final = "A3F9C1E07B5D2E4F8A6C0B1D3E5F7A9C2B4D6E8F0A1C3E5B7D9F1A3C5E7B9D1F"
DEMO_APP_KEY: Final = "demoAppKey0000000000000000000000"
DEMO_APP_SECRET: Final = "demoSecret000000"  # noqa: S105 - public demo value
# symbol -> (description, quantity, average price, price on day 0)
HOLDINGS: Final = {
    "VTI": ("Vanguard Total Stock Market ETF", Decimal(120), Decimal("221.40"), Decimal("268.10")),
    "AAPL": ("Apple Inc", Decimal(40), Decimal("151.20"), Decimal("231.55")),
    "MSFT": ("Microsoft Corp", Decimal(18), Decimal("301.75"), Decimal("428.90")),
    "SCHD": ("Schwab US Dividend Equity ETF", Decimal(150), Decimal("25.80"), Decimal("28.64")),
}
OTHER_QUOTES: Final = {"NVDA": Decimal("142.30"), "TSLA": Decimal("251.10"), "GOOGL": Decimal("171.85")}
CASH: Final = Decimal("8423.17")
_ORDER_PATH = re.compile(r"^/trader/v1/accounts/(\w+)/orders(?:/(\d+))?$")


def demo_credentials(now: dt.datetime | None = None) -> dict[str, str]:
    """App key, secret and a token created yesterday (its refresh token has six days left)."""
    now = now or dt.datetime.now(dt.UTC)
    token = {
        "access_token": "demo-access-token",
        "refresh_token": "demo-refresh-token",
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires_at": int(now.timestamp()) + 1800,
        "scope": "api",
    }
    created = (now - dt.timedelta(days=1)).timestamp()
    return {APP_KEY: DEMO_APP_KEY, APP_SECRET: DEMO_APP_SECRET, TOKEN: wrap_token(token, created)}


def _wiggle(symbol: str, day: dt.date) -> Decimal:
    """A deterministic daily move of -2%..+2% per symbol."""
    digest = hashlib.sha256(f"{symbol}:{day.isoformat()}".encode()).digest()
    return Decimal(digest[0] - 128) / Decimal(6400)


def price_on(symbol: str, day: dt.date) -> Decimal:
    base = HOLDINGS[symbol][3] if symbol in HOLDINGS else OTHER_QUOTES[symbol]
    return (base * (1 + _wiggle(symbol, day))).quantize(Decimal("0.01"))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class DemoSchwab:
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    read_only: bool = False
    next_status: str = "WORKING"
    reject_next: str | None = None
    drop_after_place: bool = False
    refresh_refused: bool = False
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    placed: list[dict[str, Any]] = field(default_factory=list)
    refreshes: int = 0
    token_requests: list[httpx.Request] = field(default_factory=list)  # the token endpoint's requests, for tests
    _next_id: int = 1004417700

    @property
    def today(self) -> dt.date:
        return self.now.date()

    # ---- bodies ----------------------------------------------------------------------------

    def quote(self, symbol: str) -> dict[str, Any]:
        last = price_on(symbol, self.today)
        prev = price_on(symbol, self.today - dt.timedelta(days=1))
        ms = int(self.now.timestamp() * 1000)
        return {
            "assetMainType": "EQUITY",
            "symbol": symbol,
            "quoteType": "NBBO",
            "realtime": True,
            "quote": {
                "lastPrice": float(last),
                "bidPrice": float(last - Decimal("0.02")),
                "askPrice": float(last + Decimal("0.02")),
                "mark": float(last),
                "netChange": float(last - prev),
                "totalVolume": 1_250_000,
                "quoteTime": ms,
                "tradeTime": ms,
            },
            "reference": {"description": HOLDINGS.get(symbol, (symbol,))[0]},
        }

    def account(self) -> dict[str, Any]:
        positions = []
        total = CASH
        for symbol, (description, qty, avg, _) in HOLDINGS.items():
            last = price_on(symbol, self.today)
            prev = price_on(symbol, self.today - dt.timedelta(days=1))
            value = (qty * last).quantize(Decimal("0.01"))
            total += value
            positions.append(
                {
                    "shortQuantity": 0.0,
                    "averagePrice": float(avg),
                    "currentDayProfitLoss": float((last - prev) * qty),
                    "longQuantity": float(qty),
                    "marketValue": float(value),
                    "instrument": {
                        "assetType": "EQUITY",
                        "cusip": "000000000",
                        "symbol": symbol,
                        "description": description,
                    },
                }
            )
        return {
            "securitiesAccount": {
                "type": "CASH",
                "accountNumber": ACCOUNT_NUMBER,
                "roundTrips": 0,
                "isDayTrader": False,
                "positions": positions,
                "currentBalances": {
                    "liquidationValue": float(total),
                    "cashBalance": float(CASH),
                    "buyingPower": float(CASH),
                    "availableFunds": float(CASH),
                    "equity": float(total),
                },
            }
        }

    def transactions(self) -> list[dict[str, Any]]:
        rows = [
            (2, "DIVIDEND_OR_INTEREST", "SCHD", Decimal("98.25"), None, None),
            (5, "TRADE", "VTI", Decimal("-2681.00"), Decimal(10), Decimal("268.10")),
            (9, "ACH_RECEIPT", None, Decimal("3000.00"), None, None),
            (16, "TRADE", "AAPL", Decimal("1157.75"), Decimal(-5), Decimal("231.55")),
            (23, "DIVIDEND_OR_INTEREST", "MSFT", Decimal("14.94"), None, None),
        ]
        out = []
        for i, (days, kind, symbol, net, qty, price) in enumerate(rows):
            when = (self.now - dt.timedelta(days=days)).replace(hour=15, minute=30, second=0, microsecond=0)
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
            items = []
            if symbol is not None:
                item: dict[str, Any] = {"instrument": {"assetType": "EQUITY", "symbol": symbol}}
                if qty is not None and price is not None:
                    item |= {"amount": float(qty), "price": float(price), "cost": float(-qty * price)}
                items.append(item)
            out.append(
                {
                    "activityId": 95512265600 + i,
                    "time": stamp,
                    "accountNumber": ACCOUNT_NUMBER,
                    "type": kind,
                    "status": "VALID",
                    "subAccount": "CASH",
                    "tradeDate": stamp,
                    "netAmount": float(net),
                    "description": {"TRADE": "Trade", "ACH_RECEIPT": "Transfer in"}.get(kind, "Dividend"),
                    "transferItems": items,
                }
            )
        return out

    # ---- the handler -----------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/v1/oauth/token" and method == "POST":
            self.token_requests.append(request)
            return self._token()
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _json(401, {"message": "Unauthorized"})
        if path == "/trader/v1/accounts/accountNumbers":
            return _json(200, [{"accountNumber": ACCOUNT_NUMBER, "hashValue": ACCOUNT_HASH}])
        if path == "/trader/v1/accounts":
            return _json(200, [self.account()])
        if path == f"/trader/v1/accounts/{ACCOUNT_HASH}":
            return _json(200, self.account())
        if path == "/marketdata/v1/quotes":
            symbols = request.url.params.get("symbols", "").split(",")
            known = set(HOLDINGS) | set(OTHER_QUOTES)
            return _json(200, {s: self.quote(s) for s in symbols if s in known})
        if path == f"/trader/v1/accounts/{ACCOUNT_HASH}/transactions":
            return _json(200, self.transactions())
        if path == f"/trader/v1/accounts/{ACCOUNT_HASH}/previewOrder" and method == "POST":
            return self._preview(request)
        match = _ORDER_PATH.match(path)
        if match is not None:
            if match.group(1) != ACCOUNT_HASH:
                return _json(404, {"message": "Account not found"})
            return self._orders(request, int(match.group(2)) if match.group(2) else None)
        return _json(404, {"message": f"no route {method} {path}"})

    def _token(self) -> httpx.Response:
        if self.refresh_refused:
            return _json(400, {"error": "invalid_client", "error_description": "refresh token invalid"})
        self.refreshes += 1
        return _json(
            200,
            {
                "access_token": f"demo-access-token-{self.refreshes}",
                "refresh_token": "demo-refresh-token",
                "token_type": "Bearer",
                "expires_in": 1800,
                "scope": "api",
                "id_token": "demo-id-token",
            },
        )

    def _preview(self, request: httpx.Request) -> httpx.Response:
        if self.read_only:
            return _json(401, {"message": "Client not authorized for this operation"})
        spec = json.loads(request.content)
        leg = spec["orderLegCollection"][0]
        symbol = leg["instrument"]["symbol"]
        price = Decimal(str(spec.get("price") or self.quote(symbol)["quote"]["lastPrice"]))
        value = (price * Decimal(str(leg["quantity"]))).quantize(Decimal("0.01"))
        return _json(
            200,
            {
                "orderStrategy": {**spec, "orderValue": float(value)},
                "orderValidationResult": {"rejects": [], "warns": [], "accepts": [{"message": "Order is valid"}]},
                "commissionAndFee": {"commission": {"commissionLegs": []}, "fee": {"feeLegs": []}},
            },
        )

    def _orders(self, request: httpx.Request, order_id: int | None) -> httpx.Response:
        method = request.method
        if method == "GET" and order_id is None:
            return _json(200, list(self.orders.values()))
        if method == "GET":
            found = self.orders.get(order_id)  # type: ignore[arg-type]
            return _json(200, found) if found else _json(404, {"message": "Order not found"})
        if self.read_only:
            return _json(401, {"message": "Client not authorized for this operation"})
        if method == "DELETE" and order_id is not None:
            found = self.orders.get(order_id)
            if found is None:
                return _json(404, {"message": "Order not found"})
            if not found["cancelable"]:
                return _json(400, {"message": f"Order cannot be canceled in status {found['status']}"})
            found |= {"status": "CANCELED", "cancelable": False, "closeTime": self.now.isoformat()}
            return httpx.Response(200)
        if method == "POST" and order_id is None:
            return self._place(json.loads(request.content))
        return _json(405, {"message": "method not allowed"})

    def _place(self, spec: dict[str, Any]) -> httpx.Response:
        if self.reject_next is not None:
            message, self.reject_next = self.reject_next, None
            return _json(400, {"message": message})
        order_id, self._next_id = self._next_id, self._next_id + 1
        leg = spec["orderLegCollection"][0]
        qty = Decimal(str(leg["quantity"]))
        status = self.next_status
        filled = qty if status == "FILLED" else (qty / 2).to_integral_value() if status == "PARTIALLY_FILLED" else 0
        order = {
            **spec,
            "orderId": order_id,
            "accountNumber": int(ACCOUNT_NUMBER),
            "status": "WORKING" if status == "PARTIALLY_FILLED" else status,
            "enteredTime": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "quantity": float(qty),
            "filledQuantity": float(filled),
            "remainingQuantity": float(qty - filled),
            "cancelable": status in ("WORKING", "PARTIALLY_FILLED", "QUEUED", "AWAITING_MANUAL_REVIEW", "ACCEPTED"),
            "orderLegCollection": [{**leg, "legId": 1, "orderLegType": "EQUITY"}],
        }
        if status == "REJECTED":
            order["statusDescription"] = "Insufficient buying power"
        self.orders[order_id] = order
        self.placed.append(spec)
        if self.drop_after_place:
            self.drop_after_place = False
            raise httpx.ReadError("connection dropped after the order was accepted")
        location = f"{BASE}/trader/v1/accounts/{ACCOUNT_HASH}/orders/{order_id}"
        return httpx.Response(201, headers={"Location": location})


def demo_transport(schwab: DemoSchwab | None = None) -> httpx.MockTransport:
    """A transport serving ``schwab`` (a fresh one when omitted)."""
    return httpx.MockTransport((schwab or DemoSchwab()).handler)


def value_on(day: dt.date) -> Decimal:
    """The demo brokerage's value at the close of ``day`` (today's holdings at that day's prices)."""
    return CASH + sum((qty * price_on(symbol, day) for symbol, (_d, qty, _a, _p) in HOLDINGS.items()), Decimal(0))
