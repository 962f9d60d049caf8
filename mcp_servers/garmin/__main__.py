"""``python -m mcp_servers.garmin``: the Garmin MCP server over stdio (see ``mcp_servers._common``).

The real server runs ``garminconnect`` through :class:`tools.garmin.adapter.LibraryGarmin`; the
demo profile swaps in :class:`tools.garmin.demo.DemoGarmin`, which asks the same Garmin paths
through Aegis's own HTTP client of the demo's Garmin.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers._secrets import server_secret_store
from mcp_servers.garmin.server import GarminDeps, build_server
from mcp_servers.garmin.service import GarminService
from mcp_servers.garmin.store import GarminStore
from tools.garmin.adapter import GarminApi, LibraryGarmin
from tools.garmin.client import GarminClient
from tools.garmin.demo import DemoGarmin, demo_credentials, demo_transport


def _today() -> date:
    return datetime.now(UTC).date()


def demo() -> Demo:
    """The demo watch's last 90 days, dated up to today."""
    return Demo(demo_credentials(), demo_transport(_today()))


def build(runtime: Runtime) -> MCPServer:
    api: GarminApi = DemoGarmin(runtime.http) if runtime.settings.demo else LibraryGarmin()
    store = GarminStore(runtime.db, runtime.cipher, runtime.audit)
    service = GarminService(GarminClient(api), store, runtime.credentials, server_secret_store(runtime), today=_today)
    return build_server(
        GarminDeps(service=service, store=store, gate=runtime.gate, today=_today, demo=runtime.settings.demo)
    )


if __name__ == "__main__":
    run_server("garmin", demo, build)
