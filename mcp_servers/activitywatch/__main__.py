"""``python -m mcp_servers.activitywatch``: the ActivityWatch MCP server over stdio (environment: see
``mcp_servers._common``)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.activitywatch.server import UsageDeps, build_server
from mcp_servers.activitywatch.service import UsageService
from tools.activitywatch.client import ActivityWatchClient
from tools.activitywatch.demo import demo_credentials, demo_transport


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    client = ActivityWatchClient(runtime.http, runtime.credentials)
    service = UsageService(client, runtime.db, runtime.cipher, runtime.audit)
    return build_server(UsageDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("activitywatch", demo, build)
