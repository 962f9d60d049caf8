"""An in-memory Pearson Mastering site for the demo profile and the tests of ``mcp_servers.pearson``.

Pearson has no API, so its demo is its pages: ``demo_transport()`` serves the course list and each
course's assignments as HTML shaped like the pages :mod:`tools.pearson.browser` reads (tables with
headings, ids in ``data-id``, dates printed for a person on the school's clock), around ``today``.
The browser reaches it through :class:`tools.browser.routed.HttpxRoute`.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import httpx

from tools.pearson.browser import SITE, ZONE

DEMO_LOGIN: Final = json.dumps({"username": "ds3482@drexel.edu", "password": "demo-pearson-password-not-real"})

# (course id, name, course id shown, overall %)
COURSES: Final = (
    ("chem102-w26", "CHEM 102 General Chemistry II", "MCHEM-58291", 84.2),
    ("phys101-w26", "PHYS 101 Fundamentals of Physics I", "MPHYS-11730", 90.6),
)
# (assignment id, course id, name, days from today, hour (local), score, possible, status)
ASSIGNMENTS: Final = (
    ("4410021", "chem102-w26", "Chapter 14 Homework: Chemical Kinetics", 1, 23, None, 30.0, "Not started"),
    ("4410022", "chem102-w26", "Chapter 15 Homework: Chemical Equilibrium", 8, 23, None, 30.0, "Not started"),
    ("4410020", "chem102-w26", "Chapter 13 Homework: Solutions", -5, 23, 27.5, 30.0, "Completed"),
    ("4410019", "chem102-w26", "Chapter 13 Reading Quiz", -1, 9, None, 10.0, "In progress"),
    ("5520107", "phys101-w26", "Week 9: Rotational Motion", 3, 23, None, 20.0, "In progress"),
    ("5520108", "phys101-w26", "Week 10: Angular Momentum", 10, 23, None, 20.0, "Not started"),
    ("5520106", "phys101-w26", "Week 8: Momentum and Collisions", -4, 23, 18.5, 20.0, "Completed"),
)


def demo_credentials() -> dict[str, str]:
    return {"pearson-login": DEMO_LOGIN}


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | Mastering'
        f'</title></head><body><header class="mlm-header"><a href="/course-home">Mastering</a></header>'
        f'<main id="main">{body}</main></body></html>'
    )


class DemoPearson:
    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()

    def _due(self, days: int, hour: int) -> str:
        local = datetime.combine(self.today + timedelta(days=days), time(hour, 59), tzinfo=ZoneInfo(ZONE))
        return local.strftime("%b %d, %Y %I:%M %p").replace(" 0", " ")

    def course_home(self) -> str:
        rows = "".join(
            f'<tr data-id="{cid}"><td><a href="/course/{cid}/assignments">{html.escape(name)}</a></td>'
            f"<td>{shown}</td><td>{score:.1f}%</td></tr>"
            for cid, name, shown, score in COURSES
        )
        return _page(
            "My courses",
            '<h1>My courses</h1><table class="course-list" aria-label="My courses"><thead><tr><th>Course name</th>'
            f"<th>Course ID</th><th>Overall score</th></tr></thead><tbody>{rows}</tbody></table>",
        )

    def assignments(self, cid: str) -> str | None:
        course = next((c for c in COURSES if c[0] == cid), None)
        if course is None:
            return None
        rows = ""
        for aid, course_id, name, days, hour, score, possible, status in ASSIGNMENTS:
            if course_id != cid:
                continue
            shown = "--" if score is None else f"{score:g}/{possible:g}"
            rows += (
                f'<tr data-id="{aid}"><td><a href="/course/{cid}/assignment/{aid}">{html.escape(name)}</a></td>'
                f"<td>{self._due(days, hour)}</td><td>{status}</td><td>{shown}</td></tr>"
            )
        return _page(
            course[1],
            f"<h1>{html.escape(course[1])}</h1><h2>Assignments</h2>"
            '<table class="assignments" aria-label="Assignments"><thead><tr><th>Assignment</th><th>Due</th>'
            f"<th>Status</th><th>Score</th></tr></thead><tbody>{rows}</tbody></table>",
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        if f"{request.url.scheme}://{request.url.host}" != SITE:
            return httpx.Response(404, text="not found")
        path = request.url.path
        body: str | None = None
        if path == "/course-home":
            body = self.course_home()
        elif path.startswith("/course/") and path.endswith("/assignments"):
            body = self.assignments(path.split("/")[2])
        if body is None:
            return httpx.Response(404, html=_page("Not found", "<h1>Page not found</h1>"))
        return httpx.Response(200, html=body)


def demo_transport(today: date | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(DemoPearson(today).handle)
