"""Outlook sync over the demo Graph: full rounds, deltas, an expired link reconciled, a moved window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from mcp_servers.outlook.models import OutlookEventRow, OutlookMessageRow, OutlookStateRow
from tests.mcp_servers.conftest import call, error_text
from tests.mcp_servers.outlook.conftest import Box

pytestmark = pytest.mark.anyio
MAIL, CAL = "mail.read", "calendar.read"


async def _messages(b: Box) -> list[tuple[str, str]]:
    async with b.db.transaction() as s:
        rows = (await s.execute(select(OutlookMessageRow.id, OutlookMessageRow.folder))).all()
    return sorted((str(i), str(f)) for i, f in rows)


async def _events(b: Box) -> list[str]:
    async with b.db.transaction() as s:
        return sorted((await s.scalars(select(OutlookEventRow.id))).all())


def _graph_messages(b: Box) -> list[tuple[str, str]]:
    return sorted((i, f) for f in ("inbox", "sentitems") for i in b.graph.items[f])


async def test_first_mail_sync_is_full_paged_and_encrypted_then_deltas_follow(outlook: Box) -> None:
    out = await call(outlook.client, outlook.tokens, "sync_mail", {}, MAIL)
    assert out == {"mode": "full", "stored": 6, "deleted": 0}
    assert await _messages(outlook) == _graph_messages(outlook)
    skips = [r for r in outlook.graph.requests if "$skiptoken" in r.url.params]
    assert len(skips) == 2  # the inbox's 5 messages in pages of 2: two next links followed
    async with outlook.db.transaction() as s:
        sealed = (await s.execute(text("SELECT subject, sender, preview FROM outlook_messages"))).all()
        state = select(OutlookStateRow.stream, OutlookStateRow.delta_link)
        links: dict[str, str | None] = {k: v for k, v in (await s.execute(state)).all()}  # noqa: C416
    assert all(b"Q4 budget" not in bytes(c) and b"dana" not in bytes(c) for row in sealed for c in row)
    assert set(links) == {"inbox", "sentitems"} and all(v and "deltatoken=" in v for v in links.values())
    # Nothing changed: the delta round brings nothing; then a message arrives and one is deleted.
    again = await call(outlook.client, outlook.tokens, "sync_mail", {}, MAIL)
    assert again == {"mode": "incremental", "stored": 0, "deleted": 0}
    outlook.graph.delete("inbox", "msg-newsletter")
    outlook.graph.receive({
        "id": "msg-late", "folder": "inbox", "day": 0, "at": "09:00", "from": "lee.chen@northwind.example",
        "to": ["alex.rivera@northwind.example"], "subject": "Late", "body": "Are you joining?", "conversation": "c9",
    })  # fmt: skip
    later = await call(outlook.client, outlook.tokens, "sync_mail", {}, MAIL)
    assert later == {"mode": "incremental", "stored": 1, "deleted": 1}
    assert await _messages(outlook) == _graph_messages(outlook)


async def test_an_expired_delta_link_resyncs_in_full_and_reconciles(outlook: Box) -> None:
    await call(outlook.client, outlook.tokens, "sync_mail", {}, MAIL)
    await call(outlook.client, outlook.tokens, "sync_calendar", {}, CAL)
    # While Graph forgot the links, a message and an event went away: the full round must drop them.
    outlook.graph.expire_delta_links()
    del outlook.graph.items["inbox"]["msg-invoice-nov"]
    del outlook.graph.items["calendar"]["ev-retro"]
    out = await call(outlook.client, outlook.tokens, "sync_mail", {}, MAIL)
    assert out["mode"] == "full" and out["deleted"] == 1
    cal = await call(outlook.client, outlook.tokens, "sync_calendar", {}, CAL)
    assert cal["mode"] == "full" and cal["deleted"] == 1
    assert await _messages(outlook) == _graph_messages(outlook)
    assert await _events(outlook) == sorted(outlook.graph.items["calendar"])  # nothing duplicated, nothing stale
    gone = [r for r in outlook.graph.requests if r.url.params.get("$deltatoken") and r.url.path.endswith("delta")]
    assert gone  # the expired links were tried first


async def test_the_calendar_round_starts_again_when_the_window_moves(outlook: Box) -> None:
    first = await call(outlook.client, outlook.tokens, "sync_calendar", {}, CAL)
    assert first["mode"] == "full" and first["stored"] == 5
    same = await call(outlook.client, outlook.tokens, "sync_calendar", {}, CAL)
    assert same["mode"] == "incremental"
    outlook.service._now = lambda: datetime.now(UTC) + timedelta(days=1)
    moved = await call(outlook.client, outlook.tokens, "sync_calendar", {}, CAL)
    assert moved["mode"] == "full"
    starts = [r.url.params.get("startDateTime") for r in outlook.graph.requests if "startDateTime" in r.url.params]
    assert len(set(starts)) == 2


async def test_a_sync_needs_its_own_scope(outlook: Box) -> None:
    result = await outlook.client.call_tool("sync_calendar", {}, meta=outlook.tokens.meta(MAIL))
    assert "scope" in error_text(result).lower()
    assert await _events(outlook) == []
