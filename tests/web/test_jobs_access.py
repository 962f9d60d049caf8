"""Who may use the jobs console: CSRF on every control, no anonymous access, unknown ids, and a
console started without an agent (the pages say the scheduler is not running)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest

from tests.web.conftest import Console, FakeClock, cookie_header
from tests.web.test_jobs import CSRF, Jobs, audit_rows, open_jobs
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
async def jobs(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Jobs]:
    async with open_jobs(db_url, clock, console_config) as j:
        yield j


async def test_posts_without_the_csrf_token_are_refused(jobs: Jobs) -> None:
    cookies = await jobs.login()
    r = await jobs.post(cookies, "/jobs/sync_emails/pause", csrf=False)
    assert (r.status_code, r.json()) == (403, {"error": "csrf_rejected"})
    headers = cookie_header(cookies)  # the API with cookies but no X-CSRF-Token
    r = await jobs.console.http.post("/api/jobs/sync_emails/run", headers=headers)
    assert (r.status_code, r.json()) == (403, {"error": "csrf_rejected"})
    wrong = await jobs.console.http.post(
        "/jobs/sync_emails/run", data={"csrf_token": "x" * 43}, headers=cookie_header(cookies)
    )
    assert wrong.status_code == 403
    assert (await jobs.scheduler.next_run_times())["sync_emails"] is not None
    assert (await jobs.scheduler.runs()).items == []
    assert await audit_rows(jobs, "job.pause") == [] and await audit_rows(jobs, "job.run_now") == []


async def test_anonymous_requests_are_refused(jobs: Jobs) -> None:
    http = jobs.console.http
    for path in ("/jobs", "/briefings", "/briefings/00000000-0000-0000-0000-000000000000"):
        r = await http.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, f"/login?{urlencode({'next': path})}"), path
    for method, path in (("GET", "/api/jobs"), ("GET", "/api/jobs/runs"), ("POST", "/api/jobs/sync_emails/run")):
        r = await http.request(method, path)
        assert (r.status_code, r.json()) == (401, {"error": "unauthenticated"}), path
    r = await http.post("/jobs/sync_emails/run", data={"csrf_token": "x"})
    assert r.headers.get("location") == "/login"
    assert (await jobs.scheduler.runs()).items == []


async def test_unknown_jobs_and_runs_are_404(jobs: Jobs) -> None:
    cookies = await jobs.login()
    r = await jobs.api(cookies, "POST", "/api/jobs/mine_bitcoin/run")
    assert (r.status_code, r.json()) == (404, {"error": "not_found"})
    assert (await jobs.api(cookies, "GET", "/api/jobs/runs/nope")).status_code == 404
    assert (await jobs.api(cookies, "GET", "/api/jobs/runs", job="<script>")).status_code == 422
    assert (await jobs.scheduler.runs()).items == []


async def test_without_an_agent_the_pages_say_the_scheduler_is_not_running(console: Console) -> None:
    cookies = await console.browser_login()
    for path in ("/jobs", "/briefings"):
        r = await console.http.get(path, headers=cookie_header(cookies))
        assert r.status_code == 200 and 'id="scheduler-off"' in r.text and "scheduler is not running" in r.text
    headers = cookie_header(cookies) | {"X-CSRF-Token": cookies[CSRF]}
    r = await console.http.get("/api/jobs", headers=headers)
    assert (r.status_code, r.json()) == (503, {"error": "scheduler_not_running"})
    r = await console.http.post("/api/jobs/sync_emails/run", headers=headers)
    assert (r.status_code, r.json()) == (503, {"error": "scheduler_not_running"})
    r = await console.http.post("/jobs/sync_emails/run", data={"csrf_token": cookies[CSRF]}, headers=headers)
    assert (r.status_code, r.headers["location"]) == (303, "/jobs")
    r = await console.http.get("/briefings/00000000-0000-0000-0000-000000000000", headers=headers)
    assert r.status_code == 404
