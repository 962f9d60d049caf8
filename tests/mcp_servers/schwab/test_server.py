"""Reads through the Schwab server: sync into the encrypted store, masked accounts, holdings with
allocation, activity, the daily value snapshot, and the login's 7-day clock."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.mcp_servers.schwab.conftest import Schwab
from tools.credentials import from_one_line
from tools.schwab.client import TOKEN, wrap_token
from tools.schwab.demo import ACCOUNT_NUMBER, HOLDINGS

pytestmark = pytest.mark.anyio


async def test_sync_stores_everything_encrypted_and_never_the_account_number(schwab: Schwab) -> None:
    counts = await schwab.call("sync")
    assert counts == {"accounts": 1, "transactions": 5, "orders": 0}
    async with schwab.db.transaction() as s:
        dumps = []
        for table in ("schwab_accounts", "schwab_transactions", "schwab_snapshots"):
            dumps += [repr(tuple(r)) for r in (await s.execute(text(f"SELECT * FROM {table}"))).all()]
    blob = " ".join(dumps)
    assert ACCOUNT_NUMBER not in blob and "7726" not in blob and "SCHD" not in blob and "VTI" not in blob
    again = await schwab.call("sync")
    assert again == counts  # upserts: nothing doubles


async def test_accounts_and_holdings_are_masked_with_allocation(schwab: Schwab) -> None:
    await schwab.call("sync")
    accounts = await schwab.call("accounts")
    assert [a["account"] for a in accounts["accounts"]] == ["••••7726"]
    assert ACCOUNT_NUMBER not in json.dumps(accounts)
    held = await schwab.call("positions")
    assert {h["symbol"] for h in held["holdings"]} == set(HOLDINGS)
    values = [Decimal(h["market_value"]) for h in held["holdings"]]
    assert values == sorted(values, reverse=True)
    invested = sum(values) + Decimal(held["cash"])
    assert invested == Decimal(held["total"])
    share = sum(Decimal(h["allocation"]) for h in held["holdings"])
    assert Decimal(80) < share < Decimal(100)  # the rest is cash


async def test_activity_and_value_are_dated_around_today(schwab: Schwab) -> None:
    await schwab.call("sync")
    today = dt.datetime.now(dt.UTC).date()
    week = await schwab.call(
        "transactions", {"start_date": (today - dt.timedelta(days=7)).isoformat(), "end_date": today.isoformat()}
    )
    assert [t["type"] for t in week["transactions"]] == ["dividend or interest", "trade"]
    assert week["transactions"][1]["symbol"] == "VTI" and week["transactions"][1]["amount"] == "-2681.00"
    worth = await schwab.call("net_worth", {"start_date": today.isoformat(), "end_date": today.isoformat()})
    accounts = await schwab.call("accounts")
    assert worth["series"] == [{"date": today.isoformat(), "value": accounts["accounts"][0]["total"]}]


async def test_the_login_clock_warns_a_day_ahead(schwab: Schwab) -> None:
    ok = await schwab.call("connection")
    assert ok["connected"] is True and ok["reconnect"] is False and "notice" not in ok and ok["attention"] == []
    assert 140 <= ok["hours_left"] <= 144  # the demo login was yesterday
    token = json.loads(from_one_line(await schwab.secrets.credentials.get(TOKEN)))["token"]
    almost = dt.datetime.now(dt.UTC) - dt.timedelta(days=6, hours=5)
    schwab.secrets.credentials.set(TOKEN, wrap_token(token, almost.timestamp()))
    soon = await schwab.call("connection")
    assert soon["reconnect"] is True and soon["message"].startswith("reconnect Schwab")
    assert soon["notice"]["title"].startswith("Reconnect Schwab before")
    [entry] = soon["attention"]  # the console's "needs attention", open since a day before the end
    assert entry["reason"] == "login_ending" and entry["detail"] == soon["message"]
    ends = dt.datetime.fromisoformat(soon["refresh_expires_at"])
    assert dt.datetime.fromisoformat(entry["since"]) == ends - dt.timedelta(days=1)
    schwab.secrets.credentials.set(TOKEN, wrap_token(token, (almost - dt.timedelta(days=1)).timestamp()))
    gone = await schwab.call("connection")
    assert gone["connected"] is False and gone["message"] == "reconnect Schwab: its login ended"
    assert [e["reason"] for e in gone["attention"]] == ["login_ended"]


async def test_the_demo_has_ninety_days_of_weekday_values(schwab: Schwab) -> None:
    from mcp_servers.schwab.demo_history import seed_history

    today = dt.datetime.now(dt.UTC).date()
    written = await seed_history(schwab.service.store, today)
    assert 60 <= written <= 66 and await seed_history(schwab.service.store, today) == 0
    start = (today - dt.timedelta(days=90)).isoformat()
    worth = await schwab.call("net_worth", {"start_date": start, "end_date": today.isoformat()})
    days = [dt.date.fromisoformat(p["date"]) for p in worth["series"]]
    assert len(days) == written and all(d.weekday() < 5 for d in days) and days == sorted(days)


async def test_its_part_of_net_worth_keeps_the_last_value_over_a_weekend(schwab: Schwab) -> None:
    """worth_by_day (the core sums it with the banks'): a connected brokerage never synced syncs
    first; today reads the synced accounts by their last four digits; a weekend keeps Friday's value."""
    from mcp_servers.schwab.demo_history import seed_history

    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=20)
    part = await schwab.call("worth_by_day", {"start_date": start.isoformat(), "end_date": today.isoformat()})
    assert part["connected"] is True and part["currency"] == "USD"
    accounts = await schwab.call("accounts")  # the call above synced: the store has the account
    last = part["days"][-1]
    assert last["date"] == today.isoformat() and last["assets"] == accounts["accounts"][0]["total"]
    assert [a["account"] for a in last["accounts"]] == [
        "Schwab cash account ••••7726"
    ] and ACCOUNT_NUMBER not in json.dumps(part)
    assert [d["date"] for d in part["days"]] == [today.isoformat()]  # no history before the first sync
    await seed_history(schwab.service.store, today)
    part = await schwab.call("worth_by_day", {"start_date": start.isoformat(), "end_date": today.isoformat()})
    days = {dt.date.fromisoformat(d["date"]): d for d in part["days"]}
    assert sorted(days) == [start + dt.timedelta(days=n) for n in range(21)]  # every day, weekends too
    for day, d in days.items():
        assert d["liabilities"] == "0.00" and (d["accounts"] == []) is (day != today)
        friday = day - dt.timedelta(days=1)
        if day.weekday() == 5 and day != today and friday in days:  # Saturday keeps Friday's value
            assert d["assets"] == days[friday]["assets"]


def test_a_day_without_a_snapshot_keeps_the_last_value_for_a_week_at_most() -> None:
    from mcp_servers.schwab.store import StoredAccount
    from mcp_servers.schwab.worth import worth_days

    friday, monday = dt.date(2026, 11, 27), dt.date(2026, 11, 30)
    synced = dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)
    account = StoredAccount("h", "MARGIN", "••••7726", {"total": "1200.5"}, [], synced)
    snaps = [(dt.date(2026, 11, 10), {"total": "900"}), (friday, {"total": "1000"})]
    days = worth_days([account], snaps, dt.date(2026, 11, 17), monday)
    by_day = {d["date"]: (d["assets"], d["accounts"]) for d in days}
    assert by_day["2026-11-17"] == ("900.00", [])  # a week after the last value it still counts; no longer
    assert not any("2026-11-18" <= d <= "2026-11-26" for d in by_day)
    assert [by_day[d][0] for d in ("2026-11-27", "2026-11-28", "2026-11-29")] == ["1000.00"] * 3
    assert by_day["2026-11-30"] == (
        "1200.50",
        [{"account": "Schwab margin account ••••7726", "kind": "asset", "value": "1200.50"}],
    )
