"""Broker tokens for the bridge: ``aud="whatsapp-bridge"``, one scope per token, bound to a resource.

:class:`BridgeTokens` is a :class:`tools.credentials.CredentialProvider` whose "secret names" are the
bridge's scopes: ``get("whatsapp.send")`` mints (through the broker, with this server's own API key,
read from a private file by :func:`tools.credentials.read_api_key_file`) a short-lived token carrying
that scope only, and holds it in memory until just before it expires. Nothing is written to disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from broker.client import BrokerClient, BrokerClientError
from tools.credentials import EXPIRY_SKEW, _broker_error, read_api_key_file
from tools.errors import InvalidRequest, UpstreamError

AUDIENCE = "whatsapp-bridge"
RESOURCE = "mcp:whatsapp"
SCOPES = frozenset({"whatsapp.status", "whatsapp.read", "whatsapp.send", "whatsapp.pair"})


@dataclass
class _Held:
    token: str
    expires_at: float


class BridgeTokens:
    """Short-lived bridge tokens minted by the broker, one per scope, held in memory only."""

    def __init__(
        self,
        broker: BrokerClient,
        *,
        api_key_file: Path,
        resource: str = RESOURCE,
        ttl_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._broker = broker
        self._api_key = read_api_key_file(api_key_file)
        self.resource = resource
        self._ttl = ttl_seconds
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"BridgeTokens(resource={self.resource!r}, held={sorted(self._held)!r})"

    async def get(self, name: str) -> str:
        if name not in SCOPES:
            raise InvalidRequest(f"no bridge scope named {name!r}", integration="whatsapp")
        async with self._lock:
            held = self._held.get(name)
            if held is not None and held.expires_at > self._clock():
                return held.token
            try:
                minted = await self._broker.mint(
                    self._api_key, aud=AUDIENCE, scopes=[name], resource=self.resource, ttl_seconds=self._ttl
                )
            except BrokerClientError as exc:
                raise _broker_error(exc, "mint a WhatsApp bridge token") from None
            except httpx.TransportError as exc:
                raise UpstreamError(
                    f"cannot reach the broker to mint a WhatsApp bridge token: {type(exc).__name__}",
                    integration="broker",
                ) from None
            lifetime = float(minted.get("expires_in", self._ttl))
            token = str(minted["access_token"])
            self._held[name] = _Held(token, self._clock() + max(0.0, lifetime - EXPIRY_SKEW))
            return token

    def invalidate(self, name: str | None = None) -> None:
        if name is None:
            self._held.clear()
        else:
            self._held.pop(name, None)
