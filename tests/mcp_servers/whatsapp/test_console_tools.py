"""The WhatsApp server's pairing tools, the messages panel and the briefing's "needs an answer",
through a real MCP client, with the bridge faked at the HTTP edge (``tools.whatsapp.demo``)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from mcp_servers.whatsapp.console_tools import HEADLINES
from mcp_servers.whatsapp.models import WhatsAppMessageRow
from tests.mcp_servers.conftest import call, error_text
from tests.mcp_servers.whatsapp.conftest import WhatsApp

pytestmark = pytest.mark.anyio
READ, PAIR = "whatsapp.read", "whatsapp.pair"
SAM, FAMILY = "15550000002@c.us", "120363000000000001@g.us"


async def _count(w: WhatsApp) -> int:
    async with w.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(WhatsAppMessageRow)) or 0)


@pytest.mark.parametrize("state", sorted(HEADLINES))
async def test_every_bridge_state_reads_as_words(whatsapp: WhatsApp, state: str) -> None:
    whatsapp.bridge.state = state
    out = await call(whatsapp.client, whatsapp.tokens, "pairing", {}, PAIR)
    assert out["state"] == state and out["headline"] == HEADLINES[state][0]
    assert out["detail"] and out["connected"] is (state == "connected")


async def test_pairing_hands_over_the_qr_string_only_while_pairing(whatsapp: WhatsApp) -> None:
    bridge = whatsapp.bridge
    bridge.state, bridge.qr = "pairing", "2@rotating-qr"
    bridge.last_problem = {"state": "logged_out", "detail": "the phone unlinked", "at": 1_790_000_000_000}
    out = await call(whatsapp.client, whatsapp.tokens, "pairing", {}, PAIR)
    assert out["qr"] == "2@rotating-qr" and out["headline"].startswith("Scan this code")
    assert out["problem"].startswith("Logged out (")  # the last problem stays visible
    bridge.state = "connected"
    out = await call(whatsapp.client, whatsapp.tokens, "pairing", {}, PAIR)
    assert out["qr"] is None and out["connected"] is True


async def test_a_bridge_that_does_not_answer_is_a_state_too(whatsapp: WhatsApp) -> None:
    whatsapp.bridge.down = True
    out = await call(whatsapp.client, whatsapp.tokens, "pairing", {}, PAIR)
    assert out["state"] == "unreachable" and "does not answer" in out["headline"]


async def test_pairing_tools_need_the_pair_scope(whatsapp: WhatsApp) -> None:
    for tool, args in (("pairing", {}), ("logout", {}), ("pair_code", {"phone_number": "15550000001"})):
        result = await whatsapp.client.call_tool(tool, args, meta=whatsapp.tokens.meta(READ))
        assert "scope" in error_text(result).lower()


async def test_logout_unlinks_then_deletes_what_is_stored(whatsapp: WhatsApp) -> None:
    await call(whatsapp.client, whatsapp.tokens, "sync", {}, READ)
    assert await _count(whatsapp) == 1
    out = await call(whatsapp.client, whatsapp.tokens, "logout", {}, PAIR)
    assert out == {"removed": ["linked-device"], "state": "logged_out"}
    assert whatsapp.bridge.state == "logged_out" and await _count(whatsapp) == 0
    again = await call(whatsapp.client, whatsapp.tokens, "logout", {}, PAIR)  # already unlinked: still purges
    assert again["state"] == "logged_out"


async def test_logout_while_the_phone_is_offline_keeps_the_data(whatsapp: WhatsApp) -> None:
    await call(whatsapp.client, whatsapp.tokens, "sync", {}, READ)
    whatsapp.bridge.state = "phone_offline"
    result = await whatsapp.client.call_tool("logout", {}, meta=whatsapp.tokens.meta(PAIR))
    assert "phone_offline" in error_text(result)
    assert await _count(whatsapp) == 1  # nothing purged while the device may still be linked


async def test_unread_chats_and_the_people_written_with_most(whatsapp: WhatsApp) -> None:
    now = int(time.time())
    sam = whatsapp.bridge.chats[SAM]["messages"]
    for i in range(3):
        sam.append({**sam[0], "id": f"true_{SAM}_3EB0MINE{i:04d}", "from_me": True, "timestamp": now - 60 * i})
    await call(whatsapp.client, whatsapp.tokens, "read_chat", {"chat_id": SAM}, READ)  # stores them
    await call(whatsapp.client, whatsapp.tokens, "read_chat", {"chat_id": FAMILY}, READ)
    out = await call(whatsapp.client, whatsapp.tokens, "unread_chats", {}, READ)
    assert {c["name"] for c in out["chats"]} == {"Sam Rivera", "Family"}
    assert out["unread_total"] == 2
    # groups are not people
    assert out["people"] == [{"name": "Sam Rivera", "messages": 4, "messages_text": "4 messages"}]


async def test_needs_answer_lists_chats_whose_last_word_is_someone_elses(whatsapp: WhatsApp) -> None:
    out = await call(whatsapp.client, whatsapp.tokens, "needs_answer", {}, READ)
    # Sam asked a question; the family group's last message is no question.
    assert [c["name"] for c in out["chats"]] == ["Sam Rivera"]
    sam = whatsapp.bridge.chats[SAM]["messages"]
    reply = {"id": f"true_{SAM}_3EB0REPLY", "from_me": True, "body": "Yes!", "timestamp": int(time.time())}
    sam.append({**sam[0], **reply})
    out = await call(whatsapp.client, whatsapp.tokens, "needs_answer", {}, READ)
    assert out["chats"] == []
