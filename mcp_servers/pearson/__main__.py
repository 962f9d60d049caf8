"""``python -m mcp_servers.pearson``: the Pearson Mastering MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._coursework import LmsStore, Reads
from mcp_servers._lms_sync import vault_cookies
from mcp_servers._secrets import server_secret_store
from mcp_servers.pearson.models import TABLES
from mcp_servers.pearson.server import build_server
from mcp_servers.pearson.service import PearsonSource
from tools.browser.routed import HttpxRoute
from tools.browser.session import BrowserRunner
from tools.pearson.demo import demo_credentials, demo_transport


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def _now() -> datetime:
    return datetime.now(UTC)


def build(runtime: Runtime) -> MCPServer:
    store = LmsStore(runtime.db, runtime.cipher, TABLES, "coursework")
    route = HttpxRoute(runtime.http) if runtime.settings.demo else None  # the demo's pages are in memory
    cookies = vault_cookies(runtime.credentials, server_secret_store(runtime), "pearson")
    source = PearsonSource(runtime.credentials, store, BrowserRunner(), route=route, cookies=cookies)
    reads = Reads("pearson", "Pearson Mastering", store, runtime.gate, _now)
    return build_server(reads, source, runtime.audit)


if __name__ == "__main__":
    run_server("pearson", demo, build)
