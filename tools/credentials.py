"""Where integration clients get their secrets: through the broker, held in memory only, briefly.

:class:`BrokerCredentials` is what an MCP server process uses. It holds that server's own broker API
key (read once from a private file), mints a short-lived token restricted to the server's resource
(``aud="aegis"``, ``scopes=["secrets.read"]``, ``resource="mcp:<server>"``), and reads a secret with
``GET /v1/secrets/{name}``. Plaintext lives only in this object's memory and only until the token it
was read with expires; nothing is ever written to disk. ``invalidate()`` drops it, so the next
``get()`` reads the current value (after an ``AuthExpired``, the owner may have reconnected).

Python strings cannot be wiped; "dropping" means no reference remains in this object.
:class:`StaticCredentials` serves tests and the demo profile.
"""

from __future__ import annotations

import asyncio
import base64
import stat
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from broker.client import BrokerClient, BrokerClientError
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, RateLimited, UpstreamError

AUDIENCE = "aegis"
READ_SCOPE = "secrets.read"
# Refresh this many seconds before the token's expiry, so a value is never used at the edge.
EXPIRY_SKEW = 5.0


class CredentialProvider(Protocol):
    async def get(self, name: str) -> str:
        """The current plaintext of secret ``name``; raises an :class:`IntegrationError` if unavailable."""
        ...

    def invalidate(self, name: str | None = None) -> None:
        """Forget ``name`` (or everything), so the next ``get`` reads it again."""
        ...


class StaticCredentials:
    """Fixed values, for tests and the demo profile. Counts reads and invalidations for assertions."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.reads: list[str] = []
        self.invalidated: list[str | None] = []

    async def get(self, name: str) -> str:
        self.reads.append(name)
        try:
            return self._values[name]
        except KeyError:
            raise AuthExpired(f"no credential named {name!r} is configured", integration="credentials") from None

    def invalidate(self, name: str | None = None) -> None:
        self.invalidated.append(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def remove(self, name: str) -> bool:
        """Drop ``name``; False when it was not there."""
        return self._values.pop(name, None) is not None

    def __repr__(self) -> str:
        return f"StaticCredentials(names={sorted(self._values)!r})"


class LayeredCredentials:
    """The demo profile inside Aegis: the vendor's demo application keys are fixed, everything the
    owner connects (an Item's access token, say) lives in the broker's vault like in production, so a
    connected demo stays connected across restarts."""

    def __init__(self, fixed: StaticCredentials, vault: CredentialProvider) -> None:
        self.fixed = fixed
        self.vault = vault

    async def get(self, name: str) -> str:
        try:
            return await self.fixed.get(name)
        except AuthExpired:
            return await self.vault.get(name)

    def invalidate(self, name: str | None = None) -> None:
        self.fixed.invalidate(name)
        self.vault.invalidate(name)

    def set(self, name: str, value: str) -> None:
        self.fixed.set(name, value)

    def __repr__(self) -> str:
        return f"LayeredCredentials({self.fixed!r})"


def read_api_key_file(path: Path) -> str:
    """Read a broker API key from a regular file that only its owner can access."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidRequest(f"broker API key file {path} does not exist", integration="broker") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidRequest(f"broker API key file {path} is not a regular file", integration="broker")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidRequest(
            f"broker API key file {path} is accessible by group or others; run: chmod 600 {path}",
            integration="broker",
        )
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise InvalidRequest(f"broker API key file {path} is empty", integration="broker")
    return key


@dataclass
class _Held:
    value: str
    expires_at: float


class BrokerCredentials:
    """Secrets read through the broker with a short-lived token bound to one resource."""

    def __init__(
        self,
        broker: BrokerClient,
        *,
        api_key_file: Path,
        resource: str,
        ttl_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._broker = broker
        self._api_key = read_api_key_file(api_key_file)
        self.resource = resource
        self._ttl = ttl_seconds
        self._clock = clock
        self._token: _Held | None = None
        self._secrets: dict[str, _Held] = {}
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"BrokerCredentials(resource={self.resource!r}, held={sorted(self._secrets)!r})"

    def held(self) -> list[str]:
        """Names of the secrets currently held in memory (for tests and diagnostics; never values)."""
        self._expire()
        return sorted(self._secrets)

    async def get(self, name: str) -> str:
        async with self._lock:
            self._expire()
            held = self._secrets.get(name)
            if held is not None:
                return held.value
            token = await self._current_token()
            body = await self._call(self._broker.read_secret(name, token.value), f"read secret {name!r}")
            value = body.get("value")
            if not isinstance(value, str):
                raise UpstreamError(f"the broker returned no value for secret {name!r}", integration="broker")
            self._secrets[name] = _Held(value, token.expires_at)
            return value

    def invalidate(self, name: str | None = None) -> None:
        if name is None:
            self._secrets.clear()
            self._token = None
        else:
            self._secrets.pop(name, None)

    def _expire(self) -> None:
        now = self._clock()
        if self._token is not None and self._token.expires_at <= now:
            self._token = None
        for key in [k for k, v in self._secrets.items() if v.expires_at <= now]:
            del self._secrets[key]

    async def _current_token(self) -> _Held:
        if self._token is None:
            minted = await self._call(
                self._broker.mint(
                    self._api_key, aud=AUDIENCE, scopes=[READ_SCOPE], resource=self.resource, ttl_seconds=self._ttl
                ),
                "mint a token",
            )
            lifetime = float(minted.get("expires_in", self._ttl))
            self._token = _Held(str(minted["access_token"]), self._clock() + max(0.0, lifetime - EXPIRY_SKEW))
        return self._token

    async def _call(self, pending: Awaitable[dict[str, Any]], what: str) -> dict[str, Any]:
        try:
            return await pending
        except BrokerClientError as exc:
            raise _broker_error(exc, what) from None
        except httpx.TransportError as exc:
            raise UpstreamError(
                f"cannot reach the broker to {what}: {type(exc).__name__}", integration="broker"
            ) from None


def _broker_error(exc: BrokerClientError, what: str) -> IntegrationError:
    message = f"the broker refused to {what}: {exc.code}"
    if exc.status == 429:
        return RateLimited(message, integration="broker", status=exc.status, code=exc.code)
    if exc.status in (401, 403, 404):
        # Revoked key, wrong resource, or no such secret: the owner must (re)connect the integration.
        return AuthExpired(message, integration="broker", status=exc.status, code=exc.code)
    if exc.status >= 500 or exc.status == 0:
        return UpstreamError(message, integration="broker", status=exc.status, code=exc.code)
    return InvalidRequest(message, integration="broker", status=exc.status, code=exc.code)


_ONE_LINE = "b64u."


def one_line(value: str) -> str:
    """A value the vault keeps as an ``api-token`` (one line, no spaces): base64url of its text,
    marked as such. For what a vendor library hands back whole (a JSON token bundle, a cookie list)."""
    return _ONE_LINE + base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")


def from_one_line(stored: str) -> str:
    """The text :func:`one_line` stored; a value put in the vault as it is (the owner's own paste)
    is returned unchanged."""
    if not stored.startswith(_ONE_LINE):
        return stored
    return base64.urlsafe_b64decode(stored[len(_ONE_LINE) :].encode("ascii")).decode("utf-8")
