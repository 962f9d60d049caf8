"""Every fetch of the news integration goes through the egress guard: the owner's sources only,
public addresses only (resolved and connected), robots.txt respected, a pace per host."""

from __future__ import annotations

import socket
from typing import Any

import httpcore
import httpx
import pytest

from mcp_servers.news.crawl import ALLOWLIST, Crawler, Pacer, Refused, guard_for
from tools._http import RetryPolicy, build_http_client
from tools.egress import GuardedTransport
from tools.errors import UpstreamError

pytestmark = pytest.mark.anyio
PUBLIC_IP = "93.184.216.34"
FEED = "https://feeds.example.org/rss.xml"


class FakeStream(httpcore.AsyncNetworkStream):
    """httpcore's network stream as the guard sees it: only the connected peer matters."""

    def __init__(self, peer: str) -> None:
        self.peer = peer

    def get_extra_info(self, info: str) -> Any:
        return (self.peer, 443) if info == "server_addr" else None


class Web:
    """The sites at the network edge: routes by URL, each response from ``peer``."""

    def __init__(self, routes: dict[str, httpx.Response], *, peer: str = PUBLIC_IP) -> None:
        self.routes, self.peer = routes, peer
        self.seen: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        base = self.routes.get(url, httpx.Response(404, headers={"content-type": "text/plain"}, content=b"no"))
        return httpx.Response(
            base.status_code,
            headers=base.headers,
            content=base.content,
            extensions={"network_stream": FakeStream(self.peer)},
        )


def text(body: str, ctype: str = "text/plain", status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": ctype}, content=body.encode())


ALLOW_ALL = text("User-agent: *\nAllow: /\n")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.t += seconds


def crawler(web: Web, *, resolve: dict[str, list[str]] | None = None, pacer: Pacer | None = None) -> Crawler:
    table = resolve if resolve is not None else {"feeds.example.org": [PUBLIC_IP], "other.example.org": [PUBLIC_IP]}

    async def resolver(host: str, port: int) -> list[str]:
        return table.get(host, [])

    guard = guard_for(resolver=resolver)
    transport = GuardedTransport(guard, ALLOWLIST, inner=httpx.MockTransport(web.handle))

    async def no_sleep(seconds: float) -> None:
        return None

    c = Crawler(
        build_http_client(transport=transport), guard, pacer or Pacer(interval=0.0), retry=RetryPolicy(sleep=no_sleep)
    )
    c.begin(["feeds.example.org"])
    return c


async def test_an_allowed_feed_is_fetched_after_its_robots_txt() -> None:
    web = Web(
        {
            "https://feeds.example.org/robots.txt": ALLOW_ALL,
            FEED: text("<rss/>", "application/rss+xml"),
        }
    )
    got = await crawler(web).get(FEED)
    assert got.content == b"<rss/>" and got.content_type == "application/rss+xml"
    assert web.seen == ["https://feeds.example.org/robots.txt", FEED]


async def test_robots_txt_disallowing_the_page_stops_the_fetch() -> None:
    web = Web({"https://feeds.example.org/robots.txt": text("User-agent: *\nDisallow: /rss.xml\n")})
    with pytest.raises(Refused, match=r"robots\.txt"):
        await crawler(web).get(FEED)
    assert FEED not in web.seen


@pytest.mark.parametrize(("status", "fetched"), [(404, True), (503, False)])
async def test_a_missing_robots_txt_allows_and_an_unreachable_one_disallows(status: int, fetched: bool) -> None:
    web = Web(
        {"https://feeds.example.org/robots.txt": text("x", status=status), FEED: text("<rss/>", "application/rss+xml")}
    )
    c = crawler(web)
    if fetched:
        assert (await c.get(FEED)).content == b"<rss/>"
    else:
        with pytest.raises(Refused):
            await c.get(FEED)
    assert (FEED in web.seen) is fetched


async def test_a_host_that_is_not_one_of_the_owners_sources_is_never_contacted() -> None:
    web = Web({})
    with pytest.raises(Refused, match="not on allow-list"):
        await crawler(web).get("https://other.example.org/feed.xml")
    with pytest.raises(Refused, match="only https"):
        await crawler(web).get("http://feeds.example.org/rss.xml")
    assert web.seen == []


async def test_a_source_resolving_to_a_private_address_is_refused_before_any_request() -> None:
    web = Web({})
    c = crawler(web, resolve={"feeds.example.org": ["10.0.0.5"]})
    with pytest.raises(Refused, match="blocked"):
        await c.get(FEED, robots=False)
    assert web.seen == []


async def test_a_host_that_does_not_resolve_is_unreachable_and_its_robots_txt_disallows() -> None:
    web = Web({})

    async def no_dns(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    c = crawler(web)
    c._guard.resolver = no_dns
    with pytest.raises(UpstreamError, match="unreachable"):
        await c.get(FEED, robots=False)
    with pytest.raises(Refused, match=r"robots\.txt"):  # an unreachable robots.txt disallows everything
        await c.get(FEED)
    assert web.seen == []


async def test_a_connection_whose_peer_is_private_is_refused_and_its_body_unused() -> None:
    web = Web({FEED: text("<rss>internal</rss>", "application/rss+xml")}, peer="169.254.169.254")
    with pytest.raises(Refused, match="peer is blocked"):
        await crawler(web).get(FEED, robots=False)


async def test_a_redirect_off_the_owners_sources_is_refused() -> None:
    moved = httpx.Response(301, headers={"location": "https://other.example.org/rss.xml", "content-type": "text/plain"})
    web = Web({FEED: moved})
    with pytest.raises(Refused, match="not on allow-list"):
        await crawler(web).get(FEED, robots=False)
    assert web.seen == [FEED]


async def test_requests_to_one_host_are_paced_and_capped_per_run() -> None:
    clock = Clock()
    pacer = Pacer(interval=2.0, per_host=3, clock=clock.now, sleep=clock.sleep)
    web = Web(
        {
            "https://feeds.example.org/robots.txt": ALLOW_ALL,
            FEED: text("<rss/>", "application/rss+xml"),
        }
    )
    c = crawler(web, pacer=pacer)
    await c.get(FEED)  # robots.txt, then the feed
    await c.get(FEED)
    assert clock.waits == [2.0, 2.0]
    with pytest.raises(Refused, match="at most 3 requests"):
        await c.get(FEED)
    c.begin(["feeds.example.org"])  # a new run starts a new count
    await c.get(FEED)
