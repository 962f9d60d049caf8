"""``python -m mcp_servers.plaid``: the Plaid MCP server over stdio (environment: see ``mcp_servers._common``).

``AEGIS_PLAID_ENV`` picks ``production`` (default) or ``sandbox``; the demo profile always uses the
in-memory sandbox.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import ConfigError, Demo, Runtime, run_server
from mcp_servers._secrets import server_secret_store
from mcp_servers.plaid.server import PlaidDeps, build_server
from mcp_servers.plaid.service import PlaidService
from mcp_servers.plaid.store import FinanceStore
from tools.plaid.client import PlaidClient
from tools.plaid.demo import DemoPlaid, demo_credentials, demo_transport


def demo() -> Demo:
    """The demo sandbox, dated so that its newest transactions are from today."""
    return Demo(demo_credentials(), demo_transport(DemoPlaid(today=datetime.now(UTC).date())))


def build(runtime: Runtime) -> MCPServer:
    environment = "sandbox" if runtime.settings.demo else os.environ.get("AEGIS_PLAID_ENV", "production")
    if environment not in ("sandbox", "production"):
        raise ConfigError("AEGIS_PLAID_ENV must be 'sandbox' or 'production'")
    client = PlaidClient(runtime.http, runtime.credentials, "sandbox" if environment == "sandbox" else "production")
    secrets = server_secret_store(runtime)
    store = FinanceStore(runtime.db, runtime.cipher, runtime.audit)
    service = PlaidService(client, store, runtime.credentials, secrets)
    return build_server(PlaidDeps(service=service, gate=runtime.gate, sandbox=client.environment == "sandbox"))


if __name__ == "__main__":
    run_server("plaid", demo, build)
