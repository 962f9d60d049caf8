"""Graph mail and calendar calls against the demo Graph (shaped like v1.0): delta pages with
@odata.nextLink and @odata.deltaLink, @removed, 410 SyncStateNotFound, throttling, writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.tools.outlook.conftest import Edge
from tools.errors import AuthExpired, InvalidRequest, RateLimited
from tools.outlook.demo import DEMO_ACCESS_TOKEN
from tools.outlook.graph import DeltaExpired

pytestmark = pytest.mark.anyio


async def test_a_mail_round_follows_next_links_then_a_later_round_brings_only_changes(edge: Edge) -> None:
    pages = [p async for p in edge.client.mail_delta("inbox")]
    inbox = edge.graph.items["inbox"]
    assert sorted(m.id for p in pages for m in p.value) == sorted(inbox)
    assert len(pages) == 2 and pages[0].next_link and pages[0].delta_link is None and pages[-1].delta_link
    first, second = edge.graph.requests[0], edge.graph.requests[1]
    assert first.url.path == "/v1.0/me/mailFolders/inbox/messages/delta" and "$select" in first.url.params
    assert "$select" not in second.url.params and "$skiptoken" in second.url.params  # options on the first only
    assert first.headers["Authorization"] == f"Bearer {DEMO_ACCESS_TOKEN}"
    assert first.headers["Prefer"].startswith("odata.maxpagesize=")
    edge.graph.delete("inbox", "msg-newsletter")
    edge.graph.receive({
        "id": "msg-new", "folder": "inbox", "day": 0, "at": "09:00", "from": "x@y.example", "to": ["a@b.example"],
        "subject": "New", "body": "Hi", "conversation": "c-new",
    })  # fmt: skip
    later = [p async for p in edge.client.mail_delta("inbox", delta_link=pages[-1].delta_link)]
    items = [m for p in later for m in p.value]
    assert [(m.id, m.gone) for m in items] == [("msg-new", False), ("msg-newsletter", True)]


async def test_a_calendar_round_is_windowed_and_an_expired_link_is_delta_expired(edge: Edge) -> None:
    today = datetime.combine(edge.graph.today, datetime.min.time(), tzinfo=UTC)
    pages = [p async for p in edge.client.delta_round(start=today, end=today + timedelta(days=2))]
    ids = sorted(e.id for p in pages for e in p.value)
    assert ids == ["ev-budget-review", "ev-migration-call", "ev-offsite-prep"]
    assert edge.graph.requests[0].url.params["startDateTime"] == today.isoformat()
    assert edge.graph.requests[0].headers["Prefer"] == 'outlook.timezone="UTC"'
    edge.graph.expire_delta_links()
    with pytest.raises(DeltaExpired) as info:
        _ = [p async for p in edge.client.delta_round(delta_link=pages[-1].delta_link)]
    assert info.value.status == 410 and info.value.code == "SyncStateNotFound"
    assert DEMO_ACCESS_TOKEN not in str(info.value)


async def test_429_and_503_are_waited_out_as_graph_asks(edge: Edge) -> None:
    edge.graph.throttle = [429, 503]
    found = await edge.client.search("budget", 5)
    assert [m.id for m in found][:1] == ["msg-q4-budget-2"] and edge.waits.seconds[:2] == [1.0, 1.0]
    edge.graph.throttle = [429] * 10
    with pytest.raises(RateLimited) as info:
        await edge.client.search("budget", 5)
    assert info.value.retry_after == 1.0


async def test_a_send_is_not_retried_after_a_503(edge: Edge) -> None:
    edge.graph.throttle = [503]
    with pytest.raises(Exception) as info:
        await edge.client.send_mail(to=["dana@x.example"], cc=[], bcc=[], subject="S", body="B")
    assert "503" in str(info.value) and edge.graph.sent == []
    await edge.client.send_mail(to=["dana@x.example"], cc=["lee@x.example"], bcc=[], subject="S", body="B")
    message = edge.graph.sent[0]["message"]
    assert message["toRecipients"] == [{"emailAddress": {"address": "dana@x.example"}}]
    assert message["body"] == {"contentType": "Text", "content": "B"} and edge.graph.sent[0]["saveToSentItems"]


async def test_links_off_graphs_host_and_naive_windows_are_refused(edge: Edge) -> None:
    with pytest.raises(InvalidRequest):
        _ = [p async for p in edge.client.mail_delta("inbox", delta_link="https://evil.example/delta?$deltatoken=1")]
    with pytest.raises(InvalidRequest):
        naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
        _ = [p async for p in edge.client.delta_round(start=naive, end=naive + timedelta(days=1))]
    assert edge.graph.requests == []


async def test_conversation_reply_draft_and_invitation_answers(edge: Edge) -> None:
    thread = await edge.client.conversation("conv-budget")
    assert [m.id for m in thread] == ["msg-q4-budget-1", "msg-q4-budget-2"]
    assert thread[0].body is not None and "revised Q4 numbers" in (thread[0].body.content or "")
    draft = await edge.client.create_reply("msg-q4-budget-1", "Numbers attached.")
    assert draft.is_draft and draft.to_recipients[0].address == "dana.whitfield@northwind.example"
    assert json.loads(edge.graph.requests[-1].content) == {"comment": "Numbers attached."}
    await edge.client.respond("ev-offsite-prep", "tentative")
    assert edge.graph.responses == [("ev-offsite-prep", "tentativelyAccept")]
    assert json.loads(edge.graph.requests[-1].content) == {"sendResponse": True}


async def test_a_401_drops_the_held_token(edge: Edge) -> None:
    edge.graph.throttle = [401]
    with pytest.raises(AuthExpired):
        await edge.client.get_event("ev-retro")
    assert edge.client.tokens._session is None
