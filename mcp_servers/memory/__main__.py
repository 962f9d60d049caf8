"""``python -m mcp_servers.memory``: the memory MCP server over stdio (environment: see ``mcp_servers._common``)."""

from __future__ import annotations

import httpx
from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.memory.server import MemoryDeps, build_server
from mcp_servers.memory.service import MemoryService
from mcp_servers.memory.store import MemoryStore


def demo() -> Demo:
    """The memory has no vendor side: nothing to fake."""
    return Demo({}, httpx.MockTransport(lambda _request: httpx.Response(404)))


def build(runtime: Runtime) -> MCPServer:
    service = MemoryService(MemoryStore(runtime.db, runtime.cipher))
    return build_server(MemoryDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("memory", demo, build)
