"""The Python client against the real bridge process (fake WhatsApp inside) and the real broker."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import jwt
import pytest

from broker.client import BrokerClient
from tests.broker.conftest import Broker
from tests.tools.whatsapp.conftest import ALICE, FAMILY, BridgeProcess, key_file, make_client, until
from tools.errors import AuthExpired, InvalidRequest
from tools.whatsapp import BridgeTokens, NotConnected, WhatsAppClient

pytestmark = pytest.mark.anyio

Start = Callable[..., Awaitable[BridgeProcess]]


async def test_pairing_then_connected(bridge_factory: Start, tokens: BridgeTokens, http: httpx.AsyncClient) -> None:
    bridge = await bridge_factory(paired=False)
    client = make_client(http, tokens, bridge)

    async def pairing() -> bool:
        return (await client.status()).state == "pairing"

    await until(pairing)
    shown = await client.pairing()
    assert shown.qr is not None and shown.qr.startswith("2@fake-qr")
    status_body = (await http.get(f"{bridge.url}/v1/status", headers=await _auth(tokens, "whatsapp.status"))).json()
    assert "qr" not in status_body, "the QR is only on the pairing route"

    with pytest.raises(NotConnected) as caught:
        await client.recent_chats()
    assert caught.value.state == "pairing" and caught.value.needs_owner

    code = await client.request_pairing_code("+1 555 000 0001")
    assert code == "FAKE0001"
    await bridge.command("connect")
    assert (await client.status()).state == "connected"
    assert await client.health_check() is True


async def test_messages_are_kept_until_acknowledged_across_a_restart(
    bridge_factory: Start, tokens: BridgeTokens, http: httpx.AsyncClient
) -> None:
    bridge = await bridge_factory()
    client = make_client(http, tokens, bridge)
    await until(lambda: _connected(client))
    await bridge.command("receive", chatId=ALICE, body="are we still on for 7?")
    await bridge.command(
        "receive", chatId=FAMILY, author="15550000003@c.us", body="see evil.example/x", links=["evil.example/x"]
    )

    async def two() -> bool:
        return len(await client.pending()) == 2

    await until(two)
    alice, group = await client.pending()
    assert (alice.chat_id, alice.sender_saved_name, alice.is_group) == (ALICE, "Alice Saved", False)
    assert (group.chat_name, group.author, group.is_group) == ("Family", "15550000003@c.us", True)
    assert group.sender_saved_name is None and group.sender_push_name == "Aegis Owner"
    assert group.links == ("evil.example/x",)

    assert await client.acknowledge([alice.id]) == 1
    assert await client.acknowledge([alice.id]) == 0, "a repeated ack is harmless"
    await bridge.stop()

    again = await bridge_factory(data_dir=bridge.data_dir.parent)
    client = make_client(http, tokens, again)
    assert [m.id for m in await client.pending()] == [group.id]
    assert (again.data_dir.stat().st_mode & 0o777) == 0o700


async def test_chats_messages_search_and_send(
    bridge_factory: Start, tokens: BridgeTokens, http: httpx.AsyncClient
) -> None:
    bridge = await bridge_factory()
    client = make_client(http, tokens, bridge)
    await until(lambda: _connected(client))
    await bridge.command("receive", chatId=ALICE, body="lunch tomorrow?")

    chats = await client.recent_chats(limit=5)
    assert [c.id for c in chats] == [ALICE, FAMILY]
    assert chats[0].last_message is not None and chats[0].last_message.body == "lunch tomorrow?"
    assert [m.body for m in await client.chat_messages(ALICE)] == ["lunch tomorrow?"]
    assert [m.body for m in await client.search("LUNCH")] == ["lunch tomorrow?"]

    sent = await client.send(ALICE, "yes, 12:30", idempotency_key="k-123456789")
    again = await client.send(ALICE, "yes, 12:30", idempotency_key="k-123456789")
    assert sent == again and sent.chat_id == ALICE
    assert (await bridge.command("sent"))["sent"] == [{"chatId": ALICE, "content": "yes, 12:30"}]

    with pytest.raises(InvalidRequest):
        await client.chat_messages("../v1/inbox")
    with pytest.raises(InvalidRequest):
        await client.send(ALICE, "   ")


async def test_each_call_carries_a_bridge_token_with_only_its_scope(
    bridge_factory: Start, tokens: BridgeTokens, http: httpx.AsyncClient
) -> None:
    bridge = await bridge_factory()
    client = make_client(http, tokens, bridge)
    await until(lambda: _connected(client))
    await client.send(ALICE, "hello")
    claims = jwt.decode(await tokens.get("whatsapp.send"), options={"verify_signature": False})
    assert claims["aud"] == "whatsapp-bridge"
    assert claims["scope"] == "whatsapp.send"
    assert claims["resource"] == "mcp:whatsapp"
    assert "whatsapp.send" in repr(tokens) and claims["jti"] not in repr(tokens)


async def test_a_token_for_another_resource_is_refused_by_the_bridge(
    bridge_factory: Start, live_broker: Broker, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    bridge = await bridge_factory()
    path = await key_file(live_broker, tmp_path / "other.key", resources=["mcp:gmail"])
    foreign = BridgeTokens(BrokerClient(live_broker.http), api_key_file=path, resource="mcp:gmail")
    client = make_client(http, foreign, bridge)
    with pytest.raises(AuthExpired) as caught:
        await client.status()
    assert caught.value.status == 403 and caught.value.code == "wrong_resource"


async def test_an_expired_token_is_refused_after_one_fresh_try(
    bridge_factory: Start, live_broker: Broker, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    bridge = await bridge_factory()
    live_broker.clock.now = time.time() - 1000  # the broker mints tokens that expired long ago
    path = await key_file(live_broker, tmp_path / "late.key")
    late = BridgeTokens(BrokerClient(live_broker.http), api_key_file=path, clock=time.time)
    client = make_client(http, late, bridge)
    with pytest.raises(AuthExpired) as caught:
        await client.status()
    assert caught.value.status == 401
    minted = [e for e in await live_broker.audit(limit=50) if e["action"] == "token.mint" and e["result"] == "allow"]
    assert len(minted) == 2, "one fresh token was tried after the first was refused"


async def test_no_token_no_answer(bridge_factory: Start, http: httpx.AsyncClient) -> None:
    bridge = await bridge_factory()
    for path in ("/v1/status", "/v1/inbox", "/health"):
        r = await http.get(bridge.url + path)
        assert r.status_code == 401
        assert r.json()["error"] == "missing_token"


async def _auth(tokens: BridgeTokens, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await tokens.get(scope)}"}


async def _connected(client: WhatsAppClient) -> bool:
    return (await client.status()).state == "connected"


async def test_logout_then_a_fresh_qr_and_the_problem_stays_visible(
    bridge_factory: Start, tokens: BridgeTokens, http: httpx.AsyncClient
) -> None:
    bridge = await bridge_factory()
    client = make_client(http, tokens, bridge)
    await until(lambda: _connected(client))
    after = await client.logout()
    assert after.state == "logged_out"

    async def pairing_again() -> bool:
        return (await client.pairing()).qr is not None

    await until(pairing_again)
    shown = await client.pairing()
    assert shown.state == "pairing"
    assert shown.last_problem is not None and shown.last_problem.state == "logged_out"
