"""ActivityWatchClient against responses shaped like aw-server's (buckets map, query lists)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from tools._http import RetryPolicy, build_http_client
from tools.activitywatch.client import ACTIVE_WINDOW_QUERY, ActivityWatchClient, loopback_url
from tools.activitywatch.demo import DemoActivityWatch, demo_transport
from tools.credentials import StaticCredentials
from tools.errors import InvalidRequest, UpstreamError

pytestmark = pytest.mark.anyio
DAY = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))


def test_only_loopback_urls_are_accepted() -> None:
    assert loopback_url("http://127.0.0.1:5600/") == "http://127.0.0.1:5600"
    assert loopback_url("http://localhost:5666") == "http://localhost:5666"
    assert loopback_url("http://[::1]:5600") == "http://[::1]:5600"
    for bad in ("http://192.168.1.20:5600", "http://aw.example:5600", "file:///etc/passwd", "http://127.0.0.1.example"):
        with pytest.raises(InvalidRequest):
            loopback_url(bad)


async def test_buckets_and_the_query_body(policy: RetryPolicy) -> None:
    aw = DemoActivityWatch(date(2026, 12, 2))
    client = ActivityWatchClient(build_http_client(transport=demo_transport(aw)), StaticCredentials({}), retry=policy)
    buckets = await client.buckets()
    assert {b.type for b in buckets} == {"currentwindow", "afkstatus"}
    [events] = await client.query([DAY], ACTIVE_WINDOW_QUERY)
    assert events and {e.app for e in events} >= {"Firefox", "Code"}
    assert aw.queries[0]["timeperiods"] == ["2026-12-01T00:00:00+00:00/2026-12-02T00:00:00+00:00"]
    assert aw.queries[0]["query"][-1] == "RETURN = events;"


async def test_the_url_comes_from_the_vault_when_set_and_must_be_loopback(policy: RetryPolicy) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    http = build_http_client(transport=httpx.MockTransport(handler))
    await ActivityWatchClient(
        http, StaticCredentials({"activitywatch-url": "http://127.0.0.1:5666"}), retry=policy
    ).buckets()
    await ActivityWatchClient(http, StaticCredentials({}), retry=policy).buckets()
    assert seen == ["http://127.0.0.1:5666/api/0/buckets/", "http://127.0.0.1:5600/api/0/buckets/"]
    remote = ActivityWatchClient(http, StaticCredentials({"activitywatch-url": "http://10.0.0.5:5600"}), retry=policy)
    with pytest.raises(InvalidRequest):
        await remote.buckets()
    assert len(seen) == 2


async def test_a_server_that_is_not_running_says_so(policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = ActivityWatchClient(
        build_http_client(transport=httpx.MockTransport(handler)), StaticCredentials({}), retry=policy
    )
    with pytest.raises(UpstreamError, match="not answering"):
        await client.buckets()


async def test_a_query_error_and_a_malformed_answer(policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["query"][0].startswith("bad"):
            return httpx.Response(500, json={"message": "Query error: bad"})
        return httpx.Response(200, json=[[], []])  # two results for one period

    client = ActivityWatchClient(
        build_http_client(transport=httpx.MockTransport(handler)), StaticCredentials({}), retry=policy
    )
    with pytest.raises(UpstreamError):
        await client.query([DAY], ["bad;"])
    with pytest.raises(InvalidRequest):
        await client.query([DAY], ACTIVE_WINDOW_QUERY)
