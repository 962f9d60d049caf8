"""The demo mailbox lives today: every date moves with the real date (in the text too), and a store
synced on an earlier day gets Gmail's 404 for its history id and resyncs in full."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tools.gmail.demo import DEMO_ACCESS_TOKEN, DemoMailbox, demo_transport
from tools.gmail.demo_data import mailbox as data

pytestmark = pytest.mark.anyio
API = "https://gmail.googleapis.com/gmail/v1/users/me"
AUTH = {"Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}


def _dates(box: DemoMailbox) -> list[date]:
    return sorted(datetime.fromtimestamp(int(m["internalDate"]) / 1000, UTC).date() for m in box.messages.values())


@pytest.mark.parametrize("today", [date(2026, 12, 2), date(2027, 6, 30)])
def test_the_newest_mail_is_from_today_and_dates_in_the_text_move_too(today: date) -> None:
    box = DemoMailbox(today=today)
    assert _dates(box)[-1] in (today, today + timedelta(days=1))  # the newest mail (a US morning, UTC)
    flight = box.messages["18f34c9e0b2a1178"]
    text = bytes(flight["raw"]).decode()
    departs = date(2026, 12, 10) + (today - data.ANCHOR_DAY)
    assert departs.strftime("%-d %b %Y") in text


async def test_a_history_id_from_an_earlier_day_is_404_so_the_store_resyncs() -> None:
    yesterday, today = DemoMailbox(today=date(2026, 12, 1)), DemoMailbox(today=date(2026, 12, 2))
    async with httpx.AsyncClient(transport=demo_transport(today), headers=AUTH) as http:
        old = await http.get(f"{API}/history", params={"startHistoryId": str(yesterday.history_id)})
        assert old.status_code == 404
        fresh = await http.get(f"{API}/history", params={"startHistoryId": str(today.history_id)})
        assert fresh.status_code == 200


async def test_search_knows_is_important_and_date_ranges() -> None:
    box = DemoMailbox(today=date(2026, 12, 2))
    async with httpx.AsyncClient(transport=demo_transport(box), headers=AUTH) as http:
        important = (await http.get(f"{API}/messages", params={"q": "is:unread is:important"})).json()
        assert len(important.get("messages", [])) == 2
        week = (await http.get(f"{API}/messages", params={"q": "after:2026/11/30 before:2026/12/03"})).json()
        assert 0 < len(week.get("messages", [])) < len(box.messages)
        none = (await http.get(f"{API}/messages", params={"q": "after:2027/01/01"})).json()
        assert none.get("messages", []) == []
