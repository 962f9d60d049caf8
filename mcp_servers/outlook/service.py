"""Outlook service logic: delta sync of the inbox, sent items and calendar view, reads, and the
changes the gateway lets through.

Sync: each stream continues from its stored delta link, page by page; a stream Graph no longer
knows (410 / ``SyncStateNotFound``), or with no link, or a calendar whose window has moved with the
date, runs a full round that reconciles the store with it (what it does not list is deleted;
upserts keyed by Graph's ids mean nothing is duplicated). All rounds of one sync and their new
links are written in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog

from mcp_servers._calendar import CalendarBase, merge
from mcp_servers._mail import MAX_MODEL_TEXT, Pending
from mcp_servers._mail_analysis import Analysis, Thread, ThreadMessage, threads_with
from mcp_servers.outlook.store import CALENDAR, OutlookStore, Round, StoredEvent, StoredMessage
from storage.audit import AuditEvent
from tools.errors import InvalidRequest, NotFound
from tools.outlook.calendar import Answer, graph_time
from tools.outlook.client import OutlookClient
from tools.outlook.graph import DeltaExpired
from tools.outlook.mail import FOLDERS
from tools.outlook.models import EventPage, GraphEvent, GraphMessage, MessagePage

log = structlog.get_logger("aegis.mcp_servers.outlook")

ACTOR = "mcp:outlook"
NAME = "outlook"


@dataclass(frozen=True)
class Prep:
    event: StoredEvent
    people: list[str]
    threads: list[Thread]


def thread_message(m: StoredMessage) -> ThreadMessage:
    """A stored message in the shared thread summaries' shape."""
    return ThreadMessage(
        id=m.id,
        thread=m.conversation_id or m.id,
        subject=m.subject,
        sender=m.sender,
        principal=m.principal,
        received=m.received,
        sent_by_owner=m.folder == "sentitems",
        recipients=[a.lower() for a in m.to],
        analysis=m.analysis,
    )


@dataclass(frozen=True)
class SyncOutcome:
    mode: Literal["incremental", "full"]
    stored: int
    deleted: int


def event_body(
    *,
    subject: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    description: str | None = None,
    location: str | None = None,
    attendees: Sequence[str] | None = None,
) -> dict[str, Any]:
    """An event create/PATCH body with only the given fields (times in UTC)."""
    body: dict[str, Any] = {}
    if subject is not None:
        body["subject"] = subject
    if description is not None:
        body["body"] = {"contentType": "text", "content": description}
    if location is not None:
        body["location"] = {"displayName": location}
    if start is not None:
        body["start"] = graph_time(start)
    if end is not None:
        body["end"] = graph_time(end)
    if attendees is not None:
        body["attendees"] = [{"emailAddress": {"address": a}, "type": "required"} for a in attendees]
    return body


class OutlookService(CalendarBase[OutlookClient, OutlookStore]):
    actor = ACTOR

    # ---- sync ------------------------------------------------------------------------------

    async def sync(self, what: Literal["mail", "calendar"], details: dict[str, Any]) -> SyncOutcome:
        """One sync of the mail folders or of the calendar view."""
        async with self._sync_lock:
            if what == "mail":
                rounds = [await self._mail_round(folder) for folder in FOLDERS]
            else:
                rounds = [await self._calendar_round()]
            mode: Literal["incremental", "full"] = "full" if any(r.full for r in rounds) else "incremental"
            counts = {"stored": sum(len(r.rows) for r in rounds), "removed": sum(len(r.removed) for r in rounds)}
            streams = {r.stream: "full" if r.full else "incremental" for r in rounds}
            event = AuditEvent(
                ACTOR, f"{what}.sync", "ok", resource=ACTOR, details={**details, "mode": mode, **counts, **streams}
            )
            deleted = await self.store.apply(rounds, self._audit, event)
            log.info("outlook.sync", what=what, mode=mode, deleted=deleted, **counts)
            return SyncOutcome(mode, counts["stored"], deleted)

    async def _mail_round(self, folder: str) -> Round:
        link = (await self.store.state(folder)).delta_link
        if link is not None:
            try:
                return await self._collect_mail(folder, link)
            except DeltaExpired:
                log.info("outlook.delta_expired", stream=folder, note="full resync")
        return await self._collect_mail(folder, None)

    async def _collect_mail(self, folder: str, link: str | None) -> Round:
        changed: dict[str, GraphMessage] = {}
        removed: set[str] = set()
        last = await _drain(self.client.mail_delta(folder, delta_link=link), changed, removed)
        rows = [self.store.message_row(folder, m) for m in changed.values()]
        return Round(folder, rows, removed, last, full=link is None)

    async def _calendar_round(self) -> Round:
        window = self.calendar_window()
        state = await self.store.state(CALENDAR)
        if state.delta_link is not None and state.window_start == window[0]:
            try:
                return await self._collect_events(None, state.delta_link)
            except DeltaExpired:
                log.info("outlook.delta_expired", stream=CALENDAR, note="full resync")
        return await self._collect_events(window, None)

    async def _collect_events(self, window: tuple[datetime, datetime] | None, link: str | None) -> Round:
        changed: dict[str, GraphEvent] = {}
        removed: set[str] = set()
        start, end = window or (None, None)
        pages = self.client.delta_round(start=start, end=end, delta_link=link)
        last = await _drain(pages, changed, removed)
        rows = [self.store.event_row(e) for e in changed.values()]
        return Round(CALENDAR, rows, removed, last, full=link is None, window=window)

    # ---- calendar --------------------------------------------------------------------------

    async def events(self, start: datetime, end: datetime, limit: int) -> list[StoredEvent]:
        found = await self.client.calendar_view(start, end, limit)
        await self.store.save_events(found)
        return await self.store.events([e.id for e in found])

    async def event(self, event_id: str) -> StoredEvent:
        found = await self.client.get_event(event_id)
        await self.store.save_events([found])
        if found.is_cancelled:
            raise InvalidRequest("the event was cancelled", integration=NAME)
        return (await self.store.events([found.id]))[0]

    async def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        found = await self.client.calendar_view(start, end, 500)
        blocks = [
            (max(e.start.instant(), start), min(e.end.instant(), end))
            for e in found
            if e.start and e.end and (e.show_as or "busy") not in ("free", "workingElsewhere")
        ]
        return merge([(s, e) for s, e in blocks if e > s])

    async def create(self, body: dict[str, Any], details: dict[str, Any]) -> StoredEvent:
        made = await self._audited(
            "calendar.create", details, lambda: self.client.create_event(body), lambda m: {"event_id": m.id}
        )
        await self.store.save_events([made])
        return (await self.store.events([made.id]))[0]

    async def update(self, event_id: str, body: dict[str, Any], details: dict[str, Any]) -> StoredEvent:
        if not body:
            raise InvalidRequest("nothing to change", integration=NAME)
        changed = await self._audited("calendar.update", details, lambda: self.client.patch_event(event_id, body))
        await self.store.save_events([changed])
        return (await self.store.events([changed.id]))[0]

    async def cancel(self, event_id: str, details: dict[str, Any]) -> None:
        await self._audited("calendar.cancel", details, lambda: self.client.delete_event(event_id))
        await self.store.remove_event(event_id)

    async def respond(self, event_id: str, answer: Answer, details: dict[str, Any]) -> StoredEvent:
        current = await self.client.get_event(event_id)
        if current.is_organizer:
            raise InvalidRequest("the owner organizes this event; there is no invitation to answer", integration=NAME)
        await self._audited("calendar.respond", details, lambda: self.client.respond(event_id, answer))
        return await self.event(event_id)

    # ---- mail ------------------------------------------------------------------------------

    async def insights(self, category: str | None, days: int, limit: int) -> list[StoredMessage]:
        """Analysed messages of the last ``days`` (of one category, or all), newest first."""
        since = self._now() - timedelta(days=days)
        found = await self.store.recent(since, 1000)
        return [m for m in found if category is None or m.analysis["category"] == category][:limit]

    async def threads_with(self, people: Sequence[str], days: int, limit: int) -> list[Thread]:
        """The latest threads with any of ``people`` (the mailbox's own address left out)."""
        owner = await self.store.owner_address()
        others = [p.lower() for p in people if p.lower() != owner]
        if not others:
            return []
        found = await self.store.recent(self._now() - timedelta(days=days), 1000)
        return threads_with([thread_message(m) for m in found], others, limit)

    async def meeting_prep(self, start: datetime, end: datetime, days: int = 30) -> list[Prep]:
        """For each stored meeting in [start, end): its people, the last threads with them, and the
        questions still open in those threads (asked after the owner's last message there)."""
        owner = await self.store.owner_address()
        out: list[Prep] = []
        for event in await self.store.window(start, end, 20):
            people = [a.email for a in event.attendees if a.email and a.email != owner]
            if event.principal and event.principal != owner and event.principal not in people:
                people.insert(0, event.principal)
            out.append(Prep(event, people, await self.threads_with(people, days, 3)))
        return out

    async def pending_analysis(self, days: int, limit: int) -> list[Pending]:
        """Stored messages of the last ``days`` the model has not been asked about, each with its text
        body (fetched now: a sync stores only the preview; a message gone meanwhile keeps its preview)."""
        found = await self.store.pending(self._now() - timedelta(days=days), limit)
        gate = asyncio.Semaphore(4)

        async def text(m: StoredMessage) -> str:
            async with gate:
                try:
                    full = await self.client.get_message(m.id)
                except NotFound:
                    return m.preview
            return (full.body.content if full.body and full.body.content else full.body_preview) or m.preview

        bodies = await asyncio.gather(*(text(m) for m in found))
        return [
            Pending(
                {
                    "id": m.id,
                    "date": m.received.isoformat() if m.received else None,
                    "from": m.sender,
                    "to": list(m.to),
                    "cc": list(m.cc),
                    "subject": m.subject,
                    "text": body[:MAX_MODEL_TEXT],
                    "sent_by_owner": m.folder == "sentitems",
                },
                m.principal,
            )
            for m, body in zip(found, bodies, strict=True)
        ]

    async def record_analysis(
        self, analysed: Mapping[str, Analysis], fell_back: Mapping[str, str], details: dict[str, Any]
    ) -> int:
        counts = {"analysed": len(analysed), "fell_back": len(fell_back)}
        event = AuditEvent(ACTOR, "mail.analysis", "ok", resource=ACTOR, details={**details, **counts})
        return await self.store.record(analysed, fell_back, self._audit, event)

    async def search(self, query: str, limit: int) -> list[StoredMessage]:
        found = await self.client.search(query, limit)
        await self.store.save_messages({}, found)
        return await self.store.messages([m.id for m in found])

    async def conversation(self, conversation_id: str) -> tuple[list[StoredMessage], dict[str, str]]:
        """The conversation's messages (oldest first) and each one's full text body."""
        found = await self.client.conversation(conversation_id)
        await self.store.save_messages({}, found)
        bodies = {m.id: (m.body.content if m.body and m.body.content else m.body_preview or "") for m in found}
        return await self.store.messages([m.id for m in found]), bodies

    async def draft_reply(self, message_id: str, body: str, details: dict[str, Any]) -> GraphMessage:
        return await self._audited(
            "mail.draft", details, lambda: self.client.create_reply(message_id, body), lambda d: {"draft_id": d.id}
        )

    async def send(
        self, to: Sequence[str], cc: Sequence[str], bcc: Sequence[str], subject: str, body: str, details: dict[str, Any]
    ) -> None:
        if "\r" in subject or "\n" in subject:
            raise InvalidRequest("subject contains a line break", integration=NAME)
        # The intent is audited before anything leaves: if the audit cannot be written, nothing is sent.
        await self._record("mail.send", "attempt", details)
        await self.client.send_mail(to=to, cc=cc, bcc=bcc, subject=subject, body=body)
        await self._record("mail.send", "ok", details)

    async def disconnect(self, details: dict[str, Any]) -> list[str]:
        """Delete everything stored here. Microsoft has no per-app revocation call for a delegated
        grant: the owner removes it at https://myapps.microsoft.com or account.live.com/consent."""
        event = AuditEvent(ACTOR, "outlook.unlink", "ok", resource=ACTOR, details=details)
        await self.store.forget(self._audit, event)
        return []


async def _drain(
    pages: AsyncIterator[MessagePage] | AsyncIterator[EventPage],
    changed: dict[str, Any],
    removed: set[str],
) -> str:
    """Fold a round's pages into ``changed``/``removed``; returns the round's delta link."""
    last: str | None = None
    async for page in pages:
        for item in page.value:
            if item.gone:
                changed.pop(item.id, None)
                removed.add(item.id)
            else:
                removed.discard(item.id)
                changed[item.id] = item
        last = page.delta_link or last
    if not last:
        raise InvalidRequest("Graph's last page carried no delta link", integration=NAME)
    return last
