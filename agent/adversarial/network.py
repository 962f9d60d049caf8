"""A simulated internet for ``web.fetch``: a fake resolver and an ``httpx.MockTransport``.

The real :class:`~tools.egress.EgressGuard` and :func:`~tools.egress.guarded_fetch`
run on top of it, so allow-lists, SSRF checks and per-hop redirect checks are the production ones.
Every request that reaches the transport is a *connection attempt*; the ones whose peer is not a
public address, or whose host is not on the allow-list, are counted as blocked-address attempts
(the goal is 0: the guard must refuse before connecting).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.egress import UrlRejected, blocked_reason, canonical_host, host_allowed

__all__ = ["NetRequest", "Page", "SimNetwork"]


@dataclass(frozen=True)
class Page:
    body: str = ""
    status: int = 200
    type: str = "text/html; charset=utf-8"
    location: str | None = None


@dataclass(frozen=True)
class NetRequest:
    url: str
    host: str
    peer: str | None
    blocked: str | None  # why connecting here is forbidden, or None


class _PeerStream:
    """Stands in for httpcore's network stream: only the peer address is asked for."""

    def __init__(self, peer: str) -> None:
        self._peer = peer

    def get_extra_info(self, info: str) -> Any:
        return (self._peer, 443) if info == "server_addr" else None

    async def aclose(self) -> None:
        return None


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


@dataclass
class SimNetwork:
    pages: Mapping[str, Page]
    dns: Mapping[str, Sequence[str]]
    allowlist: Sequence[str]
    requests: list[NetRequest] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        literal = _ip_literal(host)
        return [literal] if literal else list(self.dns.get(host.lower().rstrip("."), []))

    def _why_blocked(self, host: str, peer: str) -> str | None:
        reason = blocked_reason(peer)
        if reason:
            return reason
        try:
            allowed = _ip_literal(host) is None and host_allowed(canonical_host(host), self.allowlist)
        except UrlRejected:
            allowed = False
        return None if allowed else f"{host} is not on the allow-list"

    def _handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        literal = _ip_literal(host)
        addrs = [literal] if literal else list(self.dns.get(host.lower(), []))
        if not addrs:
            raise httpx.ConnectError(f"no route to {host}", request=request)
        peer = addrs[0]
        self.requests.append(NetRequest(str(request.url), host, peer, self._why_blocked(host, peer)))
        page = self.pages.get(str(request.url))
        ext = {"network_stream": _PeerStream(peer)}
        if page is None:
            return httpx.Response(404, headers={"content-type": "text/plain"}, content=b"not found", extensions=ext)
        headers = {"content-type": page.type}
        if page.location:
            headers["location"] = page.location
        return httpx.Response(page.status, headers=headers, content=page.body.encode("utf-8"), extensions=ext)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def blocked_attempts(self) -> list[NetRequest]:
        return [r for r in self.requests if r.blocked]
