"""``python -m mcp_servers.groceries``: the groceries MCP server over stdio (see ``mcp_servers._common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer

from mcp_servers._common import Demo, Runtime, run_server
from mcp_servers.groceries.foods import load_foods
from mcp_servers.groceries.server import GroceryDeps, build_server
from mcp_servers.groceries.store import GroceryStore
from tools.usda.client import UsdaClient
from tools.usda.demo import DemoFood, demo_credentials, demo_transport


def demo() -> Demo:
    """The demo FoodData Central answers from the offline table, in FDC's own shape."""
    foods = [DemoFood(f.description, f.kcal, f.protein_g, f.fat_g, f.carbs_g) for f in load_foods()]
    return Demo(demo_credentials(), demo_transport(foods))


def build(runtime: Runtime) -> MCPServer:
    return build_server(
        GroceryDeps(
            store=GroceryStore(runtime.db, runtime.cipher, runtime.audit),
            usda=UsdaClient(runtime.http, runtime.credentials),
            foods=load_foods(),
            gate=runtime.gate,
            today=lambda: datetime.now(UTC).date(),
            demo=runtime.settings.demo,
        )
    )


if __name__ == "__main__":
    run_server("groceries", demo, build)
