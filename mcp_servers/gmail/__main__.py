"""``python -m mcp_servers.gmail``: the Gmail MCP server over stdio (environment: see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.gmail.server import GmailDeps, build_server
from mcp_servers.gmail.service import GmailService
from mcp_servers.gmail.store import MailStore
from tools.gmail.client import GmailClient
from tools.gmail.demo import DemoMailbox, demo_credentials, demo_transport


def demo() -> Demo:
    """The demo mailbox, dated so that its newest mail is from today."""
    return Demo(demo_credentials(), demo_transport(DemoMailbox(today=datetime.now(UTC).date())))


def build(runtime: Runtime) -> MCPServer:
    client = GmailClient(runtime.http, runtime.credentials)
    service = GmailService(client, MailStore(runtime.db, runtime.cipher), runtime.db, runtime.audit)
    return build_server(GmailDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("gmail", demo, build)
