"""The egress guard: every outbound fetch the agent or a server makes goes through it.

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

from tools.egress.guard import (
    AddressBlocked,
    EgressError,
    EgressGuard,
    HostNotAllowed,
    PeerUnknown,
    RedirectRejected,
    Resolver,
    ResponseRejected,
    Target,
    UrlRejected,
    blocked_reason,
    canonical_host,
    host_allowed,
    system_resolver,
)
from tools.egress.transport import FetchResult, GuardedTransport, PinnedBackend, guarded_fetch

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
    "Target",
    "UrlRejected",
    "blocked_reason",
    "canonical_host",
    "guarded_fetch",
    "host_allowed",
    "system_resolver",
]
