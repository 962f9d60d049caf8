"""Frozen models of the Schwab Trader API payloads Aegis reads (``/trader/v1``, ``/marketdata/v1``).

Shapes follow Schwab's camelCase JSON (API-NOTES §2): an account is wrapped in
``securitiesAccount``; quotes are keyed by symbol with a ``quote`` sub-object; a placed order's id
comes back in the ``Location`` header, not the body. Money is :class:`~decimal.Decimal`. Account
numbers are ``SecretStr``: they stay in the vault and in this process, never in a result.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SchwabModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class AccountNumber(SchwabModel):
    account_number: SecretStr = Field(alias="accountNumber")
    hash_value: str = Field(alias="hashValue")

    @property
    def mask(self) -> str:
        return mask_number(self.account_number.get_secret_value())


def mask_number(number: str) -> str:
    """``••••1234``: the last four digits only, everywhere outside the vault."""
    return f"••••{number[-4:]}" if len(number) >= 4 else "••••"


class Instrument(SchwabModel):
    asset_type: str = Field(alias="assetType")
    symbol: str = ""
    description: str | None = None
    cusip: str | None = None


class Position(SchwabModel):
    long_quantity: Decimal = Field(Decimal(0), alias="longQuantity")
    short_quantity: Decimal = Field(Decimal(0), alias="shortQuantity")
    average_price: Decimal | None = Field(None, alias="averagePrice")
    market_value: Decimal = Field(Decimal(0), alias="marketValue")
    current_day_profit_loss: Decimal | None = Field(None, alias="currentDayProfitLoss")
    instrument: Instrument


class Balances(SchwabModel):
    liquidation_value: Decimal | None = Field(None, alias="liquidationValue")
    cash_balance: Decimal | None = Field(None, alias="cashBalance")
    buying_power: Decimal | None = Field(None, alias="buyingPower")
    available_funds: Decimal | None = Field(None, alias="availableFunds")
    equity: Decimal | None = None


class SecuritiesAccount(SchwabModel):
    account_number: SecretStr = Field(alias="accountNumber")
    type: str
    positions: tuple[Position, ...] = ()
    current_balances: Balances = Field(default_factory=Balances, alias="currentBalances")


class Account(SchwabModel):
    securities_account: SecuritiesAccount = Field(alias="securitiesAccount")


class QuoteFields(SchwabModel):
    last_price: Decimal | None = Field(None, alias="lastPrice")
    bid_price: Decimal | None = Field(None, alias="bidPrice")
    ask_price: Decimal | None = Field(None, alias="askPrice")
    mark: Decimal | None = None
    net_change: Decimal | None = Field(None, alias="netChange")
    quote_time: int | None = Field(None, alias="quoteTime")  # epoch milliseconds
    trade_time: int | None = Field(None, alias="tradeTime")


class Quote(SchwabModel):
    symbol: str
    asset_main_type: str = Field("EQUITY", alias="assetMainType")
    quote: QuoteFields = Field(default_factory=QuoteFields)

    @property
    def price(self) -> Decimal | None:
        q = self.quote
        return q.last_price or q.mark or q.ask_price

    @property
    def at(self) -> dt.datetime | None:
        ms = self.quote.quote_time or self.quote.trade_time
        return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class OrderLeg(SchwabModel):
    instruction: str
    quantity: Decimal
    instrument: Instrument


class Order(SchwabModel):
    order_id: int = Field(alias="orderId")
    status: str
    status_description: str | None = Field(None, alias="statusDescription")
    entered_time: dt.datetime | None = Field(None, alias="enteredTime")
    close_time: dt.datetime | None = Field(None, alias="closeTime")
    order_type: str = Field(alias="orderType")
    duration: str | None = None
    session: str | None = None
    quantity: Decimal = Decimal(0)
    filled_quantity: Decimal = Field(Decimal(0), alias="filledQuantity")
    remaining_quantity: Decimal = Field(Decimal(0), alias="remainingQuantity")
    price: Decimal | None = None
    stop_price: Decimal | None = Field(None, alias="stopPrice")
    cancelable: bool = False
    legs: tuple[OrderLeg, ...] = Field((), alias="orderLegCollection")


class TransferItem(SchwabModel):
    instrument: Instrument | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    cost: Decimal | None = None


class Transaction(SchwabModel):
    activity_id: int = Field(alias="activityId")
    time: dt.datetime
    type: str
    status: str | None = None
    description: str | None = None
    net_amount: Decimal = Field(Decimal(0), alias="netAmount")
    order_id: int | None = Field(None, alias="orderId")
    transfer_items: tuple[TransferItem, ...] = Field((), alias="transferItems")


class PreviewResult(SchwabModel):
    """What ``previewOrder`` returned: kept whole (shown to the owner as Schwab said it)."""

    raw: dict[str, object]
