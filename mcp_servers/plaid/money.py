"""Money over time from what Plaid already gave us: net worth at the end of each day, and cash
flow (income against spending) by month.

Net worth is today's balances walked back through the synced transactions: an asset account held
``amount`` more before money left it, and a card or loan owed ``amount`` less, so both move the net
by the same sign (Plaid: positive = money out). It reaches back only as far as the synced history.
Pending transactions are left out (the balances do not count them yet).

Cash flow counts income (``INCOME``) as money in, and everything else that left or came back
(refunds lower spending) as spending; transfers between the owner's accounts and card payments are
neither, so a purchase on the card is not counted twice when the card is paid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from typing_extensions import TypedDict

from mcp_servers.plaid.store import Movement, StoredAccount

LIABILITIES = frozenset({"credit", "loan"})
NEITHER_PRIMARY = frozenset({"TRANSFER_IN", "TRANSFER_OUT"})
NEITHER_DETAILED = frozenset({"LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"})
CENT = Decimal("0.01")


class DayValue(TypedDict):
    date: str
    value: str


class MonthFlow(TypedDict):
    month: str
    label: str
    income: str
    spending: str
    net: str


def net_now(accounts: Iterable[StoredAccount]) -> Decimal:
    """Assets minus what is owed, from the balances Plaid last reported."""
    total = Decimal(0)
    for a in accounts:
        current = a.balances.get("current")
        if current is None:
            continue
        value = Decimal(str(current))
        total += -value if a.type in LIABILITIES else value
    return total


def net_worth_series(
    now_value: Decimal, moves: Sequence[Movement], accounts: set[str], start: dt.date, end: dt.date
) -> list[DayValue]:
    """``{date, value}`` for each day ``start..end``: the net at the end of that day, which is today's
    net plus every movement dated after it (``moves``: every movement dated ``start`` or later)."""
    by_day: dict[dt.date, Decimal] = {}
    for m in moves:
        if not m.pending and m.account_id in accounts:
            by_day[m.day] = by_day.get(m.day, Decimal(0)) + m.amount
    after = sum((v for d, v in by_day.items() if d > end), Decimal(0))
    out: list[DayValue] = []
    day = end
    while day >= start:
        out.append(DayValue(date=day.isoformat(), value=str((now_value + after).quantize(CENT))))
        after += by_day.get(day, Decimal(0))
        day -= dt.timedelta(days=1)
    return out[::-1]


def balances_by_day(
    accounts: Sequence[StoredAccount], moves: Sequence[Movement], start: dt.date, end: dt.date
) -> dict[dt.date, dict[str, Decimal]]:
    """Each account's balance at the end of each day ``start..end`` (as Plaid reports it: what is
    held, or what is owed on a card or loan), walked back from the current balances like
    :func:`net_worth_series`. Accounts without a current balance are left out."""
    now = {a.account_id: Decimal(str(a.balances["current"])) for a in accounts if a.balances.get("current") is not None}
    owed = {a.account_id for a in accounts if a.type in LIABILITIES}
    by_day: dict[dt.date, dict[str, Decimal]] = {}
    for m in moves:
        if not m.pending and m.account_id in now:
            sums = by_day.setdefault(m.day, {})
            sums[m.account_id] = sums.get(m.account_id, Decimal(0)) + m.amount
    # A movement out of an asset lowered it (so it was higher before); on a card it raised what is owed.
    sign = {aid: (-1 if aid in owed else 1) for aid in now}
    running = dict(now)
    for day in sorted((d for d in by_day if d > end), reverse=True):
        for aid, amount in by_day[day].items():
            running[aid] += sign[aid] * amount
    out: dict[dt.date, dict[str, Decimal]] = {}
    day = end
    while day >= start:
        out[day] = {aid: v.quantize(CENT) for aid, v in running.items()}
        for aid, amount in by_day.get(day, {}).items():
            running[aid] += sign[aid] * amount
        day -= dt.timedelta(days=1)
    return out


def cash_flow(moves: Iterable[Movement], accounts: set[str]) -> list[MonthFlow]:
    """``{month, income, spending, net}`` per calendar month, oldest first."""
    months: dict[str, tuple[Decimal, Decimal]] = {}
    for m in moves:
        if m.account_id not in accounts or m.primary in NEITHER_PRIMARY or m.detailed in NEITHER_DETAILED:
            continue
        key = m.day.strftime("%Y-%m")
        income, spending = months.get(key, (Decimal(0), Decimal(0)))
        if m.primary == "INCOME":
            income -= m.amount  # money in is negative
        else:
            spending += m.amount
        months[key] = (income, spending)
    return [
        MonthFlow(
            month=key,
            label=dt.date.fromisoformat(f"{key}-01").strftime("%b %Y"),
            income=str(inc.quantize(CENT)),
            spending=str(sp.quantize(CENT)),
            net=str((inc - sp).quantize(CENT)),
        )
        for key, (inc, sp) in sorted(months.items())
    ]
