"""Short-lived broker tokens for tool calls: one audience per MCP server, one scope per tool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from broker.client import BrokerClient


class CallTokens:
    """Mints tokens with this process's API key and reuses each until shortly before it expires."""

    def __init__(
        self,
        client: BrokerClient,
        api_key: str,
        *,
        ttl: int = 300,
        margin: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._key = api_key
        self._ttl = ttl
        self._margin = margin
        self._clock = clock
        self._cache: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"CallTokens(cached={len(self._cache)})"

    async def token(self, audience: str, scope: str, resource: str) -> str:
        key = (audience, scope, resource)
        async with self._lock:
            held = self._cache.get(key)
            if held is not None and held[1] - self._margin > self._clock():
                return held[0]
            out = await self._client.mint(
                self._key, aud=audience, scopes=[scope], resource=resource, ttl_seconds=self._ttl
            )
            self._cache[key] = (out["access_token"], self._clock() + int(out["expires_in"]))
            return str(out["access_token"])

    def forget(self) -> None:
        self._cache.clear()
