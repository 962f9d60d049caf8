"""Run any installed integration's server in-process on its demo transport, with a recorder at the
network edge that can inject faults (a 429, a 401 echoing credentials, a dropped connection)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from integrations import Manifest, load_manifest
from mcp_servers._common import Demo
from mcp_servers._standalone import demo_runtime
from storage.crypto.keyring import Keyring
from storage.db import Database

Fault = Callable[[httpx.Request], httpx.Response | None]


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """The vendor side: the integration's own demo transport, every request recorded, faults first."""

    inner: httpx.AsyncBaseTransport
    requests: list[httpx.Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for fault in list(self.faults):
            out = fault(request)
            if out is not None:
                return out
        return await self.inner.handle_async_request(request)


@dataclass
class DemoServer:
    manifest: Manifest
    server: MCPServer
    vendor: Recorder
    credentials: dict[str, str]
    client: Client

    async def call(self, qualified: str, args: dict[str, Any] | None = None) -> CallToolResult:
        result = await self.client.call_tool(qualified.partition(".")[2], args or {})
        assert isinstance(result, CallToolResult)
        return result

    async def connect_and_sync(self) -> None:
        """What the demo profile does: the sandbox connect (if any), then every job's tool."""
        if self.manifest.connect.sandbox_tool:
            out = await self.call(self.manifest.connect.sandbox_tool)
            assert not out.is_error, out.content
        for job in self.manifest.jobs:
            out = await self.call(job.tool)
            assert not out.is_error, out.content


def entry_point(name: str) -> Any:
    return importlib.import_module(f"mcp_servers.{name}.__main__")


@asynccontextmanager
async def demo_server(name: str, db: Database, keyring: Keyring) -> AsyncIterator[DemoServer]:
    main, manifest = entry_point(name), load_manifest(name)
    demo: Demo = main.demo()
    vendor = Recorder(demo.transport)
    async with demo_runtime(
        name, manifest.identity.data_domain, Demo(demo.credentials, vendor), db=db, keyring=keyring
    ) as runtime:
        server = main.build(runtime)
        async with Client(server) as client:
            yield DemoServer(manifest, server, vendor, dict(demo.credentials), client)
