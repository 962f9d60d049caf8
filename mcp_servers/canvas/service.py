"""Canvas service logic: the sync, and the questions the agent and the home page ask of the store.

Sync reads, one request at a time (Canvas throttles parallel requests): the active courses with
the owner's scores, each course's assignments with the owner's submission, announcements of the
last ``ANNOUNCEMENT_DAYS`` days and calendar events from yesterday to ``EVENT_DAYS`` ahead. Then it
writes all of it, and its audit row, in one transaction: a sync that fails midway changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import structlog

from mcp_servers._coursework import matches, start_of
from mcp_servers.canvas.store import (
    CourseworkStore,
    GradePoint,
    Snapshot,
    StoredAnnouncement,
    StoredAssignment,
    StoredCourse,
    StoredEvent,
)
from storage.audit import AuditEvent, AuditLog
from tools.canvas.client import CanvasClient
from tools.canvas.models import Assignment

log = structlog.get_logger("aegis.mcp_servers.canvas")

ACTOR = "mcp:canvas"
ANNOUNCEMENT_DAYS = 14
EVENT_DAYS = 60
Status = Literal["any", "not_submitted", "submitted"]
NOT_SUBMITTED = frozenset({"unsubmitted"})


@dataclass(frozen=True)
class SyncOutcome:
    courses: int
    assignments: int
    announcements: int
    events: int


@dataclass(frozen=True)
class Deadline:
    assignment: StoredAssignment
    course: StoredCourse | None
    overdue: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CanvasService:
    def __init__(
        self,
        client: CanvasClient,
        store: CourseworkStore,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client
        self.store = store
        self._audit = audit
        self._clock = clock
        self._lock = asyncio.Lock()

    def now(self) -> datetime:
        return self._clock()

    # ---- sync ------------------------------------------------------------------------------

    async def sync(self, details: dict[str, Any]) -> SyncOutcome:
        async with self._lock:
            today = self.now().date()
            courses = await self.client.courses()
            ids = [c.id for c in courses]
            assignments: list[Assignment] = []
            for cid in ids:
                assignments += await self.client.assignments(cid)
            since = (today - timedelta(days=ANNOUNCEMENT_DAYS)).isoformat()
            announcements = await self.client.announcements(ids, since, (today + timedelta(days=1)).isoformat())
            events = await self.client.calendar_events(
                ids, (today - timedelta(days=1)).isoformat(), (today + timedelta(days=EVENT_DAYS)).isoformat()
            )
            snap = Snapshot(courses, assignments, announcements, events)
            out = SyncOutcome(len(courses), len(assignments), len(announcements), len(events))
            counts = {k: getattr(out, k) for k in ("courses", "assignments", "announcements", "events")}
            event = AuditEvent(ACTOR, "coursework.sync", "ok", resource=ACTOR, details={**details, **counts})
            await self.store.apply_sync(snap, today=today, audit=self._audit, event=event)
            log.info("canvas.sync", **counts, remaining=self.client.remaining)
            return out

    # ---- reads -----------------------------------------------------------------------------

    async def courses_matching(self, query: str | None) -> list[StoredCourse]:
        courses = await self.store.courses()
        return courses if not query else [c for c in courses if matches(c, query)]

    async def deadlines(
        self,
        start: date,
        end: date,
        *,
        course: str | None = None,
        status: Status = "any",
        include_overdue: bool = False,
    ) -> list[Deadline]:
        """Assignments due from ``start`` to ``end`` (both days included), by due date; with
        ``include_overdue``, first the unsubmitted ones whose due time has passed (last 30 days)."""
        courses = {c.id: c for c in await self.store.courses()}
        only = None if course is None else [c.id for c in courses.values() if matches(c, course)]
        now = self.now()
        found = await self.store.assignments(
            start=start_of(start), end=start_of(end + timedelta(days=1)), course_ids=only
        )
        if include_overdue:
            past = await self.store.assignments(start=now - timedelta(days=30), end=start_of(start), course_ids=only)
            found = [a for a in past if a.state in NOT_SUBMITTED] + found
        out = []
        for a in found:
            submitted = a.state not in NOT_SUBMITTED
            if (status == "not_submitted" and submitted) or (status == "submitted" and not submitted):
                continue
            overdue = not submitted and a.due_at is not None and a.due_at < now
            out.append(Deadline(a, courses.get(a.course_id), overdue))
        return out

    async def not_started(self, course: str | None = None) -> list[Deadline]:
        """Unsubmitted work that is still due (undated included), by due date."""
        courses = {c.id: c for c in await self.store.courses()}
        only = None if course is None else [c.id for c in courses.values() if matches(c, course)]
        now = self.now()
        found = await self.store.assignments(course_ids=only)
        keep = [a for a in found if a.state in NOT_SUBMITTED and (a.due_at is None or a.due_at >= now)]
        keep.sort(key=lambda a: (a.due_at is None, a.due_at or now))
        return [Deadline(a, courses.get(a.course_id), False) for a in keep]

    async def grades(
        self, course: str | None, days: int
    ) -> tuple[list[StoredCourse], list[GradePoint], list[StoredAssignment]]:
        courses = await self.courses_matching(course)
        ids = [c.id for c in courses]
        since = (self.now().date() - timedelta(days=days)).isoformat()
        points = await self.store.grade_points(ids, since) if ids else []
        graded = [a for a in await self.store.assignments(course_ids=ids) if a.score is not None] if ids else []
        return courses, points, graded

    async def announcements(self, days: int) -> list[StoredAnnouncement]:
        return await self.store.announcements(self.now() - timedelta(days=days))

    async def events(self, start: date, end: date) -> list[StoredEvent]:
        return await self.store.events(start_of(start), start_of(end + timedelta(days=1)))

    async def disconnect(self, details: dict[str, Any]) -> None:
        """Delete everything stored from Canvas. The token itself is the console's to delete from
        the vault; the owner deletes it in Canvas (Account → Settings) to end it there."""
        self.client.invalidate_credential()
        await self.store.forget(
            self._audit, AuditEvent(ACTOR, "coursework.unlink", "ok", resource=ACTOR, details=details)
        )
