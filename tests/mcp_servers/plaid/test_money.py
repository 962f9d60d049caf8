"""Money over time from the synced bank: net worth by day walked back from today's balances, and
income against spending by month; the demo bank gives believable figures on any date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mcp_servers.plaid.money import cash_flow, net_worth_series
from mcp_servers.plaid.store import Movement
from tests.mcp_servers.conftest import Plaid, call, error_text
from tools.plaid.demo import DemoPlaid
from tools.plaid.demo_data import ledger

pytestmark = pytest.mark.anyio
LINK, READ = "finance.link", "finance.read"
D = dt.date(2026, 11, 10)


def mv(
    day: int, account: str, amount: str, primary: str = "FOOD_AND_DRINK", detailed: str = "", pending: bool = False
) -> Movement:
    return Movement(D + dt.timedelta(days=day), account, Decimal(amount), primary, detailed or None, pending)


def test_net_worth_walks_today_back_through_the_movements() -> None:
    moves = [
        mv(1, "chk", "-2000", "INCOME"),  # pay came in on day 1
        mv(2, "card", "50"),  # a purchase on the card
        mv(3, "chk", "30", pending=True),  # not in the balances yet
        mv(3, "other-bank", "999"),  # an account no longer connected
    ]
    series = net_worth_series(Decimal("5000"), moves, {"chk", "card"}, D, D + dt.timedelta(days=3))
    assert [(p["date"], p["value"]) for p in series] == [
        ("2026-11-10", "3050.00"),  # before the pay and the purchase
        ("2026-11-11", "5050.00"),
        ("2026-11-12", "5000.00"),
        ("2026-11-13", "5000.00"),
    ]
    tail = net_worth_series(Decimal("5000"), moves, {"chk", "card"}, D, D + dt.timedelta(days=1))
    assert tail[-1] == {"date": "2026-11-11", "value": "5050.00"}  # a movement after the range still counts


def test_cash_flow_counts_income_and_spending_but_not_transfers_or_card_payments() -> None:
    moves = [
        mv(0, "chk", "-3000", "INCOME"),
        mv(1, "chk", "1200", "RENT_AND_UTILITIES"),
        mv(2, "card", "80"),
        mv(3, "card", "-20", "GENERAL_MERCHANDISE"),  # a refund
        mv(4, "chk", "500", "LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
        mv(4, "card", "-500", "LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
        mv(5, "chk", "300", "TRANSFER_OUT"),
        mv(25, "chk", "40"),  # December
        mv(26, "gone", "77"),
    ]
    assert cash_flow(moves, {"chk", "card"}) == [
        {"month": "2026-11", "label": "Nov 2026", "income": "3000.00", "spending": "1260.00", "net": "1740.00"},
        {"month": "2026-12", "label": "Dec 2026", "income": "0.00", "spending": "40.00", "net": "-40.00"},
    ]


async def _synced(plaid: Plaid) -> None:
    await call(plaid.client, plaid.tokens, "sandbox_connect", {}, LINK)
    await call(plaid.client, plaid.tokens, "sync", {}, READ)


@pytest.mark.parametrize("today", [dt.date(2026, 12, 3), dt.date(2027, 6, 30), dt.date(2026, 3, 1)])
async def test_the_demo_bank_shows_believable_money_on_any_date(plaid: Plaid, today: dt.date) -> None:
    plaid.edge.sandbox = DemoPlaid(today=today)
    await _synced(plaid)
    balances = await call(plaid.client, plaid.tokens, "balances", {}, READ)
    current = {a["type"]: Decimal(str(a["current"])) for a in balances["accounts"]}
    start = today - dt.timedelta(days=90)
    worth = await call(plaid.client, plaid.tokens, "net_worth", {"start_date": start, "end_date": today}, READ)
    series = worth["series"]
    assert series[-1] == {"date": today.isoformat(), "value": str(current["depository"] - current["credit"])}
    assert len(series) >= 85 and series[0]["date"] >= start.isoformat()  # about three months of days
    values = {Decimal(p["value"]) for p in series}
    assert len(values) > 10 and min(values) > 0  # it moves, and the demo owner is not in debt

    flow = await call(
        plaid.client, plaid.tokens, "cash_flow", {"start_date": today - dt.timedelta(days=180), "end_date": today}, READ
    )
    months = flow["months"]
    assert months[-1]["month"] == (today - dt.timedelta(days=1)).strftime("%Y-%m") and len(months) >= 3
    first = dt.date.fromisoformat(series[0]["date"])
    assert first.day == 1 or months[0]["month"] > first.strftime("%Y-%m")  # whole months only
    this_month = months[-1]["month"] == today.strftime("%Y-%m")
    assert months[-1]["label"].endswith(" (so far)") is (this_month and (today + dt.timedelta(days=1)).day != 1)
    full = [m for m in months[:-1] if Decimal(m["income"]) > 0]
    assert full and all(Decimal(m["spending"]) > 0 for m in full)
    assert all(Decimal(m["income"]) - Decimal(m["spending"]) == Decimal(m["net"]) for m in months)
    assert flow["sources"][0]["principal"] == ledger.INSTITUTION_ID


async def test_its_part_of_net_worth_agrees_with_the_net_worth_by_day(plaid: Plaid) -> None:
    """worth_by_day (the core sums it with the other money integrations'): each day's assets less
    liabilities is the same net as net_worth's, account by account, last four digits only."""
    today = dt.date(2026, 12, 3)
    plaid.edge.sandbox = DemoPlaid(today=today)
    nothing = await call(plaid.client, plaid.tokens, "worth_by_day", {"start_date": today, "end_date": today}, READ)
    assert nothing["connected"] is False and nothing["days"] == []  # no bank: no part of the owner's money
    await _synced(plaid)
    start = today - dt.timedelta(days=89)
    args = {"start_date": start, "end_date": today}
    part = await call(plaid.client, plaid.tokens, "worth_by_day", args, READ)
    worth = await call(plaid.client, plaid.tokens, "net_worth", args, READ)
    assert part["connected"] is True and len(part["days"]) == len(worth["series"]) >= 85
    for day, point in zip(part["days"], worth["series"], strict=True):
        assert day["date"] == point["date"]
        assert Decimal(day["assets"]) - Decimal(day["liabilities"]) == Decimal(point["value"])
        held = sum(Decimal(a["value"]) for a in day["accounts"] if a["kind"] == "asset")
        assert held == Decimal(day["assets"]) and Decimal(day["liabilities"]) > 0
    names = {a["account"] for d in part["days"] for a in d["accounts"]}
    assert names == {"Plaid Checking ••••0000", "Plaid Credit Card ••••3333"}


async def test_without_a_bank_there_is_no_history_and_a_bad_range_is_refused(plaid: Plaid) -> None:
    today = dt.date(2026, 11, 14)
    worth = await call(plaid.client, plaid.tokens, "net_worth", {"start_date": "2026-10-01", "end_date": today}, READ)
    assert worth["series"] == []
    flow = await call(plaid.client, plaid.tokens, "cash_flow", {"start_date": "2026-10-01", "end_date": today}, READ)
    assert flow["months"] == []
    bad = await plaid.client.call_tool(
        "net_worth", {"start_date": "2026-11-14", "end_date": "2026-10-01"}, meta=plaid.tokens.meta(READ)
    )
    assert "end_date must be on or after start_date" in error_text(bad)
    denied = await plaid.client.call_tool("cash_flow", {"start_date": "2026-10-01", "end_date": "2026-11-01"})
    assert denied.is_error
