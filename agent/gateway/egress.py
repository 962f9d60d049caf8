"""The egress guard, as the gateway uses it: the guard itself lives in ``tools.egress`` (servers that
fetch use it too); the gateway adds the check that a URL carries no private value."""

from __future__ import annotations

from agent.gateway.urls import url_carries_private
from tools.egress import (
    AddressBlocked,
    EgressError,
    EgressGuard,
    FetchResult,
    GuardedTransport,
    HostNotAllowed,
    PeerUnknown,
    PinnedBackend,
    RedirectRejected,
    Resolver,
    ResponseRejected,
    Target,
    UrlRejected,
    blocked_reason,
    canonical_host,
    guarded_fetch,
    host_allowed,
    system_resolver,
)

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
    "url_carries_private",
]
