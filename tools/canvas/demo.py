"""An in-memory Canvas for the demo profile and the tests of ``mcp_servers.canvas``.

``demo_transport()`` answers the calls :class:`~tools.canvas.client.CanvasClient` makes with bodies
and headers shaped like Canvas's: bare JSON lists, ``Link`` headers with opaque ``bookmark:`` page
tokens, ``X-Request-Cost`` and ``X-Rate-Limit-Remaining`` on every response, and Canvas's 401 body.
Dates are the demo term's (:mod:`tools.canvas.demo_data.term`), moved to be around ``today``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import httpx

from tools.canvas.demo_data import term as data

DEMO_SITE: Final = "https://canvas.drexel.edu"
DEMO_TOKEN: Final = "1770~demoCanvasTokenNotARealCredential0000000000000000000000"  # noqa: S105 - public demo value
PAGE_SIZE: Final = 4  # small pages, so the demo exercises pagination


def demo_credentials() -> dict[str, str]:
    return {"canvas-token": DEMO_TOKEN}


def _at(today: date, days: int, hour: int) -> str:
    when = datetime.combine(today + timedelta(days=days), time(hour, 59), tzinfo=UTC)
    return when.isoformat().replace("+00:00", "Z")


def _bookmark(offset: int) -> str:
    return "bookmark:" + base64.urlsafe_b64encode(json.dumps([offset]).encode()).decode().rstrip("=")


def _offset(page: str | None) -> int:
    if not page or not page.startswith("bookmark:"):
        return 0
    raw = page.removeprefix("bookmark:")
    return int(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))[0])


class DemoCanvas:
    """The demo term served as Canvas would. ``today`` fixes the dates (default: the real today)."""

    def __init__(self, today: date | None = None, *, token: str = DEMO_TOKEN) -> None:
        self.today = today or datetime.now(UTC).date()
        self.token = token
        self.remaining = 700.0
        self.requests: list[httpx.Request] = []

    # ---- objects ---------------------------------------------------------------------------

    def course(self, row: tuple[int, str, str, float | None, str | None]) -> dict[str, Any]:
        cid, code, name, score, grade = row
        enrollment = {
            "type": "student",
            "role": "StudentEnrollment",
            "enrollment_state": "active",
            "user_id": data.USER_ID,
            "computed_current_score": score,
            "computed_current_grade": grade,
            "computed_final_score": None if score is None else round(score * 0.8, 1),
            "computed_final_grade": None,
        }
        return {
            "id": cid,
            "name": name,
            "course_code": code,
            "workflow_state": "available",
            "enrollment_term_id": data.TERM["id"],
            "term": {**data.TERM, "start_at": None, "end_at": None},
            "enrollments": [enrollment],
        }

    def assignment(self, a: dict[str, Any]) -> dict[str, Any]:
        due = None if a["due"] is None else _at(self.today, *a["due"])
        state = a["state"]
        submitted = None if state == "unsubmitted" or a["due"] is None else _at(self.today, a["due"][0] - 1, 20)
        score = a.get("score")
        out: dict[str, Any] = {
            "id": a["id"],
            "course_id": a["course"],
            "name": a["name"],
            "description": a.get("description", f"<p>{a['name']}: see the course page.</p>"),
            "due_at": due,
            "lock_at": None,
            "unlock_at": None,
            "points_possible": float(a["points"]),
            "html_url": f"{DEMO_SITE}/courses/{a['course']}/assignments/{a['id']}",
            "submission_types": ["external_tool"] if a.get("pearson") else ["online_upload"],
            "has_submitted_submissions": state != "unsubmitted",
            "published": True,
            "submission": {
                "assignment_id": a["id"],
                "user_id": data.USER_ID,
                "submitted_at": submitted,
                "score": score,
                "grade": None if score is None else str(score),
                "workflow_state": state,
                "late": False,
                "missing": bool(a.get("missing")),
                "excused": False,
                "attempt": None if state == "unsubmitted" else 1,
            },
        }
        if a.get("pearson"):
            out["external_tool_tag_attributes"] = {
                "url": "https://mylabmastering.pearson.com/lti/launch",
                "new_tab": True,
            }
        return out

    def announcement(self, row: tuple[int, int, str, str, int]) -> dict[str, Any]:
        aid, cid, title, message, ago = row
        return {
            "id": aid,
            "title": title,
            "message": message,
            "posted_at": _at(self.today, -ago, 14),
            "context_code": f"course_{cid}",
            "html_url": f"{DEMO_SITE}/courses/{cid}/discussion_topics/{aid}",
            "user_name": "Course staff",
            "is_announcement": True,
        }

    def event(self, row: tuple[int, int, str, int, int, str]) -> dict[str, Any]:
        eid, cid, title, days, hour, where = row
        return {
            "id": eid,
            "title": title,
            "description": None,
            "start_at": _at(self.today, days, hour),
            "end_at": _at(self.today, days, hour + 1),
            "location_name": where,
            "context_code": f"course_{cid}",
            "context_name": next(c[1] for c in data.COURSES if c[0] == cid),
            "html_url": f"{DEMO_SITE}/calendar?event_id={eid}",
            "all_day": False,
            "type": "event",
        }

    # ---- HTTP ------------------------------------------------------------------------------

    def _list(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        start = _offset(request.url.params.get("page"))
        chunk = items[start : start + PAGE_SIZE]
        base = request.url.copy_with(query=None)
        links = []
        if start + PAGE_SIZE < len(items):
            links.append(f'<{base}?page={_bookmark(start + PAGE_SIZE)}&per_page={PAGE_SIZE}>; rel="next"')
        links.append(f'<{base}?page=first&per_page={PAGE_SIZE}>; rel="first"')
        return self._ok(chunk, {"Link": ", ".join(links)})

    def _ok(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        self.remaining = max(0.0, self.remaining - 1.2)
        cost = {"X-Request-Cost": "1.2", "X-Rate-Limit-Remaining": f"{self.remaining:.1f}"}
        return httpx.Response(200, json=body, headers={**cost, **(headers or {})})

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return httpx.Response(
                401,
                json={"errors": [{"message": "Invalid access token."}]},
                headers={"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
            )
        parts = request.url.path.strip("/").split("/")
        if request.method != "GET" or parts[:2] != ["api", "v1"]:
            return httpx.Response(404, json={"errors": [{"message": "The specified resource does not exist."}]})
        route = parts[2:]
        if route == ["courses"]:
            return self._list(request, [self.course(c) for c in data.COURSES])
        if len(route) == 3 and route[0] == "courses" and route[2] == "assignments":
            cid = int(route[1])
            found = [self.assignment(a) for a in data.ASSIGNMENTS if a["course"] == cid]
            found.sort(key=lambda a: (a["due_at"] is None, a["due_at"] or ""))
            return self._list(request, found)
        if route == ["announcements"]:
            codes = set(request.url.params.get_list("context_codes[]"))
            items = [self.announcement(a) for a in data.ANNOUNCEMENTS if f"course_{a[1]}" in codes]
            return self._list(request, items)
        if route == ["calendar_events"]:
            codes = set(request.url.params.get_list("context_codes[]"))
            return self._list(request, [self.event(e) for e in data.EVENTS if f"course_{e[1]}" in codes])
        return httpx.Response(404, json={"errors": [{"message": "The specified resource does not exist."}]})


def demo_transport(canvas: DemoCanvas | None = None) -> httpx.MockTransport:
    return httpx.MockTransport((canvas or DemoCanvas()).handler)
