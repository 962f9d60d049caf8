"""Blackboard Learn (Ultra) read through the browser, with the owner's login, when the institution
grants no application key.

Three kinds of page: the course list (``/ultra/course``, list view: a table of courses), each
course's grades page (``/ultra/courses/<id>/grades``: the overall grade and a table of the gradable
items with due date, status and grade) and its announcements (``/ultra/courses/<id>/announcements``:
a list of posts, each with its id, title, date, author and text, or a line saying there are none).
Announcement text is written by course staff: it is read as a person sees it (``innerText``: text the
page hides is not read) and handed on as untrusted content. Tables are read by their headings
(:func:`tools.browser.tables.read_rows`); a login form is filled once with the owner's login; an MFA
prompt, a captcha or a page we do not recognise stops the run (:class:`NeedsAttention`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tools.blackboard.client import learn_id
from tools.browser.pages import NeedsAttention, Target
from tools.browser.session import Session
from tools.browser.tables import Scraped, parse_score, parse_when, read_rows
from tools.errors import InvalidRequest

NAME = "blackboard"
ZONE = "America/New_York"  # learn.drexel.edu prints dates on Philadelphia's clock
COURSES = Target.of("the course list", role="table", name="Courses", css="table.course-list")
GRADES = Target.of("the grades table", role="table", name="Course grades", css="table.grades-list")
OVERALL_CSS = "[data-overall-grade], .overall-grade .value"
ANNOUNCEMENTS = Target.of("the announcements list", role="list", name="Announcements", css="ul.announcements-list")
NO_ANNOUNCEMENTS = re.compile(r"there are no announcements|no announcements (yet|to show)", re.I)
_POSTS_JS = """(list) => [...list.querySelectorAll(':scope > li')].map(li => {
  const time = li.querySelector('time');
  const text = (css) => li.querySelector(css)?.innerText.trim() ?? null;
  return {
    id: li.getAttribute('data-id'),
    title: text('h2, h3, h4'),
    posted: time?.getAttribute('datetime') || time?.innerText.trim() || null,
    author: text('.announcement-author, [data-author]'),
    body: text('.announcement-body'),
  };
})"""


@dataclass(frozen=True)
class Post:
    id: str
    title: str
    posted_at: datetime | None
    author: str | None
    body: str


def _course_id(row: dict[str, str | None]) -> str:
    raw = row.get("data_id") or ""
    if not raw:
        found = re.search(r"/ultra/courses/(_\d+_\d+)", row.get("href") or "")
        raw = found.group(1) if found else ""
    try:
        return learn_id(raw)
    except InvalidRequest:
        raise NeedsAttention(
            "layout_changed", "a course on the course list has no Blackboard id", integration=NAME
        ) from None


def _item_id(raw: str | None, where: str = "an item on the grades page") -> str:
    try:
        return learn_id(raw or "")
    except InvalidRequest:
        raise NeedsAttention("layout_changed", f"{where} has no Blackboard id", integration=NAME) from None


def _state(status: str, score: float | None) -> Literal["unsubmitted", "submitted", "graded"]:
    words = status.lower()
    if score is not None or ("graded" in words and "needs" not in words):
        return "graded"
    if "in progress" in words or "not started" in words:
        return "unsubmitted"
    if any(w in words for w in ("submitted", "needs grading", "completed")):
        return "submitted"
    return "unsubmitted"


async def read_courses(s: Session) -> list[dict[str, str | None]]:
    await s.goto("/ultra/course")
    table, _ = await s.find(COURSES)
    rows = await read_rows(
        table,
        {"name": ("course name", "course"), "code": ("course id", "code")},
        required=("name",),
        source=NAME,
        what="the course list",
    )
    return [{**r, "id": _course_id(r)} for r in rows]


async def read_grades(s: Session, course_id: str) -> tuple[float | None, str | None, list[Scraped]]:
    """The course's overall percentage and letter (if shown) and its gradable items."""
    await s.goto(f"/ultra/courses/{learn_id(course_id)}/grades")
    table, _ = await s.find(GRADES)
    rows = await read_rows(
        table,
        {
            "name": ("item", "name", "title"),
            "due": ("due",),
            "status": ("status",),
            "grade": ("grade", "score"),
            "type": ("type",),
        },
        required=("name", "due"),
        source=NAME,
        what="the grades table",
    )
    overall = s.page.locator(OVERALL_CSS).first
    text = (await overall.inner_text(timeout=2000)) if await overall.count() else ""
    score, _ = parse_score(text)
    letter = re.search(r"\(([A-F][+-]?)\)", text)
    items: list[Scraped] = []
    for r in rows:
        got, possible = parse_score(r.get("grade"))
        items.append(
            Scraped(
                id=_item_id(r.get("data_id")),
                name=r.get("name") or "",
                due_at=parse_when(r.get("due"), ZONE),
                state=_state(r.get("status") or "", got),
                score=got,
                points=possible,
                kind=(r.get("type") or "assignment").lower(),
            )
        )
    return score, None if letter is None else letter.group(1), items


def _posted(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return parse_when(re.sub(r"^posted( on)?:?\s*", "", raw, flags=re.I), ZONE)
    return when if when.tzinfo is not None else parse_when(raw, ZONE)


async def read_announcements(s: Session, course_id: str) -> list[Post]:
    """The course's announcements as the page lists them; [] only when the page says there are none."""
    await s.goto(f"/ultra/courses/{learn_id(course_id)}/announcements")
    await s.check()
    empty = s.page.get_by_text(NO_ANNOUNCEMENTS)
    if await empty.count() and await empty.first.is_visible():
        return []
    found, _ = await s.find(ANNOUNCEMENTS)
    rows: list[dict[str, Any]] = await found.evaluate(_POSTS_JS)
    posts: list[Post] = []
    for row in rows:
        if not row.get("title"):
            raise NeedsAttention("layout_changed", "an announcement has no title any more", integration=NAME)
        posts.append(
            Post(
                id=_item_id(row.get("id"), "an announcement"),
                title=str(row["title"]),
                posted_at=_posted(row.get("posted")),
                author=row.get("author") or None,
                body=str(row.get("body") or ""),
            )
        )
    return posts
