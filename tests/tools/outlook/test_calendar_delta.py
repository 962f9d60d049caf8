"""Graph calendarView delta rounds against responses shaped like Graph's (nextLink, deltaLink,
@removed, 410 for an expired link, 429 and 503 with Retry-After)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tools._http import RetryPolicy, build_http_client
from tools.credentials import StaticCredentials
from tools.errors import InvalidRequest
from tools.outlook.calendar import DeltaExpired, GraphCalendarClient

pytestmark = pytest.mark.anyio
BASE = "https://graph.microsoft.com/v1.0/me/calendarView/delta"
TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6ImRlbW8ifQ.demo-outlook-token"  # a fake
START = datetime(2026, 12, 1, tzinfo=UTC)


def _event(eid: str, subject: str, day: int) -> dict[str, object]:
    at = START + timedelta(days=day, hours=9)
    return {
        "@odata.etag": 'W/"DwAAABYAAAA"',
        "id": eid,
        "subject": subject,
        "isAllDay": False,
        "isCancelled": False,
        "type": "singleInstance",
        "start": {"dateTime": at.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "end": {"dateTime": (at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "organizer": {"emailAddress": {"name": "Dana", "address": "dana@northwind.example"}},
        "attendees": [
            {"type": "required", "status": {"response": "none"}, "emailAddress": {"address": "me@x.example"}}
        ],
    }


class Graph:
    """The vendor side: two pages for a new round, then changes, then an expired link."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []
        self.expired = False
        self.throttle: list[int] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.throttle:
            return httpx.Response(self.throttle.pop(0), headers={"Retry-After": "2"}, json={"error": {"code": "x"}})
        ctx = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)"}
        params = request.url.params
        if "$skiptoken" in params:
            body = {**ctx, "value": [_event("AAMkAD2", "Planning", 2)], "@odata.deltaLink": f"{BASE}?$deltatoken=d1"}
        elif params.get("$deltatoken") == "d1":
            if self.expired:
                return httpx.Response(410, json={"error": {"code": "SyncStateNotFound", "message": "expired"}})
            body = {
                **ctx,
                "value": [{"id": "AAMkAD1", "@removed": {"reason": "deleted"}}, _event("AAMkAD3", "New", 3)],
                "@odata.deltaLink": f"{BASE}?$deltatoken=d2",
            }
        else:
            body = {**ctx, "value": [_event("AAMkAD1", "1:1", 1)], "@odata.nextLink": f"{BASE}?$skiptoken=s1"}
        return httpx.Response(200, json=body)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def graph() -> AsyncIterator[tuple[Graph, GraphCalendarClient]]:
    g = Graph()
    async with build_http_client(transport=httpx.MockTransport(g.handler)) as http:
        creds = StaticCredentials({"outlook-oauth": json.dumps({"access_token": TOKEN})})
        yield g, GraphCalendarClient(http, creds, retry=RetryPolicy(sleep=g.sleep))


async def test_a_round_follows_next_links_to_the_delta_link_then_changes_follow(
    graph: tuple[Graph, GraphCalendarClient],
) -> None:
    g, client = graph
    pages = [p async for p in client.delta_round(start=START, end=START + timedelta(days=30))]
    assert [e.subject for p in pages for e in p.value] == ["1:1", "Planning"]
    assert pages[-1].delta_link == f"{BASE}?$deltatoken=d1" and pages[0].delta_link is None
    first = g.requests[0]
    assert first.url.params["startDateTime"] == START.isoformat() and "$skiptoken" not in first.url.params
    assert first.headers["Prefer"] == "odata.maxpagesize=100" and first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "startDateTime" not in g.requests[1].url.params  # query options on the first request only
    changes = [p async for p in client.delta_round(delta_link=pages[-1].delta_link)]
    removed = [e.id for p in changes for e in p.value if e.gone]
    assert removed == ["AAMkAD1"] and changes[-1].delta_link == f"{BASE}?$deltatoken=d2"


async def test_an_expired_delta_link_asks_for_a_full_round(graph: tuple[Graph, GraphCalendarClient]) -> None:
    g, client = graph
    g.expired = True
    with pytest.raises(DeltaExpired) as info:
        _ = [p async for p in client.delta_round(delta_link=f"{BASE}?$deltatoken=d1")]
    assert info.value.status == 410 and info.value.code == "SyncStateNotFound"
    assert TOKEN not in str(info.value)


async def test_429_and_503_are_waited_out_as_graph_asks(graph: tuple[Graph, GraphCalendarClient]) -> None:
    g, client = graph
    g.throttle = [429, 503]
    pages = [p async for p in client.delta_round(start=START, end=START + timedelta(days=7))]
    assert len(pages) == 2 and g.waits[:2] == [2.0, 2.0] and len(g.requests) == 4


async def test_a_link_off_graphs_host_is_not_followed(graph: tuple[Graph, GraphCalendarClient]) -> None:
    g, client = graph
    with pytest.raises(InvalidRequest):
        _ = [p async for p in client.delta_round(delta_link="https://evil.example/delta?$deltatoken=d1")]
    with pytest.raises(InvalidRequest):
        _ = [p async for p in client.delta_round(start=START.replace(tzinfo=None), end=START)]
    assert g.requests == []
