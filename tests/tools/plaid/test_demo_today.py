"""The demo bank lives today: its ledger is dated relative to the real date, 90 days deep, and a
store synced on an earlier day receives every transaction again with its new date."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest

from tools.plaid.demo import DEMO_ACCESS_TOKEN, DEMO_CLIENT_ID, DEMO_SECRET, DemoPlaid, demo_transport
from tools.plaid.demo_data import ledger

pytestmark = pytest.mark.anyio


async def _sync_all(sandbox: DemoPlaid, cursor: str | None = None) -> tuple[dict[str, list[dict[str, object]]], str]:
    out: dict[str, list[dict[str, object]]] = {"added": [], "modified": [], "removed": []}
    async with httpx.AsyncClient(transport=demo_transport(sandbox)) as http:
        while True:
            body = {"client_id": DEMO_CLIENT_ID, "secret": DEMO_SECRET, "access_token": DEMO_ACCESS_TOKEN}
            if cursor:
                body["cursor"] = cursor
            page = (await http.post("https://sandbox.plaid.com/transactions/sync", content=json.dumps(body))).json()
            for kind in out:
                out[kind] += page[kind]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return out, str(cursor)


@pytest.mark.parametrize("today", [date(2026, 12, 2), date(2027, 3, 1), date(2026, 2, 28)])
async def test_the_ledger_is_dated_relative_to_today_and_reaches_90_days(today: date) -> None:
    got, _ = await _sync_all(DemoPlaid(today=today))
    days = sorted(date.fromisoformat(str(t["date"])) for t in got["added"])
    assert days[-1] == today - timedelta(days=1)  # the newest purchase is yesterday's, still pending
    assert (today - days[0]).days >= 89
    assert len(got["added"]) == len(ledger.ROWS) + len(ledger.earlier_month())
    assert len({t["transaction_id"] for t in got["added"]}) == len(got["added"])


async def test_a_cursor_from_yesterday_brings_every_transaction_again_with_its_new_date() -> None:
    monday = date(2026, 12, 7)
    first, cursor = await _sync_all(DemoPlaid(today=monday))
    again, _ = await _sync_all(DemoPlaid(today=monday), cursor)
    assert again == {"added": [], "modified": [], "removed": []}  # same day: nothing new
    later, _ = await _sync_all(DemoPlaid(today=monday + timedelta(days=1)), cursor)
    assert later["added"] == [] and len(later["modified"]) == len(first["added"])
    ids = {t["transaction_id"] for t in first["added"]}
    assert {t["transaction_id"] for t in later["modified"]} == ids  # the same purchases, moved a day
    moved = {t["transaction_id"]: t["date"] for t in later["modified"]}
    for t in first["added"]:
        assert date.fromisoformat(str(moved[t["transaction_id"]])) == date.fromisoformat(str(t["date"])) + timedelta(
            days=1
        )


async def test_without_a_date_the_ledger_is_the_fixed_one_tests_rely_on() -> None:
    got, _ = await _sync_all(DemoPlaid())
    assert sorted(str(t["date"]) for t in got["added"]) == sorted(r[0] for r in ledger.ROWS)
