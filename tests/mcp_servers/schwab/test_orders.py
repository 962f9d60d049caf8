"""Orders through the Schwab server: placed at most once per approved call (even across a crash),
a changed order refused, the owner's limits never skipped, Schwab's statuses shown as they are,
and a read-only Schwab app that breaks nothing but trading."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from mcp_servers.schwab.models import SchwabIntentRow
from mcp_servers.schwab.service import SchwabService
from tests.mcp_servers.schwab.conftest import LINK, TRADE, Schwab, error_text
from tools.schwab.demo import HOLDINGS, price_on

pytestmark = pytest.mark.anyio
MASK = "7726"


def order(**over: Any) -> dict[str, Any]:
    return {"account": MASK, "symbol": "SCHD", "side": "BUY", "quantity": 3, "order_type": "MARKET"} | over


async def limits(s: Schwab, **over: Any) -> dict[str, Any]:
    args = {"max_order_notional": "5000", "max_daily_notional": "8000"} | over
    return dict(await s.call("set_limits", {"values": args}, LINK))


async def test_an_approved_order_reaches_schwab_once_and_a_repeat_returns_the_first_answer(schwab: Schwab) -> None:
    first = await schwab.call("place_order", order(), TRADE, call="call-1")
    assert first["status"] == "WORKING" and first["status_text"] == "accepted, working"
    assert first["account"] == "••••7726" and first["already_done"] is False
    again = await schwab.call("place_order", order(), TRADE, call="call-1")
    assert again["order_id"] == first["order_id"] and again["already_done"] is True
    assert len(schwab.demo.placed) == 1
    assert schwab.demo.placed[0]["orderLegCollection"][0] == {
        "instruction": "BUY",
        "instrument": {"assetType": "EQUITY", "symbol": "SCHD"},
        "quantity": 3,
    }


async def test_a_changed_order_under_the_same_approval_is_refused(schwab: Schwab) -> None:
    await schwab.call("place_order", order(), TRADE, call="call-2")
    changed = await schwab.raw("place_order", order(quantity=30), TRADE, call="call-2")
    assert "different order" in error_text(changed) and "nothing was sent" in error_text(changed)
    assert len(schwab.demo.placed) == 1


async def test_an_order_without_the_approved_calls_id_is_not_sent(schwab: Schwab) -> None:
    refused = await schwab.raw("place_order", order(), TRADE)
    assert "approved call's id" in error_text(refused)
    assert schwab.demo.placed == []


async def test_a_lost_answer_is_settled_from_schwabs_orders_not_by_placing_again(schwab: Schwab) -> None:
    schwab.demo.drop_after_place = True  # Schwab took the order; the connection dropped before its answer
    out = await schwab.call("place_order", order(), TRADE, call="call-3")
    assert out["status"] == "WORKING" and out["symbol"] == "SCHD"
    again = await schwab.call("place_order", order(), TRADE, call="call-3")
    assert again["order_id"] == out["order_id"]
    assert len(schwab.demo.placed) == 1


class Crash(BaseException):
    """The process dies here."""


async def test_a_crash_after_schwab_took_the_order_adopts_it_on_the_retry(
    schwab: Schwab, monkeypatch: pytest.MonkeyPatch
) -> None:
    settle = SchwabService._settle
    calls = {"n": 0}

    async def dying(self: SchwabService, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise Crash
        await settle(self, *args)

    monkeypatch.setattr(SchwabService, "_settle", dying)
    with pytest.raises(Crash):
        await schwab.service.place(_req(), "call-4", {})
    async with schwab.db.transaction() as s:
        row = await s.get(SchwabIntentRow, "call-4")
    assert row is not None and row.state == "calling"  # written before Schwab was called
    outcome = await schwab.service.place(_req(), "call-4", {})
    assert outcome.again and outcome.order["status"] == "WORKING"
    assert len(schwab.demo.placed) == 1


async def test_a_crash_before_the_order_left_places_it_once_after_checking(
    schwab: Schwab, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = schwab.service.client
    real = client.place_order

    async def dies(*_args: Any) -> int:
        raise Crash

    monkeypatch.setattr(client, "place_order", dies)
    with pytest.raises(Crash):
        await schwab.service.place(_req(), "call-5", {})
    assert schwab.demo.placed == []
    monkeypatch.setattr(client, "place_order", real)
    outcome = await schwab.service.place(_req(), "call-5", {})
    assert outcome.order["status"] == "WORKING"
    assert len(schwab.demo.placed) == 1
    async with schwab.db.transaction() as s:
        states = (await s.execute(select(SchwabIntentRow.key, SchwabIntentRow.state))).all()
    assert [tuple(r) for r in states] == [("call-5", "done")]


def _req() -> Any:
    from mcp_servers.schwab.trading import OrderRequest

    return OrderRequest(MASK, "SCHD", "BUY", 3, "MARKET")


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("ACCEPTED", "accepted"),
        ("WORKING", "accepted, working"),
        ("AWAITING_MANUAL_REVIEW", "pending review"),
        ("REJECTED", "rejected: Insufficient buying power"),
        ("FILLED", "filled"),
        ("PARTIALLY_FILLED", "partly filled: 2 of 4"),
    ],
)
async def test_schwabs_status_is_shown_as_it_is(schwab: Schwab, status: str, text: str) -> None:
    schwab.demo.next_status = status
    out = await schwab.call("place_order", order(quantity=4), TRADE, call=f"s-{status}")
    assert out["status_text"] == text
    listed = await schwab.call("orders", {"days": 1})
    assert [o["status_text"] for o in listed["orders"]] == [text]


async def test_a_rejection_carries_schwabs_reason_and_is_not_retried(schwab: Schwab) -> None:
    schwab.demo.reject_next = "Order rejected: the market is closed for this security"
    out = await schwab.call("place_order", order(), TRADE, call="r-1")
    assert out["status"] == "REJECTED"
    assert out["status_text"] == "rejected: Order rejected: the market is closed for this security"
    again = await schwab.call("place_order", order(), TRADE, call="r-1")
    assert again["already_done"] is True and schwab.demo.placed == []


async def test_cancel_is_approved_once_and_shows_the_status_after(schwab: Schwab) -> None:
    placed = await schwab.call("place_order", order(), TRADE, call="c-1")
    args = {"account": MASK, "order_id": int(placed["order_id"])}
    out = await schwab.call("cancel_order", args, TRADE, call="c-2")
    assert (out["status"], out["status_text"]) == ("CANCELED", "cancelled")
    again = await schwab.call("cancel_order", args, TRADE, call="c-2")
    assert again["already_done"] is True


# ---- the owner's limits ---------------------------------------------------------------------


async def test_a_market_order_without_a_price_is_priced_from_a_fresh_quote_before_the_limits(schwab: Schwab) -> None:
    await limits(schwab, max_order_notional="1000")
    aapl = price_on("AAPL", schwab.demo.today)
    refused = await schwab.raw("place_order", order(symbol="AAPL", quantity=10), TRADE, call="l-1")
    assert "exceeds your per-order limit 1000" in error_text(refused)
    assert "nothing was sent" in error_text(refused)
    preview = await schwab.call("preview_order", order(symbol="AAPL", quantity=4))
    assert Decimal(preview["estimated_notional"]) == (aapl + Decimal("0.02")) * 4  # the ask when buying
    assert preview["priced_from"] == "the latest quote (ask)" and preview["quote_time"]
    assert schwab.demo.placed == []


async def test_a_symbol_without_a_quote_is_refused_not_waved_through(schwab: Schwab) -> None:
    refused = await schwab.raw("place_order", order(symbol="ZZZZ"), TRADE, call="l-2")
    assert "no quote for ZZZZ" in error_text(refused)
    assert schwab.demo.placed == []


async def test_the_daily_limit_counts_what_was_placed_today(schwab: Schwab) -> None:
    await limits(schwab, max_order_notional="100", max_daily_notional="150")
    first = await schwab.call("place_order", order(quantity=3), TRADE, call="d-1")  # ~86 USD of SCHD
    assert first["status"] == "WORKING"
    refused = await schwab.raw("place_order", order(quantity=3), TRADE, call="d-2")
    assert "exceeds your daily limit 150" in error_text(refused)
    assert len(schwab.demo.placed) == 1


@pytest.mark.parametrize(
    ("setting", "args", "reason"),
    [
        ({"blocked_symbols": ["SCHD"]}, {}, "on your block list"),
        ({"allowed_symbols": ["VTI"]}, {}, "not on your list of allowed symbols"),
        ({}, {"quantity": 400}, "more than the account's cash: margin is off"),
        ({}, {"side": "SELL", "quantity": 151}, "would be a short sale: margin is off"),
        ({}, {"order_type": "LIMIT"}, "a LIMIT order needs limit_price"),
        ({}, {"order_type": "STOP_LIMIT", "limit_price": "29"}, "a STOP_LIMIT order needs stop_price"),
    ],
)
async def test_each_limit_refuses_before_schwab_sees_the_order(
    schwab: Schwab, setting: dict[str, Any], args: dict[str, Any], reason: str
) -> None:
    await limits(schwab, max_order_notional="50000", max_daily_notional="50000", **setting)
    refused = await schwab.raw("place_order", order(**args), TRADE, call="x-1")
    assert reason in error_text(refused)
    assert schwab.demo.placed == []


async def test_a_stop_order_counts_the_higher_of_stop_and_quote(schwab: Schwab) -> None:
    quote = price_on("VTI", schwab.demo.today)
    preview = await schwab.call("preview_order", order(symbol="VTI", quantity=1, order_type="STOP", stop_price="1"))
    assert Decimal(preview["estimated_notional"]) == quote + Decimal("0.02")
    high = await schwab.call("preview_order", order(symbol="VTI", quantity=1, order_type="STOP", stop_price="900"))
    assert high["estimated_notional"] == "900.00"


async def test_limits_default_to_small_and_are_shown_with_todays_use(schwab: Schwab) -> None:
    shown = await schwab.call("limits")
    assert (shown["max_order_notional"], shown["max_daily_notional"], shown["used_today"]) == ("1000", "2000", "0")
    assert shown["allow_options"] is False and shown["allow_margin"] is False


# ---- a read-only Schwab app -----------------------------------------------------------------


async def test_a_read_only_app_says_so_and_reads_keep_working(schwab: Schwab) -> None:
    schwab.demo.read_only = True
    refused = await schwab.raw("place_order", order(), TRADE, call="ro-1")
    assert "trading is not enabled for this Schwab app" in error_text(refused)
    preview = await schwab.raw("preview_order", order())
    assert "trading is not enabled" in error_text(preview)
    await schwab.call("sync")
    holdings = await schwab.call("positions")
    assert {h["symbol"] for h in holdings["holdings"]} == set(HOLDINGS)
    quotes = await schwab.call("quotes", {"symbols": ["VTI"]})
    assert quotes["quotes"][0]["symbol"] == "VTI"
