"""``python -m mcp_servers.twitter``: the X MCP server over stdio (environment: see ``mcp_servers._common``)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.twitter.feed import FeedStore
from mcp_servers.twitter.server import XDeps, build_server
from mcp_servers.twitter.service import XService
from mcp_servers.twitter.store import PostStore
from tools.twitter.client import XClient
from tools.twitter.demo import demo_credentials, demo_transport


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    store = PostStore(runtime.db, runtime.cipher, runtime.audit)
    service = XService(XClient(runtime.http, runtime.credentials), store, FeedStore(runtime.db, runtime.cipher))
    return build_server(XDeps(service=service, gate=runtime.gate))


if __name__ == "__main__":
    run_server("twitter", demo, build)
