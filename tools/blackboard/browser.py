"""Blackboard Learn (Ultra) read through the browser, with the owner's login, when the institution
grants no application key.

Two kinds of page: the course list (``/ultra/course``, list view: a table of courses), and each
course's grades page (``/ultra/courses/<id>/grades``: the overall grade and a table of the gradable
items with due date, status and grade). Tables are read by their headings
(:func:`tools.browser.tables.read_rows`); a login form is filled once with the owner's login; an MFA
prompt, a captcha or a page we do not recognise stops the run (:class:`NeedsAttention`).
"""

from __future__ import annotations

import re
from typing import Literal

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


def _item_id(raw: str | None) -> str:
    try:
        return learn_id(raw or "")
    except InvalidRequest:
        raise NeedsAttention(
            "layout_changed", "an item on the grades page has no Blackboard id", integration=NAME
        ) from None


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
