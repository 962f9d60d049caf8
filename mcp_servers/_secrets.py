"""Where a server puts a secret it obtains or rotates (an access token it exchanged, a token cache
the vendor's SDK refreshed): only the broker holds secrets.

:class:`BrokerSecretStore` writes through the broker's scoped write path: a short-lived token with
scope ``secrets.write`` bound to this server's resource (``mcp:<name>``) may create or rotate only
secrets bound to that resource, which is exactly what :class:`~tools.credentials.BrokerCredentials`
(bound to the same resource) reads back. ``ready()`` mints that token *before* a single-use public
token is spent, so a broker that refuses this server's writes costs nothing. The demo profile and the
tests use :class:`MemorySecretStore`, which writes into the :class:`StaticCredentials` the client reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

from broker.client import BrokerClient, BrokerClientError
from tools.credentials import AUDIENCE, StaticCredentials, read_api_key_file

if TYPE_CHECKING:
    from mcp_servers._common import Runtime

WRITE_SCOPE = "secrets.write"
SECRET_TYPE = "api-token"  # noqa: S105 - a vault type name, not a secret
TOKEN_TTL = 60


class SecretStoreUnavailable(Exception):
    """This process cannot store secrets (now); nothing was written."""


class SecretStore(Protocol):
    async def ready(self) -> None:
        """Raise :class:`SecretStoreUnavailable` unless a following :meth:`put` can succeed."""
        ...

    async def put(self, name: str, value: str) -> None:
        """Store (or replace) secret ``name``; raise :class:`SecretStoreUnavailable` on refusal."""
        ...

    async def delete(self, name: str) -> bool:
        """Purge secret ``name`` (every version); False when there was none. Raise
        :class:`SecretStoreUnavailable` when it may exist but cannot be purged now."""
        ...


class MemorySecretStore:
    """Process memory only (demo profile, tests): the value is gone when the process ends."""

    def __init__(self, credentials: StaticCredentials, secret_type: str = SECRET_TYPE) -> None:
        self.credentials = credentials
        self.names: list[str] = []
        self._type = secret_type

    async def ready(self) -> None:
        return None

    async def put(self, name: str, value: str) -> None:
        if self._type == SECRET_TYPE and (not value.strip() or any(c.isspace() for c in value.strip())):
            # What the broker's vault refuses, refused here too, so a demo or a test finds it.
            raise SecretStoreUnavailable(f"the vault keeps {name} as one line without spaces")
        self.credentials.set(name, value)
        self.names.append(name)

    async def delete(self, name: str) -> bool:
        return self.credentials.remove(name)


class NoSecretStore:
    """A store that refuses every write (a deployment where this server may not write secrets)."""

    async def ready(self) -> None:
        raise SecretStoreUnavailable("this server may not store secrets")

    async def put(self, name: str, value: str) -> None:
        raise SecretStoreUnavailable("this server may not store secrets")

    async def delete(self, name: str) -> bool:
        raise SecretStoreUnavailable("this server may not store secrets")


class BrokerSecretStore:
    """Create-or-rotate through ``POST``/``PUT /v1/secrets`` with a token bound to ``resource``."""

    def __init__(
        self,
        broker: BrokerClient,
        *,
        api_key_file: Path,
        resource: str,
        secret_type: str = SECRET_TYPE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._broker = broker
        self._api_key = read_api_key_file(api_key_file)
        self.resource = resource
        self._type = secret_type
        self._clock = clock
        self._token: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"BrokerSecretStore(resource={self.resource!r})"

    async def _write_token(self) -> str:
        if self._token is not None and self._token[1] > self._clock():
            return self._token[0]
        try:
            minted = await self._broker.mint(
                self._api_key, aud=AUDIENCE, scopes=[WRITE_SCOPE], resource=self.resource, ttl_seconds=TOKEN_TTL
            )
        except BrokerClientError as exc:
            raise SecretStoreUnavailable(f"the broker refused this server a {WRITE_SCOPE} token: {exc.code}") from None
        except httpx.TransportError as exc:
            raise SecretStoreUnavailable(f"cannot reach the broker: {type(exc).__name__}") from None
        lifetime = float(minted.get("expires_in", TOKEN_TTL))
        self._token = (str(minted["access_token"]), self._clock() + max(0.0, lifetime - 10))
        return self._token[0]

    async def ready(self) -> None:
        await self._write_token()

    async def put(self, name: str, value: str) -> None:
        token = await self._write_token()
        try:
            try:
                await self._broker.add_secret(name, value, kind=self._type, resource=self.resource, token=token)
            except BrokerClientError as exc:
                if exc.status != 409:
                    raise
                await self._broker.rotate_secret(name, value, token=token)  # reconnecting an Item
        except BrokerClientError as exc:
            raise SecretStoreUnavailable(f"the broker refused to store {name}: {exc.code}") from None
        except httpx.TransportError as exc:
            raise SecretStoreUnavailable(f"cannot reach the broker to store {name}: {type(exc).__name__}") from None

    async def delete(self, name: str) -> bool:
        token = await self._write_token()
        try:
            await self._broker.delete_secret(name, purge=True, token=token)
        except BrokerClientError as exc:
            if exc.status == 404 or exc.code == "secret_not_writable":  # none of ours by that name (the
                return False  # broker answers the same for a missing secret and another resource's)
            raise SecretStoreUnavailable(f"the broker refused to purge {name}: {exc.code}") from None
        except httpx.TransportError as exc:
            raise SecretStoreUnavailable(f"cannot reach the broker to purge {name}: {type(exc).__name__}") from None
        return True


def server_secret_store(runtime: Runtime, secret_type: str = SECRET_TYPE) -> SecretStore:
    """The server's own write path: the broker's vault, or memory when no broker runs at all."""
    if runtime.standalone and isinstance(runtime.credentials, StaticCredentials):  # ``aegis mcp NAME --demo``
        return MemorySecretStore(runtime.credentials, secret_type)
    return BrokerSecretStore(
        runtime.broker,
        api_key_file=runtime.settings.key_file,
        resource=runtime.settings.resource,
        secret_type=secret_type,
    )
