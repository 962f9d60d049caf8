"""``python -m mcp_servers.canvas`` in its own process, over stdio, against a real broker (demo profile,
call tokens off, as under a third-party MCP client): it gets its ``coursework`` data keys with its own
API key, syncs the demo term and answers from the store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from sqlalchemy import func, select

from mcp_servers.canvas.models import CanvasAssignmentRow
from storage.db import Database
from tests.mcp_servers.conftest import key_file
from tools.canvas.demo_data import term

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
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_servers.canvas"], env=env)


async def test_canvas_runs_as_its_own_stdio_process(broker_url: tuple[str, str], db_url: str, tmp_path: Path) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "canvas", "coursework")
    async with Client(_params(url, key, db_url), read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "sync" in tools and "deadlines" in tools and "disconnect" in tools
        synced = await client.call_tool("sync", {})
        assert synced.structured_content is not None
        assert synced.structured_content["assignments"] == len(term.ASSIGNMENTS)
        left = await client.call_tool("not_started", {})
        assert left.structured_content is not None and left.structured_content["assignments"]
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            stored = int(await s.scalar(select(func.count()).select_from(CanvasAssignmentRow)) or 0)
    finally:
        await db.dispose()
    assert stored == len(term.ASSIGNMENTS)


async def test_the_standalone_demo_offers_only_reads(tmp_path: Path) -> None:
    params = _params("http://broker.invalid", tmp_path / "none.key", "sqlite+aiosqlite:///unused", mode="demo")
    async with Client(params, read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "disconnect" not in tools and "deadlines" in tools
        courses = await client.call_tool("list_courses", {})
        assert courses.structured_content is not None
        assert [c["code"] for c in courses.structured_content["courses"]] == [
            "CS 260",
            "MATH 221",
            "PHYS 102",
            "ENGL 103",
        ]
