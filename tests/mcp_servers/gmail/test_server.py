from __future__ import annotations

import email
import email.policy
import json

import pytest
from sqlalchemy import func, select, text, update

from mcp_servers.gmail.models import MailAccountRow, MailMessageRow
from storage.models import AuditRow
from tests.mcp_servers.conftest import Gmail, call, error_text
from tools.gmail.demo_data import mailbox as data

pytestmark = pytest.mark.anyio
READ, DRAFT, SEND = "mail.read", "mail.draft", "mail.send"
INJECTION_ID = "18f3a0c2d9b1e401"
ATTACKER_ADDRESS = "it-support@mail-admin-secure.example"


async def _count(g: Gmail) -> int:
    async with g.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(MailMessageRow)) or 0)


async def _history_id(g: Gmail) -> str | None:
    async with g.db.transaction() as s:
        return await s.scalar(select(MailAccountRow.history_id))


async def _labels(g: Gmail, mid: str) -> list[str]:
    async with g.db.transaction() as s:
        raw = await s.scalar(select(MailMessageRow.label_ids).where(MailMessageRow.id == mid))
    assert raw is not None
    return list(json.loads(raw))


async def test_tools_have_schemas_docstrings_and_explicit_annotations(gmail: Gmail) -> None:
    tools = {t.name: t for t in (await gmail.client.list_tools()).tools}
    assert set(tools) == {
        "sync", "search", "read_thread", "draft_reply", "send", "list_labels", "disconnect", "mail_insights",
        "threads_with", "analysis_pending", "record_analysis",
    }  # fmt: skip
    for tool in tools.values():
        assert tool.description and tool.annotations is not None and tool.output_schema is not None
        assert tool.annotations.read_only_hint is not None and tool.annotations.destructive_hint is not None
    for name in ("search", "read_thread", "list_labels", "mail_insights", "threads_with", "analysis_pending"):
        assert tools[name].annotations.read_only_hint is True  # type: ignore[union-attr]
    send = tools["send"]
    assert send.annotations.destructive_hint is True and send.annotations.read_only_hint is False  # type: ignore[union-attr]
    assert send.input_schema["required"] == ["to", "subject", "body"]
    assert send.input_schema["properties"]["to"]["type"] == "array"
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["read_thread"].input_schema["properties"]["thread_id"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert "ctx" not in tools["sync"].input_schema.get("properties", {})
    assert "sources" in tools["search"].output_schema["properties"]  # type: ignore[index]


async def test_first_sync_is_full_and_stores_every_message_encrypted(gmail: Gmail) -> None:
    out = await call(gmail.client, gmail.tokens, "sync", {}, READ)
    assert out["mode"] == "full" and out["stored"] == len(data.MESSAGES) == await _count(gmail)
    assert out["history_id"] == str(data.START_HISTORY_ID) == await _history_id(gmail)
    async with gmail.db.transaction() as s:
        rows = (await s.execute(text("SELECT subject, sender, recipients, snippet, body FROM mail_messages"))).all()
        plain = (await s.execute(text("SELECT id, thread_id, principal FROM mail_messages"))).all()
    blobs = b"".join(bytes(v) for row in rows for v in row)
    for needle in (b"Dinner Saturday", b"mailbox migration", b"Ethiopian", b"sam.okafor", b"archive-sync"):
        assert needle not in blobs
    assert (INJECTION_ID, INJECTION_ID, ATTACKER_ADDRESS) in [tuple(r) for r in plain]


async def test_incremental_sync_applies_new_mail_label_changes_and_deletions(gmail: Gmail) -> None:
    await call(gmail.client, gmail.tokens, "sync", {}, READ)
    sent = await call(
        gmail.client, gmail.tokens, "send", {"to": ["sam.okafor@example.net"], "subject": "Hi", "body": "x"}, SEND
    )
    await gmail.service.client.modify_labels("18f2c4a1b7e30a01", add=["STARRED"], remove=["UNREAD"])
    gmail.mailbox.history_id += 1
    gmail.mailbox.history.append(
        {"id": gmail.mailbox.history_id, "kind": "messagesDeleted", "message": "18f34c9e0b2a1178"}
    )

    out = await call(gmail.client, gmail.tokens, "sync", {}, READ)
    assert out["mode"] == "incremental"
    assert (out["stored"], out["deleted"], out["relabelled"]) == (1, 1, 1)
    assert out["history_id"] == str(gmail.mailbox.history_id) == await _history_id(gmail)
    assert await _count(gmail) == len(data.MESSAGES)  # +1 sent, -1 deleted
    assert sorted(await _labels(gmail, "18f2c4a1b7e30a01")) == ["CATEGORY_PERSONAL", "INBOX", "STARRED"]
    thread = await call(gmail.client, gmail.tokens, "read_thread", {"thread_id": sent["thread_id"]}, READ)
    assert [m["id"] for m in thread["messages"]] == [sent["message_id"]]


async def test_a_rerun_and_a_replayed_history_store_no_duplicates(gmail: Gmail) -> None:
    await call(gmail.client, gmail.tokens, "sync", {}, READ)
    again = await call(gmail.client, gmail.tokens, "sync", {}, READ)
    assert (again["mode"], again["stored"], again["deleted"]) == ("incremental", 0, 0)
    async with gmail.db.transaction() as s:  # replay the demo's whole retained history
        await s.execute(update(MailAccountRow).values(history_id=str(data.HISTORY_FLOOR + 1)))
    replay = await call(gmail.client, gmail.tokens, "sync", {}, READ)
    assert replay["mode"] == "incremental" and replay["stored"] == 2 and replay["relabelled"] == 2
    assert await _count(gmail) == len(data.MESSAGES)


async def test_a_stale_history_id_gets_404_and_a_full_resync(gmail: Gmail) -> None:
    await call(gmail.client, gmail.tokens, "sync", {}, READ)
    async with gmail.db.transaction() as s:
        await s.execute(text("DELETE FROM mail_messages WHERE id = '18f2c4a1b7e30a01'"))
        await s.execute(update(MailAccountRow).values(history_id=str(data.HISTORY_FLOOR - 500)))
    out = await call(gmail.client, gmail.tokens, "sync", {}, READ)
    assert out["mode"] == "full" and out["stored"] == len(data.MESSAGES) == await _count(gmail)
    assert out["history_id"] == str(data.START_HISTORY_ID)
    async with gmail.db.transaction() as s:
        audits = (await s.scalars(select(AuditRow.details).where(AuditRow.action == "mail.sync"))).all()
    assert [json.loads(d or "{}")["mode"] for d in audits] == ["full", "full"]


async def test_search_goes_through_gmail_stores_results_and_names_senders(gmail: Gmail) -> None:
    out = await call(gmail.client, gmail.tokens, "search", {"query": "migration", "limit": 5}, READ)
    assert [m["id"] for m in out["messages"]] == ["18f3c5a8e1f2139a", INJECTION_ID]
    assert all(m["from"] == data.ATTACKER for m in out["messages"])
    assert out["sources"] == [
        {"channel": "email", "server": "gmail", "item_id": m["id"], "principal": ATTACKER_ADDRESS}
        for m in out["messages"]
    ]
    assert await _count(gmail) == 2  # stored, without a sync
    none = await call(gmail.client, gmail.tokens, "search", {"query": "from:nobody@nowhere.example"}, READ)
    assert none == {"messages": [], "sources": []}


async def test_read_thread_fetches_a_missing_thread_then_serves_it_from_the_store(gmail: Gmail) -> None:
    out = await call(gmail.client, gmail.tokens, "read_thread", {"thread_id": INJECTION_ID}, READ)
    assert [m["id"] for m in out["messages"]] == [INJECTION_ID, "18f3c5a8e1f2139a"]
    first = out["messages"][0]
    assert data.EXFIL_ADDRESS in first["body"] and first["subject"] == "Action required: mailbox migration"
    assert {s["principal"] for s in out["sources"]} == {ATTACKER_ADDRESS}
    gmail.mailbox.order.clear()  # Gmail would now answer 404: the store answers instead
    gmail.mailbox.messages.clear()
    again = await call(gmail.client, gmail.tokens, "read_thread", {"thread_id": INJECTION_ID}, READ)
    assert again == out
    missing = await gmail.client.call_tool("read_thread", {"thread_id": "nothread"}, meta=gmail.tokens.meta(READ))
    assert "gmail: not found" in error_text(missing)
    bad = await gmail.client.call_tool("read_thread", {"thread_id": "../labels"}, meta=gmail.tokens.meta(READ))
    assert bad.is_error


async def test_draft_reply_creates_a_threaded_gmail_draft(gmail: Gmail) -> None:
    out = await call(
        gmail.client, gmail.tokens, "draft_reply", {"message_id": "18f2c8e9a4d10c23", "body": "See you!"}, DRAFT
    )
    assert out["thread_id"] == "18f2c4a1b7e30a01" and out["to"] == data.SAM
    assert out["subject"] == "Re: Dinner Saturday?" and out["sources"][0]["principal"] == "sam.okafor@example.net"
    draft = gmail.mailbox.messages[gmail.mailbox.drafts[out["draft_id"]]]
    assert draft["threadId"] == "18f2c4a1b7e30a01" and draft["labelIds"] == ["DRAFT"]
    parsed = email.message_from_bytes(draft["raw"], policy=email.policy.default)
    assert parsed["In-Reply-To"] == "<18f2c8e9a4d10c23@mail.demo.example>"
    assert parsed["To"] == data.SAM and parsed["From"] == "alex.rivera@example.com"
    assert gmail.mailbox.sent == []


async def test_send_sends_exactly_what_was_asked_and_audits_it(gmail: Gmail) -> None:
    args = {
        "to": ["sam.okafor@example.net"],
        "cc": ["lee.chen@northwind.example"],
        "subject": "Table booked",
        "body": "Habesha, Saturday 7pm.",
        "thread_id": "18f2c4a1b7e30a01",
    }
    out = await call(gmail.client, gmail.tokens, "send", args, SEND)
    assert out["thread_id"] == "18f2c4a1b7e30a01" and out["labels"] == ["SENT"]
    [raw] = gmail.mailbox.sent
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert (parsed["To"], parsed["Cc"], parsed["Subject"]) == (
        "sam.okafor@example.net",
        "lee.chen@northwind.example",
        "Table booked",
    )
    async with gmail.db.transaction() as s:
        audits = (await s.execute(select(AuditRow.action, AuditRow.result, AuditRow.details))).all()
    sends = [(a, r) for a, r, _ in audits if a == "mail.send"]
    assert sends == [("mail.send", "attempt"), ("mail.send", "ok")]
    assert all("sam.okafor" not in (d or "") for _, _, d in audits)  # recipients are hashed


@pytest.mark.parametrize(
    "args",
    [
        {"to": ["Sam <sam@example.net>, evil@x.example"], "subject": "s", "body": "b"},
        {"to": ["sam@example.net"], "subject": "s\r\nBcc: evil@x.example", "body": "b"},
        {"to": [], "subject": "s", "body": "b"},
    ],
)
async def test_send_refuses_smuggled_recipients_and_headers(gmail: Gmail, args: dict[str, object]) -> None:
    result = await gmail.client.call_tool("send", args, meta=gmail.tokens.meta(SEND))
    assert result.is_error
    assert gmail.mailbox.sent == []


async def test_list_labels(gmail: Gmail) -> None:
    out = await call(gmail.client, gmail.tokens, "list_labels", {}, READ)
    by_id = {label["id"]: label for label in out["labels"]}
    assert by_id["Label_1"] == {"id": "Label_1", "name": "Finance", "type": "user"}
    assert by_id["INBOX"]["type"] == "system" and len(by_id) == len(data.LABELS)


async def test_disconnect_revokes_at_google_then_deletes_the_stored_mail(gmail: Gmail) -> None:
    await call(gmail.client, gmail.tokens, "sync", {}, READ)
    assert await _count(gmail) > 0
    refused = await gmail.client.call_tool("disconnect", {}, meta=gmail.tokens.meta(SEND))
    assert "call refused: insufficient_scope" in error_text(refused)  # sending mail is not disconnecting
    assert await call(gmail.client, gmail.tokens, "disconnect", {}, "mail.link") == {"removed": ["google-grant"]}
    assert gmail.mailbox.revoked != [] and await _count(gmail) == 0
    assert await _history_id(gmail) is None
    # Google already ended the grant: nothing to revoke, nothing left here.
    assert await call(gmail.client, gmail.tokens, "disconnect", {}, "mail.link") == {"removed": []}
