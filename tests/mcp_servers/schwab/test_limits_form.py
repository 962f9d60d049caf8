"""The owner's limits as the console sends them: every problem named, nothing stored on one."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_servers.schwab.limits_form import LimitsInvalid, parse_limits
from tests.mcp_servers.schwab.conftest import LINK, Schwab, error_text

pytestmark = pytest.mark.anyio


def test_a_good_form_is_normalised() -> None:
    out = parse_limits({
        "max_order_notional": 2500.0, "max_daily_notional": "$4,000.5", "allowed_symbols": ["vti", " brk.b ", "vti"],
        "blocked_symbols": "gme; amc", "allow_options": True, "allow_margin": "on",
    })  # fmt: skip
    assert out == {
        "max_order_notional": "2500",
        "max_daily_notional": "4000.50",
        "allowed_symbols": ["BRK.B", "VTI"],
        "blocked_symbols": ["AMC", "GME"],
        "allow_options": True,
        "allow_margin": False,  # only a real true enables margin
    }
    assert parse_limits({"max_order_notional": None, "max_daily_notional": ""})["max_order_notional"] is None


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"max_order_notional": "abc"}, "Most per order must be an amount in dollars"),
        ({"max_order_notional": 0}, "more than 0"),
        ({"max_daily_notional": "1e9"}, "less than 10,000,000"),
        ({"max_daily_notional": "10.005"}, "more than two decimals"),
        ({"max_daily_notional": True}, "Most per day must be an amount"),
        ({"allowed_symbols": ["VTI", "AAPL240119C00150000"]}, "AAPL240119C00150000 is not a ticker"),
        ({"allowed_symbols": ["VTI"], "blocked_symbols": ["vti"]}, "VTI cannot be both allowed and blocked"),
        ({"max_order_notional": "500", "max_daily_notional": "100"}, "cannot be more than Most per day"),
        ({"max_notional": "5"}, "unknown setting max_notional"),
    ],
)
def test_each_problem_is_named(values: dict[str, Any], reason: str) -> None:
    with pytest.raises(LimitsInvalid, match=reason):
        parse_limits(values)


async def test_the_tool_stores_nothing_when_a_value_is_wrong(schwab: Schwab) -> None:
    saved = await schwab.call("set_limits", {"values": {"max_order_notional": "300", "allowed_symbols": ["vti"]}}, LINK)
    assert saved["max_order_notional"] == "300" and saved["settings"]["allowed_symbols"] == ["VTI"]
    refused = await schwab.raw("set_limits", {"values": {"max_order_notional": "x", "allowed_symbols": []}}, LINK)
    assert "limits not saved: Most per order must be an amount" in error_text(refused)
    now = await schwab.call("limits")
    assert now["max_order_notional"] == "300" and now["allowed_symbols"] == ["VTI"]
    assert now["max_daily_notional"] is None  # a blank price: no daily limit, as the owner chose
    denied = await schwab.raw("set_limits", {"values": {"max_order_notional": "999"}})  # a read token
    assert denied.is_error and (await schwab.call("limits"))["max_order_notional"] == "300"
