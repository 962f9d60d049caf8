"""``python -m mcp_servers.outlook``: the Outlook MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._secrets import server_secret_store
from mcp_servers.outlook.server import OutlookDeps, build_server
from mcp_servers.outlook.service import OutlookService
from mcp_servers.outlook.store import OutlookStore
from tools.outlook.auth import MsalTokens
from tools.outlook.client import OutlookClient
from tools.outlook.demo import DemoGraph, demo_credentials, demo_transport


def demo() -> Demo:
    """The demo mailbox and calendar, placed around today."""
    return Demo(demo_credentials(), demo_transport(DemoGraph(today=datetime.now(UTC).date())))


def build(runtime: Runtime) -> MCPServer:
    writer = server_secret_store(runtime, "oauth-token")
    tokens = MsalTokens(runtime.credentials, writer=writer)
    client = OutlookClient(runtime.http, runtime.credentials, tokens)
    service = OutlookService(client, OutlookStore(runtime.db, runtime.cipher), runtime.db, runtime.audit)
    return build_server(OutlookDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("outlook", demo, build)
