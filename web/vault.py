"""The console's view of the broker's secrets vault: metadata, add, rotate, purge. Never a value back.

:class:`BrokerVault` talks to the broker through :class:`broker.client.BrokerClient` in one of two ways:

* **scoped** (the default, ``tokens`` given): every call carries a short-lived broker token minted
  with the console's own API key, scope ``secrets.write`` (or ``secrets.list``) and the secret's
  resource, so the console can write only secrets bound to resources in its ceiling
  (each installed integration's ``mcp:<name>``);
* **admin** (``tokens=None``, a client built with the broker admin token): embedded mode only, for a
  console that was explicitly configured with the admin token.

Errors become :class:`VaultError` with a fixed, value-free message: nothing the broker says is
echoed to the page, so a value can never come back through an error either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from broker.client import BrokerClient, BrokerClientError

AUDIENCE = "aegis"  # the broker's own audience
TYPES = ("api-token", "password", "oauth-token", "ssh-private-key")
MESSAGES = {
    "secret_exists": "A secret with that name exists already: rotate it instead.",
    "unknown_secret": "There is no such secret.",
    "secret_not_writable": "The console may not write that secret (its resource is outside the console's reach).",
    "invalid_name": "Secret names are 1-128 letters, digits and . _ : @ -",
    "invalid_value": "The value does not fit the chosen type.",
    "invalid_type": "Unknown secret type.",
    "invalid_resource": "That resource cannot hold secrets.",
    "no_admin_token": "The console has no way to write secrets (no broker access configured).",
    "unreachable": "The credential broker is restarting: try again in a moment.",
    "sealed": "The credential broker is sealed (its master key is missing or wrong): see its log.",
}


class TokenSource(Protocol):
    async def token(self, audience: str, scope: str, resource: str) -> str: ...


class VaultError(Exception):
    """A refused or failed vault call; ``message`` is fixed text safe to show."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.message = MESSAGES.get(code, "The secrets vault refused the request.")
        super().__init__(code)


@dataclass(frozen=True)
class SecretMeta:
    name: str
    type: str
    resource: str | None
    version: int
    updated_at: datetime | None

    @classmethod
    def from_broker(cls, doc: dict[str, Any]) -> SecretMeta:
        raw = doc.get("updated_at")
        return cls(
            name=str(doc["name"]),
            type=str(doc.get("type", "")),
            resource=doc.get("resource"),
            version=int(doc.get("version", 0)),
            updated_at=datetime.fromisoformat(raw) if isinstance(raw, str) else None,
        )


class SecretVault(Protocol):
    @property
    def resources(self) -> tuple[str, ...]:
        """The resources this console may bind secrets to (shown as choices)."""
        ...

    @property
    def mode(self) -> str:
        """ "scoped" or "admin" (shown on the Secrets page)."""
        ...

    async def list(self) -> list[SecretMeta]: ...

    async def add(self, name: str, value: str, *, kind: str, resource: str) -> SecretMeta: ...

    async def rotate(self, name: str, value: str) -> SecretMeta: ...

    async def put(self, name: str, value: str, *, kind: str, resource: str) -> SecretMeta:
        """Rotate if it exists, else add (used by connect flows)."""
        ...

    async def purge(self, name: str) -> bool:
        """Delete and destroy every version; False if there was nothing to purge."""
        ...


class BrokerVault:
    def __init__(
        self,
        client: BrokerClient,
        *,
        tokens: TokenSource | None,
        resources: tuple[str, ...],
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._resources = resources

    @property
    def resources(self) -> tuple[str, ...]:
        return self._resources

    @property
    def mode(self) -> str:
        return "admin" if self._tokens is None else "scoped"

    async def _token(self, scope: str, resource: str) -> str | None:
        if self._tokens is None:
            return None
        if resource not in self._resources:
            raise VaultError("secret_not_writable")
        try:
            return await self._tokens.token(AUDIENCE, scope, resource)
        except BrokerClientError as exc:
            raise VaultError(exc.code) from None
        except httpx.HTTPError:  # the broker is down (its supervisor restarts it)
            raise VaultError("unreachable") from None

    async def _guard(self, call: Any) -> Any:
        try:
            return await call
        except BrokerClientError as exc:
            raise VaultError(exc.code) from None
        except httpx.HTTPError:
            raise VaultError("unreachable") from None

    async def list(self) -> list[SecretMeta]:
        token = await self._token("secrets.list", self._resources[0])
        docs = await self._guard(self._client.list_secrets(token=token))
        return [SecretMeta.from_broker(d) for d in docs if d.get("resource") in self._resources]

    async def _find(self, name: str) -> SecretMeta | None:
        return next((m for m in await self.list() if m.name == name), None)

    async def add(self, name: str, value: str, *, kind: str, resource: str) -> SecretMeta:
        if kind not in TYPES:
            raise VaultError("invalid_type")
        if resource not in self._resources:
            raise VaultError("secret_not_writable")
        token = await self._token("secrets.write", resource)
        doc = await self._guard(self._client.add_secret(name, value, kind=kind, resource=resource, token=token))
        return SecretMeta.from_broker(doc)

    async def rotate(self, name: str, value: str) -> SecretMeta:
        found = await self._find(name)
        if found is None or found.resource is None:
            raise VaultError("unknown_secret")
        token = await self._token("secrets.write", found.resource)
        doc = await self._guard(self._client.rotate_secret(name, value, token=token))
        return SecretMeta.from_broker(doc)

    async def put(self, name: str, value: str, *, kind: str, resource: str) -> SecretMeta:
        if await self._find(name) is not None:
            return await self.rotate(name, value)
        return await self.add(name, value, kind=kind, resource=resource)

    async def purge(self, name: str) -> bool:
        found = await self._find(name)
        if found is None or found.resource is None:
            return False
        token = await self._token("secrets.write", found.resource)
        await self._guard(self._client.delete_secret(name, purge=True, token=token))
        return True
