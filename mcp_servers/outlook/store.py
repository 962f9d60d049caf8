"""The encrypted Outlook store: Graph messages and events in, decrypted records out.

Writes are idempotent upserts keyed by Graph's ids. A delta round's rows, its removals and its new
delta link are written in one transaction with its audit row, so a failed sync leaves the store and
the link as they were. A full round reconciles: whatever the stream holds that the full round did
not list is deleted (a mail folder's messages, or the calendar's events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcp_servers._calendar import remove_row, rows_by_id, rows_in_window
from mcp_servers._mail import write_results
from mcp_servers._mail_analysis import Analysis, MailItem, analyse, final
from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.outlook.models import ENCRYPTED, OutlookEventRow, OutlookMessageRow, OutlookStateRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.outlook.models import GraphEvent, GraphMessage

MAX_TEXT = 20_000
CALENDAR = "calendar"


@dataclass(frozen=True)
class Attendee:
    email: str
    response: str | None


@dataclass(frozen=True)
class StoredEvent:
    id: str
    series_master_id: str | None
    start: datetime | None
    end: datetime | None
    all_day: bool
    show_as: str
    principal: str | None
    organizer_self: bool
    summary: str
    description: str
    location: str
    attendees: list[Attendee]


@dataclass(frozen=True)
class StoredMessage:
    id: str
    folder: str
    conversation_id: str | None
    received: datetime | None
    principal: str | None
    is_read: bool
    subject: str
    sender: str
    to: list[str]
    cc: list[str]
    preview: str
    analysis: Analysis


@dataclass(frozen=True)
class DeltaState:
    delta_link: str | None
    window_start: datetime | None
    window_end: datetime | None


@dataclass(frozen=True)
class Round:
    """One delta round to write: its stream, rows, removals and new link."""

    stream: str
    rows: list[dict[str, Any]]
    removed: set[str]
    delta_link: str
    full: bool
    window: tuple[datetime, datetime] | None = None


def _item(folder: str, m: GraphMessage) -> MailItem:
    """The message in the analysis's common shape (the delta's preview: the body is not fetched)."""
    sender = m.from_.address if m.from_ else ""
    return MailItem(
        sender=sender,
        to=[r.address for r in m.to_recipients],
        cc=[r.address for r in m.cc_recipients],
        subject=m.subject or "",
        text=(m.body.content if m.body and m.body.content else m.body_preview) or "",
        sent_by_owner=folder == "sentitems",
    )


class OutlookStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._mail = Sealer(cipher, ENCRYPTED, table="outlook_messages")
        self._cal = Sealer(cipher, ENCRYPTED, table="outlook_events")

    # ---- rows ------------------------------------------------------------------------------

    def message_row(self, folder: str, m: GraphMessage) -> dict[str, Any]:
        sender = m.from_.email_address if m.from_ else None
        people = {"to": [r.address for r in m.to_recipients], "cc": [r.address for r in m.cc_recipients]}
        shown = ""
        if sender is not None:
            shown = f"{sender.name} <{sender.address}>" if sender.name else sender.address or ""
        return {
            "id": m.id,
            "folder": folder,
            "conversation_id": m.conversation_id,
            "received_at": m.received,
            "principal": (sender.address or "").lower() or None if sender else None,
            "is_read": m.is_read,
            "subject": self._mail.seal("subject", m.id, (m.subject or "")[:MAX_TEXT]),
            "sender": self._mail.seal("sender", m.id, shown[:MAX_TEXT]),
            "recipients": self._mail.seal_json("recipients", m.id, people),
            "preview": self._mail.seal("preview", m.id, (m.body_preview or "")[:MAX_TEXT]),
            "analysis": self._mail.seal_json("analysis", m.id, analyse(_item(folder, m))),
            "stored_at": utcnow(),
        }

    def event_row(self, e: GraphEvent) -> dict[str, Any]:
        organizer = e.organizer.address if e.organizer else ""
        people = [{"email": a.address, "response": a.status.response if a.status else None} for a in e.attendees]
        description = (e.body.content if e.body and e.body.content else e.body_preview) or ""
        return {
            "id": e.id,
            "series_master_id": e.series_master_id,
            "start_at": e.start.instant() if e.start else None,
            "end_at": e.end.instant() if e.end else None,
            "all_day": e.is_all_day,
            "show_as": (e.show_as or "busy")[:24],
            "principal": organizer or None,
            "organizer_self": e.is_organizer,
            "summary": self._cal.seal("summary", e.id, (e.subject or "")[:MAX_TEXT]),
            "description": self._cal.seal("description", e.id, description[:MAX_TEXT]),
            "location": self._cal.seal("location", e.id, (e.location.display_name or "") if e.location else ""),
            "attendees": self._cal.seal_json("attendees", e.id, people),
            "stored_at": utcnow(),
        }

    def _open_message(self, r: OutlookMessageRow) -> StoredMessage:
        people = self._mail.open_json("recipients", r.id, r.recipients)
        by_model = None if r.model_analysis is None else self._mail.open_json("model_analysis", r.id, r.model_analysis)
        return StoredMessage(
            id=r.id,
            folder=r.folder,
            conversation_id=r.conversation_id,
            received=r.received_at,
            principal=r.principal,
            is_read=r.is_read,
            subject=self._mail.open("subject", r.id, r.subject),
            sender=self._mail.open("sender", r.id, r.sender),
            to=[str(a) for a in people.get("to", [])],
            cc=[str(a) for a in people.get("cc", [])],
            preview=self._mail.open("preview", r.id, r.preview),
            analysis=final(self._mail.open_json("analysis", r.id, r.analysis), r.model_state, by_model),
        )

    def _open_event(self, r: OutlookEventRow) -> StoredEvent:
        people = self._cal.open_json("attendees", r.id, r.attendees)
        return StoredEvent(
            id=r.id,
            series_master_id=r.series_master_id,
            start=r.start_at,
            end=r.end_at,
            all_day=r.all_day,
            show_as=r.show_as,
            principal=r.principal,
            organizer_self=r.organizer_self,
            summary=self._cal.open("summary", r.id, r.summary),
            description=self._cal.open("description", r.id, r.description),
            location=self._cal.open("location", r.id, r.location),
            attendees=[Attendee(str(p.get("email", "")), p.get("response")) for p in people],
        )

    # ---- delta rounds ----------------------------------------------------------------------

    async def state(self, stream: str) -> DeltaState:
        async with self._db.transaction() as s:
            row = await s.get(OutlookStateRow, stream)
        if row is None:
            return DeltaState(None, None, None)
        return DeltaState(row.delta_link, row.window_start, row.window_end)

    async def apply(self, rounds: Sequence[Round], audit: AuditLog, event: AuditEvent) -> int:
        """Write rounds atomically with their audit row; returns how many stored items they deleted."""
        now = utcnow()
        gone = 0
        async with self._db.transaction() as s:
            for r in rounds:
                gone += await self._apply_one(s, r)
                state: dict[str, Any] = {"stream": r.stream, "delta_link": r.delta_link, "synced_at": now}
                if r.window:
                    state["window_start"], state["window_end"] = r.window
                if r.full:
                    state["full_synced_at"] = now
                await upsert(s, table_of(OutlookStateRow), [state], "stream")
            await audit.append(s, event)
        return gone

    async def _apply_one(self, s: AsyncSession, r: Round) -> int:
        model: type[OutlookMessageRow] | type[OutlookEventRow]
        if r.stream == CALENDAR:
            model, scope = OutlookEventRow, None
        else:
            model, scope = OutlookMessageRow, OutlookMessageRow.folder == r.stream
        removed = set(r.removed)
        if r.full:  # reconcile: what the full round did not list is gone
            query = select(model.id) if scope is None else select(model.id).where(scope)
            removed |= set((await s.scalars(query)).all()) - {row["id"] for row in r.rows}
        gone = 0
        if removed:
            result = await s.execute(delete(model).where(model.id.in_(sorted(removed))))
            gone = int(getattr(result, "rowcount", 0) or 0)
        await upsert(s, table_of(model), r.rows, "id")
        return gone

    # ---- live reads and writes -------------------------------------------------------------

    async def save_messages(self, folder_of: dict[str, str], messages: Iterable[GraphMessage]) -> None:
        rows = [self.message_row(folder_of.get(m.id, "other"), m) for m in messages if not m.gone]
        async with self._db.transaction() as s:
            ids = [r["id"] for r in rows]
            query = select(OutlookMessageRow.id, OutlookMessageRow.folder).where(OutlookMessageRow.id.in_(ids))
            known: dict[str, str] = {i: f for i, f in (await s.execute(query)).all()}  # noqa: C416
            for row in rows:  # a live read never moves a synced message out of its folder
                row["folder"] = known.get(row["id"], row["folder"])
            await upsert(s, table_of(OutlookMessageRow), rows, "id")

    async def save_events(self, events: Iterable[GraphEvent]) -> None:
        events = list(events)
        rows = [self.event_row(e) for e in events if not e.gone]
        gone = sorted(e.id for e in events if e.gone)
        async with self._db.transaction() as s:
            if gone:
                await s.execute(delete(OutlookEventRow).where(OutlookEventRow.id.in_(gone)))
            await upsert(s, table_of(OutlookEventRow), rows, "id")

    async def remove_event(self, event_id: str) -> None:
        await remove_row(self._db, OutlookEventRow, event_id)

    async def events(self, ids: Sequence[str]) -> list[StoredEvent]:
        return [self._open_event(r) for r in await rows_by_id(self._db, OutlookEventRow, ids)]

    async def window(self, start: datetime, end: datetime, limit: int) -> list[StoredEvent]:
        return [self._open_event(r) for r in await rows_in_window(self._db, OutlookEventRow, start, end, limit)]

    async def messages(self, ids: Sequence[str]) -> list[StoredMessage]:
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(OutlookMessageRow).where(OutlookMessageRow.id.in_(list(ids))))).all()
        by_id = {r.id: self._open_message(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def recent(self, since: datetime, limit: int, folder: str | None = None) -> list[StoredMessage]:
        """Stored messages received since ``since``, newest first."""
        query = select(OutlookMessageRow).where(OutlookMessageRow.received_at >= since)
        if folder:
            query = query.where(OutlookMessageRow.folder == folder)
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(query.order_by(OutlookMessageRow.received_at.desc(), OutlookMessageRow.id).limit(limit))
            ).all()
        return [self._open_message(r) for r in rows]

    async def pending(self, since: datetime, limit: int) -> list[StoredMessage]:
        """Messages received since ``since`` that the model has not been asked about, newest first."""
        query = select(OutlookMessageRow).where(
            OutlookMessageRow.received_at >= since, OutlookMessageRow.model_state.is_(None)
        )
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(query.order_by(OutlookMessageRow.received_at.desc(), OutlookMessageRow.id).limit(limit))
            ).all()
        return [self._open_message(r) for r in rows]

    async def record(
        self, analysed: Mapping[str, Analysis], fell_back: Mapping[str, str], audit: AuditLog, event: AuditEvent
    ) -> int:
        """Store the model's results (and its fallbacks) with their audit row, in one transaction."""
        async with self._db.transaction() as s:
            found = await write_results(s, OutlookMessageRow, self._mail, analysed, fell_back)
            await audit.append(s, event)
        return found

    async def owner_address(self) -> str | None:
        """The mailbox's own address, as its sent items state it."""
        async with self._db.transaction() as s:
            return await s.scalar(
                select(OutlookMessageRow.principal).where(OutlookMessageRow.folder == "sentitems").limit(1)
            )

    async def forget(self, audit: AuditLog, event: AuditEvent) -> None:
        async with self._db.transaction() as s:
            for model in (OutlookMessageRow, OutlookEventRow, OutlookStateRow):
                await s.execute(delete(model))
            await audit.append(s, event)
