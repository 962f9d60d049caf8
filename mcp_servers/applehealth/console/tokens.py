"""Per-device ingest tokens: broker API keys that can mint nothing but ``health.ingest`` for this server.

Issuing one creates (or reuses) the broker principal ``device-<name>`` with the ceiling
``health.ingest`` on ``mcp:applehealth`` and a key inside it; the key is returned once. Revoking is
the broker's key revocation. Checking a token asks the broker to mint a one-minute token with it: the
broker answers only for a live, unrevoked, unexpired key of an enabled principal with that scope,
and counts failures towards its lockout. The minted token itself is discarded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import httpx

from broker.apikeys import MalformedApiKey, parse_api_key
from broker.client import BrokerClient, BrokerClientError

SCOPE: Final = "health.ingest"
RESOURCE: Final = "mcp:applehealth"
AUDIENCE: Final = "mcp-applehealth"
PREFIX: Final = "device-"
DEVICE = re.compile(r"^[a-z][a-z0-9_.-]{0,55}$")


class BrokerUnavailable(Exception):
    """The broker could not be asked (down, sealed): the phone should retry later (503)."""


@dataclass(frozen=True)
class IssuedToken:
    device: str
    key_id: str
    token: str  # shown once
    expires_at: str


async def issue(broker: BrokerClient, device: str, *, days: int = 365) -> IssuedToken:
    """A new ingest token for ``device`` (the broker's admin API; the console holds the admin token)."""
    if not DEVICE.match(device):
        raise ValueError("a device name is lowercase letters, digits, '.', '_' or '-' (at most 56)")
    out = await broker.create_key(
        principal=f"{PREFIX}{device}",
        description="Apple Health ingest from a phone",
        max_scopes=[SCOPE],
        max_resources=[RESOURCE],
        scopes=[SCOPE],
        resources=[RESOURCE],
        expires_in_days=days,
    )
    return IssuedToken(device, str(out["key_id"]), str(out["api_key"]), str(out["expires_at"]))


async def revoke(broker: BrokerClient, key_id: str) -> None:
    await broker.revoke_key(key_id, reason="device ingest token revoked")


class BrokerIngestTokens:
    """Checks a phone's bearer token with the broker; returns the device (``key-<key id>``) or None."""

    def __init__(self, broker: BrokerClient) -> None:
        self._broker = broker

    async def verify(self, token: str) -> str | None:
        """The device's key id (not secret) when the broker accepts the token for ``health.ingest``."""
        try:
            key_id = parse_api_key(token).key_id
        except MalformedApiKey:
            return None
        try:
            minted = await self._broker.mint(token, aud=AUDIENCE, scopes=[SCOPE], resource=RESOURCE, ttl_seconds=60)
        except BrokerClientError as exc:
            if exc.status in (401, 403):
                return None
            raise BrokerUnavailable(f"the broker answered {exc.status}") from None
        except httpx.TransportError:
            raise BrokerUnavailable("the broker is unreachable") from None
        if minted.get("scope") != SCOPE:
            return None
        return f"key-{key_id}"
