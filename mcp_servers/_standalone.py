"""Running one integration server for a third-party MCP client (Claude Desktop, the MCP Inspector).

Two ways, chosen by ``AEGIS_MCP_MODE``:

``external``
    With Aegis running: the server's own broker key, its own data keys and credentials, the Aegis
    database; every call is audited (marked ``external``). A third-party client cannot carry Aegis's
    per-call tokens and bypasses the gateway (no approvals, no provenance policy), so the server
    offers it only the tools its manifest classes as READ. Side effects stay behind Aegis's gateway.
``demo``
    Nothing else needed: the integration's demo transport and data, a throwaway SQLite database
    (migrated, encrypted under fresh random data keys, deleted on exit), no broker. The demo is
    connected and synced before the first request. READ tools only, as above.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import structlog
from mcp.server.mcpserver import MCPServer

from broker.client import BrokerClient
from integrations import load_manifest
from mcp_servers._common import CallGate, Demo, Runtime, ServerSettings, audit_log
from storage import migrate
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring, make_kid
from storage.db import Database
from tools._http import build_http_client
from tools.credentials import StaticCredentials

log = structlog.get_logger("aegis.mcp_servers")
MODES = ("aegis", "external", "demo")


def _no_broker(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": "no_broker", "detail": "standalone demo: there is no broker"})


@asynccontextmanager
async def demo_runtime(
    name: str, domain: str, demo: Demo, *, db: Database | None = None, keyring: Keyring | None = None
) -> AsyncIterator[Runtime]:
    """A runtime with no broker: by default a migrated throwaway database and random data keys (the
    conformance suite passes its own database and keyring instead)."""
    with tempfile.TemporaryDirectory(prefix=f"aegis-mcp-{name}-") as tmp:
        own_db = db is None
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}" if db is None else str(db.url)
        if db is None:
            db = Database(url)
            await migrate.upgrade(db)
        if keyring is None:
            keys = [
                DataKey(make_kid(d, p, 1), os.urandom(32), ACTIVE) for d in (domain, "chain") for p in ("enc", "idx")
            ]
            keyring = Keyring(keys)
        settings = ServerSettings(
            name=name,
            broker_url="http://broker.invalid",
            issuer="",
            key_file=Path(tmp) / "no-key",
            database_url=url,
            demo=True,
            call_tokens=False,
        )
        broker_http = httpx.AsyncClient(transport=httpx.MockTransport(_no_broker), base_url=settings.broker_url)
        http = build_http_client(transport=demo.transport)
        try:
            yield Runtime(
                settings=settings,
                broker=BrokerClient(broker_http),
                db=db,
                keyring=keyring,
                cipher=FieldCipher(keyring),
                credentials=StaticCredentials(demo.credentials),
                http=http,
                gate=CallGate(server=name, resource=settings.resource, verify=None),
                audit=audit_log(keyring, domain),
                standalone=True,
            )
        finally:
            await http.aclose()
            await broker_http.aclose()
            if own_db:
                await db.dispose()


def read_only(server: MCPServer, name: str) -> list[str]:
    """Keep only the tools the manifest classes as READ; returns the names kept."""
    manifest = load_manifest(name)
    kept = []
    for tool in list(server._tool_manager.list_tools()):
        qualified = f"{name}.{tool.name}"
        spec = manifest.tools.get(qualified)
        if spec is None or spec.cls != "READ":
            server.remove_tool(tool.name)
        else:
            kept.append(tool.name)
    return kept


async def prepare_demo(server: MCPServer, name: str) -> None:
    """Connect the demo (the manifest's sandbox tool) and run its sync tools once, in-process."""
    manifest = load_manifest(name)
    first = [manifest.connect.sandbox_tool] if manifest.connect.sandbox_tool else []
    for qualified in [*first, *(j.tool for j in manifest.jobs)]:
        with contextlib.suppress(Exception):  # a demo that cannot prepare still serves what it has
            await server.call_tool(qualified.partition(".")[2], {})
    log.info("mcp.demo_ready", server=name)
