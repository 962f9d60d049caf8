"""What every learning-platform server without Canvas's richness shares: one encrypted store shape
(courses, coursework, announcements, grade points, the run's status, cookies and failure snapshots),
and the read tools the agent and the home page ask of it.

An integration declares its own tables (its own Alembic branch) with the columns below and hands
them to :class:`LmsStore` as :class:`LmsTables`; :func:`register_reads` adds the READ tools. Names,
descriptions, course titles and announcements are written by other people (course staff, a site we
scrape): one encrypted JSON document per row, and results carry ``sources`` for provenance.

"Needs attention": a run that stops at a page only the owner can get past (a login, an MFA prompt, a
captcha, a changed layout) records the reason and its encrypted snapshot's id in the status row. Until
a run succeeds again, every read answers with that reason, never with an empty list.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, Protocol

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from sqlalchemy import Table, delete, select
from typing_extensions import TypedDict

from mcp_servers._common import READ, CallGate, Source
from mcp_servers._store import Sealer, upsert
from storage.audit import AuditEvent, AuditLog
from storage.crypto.columns import EncryptedColumn
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.browser.tables import Scraped

MAX_TEXT = 20_000
OVERDUE_DAYS = 30
MAX_RANGE_DAYS = 180
State = Literal["unsubmitted", "submitted", "graded"]
StatusWord = Literal["not submitted", "overdue", "submitted", "graded"]


# ---- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    id: str
    code: str
    name: str
    term: str | None = None
    score: float | None = None  # the owner's current percentage
    grade: str | None = None


@dataclass(frozen=True)
class Work:
    """An assignment, a test or a quiz with its due date and the owner's state and score."""

    id: str
    course_id: str
    name: str
    due_at: datetime | None
    state: State
    kind: str = "assignment"
    points: float | None = None
    score: float | None = None
    grade: str | None = None
    url: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Notice:
    id: str
    course_id: str
    title: str
    message: str
    posted_at: datetime | None
    author: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What one run read from the platform."""

    courses: Sequence[Course]
    work: Sequence[Work]
    notices: Sequence[Notice] = ()


@dataclass(frozen=True)
class Attention:
    reason: str  # login | mfa | captcha | layout_changed | unreachable | refused
    detail: str
    since: datetime
    snapshot_id: str | None


@dataclass(frozen=True)
class LmsTables:
    """One integration's tables (same columns for every integration using this store)."""

    courses: Table  # id, data, synced_at
    work: Table  # id, course_id, due_at, state, data, synced_at
    grade_points: Table  # id, course_id, day, data
    status: Table  # id (=1), synced_at, reason, detail, since, snapshot_id, mode
    snapshots: Table  # id, created_at, reason, data
    cookies: Table  # id (=1), data
    notices: Table | None = None  # id, course_id, posted_at, data


def encrypted(tables: LmsTables, domain: str) -> tuple[EncryptedColumn, ...]:
    """The ``ENCRYPTED`` declaration of an integration's ``models.py``."""
    names = [tables.courses, tables.work, tables.grade_points, tables.snapshots, tables.cookies]
    if tables.notices is not None:
        names.append(tables.notices)
    return tuple(EncryptedColumn(t.name, "data", domain) for t in names)


class Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...


def scraped_work(item: Scraped, course_id: str) -> Work:
    """A browser-read item as stored coursework (its id is the site's own)."""
    return Work(
        item.id, course_id, item.name, item.due_at, item.state, item.kind, item.points, item.score, None, item.url
    )


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def matches(course: Named, query: str) -> bool:
    """``cs260``, ``CS 260``, ``data structures``: the course code or name, spaces and case ignored."""
    q = norm(query)
    return bool(q) and (q in norm(course.code) or q in norm(course.name) or q == course.id)


def snapshot_record(source: str, screenshot: bytes, html: str) -> tuple[str, dict[str, str]]:
    """A stopped browser run's page as a snapshot: its new id and the document to seal (screenshot
    and HTML, the HTML cut at 2 MB)."""
    sid = f"{source}-{utcnow().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    return sid, {"png": base64.b64encode(screenshot).decode(), "html": html[:2_000_000]}


class LmsStore:
    def __init__(self, db: Database, cipher: FieldCipher, tables: LmsTables, domain: str) -> None:
        self._db = db
        self.t = tables
        cols = encrypted(tables, domain)
        self._seal = {c.table: Sealer(cipher, cols, table=c.table) for c in cols}

    def _sealed(self, table: Table, rid: str, doc: Any) -> bytes:
        return self._seal[table.name].seal_json("data", rid, doc)

    def _opened(self, table: Table, rid: str, blob: bytes) -> Any:
        return self._seal[table.name].open_json("data", rid, blob)

    # ---- writes ----------------------------------------------------------------------------

    async def apply(self, snap: Snapshot, *, today: date, mode: str, audit: AuditLog, event: AuditEvent) -> None:
        """Replace what the platform holds now, clear any "needs attention", in one transaction."""
        now = utcnow()
        t = self.t
        courses = [
            {
                "id": c.id,
                "data": self._sealed(
                    t.courses,
                    c.id,
                    {"code": c.code, "name": c.name, "term": c.term, "score": c.score, "grade": c.grade},
                ),
                "synced_at": now,
            }
            for c in snap.courses
        ]
        work = [
            {
                "id": w.id,
                "course_id": w.course_id,
                "due_at": w.due_at,
                "state": w.state,
                "data": self._sealed(
                    t.work,
                    w.id,
                    {
                        "name": w.name,
                        "kind": w.kind,
                        "points": w.points,
                        "score": w.score,
                        "grade": w.grade,
                        "url": w.url,
                        "description": w.description[:MAX_TEXT],
                    },
                ),
                "synced_at": now,
            }
            for w in snap.work
        ]
        points = []
        for c in snap.courses:
            if c.score is None:
                continue
            rid = f"{c.id}:{today.isoformat()}"
            data = self._sealed(t.grade_points, rid, {"score": c.score, "grade": c.grade})
            points.append({"id": rid, "course_id": c.id, "day": today.isoformat(), "data": data})
        notices = [
            {
                "id": n.id,
                "course_id": n.course_id,
                "posted_at": n.posted_at,
                "data": self._sealed(
                    t.notices, n.id, {"title": n.title, "message": n.message[:MAX_TEXT], "author": n.author}
                ),
            }
            for n in snap.notices
            if t.notices is not None
        ]
        keep: list[tuple[Table, list[dict[str, Any]]]] = [(t.courses, courses), (t.work, work)]
        if t.notices is not None:
            keep.append((t.notices, notices))
        async with self._db.transaction() as s:
            for table, rows in keep:
                await upsert(s, table, rows, "id")
                await s.execute(delete(table).where(table.c.id.not_in([r["id"] for r in rows])))
            await upsert(s, t.grade_points, points, "id")
            status = {
                "id": 1,
                "synced_at": now,
                "reason": None,
                "detail": None,
                "since": None,
                "snapshot_id": None,
                "mode": mode,
            }
            await upsert(s, t.status, [status], "id")
            await audit.append(s, event)

    async def needs_attention(
        self, reason: str, detail: str, snapshot_id: str | None, *, mode: str, audit: AuditLog, event: AuditEvent
    ) -> None:
        """Record why the last run stopped (kept until a run succeeds); the stored data stays."""
        async with self._db.transaction() as s:
            row = (await s.execute(select(self.t.status).where(self.t.status.c.id == 1))).mappings().first()
            since = row["since"] if row is not None and row["reason"] == reason and row["since"] else utcnow()
            status = {
                "id": 1,
                "synced_at": row["synced_at"] if row else None,
                "reason": reason,
                "detail": detail[:300],
                "since": since,
                "snapshot_id": snapshot_id,
                "mode": mode,
            }
            await upsert(s, self.t.status, [status], "id")
            await audit.append(s, event)

    async def keep_snapshot(self, source: str, reason: str, screenshot: bytes, html: str) -> str:
        """A :class:`tools.browser.session.SnapshotSink`: the failure's screenshot and HTML, sealed."""
        sid, doc = snapshot_record(source, screenshot, html)
        async with self._db.transaction() as s:
            await s.execute(
                self.t.snapshots.insert().values(
                    id=sid, created_at=utcnow(), reason=reason, data=self._sealed(self.t.snapshots, sid, doc)
                )
            )
        return sid

    async def forget(self, audit: AuditLog, event: AuditEvent) -> None:
        t = self.t
        tables = [t.courses, t.work, t.grade_points, t.status, t.snapshots, t.cookies]
        async with self._db.transaction() as s:
            for table in [*tables, *([t.notices] if t.notices is not None else [])]:
                await s.execute(delete(table))
            await audit.append(s, event)

    # ---- reads -----------------------------------------------------------------------------

    async def attention(self) -> tuple[Attention | None, datetime | None, str | None]:
        """The open "needs attention" (or None), when the last good run was, and its mode."""
        async with self._db.transaction() as s:
            row = (await s.execute(select(self.t.status).where(self.t.status.c.id == 1))).mappings().first()
        if row is None:
            return None, None, None
        found = None
        if row["reason"]:
            found = Attention(row["reason"], row["detail"] or "", row["since"], row["snapshot_id"])
        return found, row["synced_at"], row["mode"]

    async def snapshot(self, snapshot_id: str) -> dict[str, str] | None:
        async with self._db.transaction() as s:
            q = select(self.t.snapshots).where(self.t.snapshots.c.id == snapshot_id)
            row = (await s.execute(q)).mappings().first()
        if row is None:
            return None
        doc: dict[str, str] = self._opened(self.t.snapshots, row["id"], row["data"])
        return {"id": row["id"], "reason": row["reason"], "created_at": row["created_at"].isoformat(), **doc}

    async def courses(self) -> list[Course]:
        async with self._db.transaction() as s:
            rows = (await s.execute(select(self.t.courses).order_by(self.t.courses.c.id))).mappings().all()
        out = []
        for r in rows:
            d = self._opened(self.t.courses, r["id"], r["data"])
            out.append(Course(r["id"], d["code"], d["name"], d.get("term"), d.get("score"), d.get("grade")))
        return out

    async def work(
        self, *, start: datetime | None = None, end: datetime | None = None, course_ids: Sequence[str] | None = None
    ) -> list[Work]:
        """Coursework due in [start, end) (dated only when a bound is given), by due date."""
        c = self.t.work.c
        q = select(self.t.work)
        if start is not None:
            q = q.where(c.due_at >= start)
        if end is not None:
            q = q.where(c.due_at < end)
        if course_ids is not None:
            q = q.where(c.course_id.in_(list(course_ids)))
        async with self._db.transaction() as s:
            rows = (await s.execute(q.order_by(c.due_at, c.id))).mappings().all()
        out = []
        for r in rows:
            d = self._opened(self.t.work, r["id"], r["data"])
            out.append(
                Work(
                    r["id"],
                    r["course_id"],
                    d["name"],
                    r["due_at"],
                    r["state"],
                    d.get("kind") or "assignment",
                    d.get("points"),
                    d.get("score"),
                    d.get("grade"),
                    d.get("url"),
                    d.get("description") or "",
                )
            )
        return out

    async def notices(self, since: datetime) -> list[Notice]:
        if self.t.notices is None:
            return []
        c = self.t.notices.c
        async with self._db.transaction() as s:
            q = select(self.t.notices).where(c.posted_at >= since).order_by(c.posted_at.desc())
            rows = (await s.execute(q)).mappings().all()
        out = []
        for r in rows:
            d = self._opened(self.t.notices, r["id"], r["data"])
            out.append(Notice(r["id"], r["course_id"], d["title"], d["message"], r["posted_at"], d.get("author")))
        return out

    async def grade_points(self, course_ids: Sequence[str], since: str) -> list[tuple[str, str, float | None]]:
        c = self.t.grade_points.c
        q = select(self.t.grade_points).where(c.course_id.in_(list(course_ids)), c.day >= since).order_by(c.day)
        async with self._db.transaction() as s:
            rows = (await s.execute(q)).mappings().all()
        return [
            (r["course_id"], r["day"], self._opened(self.t.grade_points, r["id"], r["data"]).get("score")) for r in rows
        ]


# ---- the read tools --------------------------------------------------------------------------


class DeadlineInfo(TypedDict):
    """The common deadline shape every coursework integration's ``deadlines`` tool returns."""

    id: str
    name: str
    course: str
    course_name: str
    due_at: str | None
    due: str
    status: StatusWord
    points: float | None
    score: float | None
    source: str
    url: str | None


class DeadlinesResult(TypedDict):
    assignments: list[DeadlineInfo]
    sources: list[Source]


class CourseInfo(TypedDict):
    id: str
    code: str
    name: str
    term: str | None
    score: float | None
    grade: str | None


class CoursesResult(TypedDict):
    courses: list[CourseInfo]
    mode: str | None  # how the platform is read: "rest" or "browser"
    synced_at: str | None
    sources: list[Source]


class GradePointInfo(TypedDict):
    day: str
    score: float | None


class CourseGrade(CourseInfo):
    history: list[GradePointInfo]
    change: float | None


class GradedWork(TypedDict):
    course: str
    name: str
    score: float | None
    points: float | None
    grade: str | None
    due_at: str | None


class GradesResult(TypedDict):
    courses: list[CourseGrade]
    graded: list[GradedWork]
    sources: list[Source]


class AnnouncementInfo(TypedDict):
    id: str
    course: str
    title: str
    message: str
    author: str | None
    posted_at: str | None


class AnnouncementsResult(TypedDict):
    announcements: list[AnnouncementInfo]
    sources: list[Source]


class AttentionInfo(TypedDict):
    reason: str
    detail: str
    since: str
    snapshot_id: str | None


class StatusResult(TypedDict):
    attention: list[AttentionInfo]  # empty when working; one entry when the owner must step in
    mode: str | None
    synced_at: str | None


class SnapshotResult(TypedDict):
    id: str
    reason: str
    created_at: str
    png: str  # base64
    html: str  # the page as captured: show as text, never render it


CourseQuery = Annotated[str, Field(min_length=1, max_length=80, description="A course code or name, e.g. 'CS 260'")]
SnapshotId = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,32}-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")]


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def when(value: datetime | None) -> str:
    return "no due date" if value is None else value.strftime("%a %d %b %H:%M UTC")


def status_word(w: Work, now: datetime) -> StatusWord:
    if w.state == "graded":
        return "graded"
    if w.state == "submitted":
        return "submitted"
    return "overdue" if w.due_at is not None and w.due_at < now else "not submitted"


def estimated(work: Sequence[Work], course_id: str, since: str, history: list[GradePointInfo]) -> list[GradePointInfo]:
    """Before the first daily snapshot: the course's running percentage of points earned on graded
    work, by due day (an estimate: platforms may weight categories), so a new term's chart has a past."""
    first = history[0]["day"] if history else "9999-12-31"
    earned = possible = 0.0
    by_day: dict[str, float] = {}
    for w in sorted(
        (w for w in work if w.course_id == course_id and w.due_at and w.points), key=lambda w: w.due_at or 0
    ):
        assert w.due_at is not None and w.points is not None and w.score is not None
        earned, possible = earned + w.score, possible + w.points
        by_day[w.due_at.date().isoformat()] = round(100.0 * earned / possible, 2)
    return [{"day": d, "score": v} for d, v in sorted(by_day.items()) if since <= d < first]


@dataclass
class Reads:
    """The read side one integration registers: its name, title (for ``source``), store and clock."""

    name: str
    title: str
    store: LmsStore
    gate: CallGate
    clock: Callable[[], datetime]

    def source(self, kind: str, item_id: str) -> Source:
        return {"channel": "coursework", "server": self.name, "item_id": f"{kind}:{item_id}", "principal": None}

    async def guard(self) -> None:
        """Refuse to answer from a store a stopped run left behind: say why instead."""
        found, _, _ = await self.store.attention()
        if found is not None:
            raise ToolError(
                f"{self.name}: needs attention ({found.reason}): {found.detail}. The owner must step in "
                "(see the integrations page); the data shown may be out of date."
            )

    def deadline(self, w: Work, courses: dict[str, Course], now: datetime) -> DeadlineInfo:
        c = courses.get(w.course_id)
        return {
            "id": w.id,
            "name": w.name,
            "course": c.code if c else w.course_id,
            "course_name": c.name if c else "",
            "due_at": iso(w.due_at),
            "due": when(w.due_at),
            "status": status_word(w, now),
            "points": w.points,
            "score": w.score,
            "source": self.title,
            "url": w.url,
        }

    async def only(self, course: str | None) -> tuple[dict[str, Course], list[str] | None]:
        courses = {c.id: c for c in await self.store.courses()}
        return courses, None if course is None else [c.id for c in courses.values() if matches(c, course)]


def register_reads(server: MCPServer, r: Reads) -> None:
    """``list_courses``, ``deadlines``, ``not_started``, ``grades``, ``announcements`` and ``status``."""

    @server.tool(annotations=READ)
    async def list_courses(ctx: Context) -> CoursesResult:
        """The owner's courses on this platform with the current score and grade, how it is read
        (REST or the browser) and when it was last synced."""
        await r.gate.check(ctx, "coursework.read", "list_courses")
        await r.guard()
        _, synced, mode = await r.store.attention()
        found = await r.store.courses()
        items: list[CourseInfo] = [
            {"id": c.id, "code": c.code, "name": c.name, "term": c.term, "score": c.score, "grade": c.grade}
            for c in found
        ]
        return {
            "courses": items,
            "mode": mode,
            "synced_at": iso(synced),
            "sources": [r.source("course", c.id) for c in found],
        }

    @server.tool(annotations=READ)
    async def deadlines(
        start: date,
        end: date,
        ctx: Context,
        course: CourseQuery | None = None,
        include_overdue: bool = False,
    ) -> DeadlinesResult:
        """Coursework due from start to end (dates, both included), by due date, with each one's course
        and status (not submitted, overdue, submitted, graded). include_overdue adds unsubmitted work
        whose due date passed in the last 30 days, first."""
        await r.gate.check(ctx, "coursework.read", "deadlines")
        if end < start or end - start > timedelta(days=MAX_RANGE_DAYS):
            raise ToolError(f"{r.name}: invalid request: end must be after start, at most {MAX_RANGE_DAYS} days")
        await r.guard()
        courses, ids = await r.only(course)
        now = r.clock()
        found = await r.store.work(start=start_of(start), end=start_of(end + timedelta(days=1)), course_ids=ids)
        if include_overdue:
            past = await r.store.work(start=now - timedelta(days=OVERDUE_DAYS), end=start_of(start), course_ids=ids)
            found = [w for w in past if w.state == "unsubmitted"] + found
        return {
            "assignments": [r.deadline(w, courses, now) for w in found],
            "sources": [r.source("work", w.id) for w in found],
        }

    @server.tool(annotations=READ)
    async def not_started(ctx: Context, course: CourseQuery | None = None) -> DeadlinesResult:
        """Coursework the owner has not submitted yet and that is still open, soonest first."""
        await r.gate.check(ctx, "coursework.read", "not_started")
        await r.guard()
        courses, ids = await r.only(course)
        now = r.clock()
        keep = [
            w
            for w in await r.store.work(course_ids=ids)
            if w.state == "unsubmitted" and (w.due_at is None or w.due_at >= now)
        ]
        keep.sort(key=lambda w: (w.due_at is None, w.due_at or now))
        return {
            "assignments": [r.deadline(w, courses, now) for w in keep],
            "sources": [r.source("work", w.id) for w in keep],
        }

    @server.tool(annotations=READ)
    async def grades(
        ctx: Context, course: CourseQuery | None = None, days: Annotated[int, Field(ge=1, le=365)] = 120
    ) -> GradesResult:
        """The owner's current score and grade per course (or one course, e.g. 'CS 260'), its history
        over the last days, and the graded work."""
        await r.gate.check(ctx, "coursework.read", "grades")
        await r.guard()
        courses, ids = await r.only(course)
        chosen = [c for c in courses.values() if ids is None or c.id in ids]
        since = (r.clock().date() - timedelta(days=days)).isoformat()
        points = await r.store.grade_points([c.id for c in chosen], since) if chosen else []
        out: list[CourseGrade] = []
        graded_work = [w for w in await r.store.work(course_ids=[c.id for c in chosen]) if w.score is not None]
        for c in chosen:
            history: list[GradePointInfo] = [{"day": d, "score": s} for cid, d, s in points if cid == c.id]
            history = estimated(graded_work, c.id, since, history) + history
            first = next((h["score"] for h in history if h["score"] is not None), None)
            change = None if first is None or c.score is None else round(c.score - first, 2)
            out.append(
                {
                    "id": c.id,
                    "code": c.code,
                    "name": c.name,
                    "term": c.term,
                    "score": c.score,
                    "grade": c.grade,
                    "history": history,
                    "change": change,
                }
            )
        work: list[GradedWork] = [
            {
                "course": courses[w.course_id].code if w.course_id in courses else w.course_id,
                "name": w.name,
                "score": w.score,
                "points": w.points,
                "grade": w.grade,
                "due_at": iso(w.due_at),
            }
            for w in await r.store.work(course_ids=[c.id for c in chosen])
            if w.score is not None
        ]
        return {"courses": out, "graded": work, "sources": [r.source("course", c.id) for c in chosen]}

    @server.tool(annotations=READ)
    async def status(ctx: Context) -> StatusResult:
        """Whether the last run worked; if not, why the owner must step in (a login, an MFA prompt, a
        captcha, a changed page), since when, and the id of the encrypted snapshot of that page."""
        await r.gate.check(ctx, "coursework.read", "status")
        found, synced, mode = await r.store.attention()
        items: list[AttentionInfo] = []
        if found is not None:
            items.append(
                {
                    "reason": found.reason,
                    "detail": found.detail,
                    "since": found.since.isoformat(),
                    "snapshot_id": found.snapshot_id,
                }
            )
        return {"attention": items, "mode": mode, "synced_at": iso(synced)}

    if r.store.t.notices is None:
        return

    @server.tool(annotations=READ)
    async def announcements(ctx: Context, days: Annotated[int, Field(ge=1, le=60)] = 7) -> AnnouncementsResult:
        """Course announcements posted in the last days, newest first (written by course staff)."""
        await r.gate.check(ctx, "coursework.read", "announcements")
        await r.guard()
        found = await r.store.notices(r.clock() - timedelta(days=days))
        codes = {c.id: c.code for c in await r.store.courses()}
        items: list[AnnouncementInfo] = [
            {
                "id": n.id,
                "course": codes.get(n.course_id, n.course_id),
                "title": n.title,
                "message": n.message,
                "author": n.author,
                "posted_at": iso(n.posted_at),
            }
            for n in found
        ]
        return {"announcements": items, "sources": [r.source("announcement", n.id) for n in found]}


def register_snapshot(server: MCPServer, r: Reads, annotations: Any) -> None:
    """``snapshot``: console only, the owner looks at the page a run stopped at."""

    @server.tool(annotations=annotations)
    async def snapshot(snapshot_id: SnapshotId, ctx: Context) -> SnapshotResult:
        """Console only: the encrypted screenshot and HTML of the page a run stopped at."""
        await r.gate.check(ctx, "coursework.link", "snapshot")
        found = await r.store.snapshot(snapshot_id)
        if found is None:
            raise ToolError(f"{r.name}: not found")
        return {
            "id": found["id"],
            "reason": found["reason"],
            "created_at": found["created_at"],
            "png": found["png"],
            "html": found["html"],
        }
