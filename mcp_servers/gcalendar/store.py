"""The encrypted event store: Google Calendar events in, decrypted :class:`StoredEvent` out.

Writes are idempotent upserts keyed by Google's event id (an expanded instance has its own id). A
sync's rows, its removals and its new sync token are written in one transaction with its audit
row, so a failed sync leaves the store and the token as they were. A full sync reconciles: every
stored event of the calendar that the full listing no longer has is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from mcp_servers._calendar import remove_row, rows_by_id, rows_in_window
from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.gcalendar.models import ENCRYPTED, CalendarAccountRow, CalendarEventRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.gcalendar.models import Event

MAX_TEXT = 20_000
_EVENTS = table_of(CalendarEventRow)


@dataclass(frozen=True)
class Attendee:
    email: str
    response: str | None


@dataclass(frozen=True)
class StoredEvent:
    id: str
    status: str
    recurring_event_id: str | None
    start: datetime | None
    end: datetime | None
    all_day: bool
    principal: str | None  # the organizer's address
    organizer_self: bool
    summary: str
    description: str
    location: str
    attendees: list[Attendee]


class EventStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="gcalendar_events")

    def _row(self, calendar: str, event: Event) -> dict[str, Any]:
        eid = event.id
        organizer = event.organizer.email.lower() if event.organizer and event.organizer.email else None
        attendees = [{"email": a.email or "", "response": a.response_status} for a in event.attendees]
        return {
            "id": eid,
            "calendar": calendar,
            "status": event.status[:16],
            "recurring_event_id": event.recurring_event_id,
            "start_at": event.start.instant() if event.start else None,
            "end_at": event.end.instant() if event.end else None,
            "all_day": bool(event.start and event.start.all_day),
            "principal": organizer,
            "organizer_self": bool(event.organizer and event.organizer.self_),
            "summary": self._seal.seal("summary", eid, (event.summary or "")[:MAX_TEXT]),
            "description": self._seal.seal("description", eid, (event.description or "")[:MAX_TEXT]),
            "location": self._seal.seal("location", eid, (event.location or "")[:MAX_TEXT]),
            "attendees": self._seal.seal_json("attendees", eid, attendees),
            "stored_at": utcnow(),
        }

    def _open(self, row: CalendarEventRow) -> StoredEvent:
        people = self._seal.open_json("attendees", row.id, row.attendees)
        return StoredEvent(
            id=row.id,
            status=row.status,
            recurring_event_id=row.recurring_event_id,
            start=row.start_at,
            end=row.end_at,
            all_day=row.all_day,
            principal=row.principal,
            organizer_self=row.organizer_self,
            summary=self._seal.open("summary", row.id, row.summary),
            description=self._seal.open("description", row.id, row.description),
            location=self._seal.open("location", row.id, row.location),
            attendees=[Attendee(str(p.get("email", "")), p.get("response")) for p in people],
        )

    async def sync_token(self, calendar: str) -> str | None:
        async with self._db.transaction() as s:
            return await s.scalar(select(CalendarAccountRow.sync_token).where(CalendarAccountRow.calendar == calendar))

    async def apply_sync(
        self,
        calendar: str,
        events: Sequence[Event],
        removed: set[str],
        *,
        sync_token: str,
        full: bool,
        audit: AuditLog,
        event: AuditEvent,
    ) -> int:
        """Write one sync atomically; returns how many stored events it deleted."""
        rows = [self._row(calendar, e) for e in events]
        now = utcnow()
        async with self._db.transaction() as s:
            gone = 0
            if full:  # reconcile: what the full listing does not have is gone
                keep = {r["id"] for r in rows}
                stored = set(
                    (await s.scalars(select(CalendarEventRow.id).where(CalendarEventRow.calendar == calendar))).all()
                )
                removed = removed | (stored - keep)
            if removed:
                result = await s.execute(delete(CalendarEventRow).where(CalendarEventRow.id.in_(sorted(removed))))
                gone = int(getattr(result, "rowcount", 0) or 0)
            await upsert(s, _EVENTS, rows, "id")
            state: dict[str, Any] = {"calendar": calendar, "sync_token": sync_token, "synced_at": now}
            if full:
                state["full_synced_at"] = now
            await upsert(s, table_of(CalendarAccountRow), [state], "calendar")
            await audit.append(s, event)
        return gone

    async def save(self, calendar: str, events: Iterable[Event]) -> None:
        """Upsert events read live (a window or one event), outside any sync; cancelled ones are removed."""
        events = list(events)
        rows = [self._row(calendar, e) for e in events if not e.cancelled]
        gone = sorted(e.id for e in events if e.cancelled)
        async with self._db.transaction() as s:
            if gone:
                await s.execute(delete(CalendarEventRow).where(CalendarEventRow.id.in_(gone)))
            await upsert(s, _EVENTS, rows, "id")

    async def remove(self, event_id: str) -> None:
        await remove_row(self._db, CalendarEventRow, event_id)

    async def window(self, start: datetime, end: datetime, limit: int) -> list[StoredEvent]:
        """Stored events overlapping [start, end), by start time."""
        return [self._open(r) for r in await rows_in_window(self._db, CalendarEventRow, start, end, limit)]

    async def get(self, ids: Sequence[str]) -> list[StoredEvent]:
        return [self._open(r) for r in await rows_by_id(self._db, CalendarEventRow, ids)]

    async def forget(self, audit: AuditLog, event: AuditEvent) -> int:
        async with self._db.transaction() as s:
            gone = int(getattr(await s.execute(delete(CalendarEventRow)), "rowcount", 0) or 0)
            await s.execute(delete(CalendarAccountRow))
            await audit.append(s, event)
        return gone
