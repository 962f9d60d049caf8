"""``python -m mcp_servers.<name>`` in its own process, over stdio, against a real broker.

Demo profile (the vendor is the in-memory sandbox) with call tokens off, as under a third-party MCP
client. The server still fetches its data keys from the broker with its own API key, so this also
proves it gets only its own domain.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from sqlalchemy import func, select

from integrations import Catalog
from mcp_servers.gmail.models import MailMessageRow
from mcp_servers.memory.models import MemoryRow
from mcp_servers.plaid.models import PlaidTransactionRow
from storage.db import Database
from tests.mcp_servers.conftest import key_file
from tools.gmail.demo_data import mailbox
from tools.plaid.demo_data import ledger

pytestmark = pytest.mark.anyio


def _params(name: str, url: str, key: Path, db_url: str) -> StdioServerParameters:
    env = {
        "AEGIS_BROKER_URL": url,
        "AEGIS_MCP_KEY_FILE": str(key),
        "AEGIS_DATABASE_URL": db_url,
        "AEGIS_DEMO": "1",
        "AEGIS_MCP_CALL_TOKENS": "off",
        "PYTHONPATH": os.getcwd(),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", f"mcp_servers.{name}"], env=env)


async def _count(db_url: str, model: type[object]) -> int:
    db = Database(db_url)
    try:
        async with db.transaction() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await db.dispose()


async def test_gmail_runs_as_its_own_stdio_process(broker_url: tuple[str, str], db_url: str, tmp_path: Path) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "gmail", "mail")
    async with Client(_params("gmail", url, key, db_url), read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        declared = {name.partition(".")[2] for name in Catalog.load().manifests["gmail"].tools}
        assert tools == declared and {"sync", "search", "read_thread", "send", "list_labels"} <= tools
        labels = await client.call_tool("list_labels", {})
        assert not labels.is_error and labels.structured_content is not None
        assert {"INBOX", "Label_1"} <= {label["id"] for label in labels.structured_content["labels"]}
        synced = await client.call_tool("sync", {})
        assert synced.structured_content is not None and synced.structured_content["stored"] == len(mailbox.MESSAGES)
    assert await _count(db_url, MailMessageRow) == len(mailbox.MESSAGES)


async def test_plaid_runs_as_its_own_stdio_process(broker_url: tuple[str, str], db_url: str, tmp_path: Path) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "plaid", "finance", ("datakeys.read", "secrets.read", "secrets.write"))
    async with Client(_params("plaid", url, key, db_url), read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"sandbox_connect", "sync", "balances", "spending_by_category"} <= tools
        connected = await client.call_tool("sandbox_connect", {})
        assert not connected.is_error, connected.content
        balances = await client.call_tool("balances", {})
        assert balances.structured_content is not None
        assert {a["mask"] for a in balances.structured_content["accounts"]} == {"0000", "3333"}
        synced = await client.call_tool("sync", {})
        # The demo profile dates the ledger relative to today and reaches 90 days back.
        expected = len(ledger.ROWS) + len(ledger.earlier_month())
        assert synced.structured_content is not None and synced.structured_content["added"] == expected
    assert await _count(db_url, PlaidTransactionRow) == expected
    # The demo bank's access token went to the broker's vault, not process memory: after a restart
    # the demo is still connected (no "needs re-auth").
    async with Client(_params("plaid", url, key, db_url), read_timeout_seconds=60) as client:
        again = await client.call_tool("balances", {})
        assert not again.is_error, again.content
        assert again.structured_content is not None and len(again.structured_content["accounts"]) == 2


async def test_memory_runs_as_its_own_stdio_process(broker_url: tuple[str, str], db_url: str, tmp_path: Path) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "memory", "memory")
    async with Client(_params("memory", url, key, db_url), read_timeout_seconds=60) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == {"read", "write", "browse", "history", "confirm", "edit", "forget"}
        written = await client.call_tool("write", {"text": "I take oat milk"})
        # Under a third-party client no label comes with the call: the memory waits for the owner.
        assert written.structured_content is not None and written.structured_content["state"] == "quarantined"
        read = await client.call_tool("read", {"query": "milk"})
        assert read.structured_content == {"items": []}
    assert await _count(db_url, MemoryRow) == 1
