"""Reading Blackboard: the REST API when the institution granted an application key, else the browser.

REST (mode ``rest``): the owner (``/v1/users/me``), their student memberships, each course
(``/v3/courses/{id}``), its gradebook columns (``/v2/.../gradebook/columns``: the assignments and
tests with their due dates; the ``externalGrade`` column is the course's overall grade), the owner's
grades (``/v1/.../gradebook/users/{id}``) and announcements. One request at a time.

Browser (mode ``browser``): the Ultra course list and each course's grades and announcements pages,
with the owner's login (``blackboard-login``: ``{"username": ..., "password": ...}``) filled once at a login form.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from mcp_servers._coursework import Course, LmsStore, Notice, Snapshot, State, Work, scraped_work
from mcp_servers._lms_sync import SnapshotKeeper, forget_session, stored_login
from tools.blackboard import browser
from tools.blackboard.client import BlackboardClient
from tools.blackboard.models import Column, Grade
from tools.browser.session import BrowserRunner, RouteHandler
from tools.browser.session import Source as BrowserSource
from tools.browser.stores import VaultCookieJar
from tools.credentials import CredentialProvider

LOGIN_CREDENTIAL = "blackboard-login"
_TAGS = re.compile(r"<[^>]+>")
_CODE = re.compile(r"^([A-Z]{2,5})-(\d{3}[A-Z]?)")


def plain(text: str | None) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", text or "")).split())


def short_code(readable: str, name: str) -> str:
    """``MATH-201-002-202615`` -> ``MATH 201`` (the code a student says); else the id as it is."""
    found = _CODE.match(readable or "")
    return f"{found.group(1)} {found.group(2)}" if found else (readable or name)


def _state(grade: Grade | None) -> State:
    if grade is None or grade.exempt:
        return "unsubmitted" if grade is None else "graded"
    if grade.status == "NeedsGrading":
        return "submitted"
    if grade.status == "Graded" or grade.score is not None:
        return "graded"
    return "unsubmitted"


def _work(col: Column, course_id: str, grade: Grade | None) -> Work:
    shown = grade.display_grade if grade is not None else None
    return Work(
        id=col.id,
        course_id=course_id,
        name=col.display_name or col.name,
        due_at=col.grading.due if col.grading else None,
        state=_state(grade),
        kind="test" if "quiz" in col.name.lower() or "exam" in col.name.lower() else "assignment",
        points=col.score.possible if col.score else None,
        score=grade.score if grade is not None else None,
        grade=shown.text if shown is not None else None,
        description=plain(col.description),
    )


@dataclass
class BlackboardSource:
    client: BlackboardClient
    credentials: CredentialProvider
    store: LmsStore
    runner: BrowserRunner
    cookies: VaultCookieJar  # the login session, kept in the broker's vault (``_lms_sync.vault_cookies``)
    site: str | None = None  # the browser's site (default: the client's)
    route: RouteHandler | None = None

    async def mode(self) -> str:
        return "rest" if await self.client.has_application() else "browser"

    async def forget(self) -> list[str]:
        """Disconnect: the login session purged from the vault, no credential or access token kept."""
        self.client.forget_access()
        return await forget_session(self.cookies, self.credentials)

    async def fetch(self, keeper: SnapshotKeeper) -> Snapshot:
        return await self.rest() if await self.mode() == "rest" else await self.browse(keeper)

    async def rest(self) -> Snapshot:
        c = self.client
        me = await c.me()
        courses: list[Course] = []
        work: list[Work] = []
        notices: list[Notice] = []
        for m in await c.memberships(me.id):
            if (m.course_role_id or "Student") != "Student" or (m.availability and m.availability.available == "No"):
                continue
            course = await c.course(m.course_id)
            columns = await c.columns(course.id)
            grades = {g.column_id: g for g in await c.grades(course.id, me.id)}
            overall = next((col for col in columns if col.external_grade), None)
            total = grades.get(overall.id) if overall is not None else None
            score = None
            if total is not None and total.score is not None and overall is not None:
                possible = overall.score.possible if overall.score and overall.score.possible else 100.0
                score = round(100.0 * total.score / possible, 2)
            letter = total.display_grade.text if total is not None and total.display_grade else None
            courses.append(
                Course(course.id, short_code(course.course_id, course.name), course.name, None, score, letter)
            )
            work += [_work(col, course.id, grades.get(col.id)) for col in columns if not col.external_grade]
            notices += [
                Notice(a.id, course.id, a.title, plain(a.body), a.created, None)
                for a in await c.announcements(course.id)
            ]
        return Snapshot(courses, work, notices)

    async def browse(self, keeper: SnapshotKeeper) -> Snapshot:
        site = self.site or await self.client.site()
        source = BrowserSource(browser.NAME, site)
        courses: list[Course] = []
        work: list[Work] = []
        notices: list[Notice] = []
        async with self.runner.session(
            source,
            self.cookies,
            keeper,
            login=await stored_login(self.credentials, LOGIN_CREDENTIAL, "blackboard"),
            route=self.route,
        ) as s:
            for row in await browser.read_courses(s):
                cid = str(row["id"])
                score, letter, items = await browser.read_grades(s, cid)
                name = row.get("name") or cid
                courses.append(Course(cid, short_code(row.get("code") or "", name), name, None, score, letter))
                work += [scraped_work(it, cid) for it in items]
                notices += [
                    Notice(p.id, cid, p.title, p.body, p.posted_at, p.author)
                    for p in await browser.read_announcements(s, cid)
                ]
        return Snapshot(courses, work, notices)
