"""The encrypted coursework store: Canvas objects in, decrypted records out.

A sync replaces what Canvas holds now in one transaction with its audit row: upserts keyed by the
Canvas id (a re-run stores no duplicates), and rows Canvas no longer lists are deleted. Each course's
current score is also kept per day, for grades over time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.canvas.models import (
    ENCRYPTED,
    CanvasAnnouncementRow,
    CanvasAssignmentRow,
    CanvasCourseRow,
    CanvasEventRow,
    CanvasGradePointRow,
    CanvasSyncRow,
)
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.canvas.models import Announcement, Assignment, CalendarEvent, Course

MAX_TEXT = 20_000


@dataclass(frozen=True)
class StoredCourse:
    id: str
    name: str
    code: str
    term: str | None
    score: float | None
    grade: str | None


@dataclass(frozen=True)
class StoredAssignment:
    id: str
    course_id: str
    due_at: datetime | None
    state: str
    missing: bool
    name: str
    description: str
    points: float | None
    score: float | None
    grade: str | None
    url: str | None
    submitted_at: str | None
    source: str  # "Canvas" or "Pearson Mastering" (an external tool assignment pointing at Pearson)


@dataclass(frozen=True)
class StoredAnnouncement:
    id: str
    course_id: str
    posted_at: datetime | None
    title: str
    message: str
    author: str | None
    url: str | None


@dataclass(frozen=True)
class StoredEvent:
    id: str
    course_id: str
    start_at: datetime | None
    title: str
    description: str
    location: str | None
    end_at: str | None
    url: str | None


@dataclass(frozen=True)
class GradePoint:
    course_id: str
    day: str
    score: float | None
    grade: str | None


@dataclass(frozen=True)
class Snapshot:
    """What one sync read from Canvas."""

    courses: Sequence[Course]
    assignments: Sequence[Assignment]
    announcements: Sequence[Announcement]
    events: Sequence[CalendarEvent]


def _course_of(code: str) -> str:
    return code.removeprefix("course_")


class CourseworkStore:
    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._seal = {
            t: Sealer(cipher, ENCRYPTED, table=t)
            for t in ("canvas_courses", "canvas_assignments", "canvas_announcements", "canvas_events")
        }
        self._seal["canvas_grade_points"] = Sealer(cipher, ENCRYPTED, table="canvas_grade_points")

    # ---- writes ----------------------------------------------------------------------------

    def _course(self, c: Course, now: datetime) -> dict[str, Any]:
        e = c.student
        doc = {
            "name": c.name,
            "code": c.course_code,
            "term": c.term.name if c.term else None,
            "score": None if e is None else e.computed_current_score,
            "grade": None if e is None else e.computed_current_grade,
        }
        return {
            "id": str(c.id),
            "data": self._seal["canvas_courses"].seal_json("data", str(c.id), doc),
            "synced_at": now,
        }

    def _assignment(self, a: Assignment, now: datetime) -> dict[str, Any]:
        s = a.submission
        doc = {
            "name": a.name,
            "description": (a.description or "")[:MAX_TEXT],
            "points": a.points_possible,
            "score": None if s is None else s.score,
            "grade": None if s is None else s.grade,
            "url": a.html_url,
            "submitted_at": None if s is None or s.submitted_at is None else s.submitted_at.isoformat(),
            "source": a.source,
        }
        rid = str(a.id)
        return {
            "id": rid,
            "course_id": str(a.course_id),
            "due_at": a.due_at,
            "state": (s.workflow_state if s else None) or "unsubmitted",
            "missing": bool(s and s.missing),
            "data": self._seal["canvas_assignments"].seal_json("data", rid, doc),
            "synced_at": now,
        }

    def _announcement(self, a: Announcement) -> dict[str, Any]:
        doc = {"title": a.title, "message": (a.message or "")[:MAX_TEXT], "author": a.user_name, "url": a.html_url}
        rid = str(a.id)
        return {
            "id": rid,
            "course_id": _course_of(a.context_code),
            "posted_at": a.posted_at,
            "data": self._seal["canvas_announcements"].seal_json("data", rid, doc),
        }

    def _event(self, e: CalendarEvent) -> dict[str, Any]:
        doc = {
            "title": e.title,
            "description": (e.description or "")[:MAX_TEXT],
            "location": e.location_name,
            "end_at": None if e.end_at is None else e.end_at.isoformat(),
            "url": e.html_url,
        }
        rid = str(e.id)
        return {
            "id": rid,
            "course_id": _course_of(e.context_code),
            "start_at": e.start_at,
            "data": self._seal["canvas_events"].seal_json("data", rid, doc),
        }

    def _point(self, c: Course, day: date) -> dict[str, Any] | None:
        e = c.student
        if e is None or e.computed_current_score is None:
            return None
        rid = f"{c.id}:{day.isoformat()}"
        doc = {"score": e.computed_current_score, "grade": e.computed_current_grade}
        data = self._seal["canvas_grade_points"].seal_json("data", rid, doc)
        return {"id": rid, "course_id": str(c.id), "day": day.isoformat(), "data": data}

    async def apply_sync(self, snap: Snapshot, *, today: date, audit: AuditLog, event: AuditEvent) -> None:
        now = utcnow()
        courses = [self._course(c, now) for c in snap.courses]
        assignments = [self._assignment(a, now) for a in snap.assignments]
        announcements = [self._announcement(a) for a in snap.announcements]
        events = [self._event(e) for e in snap.events]
        points = [p for c in snap.courses if (p := self._point(c, today)) is not None]
        keep = [
            (table_of(CanvasCourseRow), [r["id"] for r in courses]),
            (table_of(CanvasAssignmentRow), [r["id"] for r in assignments]),
            (table_of(CanvasAnnouncementRow), [r["id"] for r in announcements]),
            (table_of(CanvasEventRow), [r["id"] for r in events]),
        ]
        async with self._db.transaction() as s:
            for (table, _ids), rows in zip(keep, (courses, assignments, announcements, events), strict=True):
                await upsert(s, table, rows, "id")
            await upsert(s, table_of(CanvasGradePointRow), points, "id")
            for table, ids in keep:
                await s.execute(delete(table).where(table.c.id.not_in(ids)))
            await upsert(s, table_of(CanvasSyncRow), [{"id": 1, "synced_at": now}], "id")
            await audit.append(s, event)

    async def forget(self, audit: AuditLog, event: AuditEvent) -> None:
        """Delete everything stored from Canvas (disconnected), audited in the same transaction."""
        async with self._db.transaction() as s:
            for model in (
                CanvasCourseRow,
                CanvasAssignmentRow,
                CanvasAnnouncementRow,
                CanvasEventRow,
                CanvasGradePointRow,
                CanvasSyncRow,
            ):
                await s.execute(delete(model))
            await audit.append(s, event)

    # ---- reads -----------------------------------------------------------------------------

    async def synced_at(self) -> datetime | None:
        async with self._db.transaction() as s:
            return await s.scalar(select(CanvasSyncRow.synced_at).where(CanvasSyncRow.id == 1))

    async def courses(self) -> list[StoredCourse]:
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(CanvasCourseRow).order_by(CanvasCourseRow.id))).all()
        out = []
        for r in rows:
            d = self._seal["canvas_courses"].open_json("data", r.id, r.data)
            out.append(StoredCourse(r.id, d["name"], d["code"], d.get("term"), d.get("score"), d.get("grade")))
        return out

    def _open_assignment(self, r: CanvasAssignmentRow) -> StoredAssignment:
        d = self._seal["canvas_assignments"].open_json("data", r.id, r.data)
        return StoredAssignment(
            id=r.id,
            course_id=r.course_id,
            due_at=r.due_at,
            state=r.state,
            missing=r.missing,
            name=d["name"],
            description=d.get("description") or "",
            points=d.get("points"),
            score=d.get("score"),
            grade=d.get("grade"),
            url=d.get("url"),
            submitted_at=d.get("submitted_at"),
            source=d.get("source") or "Canvas",
        )

    async def assignments(
        self, *, start: datetime | None = None, end: datetime | None = None, course_ids: Sequence[str] | None = None
    ) -> list[StoredAssignment]:
        """Assignments due in [start, end) (dated ones only when a bound is given), by due date."""
        q = select(CanvasAssignmentRow)
        if start is not None:
            q = q.where(CanvasAssignmentRow.due_at >= start)
        if end is not None:
            q = q.where(CanvasAssignmentRow.due_at < end)
        if course_ids is not None:
            q = q.where(CanvasAssignmentRow.course_id.in_(list(course_ids)))
        q = q.order_by(CanvasAssignmentRow.due_at, CanvasAssignmentRow.id)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q)).all()
        return [self._open_assignment(r) for r in rows]

    async def assignment(self, assignment_id: str) -> StoredAssignment | None:
        async with self._db.transaction() as s:
            row = await s.get(CanvasAssignmentRow, assignment_id)
        return None if row is None else self._open_assignment(row)

    async def announcements(self, since: datetime) -> list[StoredAnnouncement]:
        q = select(CanvasAnnouncementRow).where(CanvasAnnouncementRow.posted_at >= since)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(CanvasAnnouncementRow.posted_at.desc()))).all()
        out = []
        for r in rows:
            d = self._seal["canvas_announcements"].open_json("data", r.id, r.data)
            out.append(
                StoredAnnouncement(
                    r.id, r.course_id, r.posted_at, d["title"], d["message"], d.get("author"), d.get("url")
                )
            )
        return out

    async def events(self, start: datetime, end: datetime) -> list[StoredEvent]:
        q = select(CanvasEventRow).where(CanvasEventRow.start_at >= start, CanvasEventRow.start_at < end)
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(CanvasEventRow.start_at))).all()
        out = []
        for r in rows:
            d = self._seal["canvas_events"].open_json("data", r.id, r.data)
            out.append(
                StoredEvent(
                    r.id,
                    r.course_id,
                    r.start_at,
                    d["title"],
                    d["description"],
                    d.get("location"),
                    d.get("end_at"),
                    d.get("url"),
                )
            )
        return out

    async def grade_points(self, course_ids: Sequence[str], since: str) -> list[GradePoint]:
        q = select(CanvasGradePointRow).where(
            CanvasGradePointRow.course_id.in_(list(course_ids)), CanvasGradePointRow.day >= since
        )
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(CanvasGradePointRow.day))).all()
        out = []
        for r in rows:
            d = self._seal["canvas_grade_points"].open_json("data", r.id, r.data)
            out.append(GradePoint(r.course_id, r.day, d.get("score"), d.get("grade")))
        return out
