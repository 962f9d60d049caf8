"""Two months of sandbox activity at First Platypus Bank (``ins_109508``) for the demo Item.

Two accounts: Plaid Checking (...0000) and Plaid Credit Card (...3333). Amounts follow Plaid's sign
convention (positive = money out). Balances are derived from the rows, so they always agree with
them; the flight and the Ethiopian dinner match mail in the demo mailbox.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

# The ledger's "today": the demo profile moves every date by (the real today - this day).
ANCHOR_DAY: Final = date(2026, 11, 14)
ONE_OFF: Final = frozenset({"SKYWAY AIRLINES", "HABESHA ETHIOPIAN", "AMAZON REFUND"})

INSTITUTION_ID: Final = "ins_109508"
INSTITUTION_NAME: Final = "First Platypus Bank"
ITEM_ID: Final = "eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6"
CHECKING: Final = "BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp"
CREDIT: Final = "dVzbVMLjrxTnLjX4G66XUp5GLklm4oiZy88yK"

ACCOUNTS: Final[list[dict[str, Any]]] = [
    {
        "account_id": CHECKING,
        "mask": "0000",
        "name": "Plaid Checking",
        "official_name": "Plaid Gold Standard 0% Interest Checking",
        "type": "depository",
        "subtype": "checking",
        "opening_balance": Decimal("1840.25"),
        "limit": None,
    },
    {
        "account_id": CREDIT,
        "mask": "3333",
        "name": "Plaid Credit Card",
        "official_name": "Plaid Diamond 12.5% APR Interest Credit Card",
        "type": "credit",
        "subtype": "credit card",
        "opening_balance": Decimal("410.00"),
        "limit": Decimal("2000.00"),
    },
]

# Merchants: name -> (merchant_name or None, website or None, payment channel, pfc primary, pfc detailed)
MERCHANTS: Final[dict[str, tuple[str | None, str | None, str, str, str]]] = {
    "ACME CORP PAYROLL": (None, None, "other", "INCOME", "INCOME_WAGES"),
    "MAPLE STREET APARTMENTS RENT": (
        "Maple Street Apartments",
        None,
        "other",
        "RENT_AND_UTILITIES",
        "RENT_AND_UTILITIES_RENT",
    ),
    "CON EDISON BILL PAYMENT": (
        "Con Edison",
        "coned.com",
        "online",
        "RENT_AND_UTILITIES",
        "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY",
    ),
    "VERIZON FIOS": ("Verizon", "verizon.com", "online", "RENT_AND_UTILITIES", "RENT_AND_UTILITIES_INTERNET_AND_CABLE"),
    "PAYMENT TO PLAID CREDIT CARD": (None, None, "other", "LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
    "PAYMENT THANK YOU": (None, None, "other", "LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
    "Spotify USA": ("Spotify", "spotify.com", "online", "ENTERTAINMENT", "ENTERTAINMENT_MUSIC_AND_AUDIO"),
    "NETFLIX.COM": ("Netflix", "netflix.com", "online", "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES"),
    "PLANET FITNESS": (
        "Planet Fitness",
        "planetfitness.com",
        "other",
        "PERSONAL_CARE",
        "PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS",
    ),
    "WHOLEFDS MKT 10234": (
        "Whole Foods",
        "wholefoodsmarket.com",
        "in store",
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_GROCERIES",
    ),
    "TRADER JOE'S #552": ("Trader Joe's", "traderjoes.com", "in store", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES"),
    "STARBUCKS STORE 08812": ("Starbucks", "starbucks.com", "in store", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE"),
    "BLUE BOTTLE COFFEE": (
        "Blue Bottle Coffee",
        "bluebottlecoffee.com",
        "in store",
        "FOOD_AND_DRINK",
        "FOOD_AND_DRINK_COFFEE",
    ),
    "HABESHA ETHIOPIAN": ("Habesha", None, "in store", "FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT"),
    "SWEETGREEN 5TH AVE": ("Sweetgreen", "sweetgreen.com", "in store", "FOOD_AND_DRINK", "FOOD_AND_DRINK_FAST_FOOD"),
    "JOE'S PIZZA": ("Joe's Pizza", None, "in store", "FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT"),
    "UBER *TRIP": ("Uber", "uber.com", "online", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES"),
    "LYFT *RIDE": ("Lyft", "lyft.com", "online", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES"),
    "SHELL OIL 57442": ("Shell", "shell.com", "in store", "TRANSPORTATION", "TRANSPORTATION_GAS"),
    "AMAZON MKTPL*2K4": (
        "Amazon",
        "amazon.com",
        "online",
        "GENERAL_MERCHANDISE",
        "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
    ),
    "AMAZON REFUND": (
        "Amazon",
        "amazon.com",
        "online",
        "GENERAL_MERCHANDISE",
        "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
    ),
    "SKYWAY AIRLINES": ("Skyway Airlines", None, "online", "TRAVEL", "TRAVEL_FLIGHTS"),
    "CVS/PHARMACY #1187": ("CVS", "cvs.com", "in store", "MEDICAL", "MEDICAL_PHARMACIES_AND_SUPPLEMENTS"),
    "ATM WITHDRAWAL 5TH AVE": (None, None, "in store", "TRANSFER_OUT", "TRANSFER_OUT_WITHDRAWAL"),
    "INTEREST EARNED": (None, None, "other", "INCOME", "INCOME_INTEREST_EARNED"),
}

C, K = "checking", "credit"
# (date, account, name, amount, pending). Oldest first.
ROWS: Final[list[tuple[str, str, str, str, bool]]] = [
    ("2026-09-15", C, "ACME CORP PAYROLL", "-1650.00", False),
    ("2026-09-16", K, "WHOLEFDS MKT 10234", "87.42", False),
    ("2026-09-17", K, "STARBUCKS STORE 08812", "6.45", False),
    ("2026-09-18", K, "Spotify USA", "11.99", False),
    ("2026-09-19", K, "UBER *TRIP", "23.18", False),
    ("2026-09-20", K, "JOE'S PIZZA", "18.50", False),
    ("2026-09-21", K, "NETFLIX.COM", "15.49", False),
    ("2026-09-22", C, "CON EDISON BILL PAYMENT", "84.12", False),
    ("2026-09-23", K, "AMAZON MKTPL*2K4", "23.99", False),
    ("2026-09-24", K, "BLUE BOTTLE COFFEE", "5.75", False),
    ("2026-09-25", C, "PAYMENT TO PLAID CREDIT CARD", "410.00", False),
    ("2026-09-25", K, "PAYMENT THANK YOU", "-410.00", False),
    ("2026-09-26", K, "TRADER JOE'S #552", "64.08", False),
    ("2026-09-27", K, "SHELL OIL 57442", "41.30", False),
    ("2026-09-28", K, "CVS/PHARMACY #1187", "12.67", False),
    ("2026-09-29", C, "VERIZON FIOS", "79.99", False),
    ("2026-09-30", C, "ACME CORP PAYROLL", "-1650.00", False),
    ("2026-09-30", C, "INTEREST EARNED", "-0.42", False),
    ("2026-10-01", C, "MAPLE STREET APARTMENTS RENT", "1850.00", False),
    ("2026-10-02", K, "PLANET FITNESS", "24.99", False),
    ("2026-10-03", K, "SWEETGREEN 5TH AVE", "14.25", False),
    ("2026-10-04", K, "WHOLEFDS MKT 10234", "102.16", False),
    ("2026-10-06", K, "STARBUCKS STORE 08812", "5.95", False),
    ("2026-10-07", K, "AMAZON REFUND", "-23.99", False),
    ("2026-10-08", K, "LYFT *RIDE", "17.62", False),
    ("2026-10-10", C, "ATM WITHDRAWAL 5TH AVE", "60.00", False),
    ("2026-10-11", K, "JOE'S PIZZA", "22.00", False),
    ("2026-10-12", K, "TRADER JOE'S #552", "58.93", False),
    ("2026-10-14", K, "BLUE BOTTLE COFFEE", "6.25", False),
    ("2026-10-15", C, "ACME CORP PAYROLL", "-1650.00", False),
    ("2026-10-16", K, "AMAZON MKTPL*2K4", "47.86", False),
    ("2026-10-18", K, "Spotify USA", "11.99", False),
    ("2026-10-19", K, "UBER *TRIP", "31.40", False),
    ("2026-10-21", K, "NETFLIX.COM", "15.49", False),
    ("2026-10-22", C, "CON EDISON BILL PAYMENT", "91.40", False),
    ("2026-10-23", K, "WHOLEFDS MKT 10234", "76.54", False),
    ("2026-10-24", K, "STARBUCKS STORE 08812", "6.45", False),
    ("2026-10-25", C, "PAYMENT TO PLAID CREDIT CARD", "310.82", False),
    ("2026-10-25", K, "PAYMENT THANK YOU", "-310.82", False),
    ("2026-10-26", K, "SHELL OIL 57442", "38.77", False),
    ("2026-10-28", K, "SWEETGREEN 5TH AVE", "15.10", False),
    ("2026-10-29", C, "VERIZON FIOS", "79.99", False),
    ("2026-10-30", C, "ACME CORP PAYROLL", "-1650.00", False),
    ("2026-10-31", C, "INTEREST EARNED", "-0.45", False),
    ("2026-11-01", C, "MAPLE STREET APARTMENTS RENT", "1850.00", False),
    ("2026-11-02", K, "PLANET FITNESS", "24.99", False),
    ("2026-11-02", K, "TRADER JOE'S #552", "71.20", False),
    ("2026-11-04", K, "BLUE BOTTLE COFFEE", "5.75", False),
    ("2026-11-05", K, "SKYWAY AIRLINES", "412.60", False),
    ("2026-11-06", K, "UBER *TRIP", "19.85", False),
    ("2026-11-07", K, "HABESHA ETHIOPIAN", "96.80", False),
    ("2026-11-08", K, "STARBUCKS STORE 08812", "6.45", False),
    ("2026-11-09", K, "AMAZON MKTPL*2K4", "34.99", False),
    ("2026-11-10", K, "CVS/PHARMACY #1187", "18.32", False),
    ("2026-11-10", K, "WHOLEFDS MKT 10234", "93.71", False),
    ("2026-11-11", K, "LYFT *RIDE", "14.90", False),
    ("2026-11-12", K, "JOE'S PIZZA", "19.25", False),
    ("2026-11-13", C, "ATM WITHDRAWAL 5TH AVE", "40.00", True),
    ("2026-11-13", K, "SWEETGREEN 5TH AVE", "13.85", True),
    ("2026-11-13", K, "STARBUCKS STORE 08812", "5.95", True),
]


def earlier_month() -> list[tuple[str, str, str, str, bool]]:
    """The month before the ledger: its first month's recurring rows (pay, rent, bills, shopping),
    30 days earlier and posted, so the demo reaches 90 days back."""
    first = date.fromisoformat(ROWS[0][0])
    out = []
    for day, account, name, amount, _pending in ROWS:
        when = date.fromisoformat(day)
        if when - first < timedelta(days=30) and name not in ONE_OFF:
            out.append(((when - timedelta(days=30)).isoformat(), account, name, amount, False))
    return out
