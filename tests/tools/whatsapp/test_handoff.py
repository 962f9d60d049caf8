"""The whole hand-off against the real bridge process (fake WhatsApp) and a real database: a message
is stored once, encrypted, even when the bridge restarts before Aegis acknowledged it and hands it
over again (the inbox kept it, and the catch-up of unread chats reads it a second time)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import select

from mcp_servers._common import audit_log
from mcp_servers.whatsapp.models import WhatsAppMessageRow
from mcp_servers.whatsapp.service import WhatsAppService
from mcp_servers.whatsapp.store import MessageStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.tools.whatsapp.conftest import ALICE, BridgeProcess, make_client, until
from tools.whatsapp import BridgeTokens, WhatsAppClient

pytestmark = pytest.mark.anyio
Start = Callable[..., Awaitable[BridgeProcess]]


async def _connected(client: WhatsAppClient) -> bool:
    try:
        return (await client.status()).state == "connected"
    except Exception:  # noqa: BLE001 - still starting
        return False


async def test_a_message_is_stored_once_encrypted_across_a_bridge_restart(
    bridge_factory: Start, tokens: BridgeTokens, http: httpx.AsyncClient, db: Database
) -> None:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("messages", "chain") for p in ("enc", "idx")]
    )
    bridge = await bridge_factory()
    client = make_client(http, tokens, bridge)
    await until(lambda: _connected(client))
    await bridge.command("receive", chatId=ALICE, body="the door code is 4711, delete after reading")

    async def pending() -> bool:
        return len(await client.pending()) == 1

    await until(pending)
    # Stored, but the bridge goes down before the acknowledgement reaches it.
    store = MessageStore(db, FieldCipher(keyring))
    await store.save(await client.pending())
    await bridge.stop()

    again = await bridge_factory(data_dir=bridge.data_dir.parent)
    client = make_client(http, tokens, again)
    service = WhatsAppService(client, store, db, audit_log(keyring, "messages"))
    await until(lambda: _connected(client))
    stored, left = await service.sync({})
    assert stored >= 1 and left == 0  # handed over again, acknowledged this time
    assert await client.pending() == []
    async with db.transaction() as s:
        rows = (await s.scalars(select(WhatsAppMessageRow))).all()
    assert len(rows) == 1  # once
    assert b"4711" not in rows[0].body and b"door" not in rows[0].body  # encrypted
    [message] = await store.recent(5)
    assert message.body == "the door code is 4711, delete after reading" and message.saved_name == "Alice Saved"
