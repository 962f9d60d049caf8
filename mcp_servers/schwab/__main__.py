"""``python -m mcp_servers.schwab``: the Schwab MCP server over stdio (environment: see ``mcp_servers._common``).

The app key, app secret and OAuth token come from the broker's vault (``schwab-app-key``,
``schwab-app-secret``, ``schwab-oauth``); a refreshed token goes back there through the broker's
scoped write path. The demo profile serves an in-memory Schwab (:mod:`tools.schwab.demo`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._secrets import SecretStore, SecretStoreUnavailable, server_secret_store
from mcp_servers.schwab.args import SchwabDeps
from mcp_servers.schwab.demo_history import seed_history
from mcp_servers.schwab.server import build_server
from mcp_servers.schwab.service import SchwabService
from mcp_servers.schwab.store import BrokerageStore
from tools.errors import UpstreamError
from tools.schwab.bridge import HttpxBridge
from tools.schwab.client import SchwabClient
from tools.schwab.demo import DemoSchwab, demo_credentials, demo_transport


class VaultTokens:
    """The client's token sink: the broker's secret store, its refusals as integration errors."""

    def __init__(self, secrets: SecretStore) -> None:
        self._secrets = secrets

    async def ready(self) -> None:
        try:
            await self._secrets.ready()
        except SecretStoreUnavailable as exc:
            raise UpstreamError(f"the token could not be stored: {exc}", integration="schwab") from None

    async def put(self, name: str, value: str) -> None:
        try:
            await self._secrets.put(name, value)
        except SecretStoreUnavailable as exc:
            raise UpstreamError(f"the refreshed token could not be stored: {exc}", integration="schwab") from None


def demo() -> Demo:
    """The demo brokerage: positions and quotes around today."""
    return Demo(demo_credentials(), demo_transport(DemoSchwab()))


def build(runtime: Runtime) -> MCPServer:
    tokens = VaultTokens(server_secret_store(runtime))
    client = SchwabClient(runtime.credentials, tokens, transport=HttpxBridge(runtime.http))
    store = BrokerageStore(runtime.db, runtime.cipher, runtime.audit)
    service = SchwabService(client, store)
    deps = SchwabDeps(service=service, gate=runtime.gate)
    if runtime.settings.demo:
        deps.history = lambda: seed_history(store, datetime.now(UTC).date())
    return build_server(deps)


if __name__ == "__main__":
    run_server("schwab", demo, build)
