"""The Schwab server over the in-memory demo Schwab (faked only at the HTTP edge), with a real MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from mcp import Client
from mcp.types import CallToolResult, RequestParamsMeta

from broker.tokens import SigningKey
from mcp_servers._common import TOKEN_META, CallGate
from mcp_servers._secrets import MemorySecretStore
from mcp_servers.schwab.args import SchwabDeps
from mcp_servers.schwab.server import build_server
from mcp_servers.schwab.service import SchwabService
from mcp_servers.schwab.store import BrokerageStore
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from tests.mcp_servers.conftest import Clock, Tokens
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.schwab.bridge import HttpxBridge
from tools.schwab.client import SchwabClient
from tools.schwab.demo import DemoSchwab, demo_credentials, demo_transport

READ, TRADE, LINK = "finance.read", "finance.trade", "finance.link"


async def no_sleep(_seconds: float) -> None:
    return None


@dataclass
class Schwab:
    client: Client
    tokens: Tokens
    demo: DemoSchwab
    service: SchwabService
    secrets: MemorySecretStore
    db: Database

    async def call(self, tool: str, args: dict[str, Any] | None = None, scope: str = READ, **meta: str) -> Any:
        result = await self.raw(tool, args, scope, **meta)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        return result.structured_content

    async def raw(
        self, tool: str, args: dict[str, Any] | None = None, scope: str = READ, **meta: str
    ) -> CallToolResult:
        doc: dict[str, Any] = {TOKEN_META: self.tokens.mint(scope)}
        if "call" in meta:
            doc["aegis/call"] = meta["call"]
        return await self.client.call_tool(tool, args or {}, meta=cast(RequestParamsMeta, doc))


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


@pytest.fixture
async def schwab(
    db: Database,
    cipher: FieldCipher,
    finance_audit: AuditLog,
    make_gate: Callable[[str], CallGate],
    signing_key: SigningKey,
    clock: Clock,
) -> AsyncIterator[Schwab]:
    demo = DemoSchwab()
    async with build_http_client(transport=demo_transport(demo)) as http:
        credentials = StaticCredentials(demo_credentials())
        secrets = MemorySecretStore(credentials)
        client = SchwabClient(credentials, secrets, transport=HttpxBridge(http), sleep=no_sleep)
        service = SchwabService(client, BrokerageStore(db, cipher, finance_audit))
        server = build_server(SchwabDeps(service=service, gate=make_gate("schwab")))
        async with Client(server) as mcp_client:
            yield Schwab(mcp_client, Tokens(signing_key, clock, "schwab"), demo, service, secrets, db)
