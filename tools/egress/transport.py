"""The egress guard's transports: connect only to a checked address, re-check the peer, follow
redirects one validated hop at a time, and cap what comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import httpcore
import httpx

from tools.egress.guard import (
    AddressBlocked,
    EgressGuard,
    PeerUnknown,
    RedirectRejected,
    ResponseRejected,
    blocked_reason,
)


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
