"""``python -m mcp_servers.canvas``: the Canvas MCP server over stdio (environment: see ``mcp_servers._common``)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.canvas.server import CanvasDeps, build_server
from mcp_servers.canvas.service import CanvasService
from mcp_servers.canvas.store import CourseworkStore
from tools.canvas.client import CanvasClient
from tools.canvas.demo import demo_credentials, demo_transport


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    client = CanvasClient(runtime.http, runtime.credentials)
    service = CanvasService(client, CourseworkStore(runtime.db, runtime.cipher), runtime.audit)
    return build_server(CanvasDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("canvas", demo, build)
