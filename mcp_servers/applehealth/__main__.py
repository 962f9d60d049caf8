"""``python -m mcp_servers.applehealth``: the Apple Health MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.applehealth.server import HealthDeps, build_server
from mcp_servers.applehealth.store import HealthStore
from tools.applehealth.demo import demo_credentials, demo_transport


def demo() -> Demo:
    """No vendor to fake: the demo phone's data is ingested by ``sandbox_connect``, dated to today."""
    return Demo(demo_credentials(), demo_transport())


def build(runtime: Runtime) -> MCPServer:
    store = HealthStore(runtime.db, runtime.cipher, runtime.audit)
    return build_server(
        HealthDeps(store=store, gate=runtime.gate, today=lambda: datetime.now(UTC).date(), demo=runtime.settings.demo)
    )


if __name__ == "__main__":
    run_server("applehealth", demo, build)
