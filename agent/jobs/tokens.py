"""Job-scoped tokens through the broker's RFC 8693 token exchange.

The scheduler holds a parent token (audience ``aegis``, scope ``tokens.exchange`` plus the sync
scopes, bound to the integration's MCP resource). For each run, :class:`JobTokens` exchanges it for
a short-lived child token narrowed to the one integration. ``act.sub`` is the scheduler's principal
(the broker puts the authenticated caller there, never a supplied name); the job's name
``job:<job_id>`` is recorded in the broker's audit row of the exchange. Scopes and resource only narrow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from agent.jobs.ports import JobError
from broker.client import BrokerClient, BrokerClientError
from integrations import Catalog


@dataclass(frozen=True)
class Grant:
    """What a sync job of one integration may hold: the MCP server's audience and resource, and scopes."""

    audience: str
    resource: str
    scopes: tuple[str, ...]


def grants_from(catalog: Catalog) -> dict[str, Grant]:
    """Each installed integration's job grant: its server's audience and resource, and the union of
    the scopes its jobs' grants name (from the manifests)."""
    out: dict[str, Grant] = {}
    for members in catalog.jobs.values():
        for m in members:
            held = out.get(m.integration)
            scopes = tuple(sorted({*(held.scopes if held else ()), *m.scopes}))
            out[m.integration] = Grant(m.audience, m.resource, scopes)
    return out


ParentToken = Callable[[Grant], Awaitable[str]]


class TokenExchanger(Protocol):
    async def exchange(
        self,
        subject_token: str,
        *,
        audience: str,
        scopes: list[str],
        resource: str,
        actor: str | None = None,
        ttl_seconds: int | None = None,
    ) -> dict[str, Any]: ...


class JobTokens:
    """Implements :class:`agent.jobs.ports.TokenSource` against the broker."""

    def __init__(
        self,
        broker: TokenExchanger,
        parent: ParentToken,
        *,
        grants: Mapping[str, Grant] | None = None,
        ttl_seconds: int = 300,
    ) -> None:
        self._broker, self._parent = broker, parent
        self._grants = dict(grants_from(Catalog.load()) if grants is None else grants)
        self._ttl = ttl_seconds

    async def for_job(self, job_id: str, integration: str) -> str:
        grant = self._grants.get(integration)
        if grant is None:
            raise JobError(f"no token grant configured for integration {integration!r}")
        try:
            subject = await self._parent(grant)
            out = await self._broker.exchange(
                subject,
                audience=grant.audience,
                scopes=list(grant.scopes),
                resource=grant.resource,
                actor=f"job:{job_id}",
                ttl_seconds=self._ttl,
            )
        except BrokerClientError as exc:
            raise JobError(f"the broker refused the job token: {exc.code}") from None
        except httpx.HTTPError as exc:
            raise JobError(f"the broker is unreachable ({type(exc).__name__})") from None
        token = out.get("access_token")
        if not isinstance(token, str) or not token:
            raise JobError("the broker returned no job token")
        return token


def minting_parent(client: BrokerClient, api_key: str, *, ttl_seconds: int = 600) -> ParentToken:
    """A parent source that mints with the scheduler principal's API key (read from a secret file by
    the composition root): audience ``aegis``, ``tokens.exchange`` plus the grant's scopes."""

    async def parent(grant: Grant) -> str:
        scopes: Sequence[str] = ("tokens.exchange", *grant.scopes)
        out = await client.mint(
            api_key, aud="aegis", scopes=list(scopes), resource=grant.resource, ttl_seconds=ttl_seconds
        )
        token = out.get("access_token")
        if not isinstance(token, str):
            raise JobError("the broker returned no parent token")
        return token

    return parent
