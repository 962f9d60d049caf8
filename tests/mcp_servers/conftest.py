"""Harness for the MCP servers: a broker signing key whose JWKS the production :class:`Verifier`
fetches over an ``httpx.MockTransport``, a token minter, and a keyring of the servers' domains."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult, RequestParamsMeta

from broker.tokens import SigningKey, jwks, mint_token
from broker.verify import Verifier
from mcp_servers._common import TOKEN_META, CallGate, audit_log
from mcp_servers.gmail.server import GmailDeps, build_server
from mcp_servers.gmail.service import GmailService
from mcp_servers.gmail.store import MailStore
from mcp_servers.memory.server import MemoryDeps
from mcp_servers.memory.server import build_server as build_memory
from mcp_servers.memory.service import MemoryService
from mcp_servers.memory.store import MemoryStore
from mcp_servers.plaid.secrets import MemorySecretStore
from mcp_servers.plaid.server import PlaidDeps
from mcp_servers.plaid.server import build_server as build_plaid
from mcp_servers.plaid.service import PlaidService
from mcp_servers.plaid.store import FinanceStore
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.broker.conftest import FakeClock, start_broker
from tools._http import RetryPolicy, build_http_client
from tools.credentials import StaticCredentials
from tools.gmail.client import GmailClient
from tools.gmail.demo import DemoMailbox, demo_credentials, demo_transport
from tools.plaid import demo as plaid_demo
from tools.plaid.client import PlaidClient

ISSUER = "https://broker.test"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
NOW = 1_900_000_000


async def _no_sleep(_seconds: float) -> None:
    return None


NO_RETRY_WAIT = RetryPolicy(sleep=_no_sleep)


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Tokens:
    """Mints broker access tokens for one server (``mcp-<server>`` / ``mcp:<server>`` by default)."""

    key: SigningKey
    clock: Clock
    server: str
    minted: list[str] = field(default_factory=list)

    def mint(self, *scopes: str, **overrides: Any) -> str:
        args: dict[str, Any] = {
            "issuer": ISSUER,
            "subject": "console",
            "client_id": "k-console",
            "audience": f"mcp-{self.server}",
            "scopes": list(scopes),
            "resource": f"mcp:{self.server}",
            "ttl_seconds": 300,
            "txn": "txn-test",
            "now": int(self.clock()),
        }
        token, _claims = mint_token(overrides.pop("key", self.key), **(args | overrides))
        self.minted.append(token)
        return token

    def meta(self, *scopes: str, **overrides: Any) -> RequestParamsMeta:
        return cast(RequestParamsMeta, {TOKEN_META: self.mint(*scopes, **overrides)})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate(NOW)


@pytest.fixture
async def jwks_http(signing_key: SigningKey) -> AsyncIterator[httpx.AsyncClient]:
    doc = jwks([signing_key])

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == JWKS_URL:
            return httpx.Response(200, json=doc)
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        yield http


@pytest.fixture
def make_gate(jwks_http: httpx.AsyncClient, clock: Clock) -> Callable[[str], CallGate]:
    """The production verification path: ``Verifier`` against the (mocked) broker JWKS."""

    def make(server: str) -> CallGate:
        verifier = Verifier(issuer=ISSUER, audience=f"mcp-{server}", jwks_url=JWKS_URL, http=jwks_http, clock=clock)
        return CallGate(server=server, resource=f"mcp:{server}", verify=verifier.verify)

    return make


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(
        [
            DataKey(f"{domain}.{purpose}.v1", os.urandom(32), ACTIVE)
            for domain in ("mail", "finance", "memory", "chain")
            for purpose in ("enc", "idx")
        ]
    )


@pytest.fixture
def cipher(keyring: Keyring) -> FieldCipher:
    return FieldCipher(keyring)


@pytest.fixture
def mail_audit(keyring: Keyring) -> AuditLog:
    return audit_log(keyring, "mail")


@pytest.fixture
def finance_audit(keyring: Keyring) -> AuditLog:
    return audit_log(keyring, "finance")


async def call(client: Client, tokens: Tokens, tool: str, args: dict[str, Any] | None = None, *scopes: str) -> Any:
    """Call ``tool`` with a valid token for ``scopes``; assert success; return the structured content."""
    result = await client.call_tool(tool, args or {}, meta=tokens.meta(*scopes))
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


# ---- Gmail over the demo mailbox (the vendor faked only at the HTTP edge) ----------------------


@dataclass
class Gmail:
    client: Client
    tokens: Tokens
    mailbox: DemoMailbox
    service: GmailService
    db: Database


@pytest.fixture
async def gmail(
    db: Database,
    cipher: FieldCipher,
    mail_audit: AuditLog,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Gmail]:
    mailbox = DemoMailbox()
    async with build_http_client(transport=demo_transport(mailbox)) as http:
        client = GmailClient(http, StaticCredentials(demo_credentials()), retry=NO_RETRY_WAIT)
        service = GmailService(client, MailStore(db, cipher), db, mail_audit)
        server = build_server(GmailDeps(service=service, gate=make_gate("gmail")))
        tokens = Tokens(signing_key, clock, "gmail")
        async with Client(server) as mcp_client:
            yield Gmail(mcp_client, tokens, mailbox, service, db)


# ---- Plaid over the demo sandbox, behind a network edge that can fail on cue ------------------


class Crash(Exception):
    """The process dies here (not a network error: nothing retries it)."""


class PlaidEdge:
    """Wraps the demo sandbox: records each ``/transactions/sync`` cursor, crashes or answers with a
    given response on the n-th sync call, or rewrites a sync response (e.g. to add ``modified``)."""

    def __init__(self, sandbox: plaid_demo.DemoPlaid) -> None:
        self.sandbox = sandbox
        self.sync_cursors: list[str | None] = []
        self.crash_on: int | None = None
        self.answer: dict[int, httpx.Response] = {}
        self.rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/transactions/sync":
            return self.sandbox.handler(request)
        self.sync_cursors.append(json.loads(request.content).get("cursor"))
        n = len(self.sync_cursors)
        if n == self.crash_on:
            raise Crash(f"crashed at sync call {n}")
        if n in self.answer:
            return self.answer[n]
        response = self.sandbox.handler(request)
        if self.rewrite is not None and response.status_code == 200:
            return httpx.Response(200, json=self.rewrite(response.json()))
        return response


@dataclass
class Plaid:
    client: Client
    tokens: Tokens
    sandbox: plaid_demo.DemoPlaid
    edge: PlaidEdge
    service: PlaidService
    secrets: MemorySecretStore
    credentials: StaticCredentials
    db: Database


@pytest.fixture
async def plaid(
    db: Database,
    cipher: FieldCipher,
    finance_audit: AuditLog,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Plaid]:
    sandbox = plaid_demo.DemoPlaid()
    edge = PlaidEdge(sandbox)
    async with build_http_client(transport=httpx.MockTransport(edge.handler)) as http:
        credentials = StaticCredentials(plaid_demo.demo_credentials())
        client = PlaidClient(http, credentials, "sandbox", retry=NO_RETRY_WAIT)
        secrets = MemorySecretStore(credentials)
        service = PlaidService(client, FinanceStore(db, cipher, finance_audit), credentials, secrets)
        server = build_plaid(PlaidDeps(service=service, gate=make_gate("plaid"), sandbox=True))
        async with Client(server) as mcp_client:
            tokens = Tokens(signing_key, clock, "plaid")
            yield Plaid(mcp_client, tokens, sandbox, edge, service, secrets, credentials, db)


# ---- a real broker on loopback (for the stdio servers and the broker-backed secret store) -------


@pytest.fixture
async def broker_url(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    server, task, state, url = await start_broker(db_url, tmp_path, FakeClock())
    try:
        yield url, state.config.admin_token
    finally:
        server.should_exit = True
        await task


async def key_file(
    url: str,
    admin: str,
    tmp_path: Path,
    name: str,
    domain: str,
    scopes: tuple[str, ...] = ("datakeys.read", "secrets.read"),
    principal: str | None = None,
) -> Path:
    """A broker API key for ``mcp-<name>`` (its own domain and resource), in a 0600 file."""
    body = {
        "principal": principal or f"mcp-{name}",
        "scopes": list(scopes),
        "resources": [f"domain:{domain}", "domain:chain", f"mcp:{name}"],
        "max_scopes": list(scopes),
        "max_resources": [f"domain:{domain}", "domain:chain", f"mcp:{name}"],
    }
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.post("/v1/keys", json=body, headers={"X-Admin-Token": admin})
    assert r.status_code == 201, r.text
    path = tmp_path / f"{body['principal']}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(r.json()["api_key"] + "\n")
    return path


# ---- Memory (no vendor side) -------------------------------------------------------------------


@dataclass
class Memory:
    client: Client
    tokens: Tokens
    service: MemoryService


@pytest.fixture
async def memory(
    db: Database, cipher: FieldCipher, make_gate: Callable[[str], CallGate], signing_key: SigningKey, clock: Clock
) -> AsyncIterator[Memory]:
    service = MemoryService(MemoryStore(db, cipher))
    server = build_memory(MemoryDeps(service=service, gate=make_gate("memory")))
    async with Client(server) as mcp_client:
        yield Memory(mcp_client, Tokens(signing_key, clock, "memory"), service)
