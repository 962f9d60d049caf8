"""The owner's trading limits as the console's form sends them, checked before anything is stored.

A price is dollars (``5000``, ``231.50``; blank means no limit of that kind), symbols are tickers
(``VTI``, ``BRK.B``), and a symbol cannot be both allowed and blocked. Every problem is named in
plain words; nothing is stored when one is found.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

SYMBOL = re.compile(r"^[A-Z]{1,5}([./][A-Z]{1,2})?$")
MAX_PRICE = Decimal("10000000")
MAX_SYMBOLS = 200
LABELS = {
    "max_order_notional": "Most per order",
    "max_daily_notional": "Most per day",
    "allowed_symbols": "Allowed symbols",
    "blocked_symbols": "Blocked symbols",
}


class LimitsInvalid(ValueError):
    """The form holds a value the limits cannot take; the message names each problem."""


def _price(name: str, raw: Any, problems: list[str]) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        problems.append(f"{LABELS[name]} must be an amount in dollars")
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "").removeprefix("$"))
    except InvalidOperation:
        problems.append(f"{LABELS[name]} must be an amount in dollars, e.g. 5000")
        return None
    if not value.is_finite() or value <= 0 or value >= MAX_PRICE:
        problems.append(f"{LABELS[name]} must be more than 0 and less than 10,000,000 dollars")
        return None
    if value != value.quantize(Decimal("0.01")):
        problems.append(f"{LABELS[name]} has more than two decimals")
        return None
    return str(int(value)) if value == value.to_integral() else str(value.quantize(Decimal("0.01")))


def _symbols(name: str, raw: Any, problems: list[str]) -> list[str]:
    words = raw if isinstance(raw, list) else str(raw or "").replace(";", ",").split(",")
    found = sorted({str(w).strip().upper() for w in words if str(w).strip()})
    bad = [w for w in found if not SYMBOL.match(w)]
    if bad:
        verb = "is not a ticker" if len(bad) == 1 else "are not tickers"
        problems.append(f"{LABELS[name]}: {', '.join(bad[:5])} {verb}")
    if len(found) > MAX_SYMBOLS:
        problems.append(f"{LABELS[name]}: at most {MAX_SYMBOLS} symbols")
    return found


def parse_limits(values: Any) -> dict[str, Any]:
    """The limits to store, or :class:`LimitsInvalid` naming every problem."""
    if not isinstance(values, dict):
        raise LimitsInvalid("the limits must be a set of named values")
    unknown = sorted(set(values) - {*LABELS, "allow_options", "allow_margin"})
    problems = [f"unknown setting {', '.join(unknown)}"] if unknown else []
    out: dict[str, Any] = {
        "max_order_notional": _price("max_order_notional", values.get("max_order_notional"), problems),
        "max_daily_notional": _price("max_daily_notional", values.get("max_daily_notional"), problems),
        "allowed_symbols": _symbols("allowed_symbols", values.get("allowed_symbols"), problems),
        "blocked_symbols": _symbols("blocked_symbols", values.get("blocked_symbols"), problems),
        "allow_options": values.get("allow_options") is True,
        "allow_margin": values.get("allow_margin") is True,
    }
    both = sorted(set(out["allowed_symbols"]) & set(out["blocked_symbols"]))
    if both:
        problems.append(f"{', '.join(both)} cannot be both allowed and blocked")
    per_order, per_day = out["max_order_notional"], out["max_daily_notional"]
    if per_order and per_day and Decimal(per_order) > Decimal(per_day):
        problems.append("Most per order cannot be more than Most per day")
    if problems:
        raise LimitsInvalid("; ".join(problems))
    return out
