"""Pearson Mastering read through the browser (it has no API for students): the course list and each
course's assignments with due dates and scores.

Pages: ``/course-home`` (a table of the owner's courses with the overall score) and
``/course/<id>/assignments`` (a table of assignments: name, due, status, score). Read by their
headings; a login form is filled once with the owner's login; anything else unknown stops the run
with :class:`NeedsAttention`. Everything read here is written by others: untrusted.
"""

from __future__ import annotations

import re
from typing import Literal

from tools.browser.pages import NeedsAttention, Target
from tools.browser.session import Session
from tools.browser.tables import Scraped, parse_score, parse_when, read_rows

NAME = "pearson"
SITE = "https://mlm.pearson.com"
ZONE = "America/New_York"
COURSES = Target.of("the course list", role="table", name="My courses", css="table.course-list")
ASSIGNMENTS = Target.of("the assignments table", role="table", name="Assignments", css="table.assignments")
_ID = re.compile(r"^[A-Za-z0-9-]{3,40}$")


def _checked(value: str | None, what: str) -> str:
    if not value or not _ID.match(value):
        raise NeedsAttention("layout_changed", f"{what} has no Pearson id", integration=NAME)
    return value


async def read_courses(s: Session) -> list[dict[str, str | None]]:
    await s.goto("/course-home")
    table, _ = await s.find(COURSES)
    rows = await read_rows(
        table,
        {"name": ("course name", "course"), "code": ("course id", "code"), "score": ("score", "grade")},
        required=("name",),
        source=NAME,
        what="the course list",
    )
    return [{**r, "id": _checked(r.get("data_id"), "a course")} for r in rows]


def _state(status: str, score: float | None) -> Literal["unsubmitted", "submitted", "graded"]:
    words = status.lower()
    if score is not None and "in progress" not in words:
        return "graded"
    if "submitted" in words or "complete" in words:
        return "submitted"
    return "unsubmitted"


async def read_assignments(s: Session, course_id: str) -> list[Scraped]:
    await s.goto(f"/course/{_checked(course_id, 'a course')}/assignments")
    table, _ = await s.find(ASSIGNMENTS)
    rows = await read_rows(
        table,
        {"name": ("assignment", "name", "title"), "due": ("due",), "status": ("status",), "score": ("score",)},
        required=("name", "due"),
        source=NAME,
        what="the assignments table",
    )
    out: list[Scraped] = []
    for r in rows:
        got, possible = parse_score(r.get("score"))
        out.append(
            Scraped(
                id=_checked(r.get("data_id"), "an assignment"),
                name=r.get("name") or "",
                due_at=parse_when(r.get("due"), ZONE),
                state=_state(r.get("status") or "", got),
                score=got,
                points=possible,
            )
        )
    return out
