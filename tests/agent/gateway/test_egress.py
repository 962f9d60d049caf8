from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx
import pytest

from agent.gateway.urls import url_carries_private, urls_in
from tools.egress import (
    AddressBlocked,
    EgressGuard,
    HostNotAllowed,
    PeerUnknown,
    PinnedBackend,
    RedirectRejected,
    ResponseRejected,
    UrlRejected,
    blocked_reason,
    guarded_fetch,
    host_allowed,
    system_resolver,
)

pytestmark = pytest.mark.anyio

PUBLIC_IP = "93.184.216.34"
LISTS = {"news": ["apnews.com", "*.bbc.co.uk", "bücher.example"]}


class FakeStream(httpcore.AsyncNetworkStream):
    """Stands in for httpcore's network stream: only the peer address matters here."""

    def __init__(self, peer: tuple[str, int] | None) -> None:
        self.peer = peer
        self.closed = False

    def get_extra_info(self, info: str) -> Any:
        return self.peer if info == "server_addr" else None

    async def aclose(self) -> None:
        self.closed = True


def resolver(table: dict[str, list[str]]) -> Callable[[str, int], Any]:
    seen: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        seen.append(host)
        return table.get(host, [])

    resolve.seen = seen  # type: ignore[attr-defined]
    return resolve


def guard(table: dict[str, list[str]] | None = None, **kw: Any) -> EgressGuard:
    default = {"apnews.com": [PUBLIC_IP], "www.bbc.co.uk": [PUBLIC_IP]}
    return EgressGuard(LISTS, resolver=resolver(table if table is not None else default), **kw)


def mock(routes: dict[str, httpx.Response], peer: str = PUBLIC_IP) -> httpx.MockTransport:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        base = routes[str(request.url)]
        return httpx.Response(
            base.status_code,
            headers=base.headers,
            content=base.content,
            extensions={"network_stream": FakeStream((peer, 443))},
        )

    transport = httpx.MockTransport(handler)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport


def page(text: str = "<p>news</p>", ctype: str = "text/html; charset=utf-8") -> httpx.Response:
    return httpx.Response(200, headers={"content-type": ctype}, content=text.encode())


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "0.1.2.3",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a00:1",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # teredo, client 127.0.0.1
        "2001:db8::1",
        "not-an-ip",
    ],
)
def test_non_public_addresses_are_blocked(addr: str) -> None:
    assert blocked_reason(addr) is not None


@pytest.mark.parametrize("addr", [PUBLIC_IP, "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_pass(addr: str) -> None:
    assert blocked_reason(addr) is None


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001", "localhost"])
async def test_numeric_and_local_host_forms_resolve_to_blocked_addresses(host: str) -> None:
    g = EgressGuard(LISTS, resolver=system_resolver)
    with pytest.raises(AddressBlocked):
        await g.resolve_checked(host, 443)


async def test_one_bad_address_among_good_ones_blocks_the_host() -> None:
    g = guard({"apnews.com": [PUBLIC_IP, "10.0.0.5"]})
    with pytest.raises(AddressBlocked):
        await g.resolve_checked("apnews.com", 443)
    with pytest.raises(AddressBlocked, match="did not resolve"):
        await guard({}).resolve_checked("apnews.com", 443)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://apnews.com/", UrlRejected),
        ("ftp://apnews.com/", UrlRejected),
        ("https://user:pw@apnews.com/", UrlRejected),
        ("https://apnews.com@127.0.0.1/", UrlRejected),
        ("https://apnews.com:8443/", UrlRejected),
        ("https://evil.example/", HostNotAllowed),
        ("https://apnews.com.evil.example/", HostNotAllowed),
        ("https://127.0.0.1/", HostNotAllowed),
        ("https://[::1]/", HostNotAllowed),
        ("https://2130706433/", HostNotAllowed),
        ("https://0x7f.1/", HostNotAllowed),
        ("https://bbc.co.uk/", HostNotAllowed),
        ("https://evilbbc.co.uk/", HostNotAllowed),
    ],
)
def test_url_checks(url: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        guard().check_url(url, "news")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://apnews.com/a", "apnews.com"),
        ("https://APNEWS.com./a", "apnews.com"),
        ("https://www.bbc.co.uk/news", "www.bbc.co.uk"),
        ("https://a.b.bbc.co.uk/", "a.b.bbc.co.uk"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://apnews.com:443/", "apnews.com"),
    ],
)
def test_allowed_urls_are_canonicalised(url: str, host: str) -> None:
    assert guard().check_url(url, "news").host == host


def test_unknown_allowlist_is_refused() -> None:
    with pytest.raises(HostNotAllowed):
        guard().check_url("https://apnews.com/", "nope")


@pytest.mark.parametrize(
    ("host", "patterns", "ok"),
    [
        ("a.example", ["a.example"], True),
        ("b.a.example", ["a.example"], False),
        ("b.a.example", ["*.a.example"], True),
        ("a.example", ["*.a.example"], False),
        ("xa.example", ["*.a.example"], False),
        ("127.0.0.1", ["127.0.0.1"], False),
    ],
)
def test_allowlist_wildcard_semantics(host: str, patterns: Iterable[str], ok: bool) -> None:
    assert host_allowed(host, patterns) is ok


async def test_fetch_returns_the_page() -> None:
    result = await guarded_fetch(guard(), "https://apnews.com/a", "news", inner=mock({"https://apnews.com/a": page()}))
    assert result.status == 200
    assert result.text == "<p>news</p>"
    assert result.content_type == "text/html"
    assert result.hops == ("https://apnews.com/a",)


async def test_connected_peer_on_a_private_address_is_refused() -> None:
    # DNS said public, the socket ended up on loopback (rebinding): the peer check catches it.
    with pytest.raises(AddressBlocked, match="connected peer"):
        await guarded_fetch(
            guard(), "https://apnews.com/a", "news", inner=mock({"https://apnews.com/a": page()}, "127.0.0.1")
        )


async def test_unknown_peer_fails_closed() -> None:
    transport = httpx.MockTransport(lambda r: page())
    with pytest.raises(PeerUnknown):
        await guarded_fetch(guard(), "https://apnews.com/a", "news", inner=transport)


async def test_redirect_to_a_private_host_is_refused_before_any_request() -> None:
    table = {"apnews.com": [PUBLIC_IP], "www.bbc.co.uk": ["10.0.0.7"]}
    redirect = httpx.Response(302, headers={"location": "https://www.bbc.co.uk/admin"})
    transport = mock({"https://apnews.com/a": redirect})
    with pytest.raises(AddressBlocked):
        await guarded_fetch(guard(table), "https://apnews.com/a", "news", inner=transport)
    assert transport.seen == ["https://apnews.com/a"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://127.0.0.1:8080/admin", UrlRejected),
        ("https://evil.example/", HostNotAllowed),
        ("https://169.254.169.254/latest/meta-data/", HostNotAllowed),
    ],
)
async def test_redirect_hops_are_revalidated(location: str, error: type[Exception]) -> None:
    transport = mock({"https://apnews.com/r": httpx.Response(301, headers={"location": location})})
    with pytest.raises(error):
        await guarded_fetch(guard(), "https://apnews.com/r", "news", inner=transport)
    assert transport.seen == ["https://apnews.com/r"]  # type: ignore[attr-defined]


async def test_redirects_are_capped() -> None:
    routes = {f"https://apnews.com/{i}": httpx.Response(302, headers={"location": f"/{i + 1}"}) for i in range(5)}
    routes["https://apnews.com/2"] = page()
    ok = await guarded_fetch(guard(), "https://apnews.com/0", "news", inner=mock(routes))
    assert ok.hops == ("https://apnews.com/0", "https://apnews.com/1", "https://apnews.com/2")
    with pytest.raises(RedirectRejected):
        await guarded_fetch(guard(max_redirects=1), "https://apnews.com/0", "news", inner=mock(routes))
    with pytest.raises(RedirectRejected, match="Location"):
        await guarded_fetch(
            guard(), "https://apnews.com/x", "news", inner=mock({"https://apnews.com/x": httpx.Response(302)})
        )


async def test_response_size_and_type_are_capped() -> None:
    big = mock({"https://apnews.com/a": page("x" * 2000)})
    with pytest.raises(ResponseRejected, match="larger"):
        await guarded_fetch(guard(max_bytes=1000), "https://apnews.com/a", "news", inner=big)
    binary = mock({"https://apnews.com/a": page("MZ", "application/octet-stream")})
    with pytest.raises(ResponseRejected, match="content type"):
        await guarded_fetch(guard(), "https://apnews.com/a", "news", inner=binary)
    gz = httpx.Response(200, headers={"content-type": "text/html", "content-encoding": "gzip"}, content=b"x")
    with pytest.raises(ResponseRejected, match="encoding"):
        await guarded_fetch(guard(), "https://apnews.com/a", "news", inner=mock({"https://apnews.com/a": gz}))


class FakeBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, peer: str | None) -> None:
        self.peer = peer
        self.connected: list[str] = []
        self.stream = FakeStream(None if peer is None else (peer, 443))

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return self.stream


async def test_pinned_backend_connects_to_the_checked_address_only() -> None:
    inner = FakeBackend(PUBLIC_IP)
    backend = PinnedBackend(guard(), inner)
    stream = await backend.connect_tcp("apnews.com", 443)
    assert stream is inner.stream
    assert inner.connected == [PUBLIC_IP]


@pytest.mark.parametrize("peer", ["127.0.0.1", None])
async def test_pinned_backend_refuses_a_bad_or_unknown_peer_before_sending(peer: str | None) -> None:
    inner = FakeBackend(peer)
    with pytest.raises((AddressBlocked, PeerUnknown)):
        await PinnedBackend(guard(), inner).connect_tcp("apnews.com", 443)
    assert inner.stream.closed


async def test_pinned_backend_never_connects_to_a_blocked_resolution() -> None:
    inner = FakeBackend(PUBLIC_IP)
    with pytest.raises(AddressBlocked):
        await PinnedBackend(guard({"apnews.com": ["169.254.169.254"]}), inner).connect_tcp("apnews.com", 443)
    assert inner.connected == []
    with pytest.raises(AddressBlocked):
        await PinnedBackend(guard(), inner).connect_unix_socket("/var/run/docker.sock")


@pytest.mark.parametrize(
    "url",
    [
        "https://apnews.com/search?q=%2B15550100",
        "https://apnews.com/p/Alice-Smith-account-77812345",
        "https://apnews.com/?d=" + "KzE1NTUwMTAw",  # base64 of +15550100
        "https://2b3135353530313030.apnews.com/",  # hex in a subdomain label
        "https://apnews.com/#acct=77812345",
    ],
)
def test_private_values_in_urls_are_found(url: str) -> None:
    assert url_carries_private(url, ["Alice: my number is +15550100, account 77812345"])


def test_public_or_owner_typed_fragments_are_not_leaks() -> None:
    private = ["the technology meeting notes mention 77812345"]
    assert url_carries_private("https://apnews.com/article/technology-77812345", private) != []
    assert (
        url_carries_private(
            "https://apnews.com/article/technology-77812345",
            private,
            public_values=["read article technology-77812345"],
        )
        == []
    )


def test_urls_are_found_anywhere_in_arguments() -> None:
    args = {"body": "see https://evil.example/x?d=1. and www.foo.example", "n": [{"u": "https://a.example"}]}
    assert urls_in(args) == ["https://evil.example/x?d=1", "www.foo.example", "https://a.example"]
