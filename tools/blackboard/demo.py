"""An in-memory Blackboard Learn for the demo profile and the tests of ``mcp_servers.blackboard``.

``demo_transport()`` answers the REST calls :class:`~tools.blackboard.client.BlackboardClient` makes
with bodies shaped like Learn's: ``{"results": [...], "paging": {"nextPage": ...}}`` with small
pages, Learn's primary ids (``_123_1``), the OAuth token endpoint (HTTP Basic, form body) and
Learn's ``{"status": 401, "message": ...}`` errors. Dates are the demo term's, around ``today``.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import httpx

DEMO_SITE: Final = "https://learn.drexel.edu"
DEMO_APP: Final = "3f1c9a2e-demo-app-key:demoBlackboardSecretNotReal0000"
DEMO_REFRESH: Final = "demoBlackboardRefreshTokenNotReal000000"
DEMO_ACCESS: Final = "demoBlackboardAccessTokenNotReal0000000"
USER: Final = "_4821_1"
PAGE: Final = 2
API: Final = "/learn/api/public"

# (course primary id, readable id, name, overall %)
COURSES: Final = (
    ("_2231_1", "MATH-201-002-202615", "MATH 201 Linear Algebra", 88.4),
    ("_2244_1", "ENGL-103-011-202615", "ENGL 103 Composition and Rhetoric III", 93.0),
)
# (column id, course, name, days from today, hour, points, score or None, status or None)
COLUMNS: Final = (
    ("_9101_1", "_2231_1", "Problem Set 9: Eigenvalues", 2, 23, 50.0, None, None),
    ("_9102_1", "_2231_1", "Quiz 5", -3, 12, 20.0, 17.0, "Graded"),
    ("_9103_1", "_2231_1", "Problem Set 8: Determinants", -6, 23, 50.0, 44.0, "Graded"),
    ("_9104_1", "_2231_1", "Midterm 2", 9, 14, 100.0, None, None),
    ("_9105_1", "_2231_1", "Problem Set 10: Diagonalization", 12, 23, 50.0, None, None),
    ("_9201_1", "_2244_1", "Research Proposal", 1, 23, 100.0, None, "NeedsGrading"),
    ("_9202_1", "_2244_1", "Annotated Bibliography", 6, 23, 100.0, None, None),
    ("_9203_1", "_2244_1", "Peer Review 2", -2, 23, 20.0, None, None),
)
ANNOUNCEMENTS: Final = (
    ("_701_1", "_2231_1", "Midterm 2 review session", "Review session Thursday 6 pm in Korman 245.", -1),
    ("_702_1", "_2244_1", "Conference sign-ups", "Sign up for a proposal conference by Friday.", -3),
)


def demo_credentials() -> dict[str, str]:
    return {"blackboard-app": DEMO_APP, "blackboard-refresh": DEMO_REFRESH}


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoBlackboard:
    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()

    def _at(self, days: int, hour: int) -> str:
        return _iso(datetime.combine(self.today + timedelta(days=days), time(hour, 59), tzinfo=UTC))

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        offset = int(request.url.params.get("offset", "0"))
        chunk = items[offset : offset + PAGE]
        body: dict[str, Any] = {"results": chunk}
        if offset + PAGE < len(items):
            body["paging"] = {"nextPage": f"{request.url.path}?offset={offset + PAGE}&limit={PAGE}"}
        return httpx.Response(200, json=body)

    def _token(self, request: httpx.Request) -> httpx.Response:
        key, _, secret = DEMO_APP.partition(":")
        expected = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        form = dict(httpx.QueryParams(request.content.decode()))
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "Invalid client"})
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") != DEMO_REFRESH:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid refresh token"})
        return httpx.Response(
            200,
            json={
                "access_token": DEMO_ACCESS,
                "token_type": "bearer",
                "expires_in": 3599,
                "scope": "read offline",
                "user_id": USER,
            },
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host != "learn.drexel.edu" or not path.startswith(API):
            return httpx.Response(404, json={"status": 404, "message": "Not found"})
        if path == f"{API}/v1/oauth2/token" and request.method == "POST":
            return self._token(request)
        if request.headers.get("authorization") != f"Bearer {DEMO_ACCESS}":
            return httpx.Response(401, json={"status": 401, "message": "Bearer token is invalid"})
        route = path.removeprefix(API)
        if route == "/v1/users/me":
            return httpx.Response(
                200, json={"id": USER, "userName": "ds3482", "name": {"given": "Dana", "family": "S"}}
            )
        if route == f"/v1/users/{USER}/courses":
            members = [
                {
                    "id": f"_m{c[0]}",
                    "userId": USER,
                    "courseId": c[0],
                    "courseRoleId": "Student",
                    "availability": {"available": "Yes"},
                }
                for c in COURSES
            ]
            return self._page(request, members)
        for cid, readable, name, overall in COURSES:
            if route == f"/v3/courses/{cid}":
                return httpx.Response(
                    200,
                    json={
                        "id": cid,
                        "courseId": readable,
                        "name": name,
                        "termId": "_45_1",
                        "externalAccessUrl": f"{DEMO_SITE}/ultra/courses/{cid}/outline",
                    },
                )
            if route == f"/v2/courses/{cid}/gradebook/columns":
                return self._page(request, self._columns(cid))
            if route == f"/v1/courses/{cid}/gradebook/users/{USER}":
                return self._page(request, self._grades(cid, overall))
            if route == f"/v1/courses/{cid}/announcements":
                return self._page(
                    request,
                    [
                        {
                            "id": aid,
                            "title": title,
                            "body": f"<p>{body}</p>",
                            "creator": "_12_1",
                            "created": self._at(days, 9),
                            "availability": {"duration": {"type": "Permanent"}},
                        }
                        for aid, course, title, body, days in ANNOUNCEMENTS
                        if course == cid
                    ],
                )
        return httpx.Response(404, json={"status": 404, "message": "Not found"})

    def _columns(self, cid: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {
                "id": f"_total{cid}",
                "name": "Overall Grade",
                "externalGrade": True,
                "score": {"possible": 100.0},
                "grading": {"type": "Calculated"},
                "availability": {"available": "Yes"},
            }
        ]
        for col, course, name, days, hour, points, _, _ in COLUMNS:
            if course == cid:
                out.append(
                    {
                        "id": col,
                        "name": name,
                        "externalGrade": False,
                        "score": {"possible": points},
                        "grading": {"type": "Attempts", "due": self._at(days, hour)},
                        "availability": {"available": "Yes"},
                        "contentId": f"_c{col}",
                    }
                )
        return out

    def _grades(self, cid: str, overall: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {
                "userId": USER,
                "columnId": f"_total{cid}",
                "status": "Graded",
                "score": overall,
                "displayGrade": {"scaleType": "Percent", "score": overall},
            }
        ]
        for col, course, _, _, _, _, score, status in COLUMNS:
            if course == cid and status is not None:
                out.append(
                    {
                        "userId": USER,
                        "columnId": col,
                        "status": status,
                        "score": score,
                        "exempt": False,
                        "displayGrade": None if score is None else {"scaleType": "Score", "score": score},
                    }
                )
        return out


def demo_transport(today: date | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(DemoBlackboard(today).handle)
