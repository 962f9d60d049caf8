"""``python -m mcp_servers.linkedin``: the LinkedIn MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._secrets import server_secret_store
from mcp_servers.linkedin.server import LinkedInDeps, build_server
from mcp_servers.linkedin.store import PostStore
from tools.linkedin.client import LinkedInClient
from tools.linkedin.demo import demo_credentials, demo_transport


def demo() -> Demo:
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    deps = LinkedInDeps(
        client=LinkedInClient(runtime.http, runtime.credentials),
        store=PostStore(runtime.db, runtime.cipher, runtime.audit),
        gate=runtime.gate,
        secrets=server_secret_store(runtime),
    )
    return build_server(deps)


if __name__ == "__main__":
    run_server("linkedin", demo, build)
