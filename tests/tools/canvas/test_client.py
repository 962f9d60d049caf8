"""CanvasClient against responses shaped like Canvas's: Link pagination, rate-limit headers, errors."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from tests.tools.conftest import Sleeps
from tools._http import RetryPolicy, build_http_client
from tools.canvas.client import CanvasClient
from tools.canvas.demo import DEMO_TOKEN, DemoCanvas, demo_credentials, demo_transport
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired, InvalidRequest, RateLimited

pytestmark = pytest.mark.anyio
SITE = "https://canvas.drexel.edu"
TOKEN = "1770~Zx9QvT3kLm8PwR2nYb6HcD4fJs0aGu7eKi5oVt1"
COURSE = {
    "id": 3301,
    "name": "CS 260: Data Structures",
    "course_code": "CS 260",
    "enrollments": [{"type": "student", "computed_current_score": 88.4, "computed_current_grade": "B+"}],
}


def _client(handler: httpx.MockTransport, policy: RetryPolicy, creds: StaticCredentials | None = None) -> CanvasClient:
    http = build_http_client(transport=handler)
    return CanvasClient(http, creds or StaticCredentials({"canvas-token": TOKEN}), site=SITE, retry=policy)


def _page(body: object, *, next_url: str | None = None, remaining: str = "650.0") -> httpx.Response:
    headers = {"X-Request-Cost": "1.5", "X-Rate-Limit-Remaining": remaining}
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next", <{SITE}/api/v1/courses?page=first&per_page=100>; rel="first"'
    return httpx.Response(200, json=body, headers=headers)


async def test_follows_the_next_link_verbatim_across_pages(policy: RetryPolicy) -> None:
    seen: list[httpx.URL] = []
    bookmark = f"{SITE}/api/v1/courses?page=bookmark:WzMzMDFd&per_page=100&include[]=term"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if request.url.params.get("page") is None:
            return _page([COURSE], next_url=bookmark)
        return _page([{**COURSE, "id": 3302, "course_code": "MATH 221", "enrollments": []}])

    client = _client(httpx.MockTransport(handler), policy)
    courses = await client.courses()
    assert [c.course_code for c in courses] == ["CS 260", "MATH 221"]
    assert courses[0].student is not None and courses[0].student.computed_current_score == 88.4
    assert seen[0].params.get("per_page") == "100"
    assert seen[0].params.get_list("include[]") == ["term", "total_scores"]
    assert str(seen[1]) == bookmark  # the page token is opaque: sent back exactly as given
    assert client.cost == 3.0 and client.remaining == 650.0


async def test_a_next_link_to_another_host_is_not_followed(policy: RetryPolicy) -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return _page([COURSE], next_url="https://collector.example/api/v1/courses?page=2")

    client = _client(httpx.MockTransport(handler), policy)
    with pytest.raises(InvalidRequest, match="outside its own site"):
        await client.courses()
    assert hosts == ["canvas.drexel.edu"]  # the token never went to the other host


async def test_a_revoked_token_is_auth_expired_and_forgotten(policy: RetryPolicy) -> None:
    creds = StaticCredentials({"canvas-token": TOKEN})

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"errors": [{"message": f"Invalid access token. {TOKEN}"}]})

    client = _client(httpx.MockTransport(handler), policy, creds)
    with pytest.raises(AuthExpired) as caught:
        await client.courses()
    assert "Invalid access token" in str(caught.value) and TOKEN not in str(caught.value)
    assert creds.invalidated == ["canvas-token"]


async def test_the_old_403_rate_limit_text_is_retried(policy: RetryPolicy, sleeps: Sleeps) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(
                403, text="403 Forbidden (Rate Limit Exceeded)", headers={"X-Rate-Limit-Remaining": "0"}
            )
        return _page([COURSE])

    courses = await _client(httpx.MockTransport(handler), policy).courses()
    assert len(courses) == 1 and calls == 2 and len(sleeps.waits) >= 1


async def test_a_429_honours_retry_after_then_gives_up_as_rate_limited(policy: RetryPolicy, sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, text="Rate Limit Exceeded", headers={"Retry-After": "3"})

    with pytest.raises(RateLimited):
        await _client(httpx.MockTransport(handler), policy).courses()
    assert sleeps.waits[:2] == [3.0, 3.0]


async def test_a_plain_403_is_not_a_rate_limit(policy: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"status": "unauthorized", "errors": [{"message": "user not authorized"}]})

    with pytest.raises(AuthExpired):
        await _client(httpx.MockTransport(handler), policy).courses()


async def test_a_low_bucket_slows_the_next_request(policy: RetryPolicy, sleeps: Sleeps) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") is None:
            return _page([COURSE], next_url=f"{SITE}/api/v1/courses?page=bookmark:Wz2", remaining="30.0")
        return _page([])

    client = _client(httpx.MockTransport(handler), policy)
    await client.courses()
    assert sleeps.waits == [8.0]  # 30 of a 150 low-water mark left: 80% of the longest pause


async def test_ids_are_checked_before_they_reach_a_path(policy: RetryPolicy) -> None:
    client = _client(httpx.MockTransport(lambda r: _page([])), policy)
    with pytest.raises(InvalidRequest):
        await client.assignments(-1)


async def test_the_demo_pages_and_flags_pearson_work(policy: RetryPolicy) -> None:
    canvas = DemoCanvas(date(2026, 12, 2))
    http = build_http_client(transport=demo_transport(canvas))
    client = CanvasClient(http, StaticCredentials(demo_credentials()), retry=policy)
    courses = await client.courses()
    assert [c.course_code for c in courses] == ["CS 260", "MATH 221", "PHYS 102", "ENGL 103"]
    math = await client.assignments(3302)
    assert [a.source for a in math].count("Pearson Mastering") == 2
    cs = await client.assignments(3301)
    due = {a.name: a.due_at for a in cs}
    assert due["Lab 7: Graph traversal"] is not None and due["Lab 7: Graph traversal"].date() == date(2026, 12, 3)
    assert sum(1 for r in canvas.requests if r.url.path == "/api/v1/courses/3301/assignments") == 2  # two pages
    wrong = CanvasClient(http, StaticCredentials({"canvas-token": DEMO_TOKEN + "x"}), retry=policy)
    with pytest.raises(AuthExpired):
        await wrong.courses()


async def test_another_school_comes_from_the_vault_and_must_be_https(policy: RetryPolicy) -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return _page([])

    http = build_http_client(transport=httpx.MockTransport(handler))
    other = StaticCredentials({"canvas-token": TOKEN, "canvas-site": "https://school.instructure.com/"})
    await CanvasClient(http, other, retry=policy).courses()
    await CanvasClient(http, StaticCredentials({"canvas-token": TOKEN}), retry=policy).courses()
    assert hosts == ["school.instructure.com", "canvas.drexel.edu"]
    plain = StaticCredentials({"canvas-token": TOKEN, "canvas-site": "http://school.instructure.com"})
    with pytest.raises(InvalidRequest):
        await CanvasClient(http, plain, retry=policy).courses()
    assert len(hosts) == 2
