"""Google Calendar service logic: incremental sync by sync token, window reads, free/busy and
free slots, and the event changes the gateway lets through.

Sync (Google's "synchronize resources efficiently"): continue ``events.list(syncToken=...)`` from the
stored token, page by page, and write the changes (cancelled entries delete) plus the last page's
``nextSyncToken`` in one transaction. With no stored token, or when Google answers 410 Gone, do a
full sync of the window [today - ``past_days``, today + ``future_days``) with recurring events
expanded (``singleEvents=true``), and reconcile the store with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from mcp_servers._calendar import CalendarBase, merge
from mcp_servers.gcalendar.store import EventStore, StoredEvent
from storage.audit import AuditEvent
from tools.errors import InvalidRequest
from tools.gcalendar.client import CalendarClient, Response, SyncTokenExpired, rfc3339
from tools.gcalendar.models import Event

log = structlog.get_logger("aegis.mcp_servers.gcalendar")

ACTOR = "mcp:gcalendar"
CALENDAR = "primary"


@dataclass(frozen=True)
class SyncOutcome:
    mode: Literal["incremental", "full"]
    stored: int
    deleted: int


class CalendarService(CalendarBase[CalendarClient, EventStore]):
    actor = ACTOR
    _zone: str | None = None

    # ---- sync ------------------------------------------------------------------------------

    async def sync(self, details: dict[str, Any]) -> SyncOutcome:
        async with self._sync_lock:
            token = await self.store.sync_token(CALENDAR)
            if token is not None:
                try:
                    return await self._pass(details, token)
                except SyncTokenExpired:
                    log.info("gcalendar.sync_token_gone", note="Google answered 410; full resync")
            return await self._pass(details, None)

    async def _pass(self, details: dict[str, Any], token: str | None) -> SyncOutcome:
        window = (None, None) if token else self.calendar_window()
        changed: dict[str, Event] = {}
        removed: set[str] = set()
        next_token: str | None = None
        async for page in self.client.iter_events(time_min=window[0], time_max=window[1], sync_token=token):
            for item in page.items:
                if item.cancelled:
                    changed.pop(item.id, None)
                    removed.add(item.id)
                else:
                    removed.discard(item.id)
                    changed[item.id] = item
            next_token = page.next_sync_token or next_token
        if not next_token:
            raise InvalidRequest("Google's last page carried no sync token", integration="gcalendar")
        mode: Literal["incremental", "full"] = "incremental" if token else "full"
        counts = {"stored": len(changed), "cancelled": len(removed)}
        event = AuditEvent(ACTOR, "calendar.sync", "ok", resource=ACTOR, details={**details, "mode": mode, **counts})
        deleted = await self.store.apply_sync(
            CALENDAR,
            list(changed.values()),
            removed,
            sync_token=next_token,
            full=token is None,
            audit=self._audit,
            event=event,
        )
        log.info("gcalendar.sync", mode=mode, deleted=deleted, **counts)
        return SyncOutcome(mode, len(changed), deleted)

    # ---- reads -----------------------------------------------------------------------------

    async def events(self, start: datetime, end: datetime, limit: int) -> list[StoredEvent]:
        """Events overlapping [start, end) read live (recurring ones expanded), stored, by start."""
        found: list[Event] = []
        token: str | None = None
        while len(found) < limit:
            page = await self.client.list_events(
                time_min=start, time_max=end, order_by_start=True, page_token=token, max_results=min(250, limit)
            )
            found += [e for e in page.items if not e.cancelled]
            token = page.next_page_token
            if not token:
                break
        found = found[:limit]
        await self.store.save(CALENDAR, found)
        return await self.store.get([e.id for e in found])

    async def event(self, event_id: str) -> StoredEvent:
        found = await self.client.get_event(event_id)
        await self.store.save(CALENDAR, [found])
        if found.cancelled:
            raise InvalidRequest("the event was cancelled", integration="gcalendar")
        return (await self.store.get([found.id]))[0]

    async def time_zone(self) -> str:
        """The calendar's own time zone (IANA name), as Google states it on an events listing."""
        if self._zone is None:
            self._zone = (await self.client.list_events(max_results=1)).time_zone or "UTC"
        return self._zone

    async def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        blocks = await self.client.free_busy(start, end)
        parsed = [(_instant(b.start), _instant(b.end)) for b in blocks]
        return merge([(max(s, start), min(e, end)) for s, e in parsed if e > start and s < end])

    # ---- writes ----------------------------------------------------------------------------

    async def create(self, body: dict[str, Any], details: dict[str, Any]) -> StoredEvent:
        made = await self._audited(
            "calendar.create", details, lambda: self.client.insert_event(body), lambda m: {"event_id": m.id}
        )
        await self.store.save(CALENDAR, [made])
        return (await self.store.get([made.id]))[0]

    async def update(self, event_id: str, body: dict[str, Any], details: dict[str, Any]) -> StoredEvent:
        if not body:
            raise InvalidRequest("nothing to change", integration="gcalendar")
        changed = await self._audited("calendar.update", details, lambda: self.client.patch_event(event_id, body))
        await self.store.save(CALENDAR, [changed])
        return (await self.store.get([changed.id]))[0]

    async def cancel(self, event_id: str, details: dict[str, Any]) -> None:
        await self._audited("calendar.cancel", details, lambda: self.client.delete_event(event_id))
        await self.store.remove(event_id)

    async def respond(self, event_id: str, answer: Response, details: dict[str, Any]) -> StoredEvent:
        current = await self.client.get_event(event_id)
        if not any(a.self_ for a in current.attendees):
            raise InvalidRequest("the owner is not an attendee of this event", integration="gcalendar")
        people = [
            {"email": a.email, "responseStatus": answer if a.self_ else (a.response_status or "needsAction")}
            for a in current.attendees
        ]
        return await self.update(event_id, {"attendees": people}, details)

    async def disconnect(self, details: dict[str, Any]) -> list[str]:
        revoked = await self.client.revoke_grant()
        event = AuditEvent(
            ACTOR, "calendar.unlink", "ok", resource=ACTOR, details={**details, "revoked_at_google": revoked}
        )
        await self.store.forget(self._audit, event)
        return ["google-grant"] if revoked else []


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_body(
    *,
    summary: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    description: str | None = None,
    location: str | None = None,
    attendees: Sequence[str] | None = None,
) -> dict[str, Any]:
    """An events.insert/patch body with only the given fields."""
    body: dict[str, Any] = {}
    if summary is not None:
        body["summary"] = summary
    if description is not None:
        body["description"] = description
    if location is not None:
        body["location"] = location
    if start is not None:
        body["start"] = {"dateTime": rfc3339(start)}
    if end is not None:
        body["end"] = {"dateTime": rfc3339(end)}
    if attendees is not None:
        body["attendees"] = [{"email": a} for a in attendees]
    return body
