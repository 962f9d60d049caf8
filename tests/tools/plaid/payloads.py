"""Plaid (2020-09-14) response bodies, shaped like the real API."""

from __future__ import annotations

from typing import Any

CHECKING = "BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp"


def transaction(
    tid: str = "lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje", amount: float = 12.5, **over: Any
) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "account_id": CHECKING,
        "amount": amount,
        "iso_currency_code": "USD",
        "unofficial_currency_code": None,
        "date": "2026-11-02",
        "authorized_date": "2026-11-01",
        "datetime": None,
        "authorized_datetime": None,
        "name": "Coffee Shop",
        "merchant_name": "Coffee Shop",
        "pending": False,
        "pending_transaction_id": None,
        "transaction_id": tid,
        "payment_channel": "in store",
        "personal_finance_category": {
            "primary": "FOOD_AND_DRINK",
            "detailed": "FOOD_AND_DRINK_COFFEE",
            "confidence_level": "VERY_HIGH",
        },
        "personal_finance_category_icon_url": "https://plaid-category-icons.plaid.com/PFC_FOOD_AND_DRINK.png",
        "location": {
            "city": None,
            "region": None,
            "country": None,
            "postal_code": None,
            "lat": None,
            "lon": None,
            "address": None,
            "store_number": None,
        },
        "payment_meta": {},
        "counterparties": [],
        "category": None,
        "category_id": None,
        "account_owner": None,
        "check_number": None,
        "transaction_code": None,
        "logo_url": None,
        "website": None,
        "merchant_entity_id": None,
        "transaction_type": "place",
    }
    return tx | over


ACCOUNT = {
    "account_id": CHECKING,
    "balances": {
        "available": 100.0,
        "current": 110.0,
        "iso_currency_code": "USD",
        "limit": None,
        "unofficial_currency_code": None,
    },
    "mask": "0000",
    "name": "Plaid Checking",
    "official_name": "Plaid Gold Standard 0% Interest Checking",
    "subtype": "checking",
    "type": "depository",
}

ITEM = {
    "available_products": ["balance", "identity"],
    "billed_products": ["transactions"],
    "consent_expiration_time": None,
    "error": None,
    "institution_id": "ins_109508",
    "item_id": "eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6",
    "products": ["transactions"],
    "update_type": "background",
    "webhook": "",
}


def sync_page(*, added: list[dict[str, Any]], cursor: str, has_more: bool, **over: Any) -> dict[str, Any]:
    return {
        "added": added,
        "modified": [],
        "removed": [],
        "accounts": [ACCOUNT],
        "next_cursor": cursor,
        "has_more": has_more,
        "transactions_update_status": "HISTORICAL_UPDATE_COMPLETE",
        "request_id": "Wvhy9PZHQLV8njG",
    } | over


def plaid_error(error_type: str, error_code: str, message: str = "error", display: str | None = None) -> dict[str, Any]:
    return {
        "display_message": display,
        "documentation_url": f"https://plaid.com/docs/errors/#{error_code.lower()}",
        "error_code": error_code,
        "error_message": message,
        "error_type": error_type,
        "request_id": "HNTDNrA8F1shFEW",
        "suggested_action": None,
    }
