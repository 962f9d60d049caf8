"""The runtime every MCP tool server shares: settings, storage, keys, credentials, per-call tokens.

A server process is started with (environment):

===========================  ===================================================================
``AEGIS_BROKER_URL``         the broker (default ``http://127.0.0.1:8421``)
``AEGIS_BROKER_ISSUER``      the ``iss`` of its tokens (default: the broker URL)
``AEGIS_MCP_KEY_FILE``       this server's own broker API key, in a 0600 file (required)
``AEGIS_DATABASE_URL``       the Aegis database (required)
``AEGIS_DEMO``               ``1``: the vendor API is the in-memory demo sandbox from ``tools``
``AEGIS_MCP_CALL_TOKENS``    ``required`` (default) or ``off`` (only to run under a third-party client)
===========================  ===================================================================

With its API key the server fetches only its own data-key domain (its manifest's ``data_domain``)
and reads vendor credentials only through :class:`~tools.credentials.BrokerCredentials` bound to
its own resource (``mcp:<name>``). Every tool call carries ``_meta["aegis/token"]``: a broker
token for audience ``mcp-<name>``, resource ``mcp:<name>`` and the tool's scope, checked by
:class:`CallGate` with :mod:`broker.verify` before the tool does anything.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

import httpx
import structlog
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from typing_extensions import TypedDict

from broker.client import BrokerClient, BrokerClientError
from broker.grants import fetch_keyring
from broker.tls import client_verify
from broker.verify import KeySet, VerificationError, Verifier, require_scopes, verify_token
from storage.audit import AuditEvent, AuditLog, ChainKey
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.db import Database
from tools._http import build_http_client
from tools.credentials import (
    BrokerCredentials,
    CredentialProvider,
    LayeredCredentials,
    StaticCredentials,
    read_api_key_file,
)
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, NotFound, RateLimited

log = structlog.get_logger("aegis.mcp_servers")

DEFAULT_BROKER_URL: Final = "http://127.0.0.1:8421"
TOKEN_META: Final = "aegis/token"  # noqa: S105 - the _meta key name, not a secret

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOCAL_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
SYNC = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
CREATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
SEND = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)


class Source(TypedDict):
    """Provenance of third-party content in a result (advisory: the gateway labels independently)."""

    channel: str
    server: str
    item_id: str
    principal: str | None


class ConfigError(Exception):
    """The server's environment is incomplete or wrong; the process cannot start."""


@dataclass(frozen=True)
class ServerSettings:
    name: str
    broker_url: str
    issuer: str
    key_file: Path
    database_url: str
    demo: bool
    call_tokens: bool
    broker_ca_file: Path | None = None

    @property
    def audience(self) -> str:
        return f"mcp-{self.name}"

    @property
    def resource(self) -> str:
        return f"mcp:{self.name}"

    @classmethod
    def from_env(cls, name: str, env: Mapping[str, str]) -> ServerSettings:
        broker = env.get("AEGIS_BROKER_URL", DEFAULT_BROKER_URL).rstrip("/")
        key_file = env.get("AEGIS_MCP_KEY_FILE")
        database = env.get("AEGIS_DATABASE_URL")
        if not key_file:
            raise ConfigError("AEGIS_MCP_KEY_FILE must name this server's broker API key file")
        if not database:
            raise ConfigError("AEGIS_DATABASE_URL must be set")
        tokens = env.get("AEGIS_MCP_CALL_TOKENS", "required")
        if tokens not in ("required", "off"):
            raise ConfigError("AEGIS_MCP_CALL_TOKENS must be 'required' or 'off'")
        demo = env.get("AEGIS_DEMO", "")
        if demo not in ("", "0", "1"):
            raise ConfigError("AEGIS_DEMO must be 0 or 1")
        return cls(
            name=name,
            broker_url=broker,
            issuer=env.get("AEGIS_BROKER_ISSUER", broker),
            key_file=Path(key_file),
            database_url=database,
            demo=demo == "1",
            call_tokens=tokens == "required",
            broker_ca_file=Path(env["AEGIS_BROKER_CA_FILE"]) if env.get("AEGIS_BROKER_CA_FILE") else None,
        )


# ---- per-call tokens -----------------------------------------------------------------------

Verify = Callable[[str], Awaitable[dict[str, Any]]]


def keyset_verify(keys: KeySet, *, issuer: str, audience: str, clock: Callable[[], float]) -> Verify:
    """A :data:`Verify` over a fixed key set (tests, or a pinned JWKS)."""

    async def verify(token: str) -> dict[str, Any]:
        return verify_token(token, keys=keys, issuer=issuer, audience=audience, now=int(clock()))

    return verify


class CallGate:
    """Refuses a tool call unless its ``_meta`` carries a valid broker token with the tool's scope.

    ``verify`` checks signature, issuer, exact audience and lifetime (``Verifier.verify`` in
    production); the gate then requires the scope and this server's resource. ``verify=None`` turns
    the check off (``AEGIS_MCP_CALL_TOKENS=off``). Refusals name a reason code, never the token.
    """

    def __init__(self, *, server: str, resource: str, verify: Verify | None) -> None:
        self.server = server
        self.resource = resource
        self._verify = verify

    @property
    def enforcing(self) -> bool:
        return self._verify is not None

    async def check(self, ctx: Context, scope: str, tool: str) -> dict[str, Any] | None:
        """The verified claims (None when checks are off); raises :class:`ToolError` on refusal."""
        if self._verify is None:
            return None
        meta = ctx.request_context.meta or {}
        token = meta.get(TOKEN_META)
        if not isinstance(token, str) or not token:
            self._refuse("missing_token", tool)
        try:
            claims = await self._verify(token)
            require_scopes(claims, [scope])
        except VerificationError as exc:
            self._refuse(exc.code, tool)
        if claims.get("resource") != self.resource:
            self._refuse("resource_mismatch", tool)
        return claims

    def _refuse(self, code: str, tool: str) -> NoReturn:
        log.warning("mcp.call_refused", server=self.server, tool=tool, reason=code)
        raise ToolError(f"call refused: {code} (this server needs a broker token for the call)")


def audit_details(claims: Mapping[str, Any] | None, **details: Any) -> dict[str, Any]:
    """Audit details: who authorised the call (token subject and jti, never the token) plus ``details``."""
    if claims is not None:
        details |= {"sub": claims.get("sub"), "jti": claims.get("jti")}
    else:
        details |= {"call_tokens": "off"}
    return details


# ---- errors --------------------------------------------------------------------------------


@contextmanager
def vendor_errors(integration: str) -> Iterator[None]:
    """Turn the typed integration errors into tool errors the model can read and act on."""
    try:
        yield
    except AuthExpired as exc:
        detail = exc.display_message or exc.code or "credentials rejected"
        raise ToolError(
            f"{integration}: the owner must reconnect this account ({exc.code or 'auth_expired'}): {detail}"
        ) from None
    except RateLimited as exc:
        after = f"; retry after {int(exc.retry_after)} s" if exc.retry_after is not None else ""
        raise ToolError(f"{integration}: rate limited{after}") from None
    except NotFound:
        raise ToolError(f"{integration}: not found") from None
    except InvalidRequest as exc:
        raise ToolError(f"{integration}: invalid request: {exc.message[:300]}") from None
    except IntegrationError as exc:
        raise ToolError(
            f"{integration}: the service is unavailable, try again later ({exc.code or 'upstream'})"
        ) from None


# ---- runtime -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """The demo profile's vendor side: credentials and an in-memory transport from ``tools.<x>.demo``."""

    credentials: Mapping[str, str]
    transport: httpx.AsyncBaseTransport


@dataclass
class Runtime:
    settings: ServerSettings
    broker: BrokerClient
    db: Database
    keyring: Keyring
    cipher: FieldCipher
    credentials: CredentialProvider
    http: httpx.AsyncClient
    gate: CallGate
    audit: AuditLog
    standalone: bool = False  # no broker at all (``aegis mcp NAME --demo``)


def audit_log(keyring: Keyring, domain: str) -> AuditLog:
    """Audit writer; sensitive identifiers are hashed with this server's own domain index key."""
    return AuditLog(lambda value: keyring.blind_index(domain, value), key=ChainKey.of(keyring))


async def record(db: Database, audit: AuditLog, event: AuditEvent) -> None:
    async with db.transaction() as session:
        await audit.append(session, event)


@asynccontextmanager
async def open_runtime(settings: ServerSettings, *, domain: str, demo: Demo | None) -> AsyncIterator[Runtime]:
    """Everything a server needs, closed in reverse order on exit."""
    async with AsyncExitStack() as stack:
        broker_http = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=settings.broker_url,
                timeout=30,
                trust_env=False,
                follow_redirects=False,
                verify=client_verify(settings.broker_ca_file),
            )
        )
        broker = BrokerClient(broker_http)
        keyring = await fetch_keyring(broker, read_api_key_file(settings.key_file), {domain, "chain"})
        db = Database(settings.database_url)
        stack.push_async_callback(db.dispose)
        credentials: CredentialProvider
        if demo is not None:
            vault = BrokerCredentials(broker, api_key_file=settings.key_file, resource=settings.resource)
            credentials = LayeredCredentials(StaticCredentials(demo.credentials), vault)
            http = build_http_client(transport=demo.transport)
        else:
            credentials = BrokerCredentials(broker, api_key_file=settings.key_file, resource=settings.resource)
            http = build_http_client()
        stack.push_async_callback(http.aclose)
        verify: Verify | None = None
        if settings.call_tokens:
            verifier = Verifier(
                issuer=settings.issuer,
                audience=settings.audience,
                jwks_url=f"{settings.broker_url}/.well-known/jwks.json",
                http=broker_http,
            )
            verify = verifier.verify
        else:
            log.warning(
                "mcp.call_tokens_off",
                server=settings.name,
                note="tool calls are not checked against broker tokens; use only under a trusted MCP client",
            )
        yield Runtime(
            settings=settings,
            broker=broker,
            db=db,
            keyring=keyring,
            cipher=FieldCipher(keyring),
            credentials=credentials,
            http=http,
            gate=CallGate(server=settings.name, resource=settings.resource, verify=verify),
            audit=audit_log(keyring, domain),
        )


def run_server(name: str, demo: Callable[[], Demo], build: Callable[[Runtime], MCPServer]) -> None:
    """The ``python -m mcp_servers.<name>`` entry point: environment → runtime → stdio server.

    ``AEGIS_MCP_MODE`` is ``aegis`` (default: started by Aegis, every call carries a broker token),
    ``external`` or ``demo`` (a third-party MCP client; see :mod:`mcp_servers._standalone`). The data
    domain comes from the integration's manifest. Logs go to stderr (stdout carries the MCP
    protocol), through the project's redacting pipeline.
    """
    from aegis.logs import Redactor, configure_logging
    from integrations import load_manifest
    from mcp_servers import _standalone

    redactor = Redactor()
    level = os.environ.get("AEGIS_LOG_LEVEL", "INFO").upper()
    configure_logging(redactor, level=level if level in {"DEBUG", "INFO", "WARNING", "ERROR"} else "INFO")
    mode = os.environ.get("AEGIS_MCP_MODE", "aegis")
    try:
        if mode not in _standalone.MODES:
            raise ConfigError(f"AEGIS_MCP_MODE must be one of {', '.join(_standalone.MODES)}")
        domain = load_manifest(name).identity.data_domain
        env = dict(os.environ)
        if mode == "external":
            env["AEGIS_MCP_CALL_TOKENS"] = "off"
        settings = None if mode == "demo" else ServerSettings.from_env(name, env)
        if settings is not None:
            redactor.register(read_api_key_file(settings.key_file))
    except (ConfigError, IntegrationError, ValueError) as exc:
        log.error("mcp.config", server=name, error=str(exc))
        raise SystemExit(2) from None

    async def serve() -> None:
        runtime_cm = (
            _standalone.demo_runtime(name, domain, demo())
            if settings is None
            else open_runtime(settings, domain=domain, demo=demo() if settings.demo else None)
        )
        async with runtime_cm as runtime:
            server = build(runtime)
            if mode != "aegis":
                kept = _standalone.read_only(server, name)
                log.info("mcp.third_party_client", server=name, mode=mode, tools=kept)
            if mode == "demo":
                await _standalone.prepare_demo(server, name)
            log.info("mcp.start", server=name, demo=runtime.settings.demo, call_tokens=runtime.settings.call_tokens)
            await server.run_stdio_async()

    try:
        asyncio.run(serve())
    except (BrokerClientError, ConfigError, IntegrationError, httpx.TransportError) as exc:
        # E.g. the broker is down or refused this server's key: say why, without a traceback.
        log.error("mcp.start_failed", server=name, error=f"{type(exc).__name__}: {exc}"[:300])
        raise SystemExit(1) from None
