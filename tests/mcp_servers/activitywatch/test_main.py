"""``python -m mcp_servers.activitywatch`` in its own process over stdio: against a real broker (its own
``coursework`` data keys), and as the standalone read-only demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcp_servers.activitywatch.service import FIRST_SYNC_DAYS
from tests.mcp_servers.conftest import key_file

pytestmark = pytest.mark.anyio


def _params(url: str, key: Path, db_url: str, mode: str = "aegis") -> StdioServerParameters:
    env = {
        "AEGIS_BROKER_URL": url,
        "AEGIS_MCP_KEY_FILE": str(key),
        "AEGIS_DATABASE_URL": db_url,
        "AEGIS_DEMO": "1",
        "AEGIS_MCP_CALL_TOKENS": "off",
        "AEGIS_MCP_MODE": mode,
        "PYTHONPATH": os.getcwd(),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_servers.activitywatch"], env=env)


async def test_runs_as_its_own_stdio_process(broker_url: tuple[str, str], db_url: str, tmp_path: Path) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "activitywatch", "coursework")
    async with Client(_params(url, key, db_url), read_timeout_seconds=60) as client:
        synced = await client.call_tool("sync", {})
        assert synced.structured_content == {"days": FIRST_SYNC_DAYS}
        trend = await client.call_tool("trend", {"weeks": 2})
        assert trend.structured_content is not None and len(trend.structured_content["weeks"]) == 2


async def test_the_standalone_demo_offers_only_reads(tmp_path: Path) -> None:
    params = _params("http://broker.invalid", tmp_path / "none.key", "sqlite+aiosqlite:///unused", mode="demo")
    async with Client(params, read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == {"status", "sync", "usage", "trend"}
        trend = await client.call_tool("trend", {"weeks": 1})
        assert trend.structured_content is not None and trend.structured_content["weeks"][0]["active_hours"] > 0
