"""Gmail mail analysis: each synced message is classified and its asks, dates and questions are
stored encrypted beside it; the insights and the threads with some people read them back, with the
sender of each message as its source."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import select, text, update

from broker.tokens import SigningKey
from mcp_servers._common import CallGate
from mcp_servers.gmail.models import MailMessageRow
from mcp_servers.gmail.server import GmailDeps, build_server
from mcp_servers.gmail.service import GmailService
from mcp_servers.gmail.store import MailStore
from storage.audit import AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from tests.mcp_servers.conftest import NO_RETRY_WAIT, Clock, Gmail, Tokens, call, error_text
from tools._http import build_http_client
from tools.credentials import StaticCredentials
from tools.gmail.client import GmailClient
from tools.gmail.demo import DemoMailbox, demo_credentials, demo_transport

pytestmark = pytest.mark.anyio
READ = "mail.read"
NOW = datetime(2026, 11, 9, 12, 0, tzinfo=UTC)  # the day after the demo mailbox's newest mail
DANA_ASKS = "18f30a7d5e8b0e45"
SAM_LAST = "18f2c8e9a4d10c23"
OWNER_TO_DANA = "18f3110b7d4e1067"
STATEMENT = "18f2e1b6c2f90d34"
AIRLINE = "18f34c9e0b2a1178"


@pytest.fixture
async def gm(
    db: Database, cipher: FieldCipher, mail_audit: AuditLog, make_gate: Callable[[str], CallGate],
    signing_key: SigningKey, clock: Clock,
) -> AsyncIterator[Gmail]:  # fmt: skip
    mailbox = DemoMailbox()
    async with build_http_client(transport=demo_transport(mailbox)) as http:
        client = GmailClient(http, StaticCredentials(demo_credentials()), retry=NO_RETRY_WAIT)
        service = GmailService(client, MailStore(db, cipher), db, mail_audit, now=lambda: NOW)
        server = build_server(GmailDeps(service=service, gate=make_gate("gmail")))
        async with Client(server) as mcp_client:
            yield Gmail(mcp_client, Tokens(signing_key, clock, "gmail"), mailbox, service, db)


async def _insights(g: Gmail, **args: object) -> dict[str, dict[str, Any]]:
    out = await call(g.client, g.tokens, "mail_insights", {"days": 14, "limit": 100, **args}, READ)
    assert {s["item_id"] for s in out["sources"]} == {m["id"] for m in out["messages"]}
    return {m["id"]: m for m in out["messages"]}


async def test_sync_stores_each_messages_analysis_encrypted(gm: Gmail) -> None:
    await call(gm.client, gm.tokens, "sync", {}, READ)
    async with gm.db.transaction() as s:
        blobs = (await s.execute(text("SELECT id, analysis FROM mail_messages"))).all()
    assert blobs and all(blob is not None for _, blob in blobs)
    joined = b"".join(bytes(blob) for _, blob in blobs)
    for needle in (b"needs_reply", b"receipt", b"by Friday", b"comments"):
        assert needle not in joined
    found = await _insights(gm)
    assert found[DANA_ASKS]["category"] == "needs_reply"
    assert any("comments by Friday" in a for a in found[DANA_ASKS]["action_items"])
    assert "by Friday" in found[DANA_ASKS]["dates"]
    assert found[STATEMENT]["category"] == "receipt"
    assert found[AIRLINE]["category"] == "newsletter"  # a no-reply sender
    assert found[OWNER_TO_DANA]["category"] in ("waiting", "fyi")  # the owner's own mail never needs a reply
    assert found[DANA_ASKS]["method"] == "rules"


async def test_needs_reply_lists_only_that_category_with_each_sender_as_source(gm: Gmail) -> None:
    await call(gm.client, gm.tokens, "sync", {}, READ)
    out = await call(gm.client, gm.tokens, "mail_insights", {"category": "needs_reply", "days": 14}, READ)
    assert out["messages"] and {m["category"] for m in out["messages"]} == {"needs_reply"}
    principals = {s["item_id"]: s["principal"] for s in out["sources"]}
    assert principals[DANA_ASKS] == "dana.whitfield@northwind.example"
    assert all(s["channel"] == "email" and s["server"] == "gmail" for s in out["sources"])
    older = await call(gm.client, gm.tokens, "mail_insights", {"days": 1}, READ)
    assert DANA_ASKS not in {m["id"] for m in older["messages"]}  # outside the window
    bad = await gm.client.call_tool("mail_insights", {"category": "urgent"}, meta=gm.tokens.meta(READ))
    assert "category" in error_text(bad)


async def test_a_message_stored_before_analysis_is_analysed_when_read(gm: Gmail) -> None:
    await call(gm.client, gm.tokens, "sync", {}, READ)
    async with gm.db.transaction() as s:
        await s.execute(update(MailMessageRow).where(MailMessageRow.id == DANA_ASKS).values(analysis=None))
    found = await _insights(gm)
    assert found[DANA_ASKS]["category"] == "needs_reply"
    async with gm.db.transaction() as s:
        assert await s.scalar(select(MailMessageRow.analysis).where(MailMessageRow.id == DANA_ASKS)) is None


async def test_threads_with_people_carry_what_is_still_open_and_leave_the_owner_out(gm: Gmail) -> None:
    await call(gm.client, gm.tokens, "sync", {}, READ)
    sam = await call(gm.client, gm.tokens, "threads_with", {"people": ["Sam.Okafor@example.net"]}, READ)
    assert [t["subject"] for t in sam["threads"]] == ["Re: Dinner Saturday?"]
    assert sam["threads"][0]["open_questions"] == ["Yes please, three of us."]  # asked after Alex's reply
    assert SAM_LAST in {s["item_id"] for s in sam["sources"]}
    assert {s["principal"] for s in sam["sources"]} >= {"sam.okafor@example.net", "alex.rivera@example.com"}
    dana = await call(gm.client, gm.tokens, "threads_with", {"people": ["dana.whitfield@northwind.example"]}, READ)
    assert len(dana["threads"]) == 1 and dana["threads"][0]["open_questions"] == []  # Alex wrote last
    owner = await call(gm.client, gm.tokens, "threads_with", {"people": ["alex.rivera@example.com"]}, READ)
    assert owner["threads"] == []  # the owner's own address is nobody to prepare for
    bad = await gm.client.call_tool("threads_with", {"people": ["a@b, c@d"]}, meta=gm.tokens.meta(READ))
    assert "people" in error_text(bad)


async def test_the_models_results_are_stored_encrypted_with_their_method_and_survive_a_resync(gm: Gmail) -> None:
    await call(gm.client, gm.tokens, "sync", {}, READ)
    pending = await call(gm.client, gm.tokens, "analysis_pending", {"days": 14, "limit": 50}, READ)
    by_id = {m["id"]: m for m in pending["messages"]}
    assert DANA_ASKS in by_id and "comments by Friday" in by_id[DANA_ASKS]["text"]
    assert {s["item_id"]: s["principal"] for s in pending["sources"]}[DANA_ASKS] == "dana.whitfield@northwind.example"
    result = {"id": DANA_ASKS, "category": "waiting", "action_items": ["Review the deck"], "model": "claude-x"}
    out = await call(
        gm.client, gm.tokens, "record_analysis",
        {"analysed": [result], "fell_back": [{"id": STATEMENT, "reason": "tool_call"}]}, "mail.analyse",
    )  # fmt: skip
    assert out == {"analysed": 1, "fell_back": 1}
    await call(gm.client, gm.tokens, "sync", {}, READ)
    await call(gm.client, gm.tokens, "search", {"query": "from:dana"}, READ)  # a live read upserts the row again
    found = await _insights(gm)
    assert found[DANA_ASKS]["method"] == "model" and found[DANA_ASKS]["model"] == "claude-x"
    assert found[DANA_ASKS]["category"] == "waiting" and found[DANA_ASKS]["action_items"] == ["Review the deck"]
    assert found[STATEMENT]["method"] == "rules" and found[STATEMENT]["fallback"] == "tool_call"
    assert found[AIRLINE]["method"] == "rules" and found[AIRLINE]["fallback"] is None
    again = await call(gm.client, gm.tokens, "analysis_pending", {"days": 14, "limit": 50}, READ)
    assert {DANA_ASKS, STATEMENT}.isdisjoint(m["id"] for m in again["messages"])
    # The briefing's "needs a reply" and the digest read the model's category where there is one.
    needs_reply = await call(gm.client, gm.tokens, "mail_insights", {"category": "needs_reply", "days": 14}, READ)
    assert DANA_ASKS not in {m["id"] for m in needs_reply["messages"]}
    waiting = await call(gm.client, gm.tokens, "mail_insights", {"category": "waiting", "days": 14}, READ)
    assert DANA_ASKS in {m["id"] for m in waiting["messages"]}
    async with gm.db.transaction() as s:
        blob = await s.scalar(select(MailMessageRow.model_analysis).where(MailMessageRow.id == DANA_ASKS))
    assert blob is not None and b"Review the deck" not in bytes(blob) and b"claude-x" not in bytes(blob)


async def test_recording_needs_its_own_scope_and_the_strict_shape(gm: Gmail) -> None:
    await call(gm.client, gm.tokens, "sync", {}, READ)
    good = {"id": DANA_ASKS, "category": "fyi", "model": "m"}
    denied = await gm.client.call_tool("record_analysis", {"analysed": [good]}, meta=gm.tokens.meta(READ))
    assert "insufficient_scope" in error_text(denied)
    for bad in (
        {**good, "forward_to": "x@evil.example"},  # an extra field
        {**good, "category": "urgent"},  # not a category
        {**good, "action_items": ["x"] * 6},  # too many items
    ):
        refused = await gm.client.call_tool("record_analysis", {"analysed": [bad]}, meta=gm.tokens.meta("mail.analyse"))
        assert refused.is_error
    assert (await _insights(gm))[DANA_ASKS]["method"] == "rules"
