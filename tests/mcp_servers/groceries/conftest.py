"""The groceries server behind the real gateway, approvals and notifications (call tokens off)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from mcp.server.mcpserver import MCPServer

from aegis import agent_root
from agent.gateway import ToolDef
from agent.gateway.registry import Registry
from agent.job_wiring import GatewayCalls
from agent.mail import MailSender
from agent.mcp_host import McpHost, ServerSpec
from agent.toolrunner import refresh_pins
from integrations import Catalog, Manifest
from mcp_servers._common import CallGate, audit_log
from mcp_servers.groceries.foods import load_foods
from mcp_servers.groceries.server import GroceryDeps, build_server
from mcp_servers.groceries.store import GroceryStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DOMAINS, DataKey, Keyring
from storage.db import Database
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.usda.client import UsdaClient

TODAY = dt.date(2026, 12, 2)
START = "2026-12-03"


class _Tokens:
    async def token(self, audience: str, scope: str, resource: str) -> str:
        return "job-token"  # the servers here run with call tokens off


@dataclass
class Rig:
    calls: GatewayCalls
    parts: agent_root.Assembly
    store: GroceryStore
    host: McpHost
    registry: Registry
    keyring: Keyring


def _const(server: MCPServer) -> Callable[[], MCPServer]:
    return lambda: server


@asynccontextmanager
async def make_rig(
    db: Database, extra: Sequence[tuple[Manifest, MCPServer]] = (), mail: MailSender | None = None
) -> AsyncIterator[Rig]:
    """The rig, with ``extra`` integrations (a manifest and its in-process server) installed too,
    and ``mail`` to the owner when given."""
    keyring = Keyring([DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in DOMAINS for p in ("enc", "idx")])
    store = GroceryStore(db, FieldCipher(keyring), audit_log(keyring, "health"))
    async with build_http_client() as http:  # no key stored: the offline table, no request made
        deps = GroceryDeps(
            store=store,
            usda=UsdaClient(http, StaticCredentials({})),
            foods=load_foods(),
            gate=CallGate(server="groceries", resource="mcp:groceries", verify=None),
            today=lambda: TODAY,
        )
        server = build_server(deps)
        specs = [ServerSpec("groceries", instance=lambda: server)]
        specs += [ServerSpec(m.server, instance=_const(s)) for m, s in extra]
        host = McpHost(specs)
        await host.start(wait=30)
        try:
            own = {m.name for m, _ in extra}  # an installed integration given here runs in-process
            catalog = Catalog([*(m for m in Catalog.load() if m.name not in own), *(m for m, _ in extra)])
            registry = Registry.load(catalog=catalog)
            status = refresh_pins(registry, host)
            assert status.get("groceries.deliver") == "approved", status
            for name, tool in host.tools():  # the operator approves the extra servers' definitions
                if name != "groceries":
                    ann = tool.annotations.model_dump(exclude_none=True) if tool.annotations else None
                    registry.approve_pin(name, ToolDef(tool.name, tool.description or "", tool.input_schema, ann))
            refresh_pins(registry, host)
            parts = agent_root.assemble(
                db, keyring, host, registry, _Tokens(), "console-key-xyz", None, mail=mail, catalog=catalog
            )
            calls = GatewayCalls(
                host,
                parts.gateway.policy,
                parts.approvals,
                parts.audit,
                lambda sid: parts.policy_context(sid, [], []),
                _Tokens(),
                catalog,
            )
            yield Rig(calls, parts, store, host, registry, keyring)
        finally:
            await host.close()


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    async with make_rig(db) as r:
        yield r
