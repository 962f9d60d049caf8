from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from mcp_servers.gcalendar.models import CalendarAccountRow, CalendarEventRow
from storage.models import AuditRow
from tests.mcp_servers.conftest import call, error_text
from tests.mcp_servers.gcalendar.conftest import Cal
from tools.gcalendar.demo_data import calendar as data

pytestmark = pytest.mark.anyio
READ, WRITE = "calendar.read", "calendar.write"


async def _ids(g: Cal) -> list[str]:
    async with g.db.transaction() as s:
        return sorted((await s.scalars(select(CalendarEventRow.id))).all())


async def _token(g: Cal) -> str | None:
    async with g.db.transaction() as s:
        return await s.scalar(select(CalendarAccountRow.sync_token))


def _live(g: Cal) -> list[str]:
    return sorted(i for i, e in g.calendar.events.items() if e["status"] != "cancelled")


def _lists(g: Cal) -> list[dict[str, str]]:
    return [dict(r.url.params) for r in g.edge.requests if r.url.path.endswith("/events") and r.method == "GET"]


async def test_tools_have_schemas_and_explicit_annotations(gcal: Cal) -> None:
    tools = {t.name: t for t in (await gcal.client.list_tools()).tools}
    assert set(tools) == {
        "sync", "events", "event", "free_busy", "find_free_slot",
        "create_event", "update_event", "cancel_event", "respond", "disconnect",
    }  # fmt: skip
    for name in ("events", "event", "free_busy", "find_free_slot"):
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is True
    assert tools["cancel_event"].annotations is not None and tools["cancel_event"].annotations.destructive_hint
    assert tools["event"].input_schema["properties"]["event_id"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert tools["create_event"].input_schema["required"] == ["title", "start", "end"]


async def test_first_sync_is_full_paged_expanded_and_encrypted(gcal: Cal) -> None:
    out = await call(gcal.client, gcal.tokens, "sync", {}, READ)
    assert out["mode"] == "full" and out["stored"] == len(_live(gcal)) == 58
    assert await _ids(gcal) == _live(gcal)
    lists = _lists(gcal)
    assert len(lists) == 15 and all(p["singleEvents"] == "true" and "timeMin" in p for p in lists)
    assert [p.get("pageToken") for p in lists[:3]] == [None, "EhQ4", "EhQ8"]  # followed nextPageToken
    assert await _token(gcal) == gcal.calendar._token()  # the last page's nextSyncToken
    async with gcal.db.transaction() as s:
        sealed = text("SELECT summary, description, location, attendees FROM gcalendar_events")
        blobs = b"".join(bytes(v) for row in (await s.execute(sealed)).all() for v in row)
        series = CalendarEventRow.recurring_event_id == "standup7h2k9q"
        standups = await s.scalar(select(func.count()).select_from(CalendarEventRow).where(series))
    for needle in (b"Quarterly planning", b"Corner Bistro", b"northwind", b"Contract renewal"):
        assert needle not in blobs
    assert standups == 45  # the recurring standup, one row per instance


async def test_incremental_sync_applies_changes_and_cancellations_with_the_sync_token(gcal: Cal) -> None:
    await call(gcal.client, gcal.tokens, "sync", {}, READ)
    first_token = await _token(gcal)
    gcal.calendar.touch("planningq1001", summary="Quarterly planning (moved)")
    gcal.calendar.cancel("lunchsam0001")
    before = len(gcal.edge.requests)
    out = await call(gcal.client, gcal.tokens, "sync", {}, READ)
    assert (out["mode"], out["stored"], out["deleted"]) == ("incremental", 1, 1)
    sent = [dict(r.url.params) for r in gcal.edge.requests[before:]]
    assert sent and all(p["syncToken"] == first_token and "timeMin" not in p and "orderBy" not in p for p in sent)
    assert "lunchsam0001" not in await _ids(gcal) and await _ids(gcal) == _live(gcal)
    got = await call(gcal.client, gcal.tokens, "event", {"event_id": "planningq1001"}, READ)
    assert got["event"]["title"] == "Quarterly planning (moved)"
    again = await call(gcal.client, gcal.tokens, "sync", {}, READ)
    assert (again["mode"], again["stored"], again["deleted"]) == ("incremental", 0, 0)


async def test_a_410_starts_a_full_resync_that_reconciles_the_store(gcal: Cal) -> None:
    await call(gcal.client, gcal.tokens, "sync", {}, READ)
    gcal.calendar.expire_sync_tokens()
    del gcal.calendar.events["dentist00001"]  # deleted while our token was dead: no tombstone reaches us
    gcal.calendar.touch("onetoonedana01", location="Room 2")
    before = len(gcal.edge.requests)
    out = await call(gcal.client, gcal.tokens, "sync", {}, READ)
    statuses = [r.url.params.get("syncToken") is not None for r in gcal.edge.requests[before:]]
    assert statuses[0] is True and not any(statuses[1:])  # one 410, then a full listing
    assert out["mode"] == "full" and out["deleted"] == 1 and out["stored"] == len(_live(gcal))
    ids = await _ids(gcal)
    assert ids == _live(gcal) and len(ids) == len(set(ids)) and "dentist00001" not in ids
    async with gcal.db.transaction() as s:
        audits = (await s.scalars(select(AuditRow.details).where(AuditRow.action == "calendar.sync"))).all()
    assert [json.loads(d or "{}")["mode"] for d in audits] == ["full", "full"]


async def test_todays_events_come_in_order_with_their_organizers_as_sources(gcal: Cal) -> None:
    out = await call(gcal.client, gcal.tokens, "events", {}, READ)  # default: today
    titles = [e["title"] for e in out["events"]]
    assert titles == ["Team standup", "1:1 with Dana", "Weekly review"]
    dana = next(e for e in out["events"] if e["title"] == "1:1 with Dana")
    assert dana["when"] == "15:00-15:30 UTC" and dana["organizer"] == data.DANA and not dana["organized_by_owner"]
    assert {"channel": "calendar", "server": "gcalendar", "item_id": dana["id"], "principal": data.DANA} in out[
        "sources"
    ]
    assert any(p.get("orderBy") == "startTime" and "timeMax" in p for p in _lists(gcal))


async def test_a_future_window_expands_the_recurring_standup(gcal: Cal) -> None:
    day = datetime.now(UTC).date() + timedelta(days=20)
    window = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    out = await call(gcal.client, gcal.tokens, "events", window, READ)
    standup = [e for e in out["events"] if e["title"] == "Team standup"]
    assert len(standup) == 1 and standup[0]["recurring"] and standup[0]["start"].startswith(day.isoformat())


async def test_free_busy_and_free_slots_avoid_todays_meetings(gcal: Cal) -> None:
    today = datetime.now(UTC).date()
    window = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}
    busy = await call(gcal.client, gcal.tokens, "free_busy", window, READ)
    starts = [b["start"][11:16] for b in busy["busy"]]
    assert "09:30" in starts and "15:00" in starts
    out = await call(gcal.client, gcal.tokens, "find_free_slot", {**window, "minutes": 60, "limit": 10}, READ)
    slots = [(s["start"][11:16], s["end"][11:16]) for s in out["slots"]]
    assert slots == [("09:45", "15:00"), ("16:30", "18:00")]  # 30-minute gaps are too short
    assert out["time_zone"] == "UTC"  # the calendar's own, as Google states it
    india = {**window, "minutes": 60, "time_zone": "Asia/Kolkata"}  # +05:30: 09:30Z is 15:00 there
    local = await call(gcal.client, gcal.tokens, "find_free_slot", india, READ)
    assert [(s["start"][11:], s["end"][11:]) for s in local["slots"]] == [
        ("09:00:00+05:30", "15:00:00+05:30"),
        ("15:15:00+05:30", "18:00:00+05:30"),
    ]
    bad = await gcal.client.call_tool(
        "find_free_slot", {**window, "time_zone": "Mars/Olympus"}, meta=gcal.tokens.meta(READ)
    )
    assert "unknown time zone" in error_text(bad)


async def test_create_event_invites_attendees_and_is_audited_without_their_addresses(gcal: Cal) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    args = {
        "title": "Budget review",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "attendees": [data.DANA],
        "location": "Video call",
    }
    out = await call(gcal.client, gcal.tokens, "create_event", args, WRITE)
    assert out["event"]["title"] == "Budget review" and out["event"]["attendees"] == [data.DANA]
    body = gcal.calendar.inserted[-1]
    assert body["attendees"] == [{"email": data.DANA}] and body["summary"] == "Budget review"
    post = next(r for r in gcal.edge.requests if r.method == "POST" and r.url.path.endswith("/events"))
    assert post.url.params["sendUpdates"] == "all"
    async with gcal.db.transaction() as s:
        rows = (await s.execute(select(AuditRow.action, AuditRow.result, AuditRow.details))).all()
    creates = [(a, r) for a, r, _ in rows if a == "calendar.create"]
    assert creates == [("calendar.create", "attempt"), ("calendar.create", "ok")]
    assert all(data.DANA not in (d or "") for _, _, d in rows)


async def test_a_read_token_cannot_change_the_calendar(gcal: Cal) -> None:
    result = await gcal.client.call_tool("cancel_event", {"event_id": "planningq1001"}, meta=gcal.tokens.meta(READ))
    assert "call refused" in error_text(result)
    assert gcal.calendar.events["planningq1001"]["status"] == "confirmed"


async def test_respond_answers_for_the_owner_only(gcal: Cal) -> None:
    out = await call(gcal.client, gcal.tokens, "respond", {"event_id": "planningq1001", "response": "accepted"}, WRITE)
    people = {a["email"]: a["responseStatus"] for a in gcal.calendar.events["planningq1001"]["attendees"]}
    assert people[data.OWNER] == "accepted" and people[data.LEE] == "accepted" and people[data.DANA] == "needsAction"
    assert out["event"]["id"] == "planningq1001"
    refused = await gcal.client.call_tool(
        "respond", {"event_id": "dentist00001", "response": "declined"}, meta=gcal.tokens.meta(WRITE)
    )
    assert "not an attendee" in error_text(refused)


async def test_cancel_removes_the_event_here_and_there(gcal: Cal) -> None:
    await call(gcal.client, gcal.tokens, "sync", {}, READ)
    out = await call(gcal.client, gcal.tokens, "cancel_event", {"event_id": "dentist00001"}, WRITE)
    assert out == {"cancelled": "dentist00001"}
    assert gcal.calendar.events["dentist00001"]["status"] == "cancelled"
    assert "dentist00001" not in await _ids(gcal)
    after = await call(gcal.client, gcal.tokens, "sync", {}, READ)
    assert after["mode"] == "incremental" and await _ids(gcal) == _live(gcal)
    twice = await gcal.client.call_tool("cancel_event", {"event_id": "dentist00001"}, meta=gcal.tokens.meta(WRITE))
    assert "not found" in error_text(twice)  # Google's 410 "deleted", not a sync reset
    assert await _token(gcal) is not None


async def test_an_id_that_could_reach_another_path_is_refused(gcal: Cal) -> None:
    before = len(gcal.edge.requests)
    result = await gcal.client.call_tool("event", {"event_id": "../../users/me"}, meta=gcal.tokens.meta(READ))
    assert result.is_error and len(gcal.edge.requests) == before


async def test_times_read_on_the_calendars_own_clock(gcal: Cal) -> None:
    gcal.calendar.time_zone = "Asia/Kolkata"  # Google states the calendar's zone on every listing
    out = await call(gcal.client, gcal.tokens, "events", {}, READ)
    dana = next(e for e in out["events"] if e["title"] == "1:1 with Dana")
    assert dana["when"] == "20:30-21:00 IST" and dana["start"].endswith("15:00:00+00:00")
