"""Outlook tools over the demo Graph: mail analysis, meeting prep, calendar reads and changes, sending."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from mcp_servers._mail_analysis import MailItem, analyse
from tests.mcp_servers.conftest import call, error_text
from tests.mcp_servers.outlook.conftest import Box
from tools.outlook.demo_data import mailbox as data

pytestmark = pytest.mark.anyio
MAIL, CAL, WRITE, SEND = "mail.read", "calendar.read", "calendar.write", "mail.send"


async def _synced(b: Box) -> None:
    await call(b.client, b.tokens, "sync_mail", {}, MAIL)
    await call(b.client, b.tokens, "sync_calendar", {}, CAL)


@pytest.mark.parametrize(
    ("sender", "subject", "body", "sent", "category"),
    [
        ("dana@x.example", "Budget", "Can you send me the numbers by Friday?", False, "needs_reply"),
        ("me@x.example", "RE: Budget", "Here they are. Could you check with finance?", True, "waiting"),
        ("digest@news.example", "Weekly", "Top stories. Unsubscribe here.", False, "newsletter"),
        ("billing@shop.example", "Your invoice", "Amount due: $12.00 by the 15th.", False, "receipt"),
        ("lee@x.example", "Invitation: Offsite planning", "Join us.", False, "calendar"),
        ("lee@x.example", "Notes", "Sharing the notes from today.", False, "fyi"),
    ],
)
def test_the_rules_classify_each_kind(sender: str, subject: str, body: str, sent: bool, category: str) -> None:
    assert analyse(MailItem(sender, ["me@x.example"], [], subject, body, sent))["category"] == category


def test_action_items_dates_and_questions_are_pulled_out() -> None:
    out = analyse(
        MailItem("p@x.example", [], [], "Scope", "Please confirm the scope by Friday. When do we start?", False)
    )
    assert out["action_items"] == ["Please confirm the scope by Friday.", "When do we start?"]
    assert out["dates"] == ["by Friday"] and out["questions"] == ["When do we start?"] and out["method"] == "rules"


async def test_each_synced_message_is_analysed_and_stored_encrypted(outlook: Box) -> None:
    await _synced(outlook)
    out = await call(outlook.client, outlook.tokens, "mail_insights", {"category": "needs_reply"}, MAIL)
    ids = [m["id"] for m in out["messages"]]
    assert ids == ["msg-priya-proposal", "msg-q4-budget-1"]
    priya = out["messages"][0]
    assert priya["dates"] == ["by Friday"] and "What is your preferred start date?" in priya["questions"]
    assert [s["principal"] for s in out["sources"]] == [data.PRIYA, data.DANA]
    every = await call(outlook.client, outlook.tokens, "mail_insights", {"days": 7, "limit": 50}, MAIL)
    kinds = {m["id"]: m["category"] for m in every["messages"]}
    assert kinds["msg-invoice-nov"] == "receipt" and kinds["msg-newsletter"] == "newsletter"
    assert kinds["msg-q4-budget-2"] == "waiting"
    async with outlook.db.transaction() as s:
        sealed = (await s.execute(text("SELECT analysis FROM outlook_messages"))).scalars().all()
    assert sealed and all(b"needs_reply" not in bytes(v) and b"Friday" not in bytes(v) for v in sealed)


async def test_meeting_prep_joins_todays_meetings_with_the_last_threads_and_open_questions(outlook: Box) -> None:
    await _synced(outlook)
    out = await call(outlook.client, outlook.tokens, "meeting_prep", {}, MAIL)
    by_title = {m["title"]: m for m in out["meetings"]}
    assert list(by_title) == ["Data migration kickoff", "Q4 budget review"]  # today's, by start
    migration = by_title["Data migration kickoff"]
    assert migration["people"] == [data.PRIYA]
    assert migration["threads"][0]["subject"] == "Proposal for the data migration"
    assert "What is your preferred start date?" in migration["threads"][0]["open_questions"]
    budget = by_title["Q4 budget review"]
    assert budget["people"] == [data.DANA]
    # The owner answered Dana last: nothing of hers is still open in that thread.
    assert budget["threads"][0]["subject"] == "RE: Q4 budget review" and budget["threads"][0]["open_questions"] == []
    assert "Last thread: Proposal for the data migration" in migration["prep"]
    assert {s["item_id"] for s in out["sources"]} >= {"ev-migration-call", "msg-priya-proposal"}


async def test_free_slots_avoid_todays_outlook_meetings(outlook: Box) -> None:
    today = outlook.graph.today.isoformat()
    args = {"start": f"{today}T09:00:00+00:00", "end": f"{today}T17:00:00+00:00", "minutes": 60, "limit": 5}
    out = await call(outlook.client, outlook.tokens, "find_free_slot", args, CAL)
    assert [(s["start"][11:16], s["end"][11:16]) for s in out["slots"]] == [
        ("09:00", "10:00"),
        ("10:30", "15:00"),
        ("15:45", "17:00"),
    ]
    busy = await call(outlook.client, outlook.tokens, "free_busy", {"start": args["start"], "end": args["end"]}, CAL)
    assert [b["start"][11:16] for b in busy["busy"]] == ["10:00", "15:00"]


async def test_moving_a_meeting_to_tomorrow_patches_it_in_utc(outlook: Box) -> None:
    await _synced(outlook)
    tomorrow = datetime.combine(outlook.graph.today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    start, end = tomorrow.replace(hour=15), tomorrow.replace(hour=15, minute=45)
    args = {"event_id": "ev-budget-review", "start": start.isoformat(), "end": end.isoformat()}
    out = await call(outlook.client, outlook.tokens, "update_event", args, WRITE)
    assert out["event"]["start"] == start.isoformat()
    patch = next(r for r in outlook.graph.requests if r.method == "PATCH")
    assert json.loads(patch.content)["start"] == {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    half = await outlook.client.call_tool(
        "update_event", {"event_id": "ev-budget-review", "start": start.isoformat()}, meta=outlook.tokens.meta(WRITE)
    )
    assert "both start and end" in error_text(half)


async def test_send_takes_plain_addresses_only_and_audits_before_sending(outlook: Box) -> None:
    bad = await outlook.client.call_tool(
        "send", {"to": ["a@x.example, b@evil.example"], "subject": "S", "body": "B"}, meta=outlook.tokens.meta(SEND)
    )
    assert "plain address" in error_text(bad) and outlook.graph.sent == []
    out = await call(
        outlook.client, outlook.tokens, "send", {"to": [data.DANA], "subject": "Q4", "body": "Done."}, SEND
    )
    assert out == {"sent": True, "recipients": 1} and len(outlook.graph.sent) == 1
    async with outlook.db.transaction() as s:
        actions = (await s.execute(text("SELECT action, result FROM audit_log ORDER BY seq"))).all()
    assert [tuple(a) for a in actions if a[0] == "mail.send"] == [("mail.send", "attempt"), ("mail.send", "ok")]


async def test_answering_an_invitation_the_owner_organizes_is_refused(outlook: Box) -> None:
    own = await outlook.client.call_tool(
        "respond", {"event_id": "ev-migration-call", "response": "accepted"}, meta=outlook.tokens.meta(WRITE)
    )
    assert "organizes" in error_text(own) and outlook.graph.responses == []
    out = await call(
        outlook.client, outlook.tokens, "respond", {"event_id": "ev-offsite-prep", "response": "declined"}, WRITE
    )
    assert outlook.graph.responses == [("ev-offsite-prep", "decline")] and out["event"]["id"] == "ev-offsite-prep"


async def test_pending_mail_carries_its_body_and_the_models_result_is_read_back(outlook: Box) -> None:
    await _synced(outlook)
    pending = await call(outlook.client, outlook.tokens, "analysis_pending", {"limit": 50}, MAIL)
    by_id = {m["id"]: m for m in pending["messages"]}
    assert "msg-priya-proposal" in by_id and by_id["msg-priya-proposal"]["text"]
    assert {s["item_id"]: s["principal"] for s in pending["sources"]}["msg-priya-proposal"] == data.PRIYA
    result = {"id": "msg-priya-proposal", "category": "needs_reply", "dates": ["Friday"], "model": "local-llm"}
    await call(outlook.client, outlook.tokens, "record_analysis", {"analysed": [result]}, "mail.analyse")
    await call(outlook.client, outlook.tokens, "sync_mail", {}, MAIL)
    out = await call(outlook.client, outlook.tokens, "mail_insights", {"category": "needs_reply"}, MAIL)
    priya = next(m for m in out["messages"] if m["id"] == "msg-priya-proposal")
    assert (priya["method"], priya["model"], priya["dates"]) == ("model", "local-llm", ["Friday"])
    again = await call(outlook.client, outlook.tokens, "analysis_pending", {"limit": 50}, MAIL)
    assert "msg-priya-proposal" not in {m["id"] for m in again["messages"]}
