"""Per-device ingest tokens: broker API keys that can mint nothing but ``health.ingest`` for this server.

The console issues, lists and revokes them (a principal per device whose ceiling is
``health.ingest`` on ``mcp:applehealth``). Checking a token asks the broker to mint a one-minute
token with it: the broker answers only for a live, unrevoked, unexpired key of an enabled principal with that scope,
and counts failures towards its lockout. The minted token itself is discarded.
"""

from __future__ import annotations

from typing import Final

import httpx

from broker.apikeys import MalformedApiKey, parse_api_key
from broker.client import BrokerClient, BrokerClientError

SCOPE: Final = "health.ingest"
RESOURCE: Final = "mcp:applehealth"
AUDIENCE: Final = "mcp-applehealth"


class BrokerUnavailable(Exception):
    """The broker could not be asked (down, sealed): the phone should retry later (503)."""


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
