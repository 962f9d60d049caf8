"""``python -m mcp_servers.blackboard``: the Blackboard MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers._secrets import server_secret_store
from mcp_servers.blackboard.models import TABLES
from mcp_servers.blackboard.server import build_server
from mcp_servers.blackboard.service import BlackboardSource
from tools.blackboard.client import BlackboardClient
from tools.blackboard.demo import demo_credentials, demo_transport
from tools.browser.session import BrowserRunner


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def _now() -> datetime:
    return datetime.now(UTC)


def build(runtime: Runtime) -> MCPServer:
    store = LmsStore(runtime.db, runtime.cipher, TABLES, "coursework")
    client = BlackboardClient(runtime.http, runtime.credentials)
    secrets = server_secret_store(runtime)
    cookies = vault_cookies(runtime.credentials, secrets, "blackboard")
    source = BlackboardSource(client, runtime.credentials, store, BrowserRunner(), cookies=cookies)
    reads = Reads("blackboard", "Blackboard", store, runtime.gate, _now)
    return build_server(reads, source, runtime.audit, secrets)


if __name__ == "__main__":
    run_server("blackboard", demo, build)
