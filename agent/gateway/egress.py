"""The egress guard: every outbound fetch the agent makes goes through it.

Checks, in order:

1. **URL**: ``https`` only, port 443, no userinfo, host canonicalised with IDNA (UTS-46) and
   matched against a named allow-list: exact hosts, or explicit ``*.domain`` wildcards, which
   match subdomains only (never the apex). IP-literal hosts never match.
2. **Resolution**: ``getaddrinfo`` (injectable) and **every** address checked. Numeric host forms
   (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) are normalised by getaddrinfo, so
   nothing here compares strings. Embedded IPv4 is unwrapped (IPv4-mapped, IPv4-compatible,
   6to4 ``2002::/16``, Teredo, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``) and both layers
   must be ``is_global`` and outside the explicit deny-list.
3. **Connection**: the default transport connects to an address it has just checked (no second
   resolution, so no DNS-rebinding window) and checks the socket's peer before a byte is sent.
   :class:`GuardedTransport` re-checks the connected peer (``network_stream``'s ``server_addr``)
   on every response and fails closed when it is unknown.
4. **Response**: redirects are never followed automatically (:func:`guarded_fetch` re-validates
   each hop, at most ``max_redirects``); size is capped while streaming; only allowed content
   types and identity encoding are accepted; proxies from the environment are ignored.

Error tree::

    EgressError
    ├── UrlRejected          scheme, port, userinfo or host syntax
    ├── HostNotAllowed       host not on the named allow-list
    ├── AddressBlocked       a resolved or connected address is not public
    ├── PeerUnknown          the connected peer could not be determined
    ├── RedirectRejected     missing Location or too many hops
    └── ResponseRejected     too large, wrong content type or encoding
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import httpx
import idna

from agent.gateway.urls import url_carries_private

__all__ = [
    "AddressBlocked",
    "EgressError",
    "EgressGuard",
    "FetchResult",
    "GuardedTransport",
    "HostNotAllowed",
    "PeerUnknown",
    "PinnedBackend",
    "RedirectRejected",
    "Resolver",
    "ResponseRejected",
    "UrlRejected",
    "blocked_reason",
    "canonical_host",
    "guarded_fetch",
    "host_allowed",
    "system_resolver",
    "url_carries_private",
]


class EgressError(Exception):
    """An outbound request was refused by the egress guard."""


class UrlRejected(EgressError):
    pass


class HostNotAllowed(EgressError):
    pass


class AddressBlocked(EgressError):
    pass


class PeerUnknown(EgressError):
    pass


class RedirectRejected(EgressError):
    pass


class ResponseRejected(EgressError):
    pass


Resolver = Callable[[str, int], Awaitable[list[str]]]

_DENY = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including the 169.254.169.254 metadata service
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPv4_COMPAT = ipaddress.ip_network("::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    out: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out += list(ip.teredo)
    if any(ip in n for n in _NAT64) or ip in _IPv4_COMPAT:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def blocked_reason(address: str) -> str | None:
    """Why ``address`` must not be connected to, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"not an IP address: {address!r}"
    layers: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        layers += _embedded_v4(ip)
    for layer in layers:
        for net in _DENY:
            if layer.version == net.version and layer in net:
                return f"{layer} is in blocked range {net}"
        if not layer.is_global or layer.is_multicast:
            return f"{layer} is not a global unicast address"
    return None


def canonical_host(host: str) -> str:
    """Lower-case ASCII (punycode) form of a host name; raises UrlRejected."""
    h = host.strip().rstrip(".")
    if not h:
        raise UrlRejected("empty host")
    try:
        return idna.encode(h, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise UrlRejected(f"invalid host name: {exc}") from exc


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Exact host match, or ``*.domain`` matching any subdomain (not ``domain`` itself)."""
    if _is_ip_literal(host):
        return False
    for p in patterns:
        p = p.strip().lower()
        if p.startswith("*."):
            suffix = canonical_host(p[2:])
            if host.endswith("." + suffix):
                return True
        elif host == canonical_host(p):
            return True
    return False


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Target:
    url: httpx.URL
    host: str
    port: int


class EgressGuard:
    """Allow-lists plus the address checks; shared by the policy (R4) and the transport."""

    def __init__(
        self,
        allowlists: Mapping[str, Sequence[str]],
        *,
        resolver: Resolver = system_resolver,
        max_redirects: int = 3,
        max_bytes: int = 2_000_000,
        content_types: Sequence[str] = ("text/html", "text/plain", "application/json", "application/xml"),
        timeout_s: float = 10.0,
    ) -> None:
        self.allowlists = {k: tuple(v) for k, v in allowlists.items()}
        self.resolver = resolver
        self.max_redirects = max_redirects
        self.max_bytes = max_bytes
        self.content_types = tuple(content_types)
        self.timeout_s = timeout_s

    def check_url(self, url: str | httpx.URL, allowlist: str) -> Target:
        """Syntax and allow-list check, no DNS. Raises UrlRejected or HostNotAllowed."""
        try:
            u = httpx.URL(url) if isinstance(url, str) else url
        except httpx.InvalidURL as exc:
            raise UrlRejected(f"invalid URL: {exc}") from exc
        if u.scheme != "https":
            raise UrlRejected("only https is allowed")
        if u.userinfo:
            raise UrlRejected("userinfo in URL")
        port = u.port or 443
        if port != 443:
            raise UrlRejected("only port 443 is allowed")
        if _is_ip_literal(u.host):
            raise HostNotAllowed(f"IP-literal host {u.host!r} is never allowed")
        host = canonical_host(u.host)
        if _is_ip_literal(host) or (all(c in "0123456789abcdefx." for c in host) and host[:1].isdigit()):
            raise HostNotAllowed(f"IP-literal host {host!r} is never allowed")
        patterns = self.allowlists.get(allowlist)
        if patterns is None:
            raise HostNotAllowed(f"unknown allow-list {allowlist!r}")
        if not host_allowed(host, patterns):
            raise HostNotAllowed(f"{host} is not on allow-list {allowlist!r}")
        return Target(u, host, port)

    async def resolve_checked(self, host: str, port: int) -> list[str]:
        """Resolve and check every address. Raises AddressBlocked if any one is not public."""
        addrs = await self.resolver(host, port)
        if not addrs:
            raise AddressBlocked(f"{host} did not resolve")
        for a in addrs:
            reason = blocked_reason(a)
            if reason:
                raise AddressBlocked(f"{host} resolves to a blocked address: {reason}")
        return addrs


def _peer_ip(stream: Any) -> str:
    addr = stream.get_extra_info("server_addr") if stream is not None else None
    if not addr:
        raise PeerUnknown("the connected peer address is unknown")
    return str(addr[0] if isinstance(addr, (tuple, list)) else addr)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the guard has just checked, then checks the socket's peer."""

    def __init__(self, guard: EgressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addrs = await self._guard.resolve_checked(host, port)
        stream = await self._inner.connect_tcp(addrs[0], port, timeout, local_address, socket_options)
        try:
            reason = blocked_reason(_peer_ip(stream))
        except PeerUnknown:
            await stream.aclose()
            raise
        if reason:
            await stream.aclose()
            raise AddressBlocked(f"connected peer is blocked: {reason}")
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressBlocked("unix sockets are never allowed")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class _CoreStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise httpx.TransportError(str(exc)) from exc

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class _PinnedHTTPTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool whose network backend is :class:`PinnedBackend`."""

    def __init__(self, guard: EgressGuard) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=PinnedBackend(guard),
            retries=0,
            max_connections=4,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            resp = await self._pool.handle_async_request(req)
        except httpcore.TimeoutException as exc:
            raise httpx.TimeoutException(str(exc), request=request) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise httpx.TransportError(str(exc)) from exc
        return httpx.Response(
            resp.status, headers=resp.headers, stream=_CoreStream(resp.stream), extensions=resp.extensions
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks URL, addresses and the connected peer for every request; caps the response.

    ``inner`` defaults to a transport that connects only to checked addresses; tests pass an
    ``httpx.MockTransport`` whose responses carry a fake ``network_stream`` extension.
    """

    def __init__(self, guard: EgressGuard, allowlist: str, *, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._guard = guard
        self._allowlist = allowlist
        self._inner = inner or _PinnedHTTPTransport(guard)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self._guard.check_url(request.url, self._allowlist)
        await self._guard.resolve_checked(target.host, target.port)
        response = await self._inner.handle_async_request(request)
        try:
            reason = blocked_reason(_peer_ip(response.extensions.get("network_stream")))
            if reason:
                raise AddressBlocked(f"connected peer is blocked: {reason}")
            body = await self._read_capped(response) if not response.is_redirect else b""
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            extensions=response.extensions,
            request=request,
        )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype not in self._guard.content_types:
            raise ResponseRejected(f"content type {ctype or 'missing'!r} is not allowed")
        if response.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
            raise ResponseRejected("only identity content-encoding is accepted")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.stream:  # type: ignore[union-attr]
            total += len(chunk)
            if total > self._guard.max_bytes:
                raise ResponseRejected(f"response larger than {self._guard.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status: int
    content_type: str
    content: bytes
    hops: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


async def guarded_fetch(
    guard: EgressGuard, url: str, allowlist: str, *, inner: httpx.AsyncBaseTransport | None = None
) -> FetchResult:
    """GET ``url`` through the guard, re-validating every redirect hop (at most ``max_redirects``)."""
    transport = GuardedTransport(guard, allowlist, inner=inner)
    hops: list[str] = []
    async with httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, timeout=guard.timeout_s
    ) as client:
        current = httpx.URL(url)
        for _ in range(guard.max_redirects + 1):
            guard.check_url(current, allowlist)
            hops.append(str(current))
            resp = await client.get(current, headers={"Accept-Encoding": "identity"})
            if not resp.is_redirect:
                ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                return FetchResult(str(current), resp.status_code, ctype, resp.content, tuple(hops))
            location = resp.headers.get("location")
            if not location:
                raise RedirectRejected("redirect without a Location header")
            current = current.join(location)
    raise RedirectRejected(f"more than {guard.max_redirects} redirects")
