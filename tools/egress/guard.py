"""The egress guard's checks: URL syntax, named allow-lists, and every resolved address public.

See ``tools.egress`` for the whole guard and its error tree.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import anyio
import httpx
import idna


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
