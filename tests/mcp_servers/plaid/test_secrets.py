"""The broker-backed secret store against a real broker: scoped writes, read back by the server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mcp import Client
from sqlalchemy import text

from broker.client import BrokerClient
from mcp_servers._common import CallGate
from mcp_servers.plaid.secrets import BrokerSecretStore, SecretStoreUnavailable
from mcp_servers.plaid.server import PlaidDeps, build_server
from mcp_servers.plaid.service import PlaidService
from mcp_servers.plaid.store import FinanceStore
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, key_file
from tools._http import build_http_client
from tools.credentials import BrokerCredentials
from tools.plaid import demo
from tools.plaid.client import PlaidClient
from tools.plaid.demo_data import ledger

pytestmark = pytest.mark.anyio
ALL = ("datakeys.read", "secrets.read", "secrets.write")


async def test_an_access_token_is_created_then_rotated_and_read_back(
    broker_url: tuple[str, str], tmp_path: Path
) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "plaid", "finance", scopes=ALL)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        broker = BrokerClient(http)
        store = BrokerSecretStore(broker, api_key_file=key, resource="mcp:plaid")
        reader = BrokerCredentials(broker, api_key_file=key, resource="mcp:plaid")
        await store.ready()
        await store.put("plaid-item:item1", "access-sandbox-first")
        assert await reader.get("plaid-item:item1") == "access-sandbox-first"
        await store.put("plaid-item:item1", "access-sandbox-second")  # a reconnect rotates it
        reader.invalidate("plaid-item:item1")
        assert await reader.get("plaid-item:item1") == "access-sandbox-second"
        listing = await BrokerClient(http, admin_token=admin).list_secrets()
    [row] = [s for s in listing if s["name"] == "plaid-item:item1"]
    assert (row["resource"], row["version"]) == ("mcp:plaid", 2) and "value" not in row
    assert "access-sandbox" not in repr(store)


async def test_a_key_without_secrets_write_is_refused_before_anything_is_spent(
    broker_url: tuple[str, str], tmp_path: Path
) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "plaid", "finance", principal="mcp-plaid-readonly")
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        store = BrokerSecretStore(BrokerClient(http), api_key_file=key, resource="mcp:plaid")
        with pytest.raises(SecretStoreUnavailable, match=r"secrets\.write"):
            await store.ready()
        with pytest.raises(SecretStoreUnavailable):
            await store.put("plaid-item:item1", "access-sandbox-x")
        listing = await BrokerClient(http, admin_token=admin).list_secrets()
    assert listing == []


async def test_production_wiring_links_and_syncs_with_every_secret_in_the_broker(
    broker_url: tuple[str, str], tmp_path: Path, db: Database, cipher: FieldCipher, finance_audit: AuditLog
) -> None:
    url, admin = broker_url
    key = await key_file(url, admin, tmp_path, "plaid", "finance", scopes=ALL)
    sandbox = demo.DemoPlaid()
    async with (
        httpx.AsyncClient(base_url=url, timeout=10) as http,
        build_http_client(transport=httpx.MockTransport(sandbox.handler)) as vendor,
    ):
        owner = BrokerClient(http, admin_token=admin)
        for name, value in demo.demo_credentials().items():
            await owner.add_secret(name, value, kind="api-token", resource="mcp:plaid")
        broker = BrokerClient(http)
        credentials = BrokerCredentials(broker, api_key_file=key, resource="mcp:plaid")
        service = PlaidService(
            PlaidClient(vendor, credentials, "sandbox", retry=NO_RETRY_WAIT),
            FinanceStore(db, cipher, finance_audit),
            credentials,
            BrokerSecretStore(broker, api_key_file=key, resource="mcp:plaid"),
        )
        gate = CallGate(server="plaid", resource="mcp:plaid", verify=None)
        async with Client(build_server(PlaidDeps(service, gate, sandbox=True))) as client:
            connected = await client.call_tool("sandbox_connect", {})
            assert not connected.is_error, connected.content
            synced = await client.call_tool("sync", {})
        assert synced.structured_content is not None and synced.structured_content["added"] == len(ledger.ROWS)
        stored = {s["name"]: s for s in await owner.list_secrets()}
    assert stored[f"plaid-item:{ledger.ITEM_ID}"]["resource"] == "mcp:plaid"
    async with db.transaction() as s:
        dump = repr((await s.execute(text("SELECT * FROM plaid_items"))).all())
    assert demo.DEMO_ACCESS_TOKEN not in dump
