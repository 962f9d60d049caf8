"""Frozen models of the Plaid payloads Aegis uses (API version 2020-09-14, snake_case JSON).

Money is :class:`~decimal.Decimal`. Plaid's sign convention: ``amount`` is positive when money
leaves the account (a purchase) and negative for deposits and refunds. Tokens are ``SecretStr`` so
their ``repr`` never shows them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, SecretStr


class PlaidModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PersonalFinanceCategory(PlaidModel):
    primary: str
    detailed: str
    confidence_level: str | None = None


class Location(PlaidModel):
    address: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    store_number: str | None = None


class PaymentMeta(PlaidModel):
    by_order_of: str | None = None
    payee: str | None = None
    payer: str | None = None
    payment_method: str | None = None
    payment_processor: str | None = None
    ppd_id: str | None = None
    reason: str | None = None
    reference_number: str | None = None


class Counterparty(PlaidModel):
    name: str
    type: str | None = None
    entity_id: str | None = None
    logo_url: str | None = None
    website: str | None = None
    confidence_level: str | None = None


class Transaction(PlaidModel):
    transaction_id: str
    account_id: str
    amount: Decimal
    iso_currency_code: str | None = None
    unofficial_currency_code: str | None = None
    date: dt.date
    authorized_date: dt.date | None = None
    datetime: dt.datetime | None = None
    authorized_datetime: dt.datetime | None = None
    name: str = ""
    merchant_name: str | None = None
    original_description: str | None = None
    pending: bool = False
    pending_transaction_id: str | None = None
    payment_channel: str | None = None  # "online" | "in store" | "other"
    personal_finance_category: PersonalFinanceCategory | None = None
    personal_finance_category_icon_url: str | None = None
    counterparties: tuple[Counterparty, ...] = ()
    merchant_entity_id: str | None = None
    logo_url: str | None = None
    website: str | None = None
    location: Location | None = None
    payment_meta: PaymentMeta | None = None
    category: tuple[str, ...] | None = None  # legacy
    category_id: str | None = None  # legacy
    account_owner: str | None = None
    check_number: str | None = None
    transaction_code: str | None = None
    transaction_type: str | None = None  # legacy


class RemovedTransaction(PlaidModel):
    transaction_id: str
    account_id: str | None = None


class Balances(PlaidModel):
    available: Decimal | None = None
    current: Decimal | None = None
    limit: Decimal | None = None
    iso_currency_code: str | None = None
    unofficial_currency_code: str | None = None
    last_updated_datetime: dt.datetime | None = None


class AccountBase(PlaidModel):
    account_id: str
    balances: Balances
    mask: str | None = None
    name: str
    official_name: str | None = None
    type: str
    subtype: str | None = None
    verification_status: str | None = None
    persistent_account_id: str | None = None


class PlaidErrorBody(PlaidModel):
    error_type: str
    error_code: str
    error_message: str = ""
    display_message: str | None = None
    request_id: str | None = None
    status: int | None = None


class Item(PlaidModel):
    item_id: str
    institution_id: str | None = None
    webhook: str | None = None
    error: PlaidErrorBody | None = None
    available_products: tuple[str, ...] = ()
    billed_products: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    consented_products: tuple[str, ...] = ()
    consent_expiration_time: dt.datetime | None = None
    update_type: str | None = None


class AccountsResponse(PlaidModel):
    """``/accounts/get`` and ``/accounts/balance/get``."""

    accounts: tuple[AccountBase, ...] = ()
    item: Item
    request_id: str


class SyncPage(PlaidModel):
    """One page of ``/transactions/sync``. Loop until ``has_more`` is false, then keep ``next_cursor``."""

    added: tuple[Transaction, ...] = ()
    modified: tuple[Transaction, ...] = ()
    removed: tuple[RemovedTransaction, ...] = ()
    accounts: tuple[AccountBase, ...] = ()
    next_cursor: str
    has_more: bool
    transactions_update_status: str | None = None
    request_id: str


class LinkToken(PlaidModel):
    link_token: SecretStr
    expiration: dt.datetime
    request_id: str
    hosted_link_url: str | None = None


class SandboxPublicToken(PlaidModel):
    public_token: SecretStr
    request_id: str


class ExchangeResult(PlaidModel):
    """``/item/public_token/exchange``: the access token never expires; store it in the broker."""

    access_token: SecretStr
    item_id: str
    request_id: str


class Institution(PlaidModel):
    institution_id: str
    name: str
    products: tuple[str, ...] = ()
    country_codes: tuple[str, ...] = ()
