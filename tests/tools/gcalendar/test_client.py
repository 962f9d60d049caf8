from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tools._http import RetryPolicy, build_http_client
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, RateLimited
from tools.gcalendar.client import CalendarClient, SyncTokenExpired
from tools.gcalendar.demo import DEMO_ACCESS_TOKEN, DemoCalendar, demo_credentials, error

pytestmark = pytest.mark.anyio
Handler = Callable[[httpx.Request], httpx.Response]


class Edge:
    """The network edge: faults first, then the demo calendar; every request and wait recorded."""

    def __init__(self, calendar: DemoCalendar) -> None:
        self.calendar = calendar
        self.faults: list[Handler] = []
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.faults:
            return self.faults.pop(0)(request)
        return self.calendar.handler(request)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def edge() -> AsyncIterator[tuple[Edge, CalendarClient]]:
    e = Edge(DemoCalendar(today=date(2027, 3, 1), page_size=5))
    async with build_http_client(transport=httpx.MockTransport(e.handler)) as http:
        yield e, CalendarClient(http, StaticCredentials(demo_credentials()), retry=RetryPolicy(sleep=e.sleep))


async def test_pages_end_with_a_sync_token_and_the_demo_is_dated_from_today(edge: tuple[Edge, CalendarClient]) -> None:
    e, client = edge
    low = datetime(2027, 3, 1, tzinfo=UTC)
    pages = [p async for p in client.iter_events(time_min=low, time_max=low + timedelta(days=1))]
    assert all(p.next_sync_token is None for p in pages[:-1]) and pages[-1].next_sync_token
    titles = [ev.summary for p in pages for ev in p.items]
    assert titles == ["Team standup", "1:1 with Dana", "Weekly review"]
    assert pages[0].items[0].start is not None and pages[0].items[0].start.date_time == "2027-03-01T09:30:00Z"
    assert e.requests[0].headers["Authorization"] == f"Bearer {DEMO_ACCESS_TOKEN}"


async def test_a_token_from_another_day_or_an_expired_one_is_410(edge: tuple[Edge, CalendarClient]) -> None:
    e, client = edge
    with pytest.raises(SyncTokenExpired) as info:
        await client.list_events(sync_token=f"CPDA{date(2027, 2, 28).toordinal()}x1")
    assert info.value.status == 410 and info.value.code == "fullSyncRequired"
    last = [p async for p in client.iter_events()][-1].next_sync_token
    assert last and (await client.list_events(sync_token=last)).items == ()
    e.calendar.expire_sync_tokens()
    with pytest.raises(SyncTokenExpired):
        await client.list_events(sync_token=last)


async def test_a_sync_token_with_a_window_is_refused_before_any_request(edge: tuple[Edge, CalendarClient]) -> None:
    e, client = edge
    with pytest.raises(InvalidRequest):
        await client.list_events(sync_token="CPDA1x1", time_min=datetime.now(UTC))
    with pytest.raises(InvalidRequest):
        await client.get_event("../calendarList")
    assert e.requests == []


async def test_throttling_is_retried_and_retry_after_honoured(edge: tuple[Edge, CalendarClient]) -> None:
    e, client = edge
    e.faults += [
        lambda r: error(403, "Rate Limit Exceeded", "rateLimitExceeded"),
        lambda r: httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"code": 429, "message": "x"}}),
    ]
    page = await client.list_events(max_results=3)
    assert len(page.items) == 3 and len(e.requests) == 3 and e.waits[1] == 7.0
    e.faults += [lambda r: error(403, "Quota exceeded", "quotaExceeded")]
    with pytest.raises(RateLimited):
        await client.list_events()


async def test_a_401_is_auth_expired_and_the_token_is_not_echoed(edge: tuple[Edge, CalendarClient]) -> None:
    e, client = edge
    e.faults.append(lambda r: error(401, f"Invalid Credentials {DEMO_ACCESS_TOKEN}", "authError"))
    with pytest.raises(AuthExpired) as info:
        await client.list_events()
    assert DEMO_ACCESS_TOKEN not in str(info.value)


async def test_free_busy_and_revocation(edge: tuple[Edge, CalendarClient]) -> None:
    e, client = edge
    low = datetime(2027, 3, 1, tzinfo=UTC)
    busy = await client.free_busy(low, low + timedelta(days=1))
    assert [(b.start, b.end) for b in busy][:2] == [
        ("2027-03-01T09:30:00Z", "2027-03-01T09:45:00Z"),
        ("2027-03-01T15:00:00Z", "2027-03-01T15:30:00Z"),
    ]
    assert await client.revoke_grant() is True and e.calendar.revoked
    assert await client.revoke_grant() is False  # already revoked: Google says invalid_token
