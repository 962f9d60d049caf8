"""The jobs console over real HTTP: a logged-in session, the real console app, and a real JobScheduler
(APScheduler started) over a JobEngine on the test database with simple handlers.

The engine's clock is the console's fake clock (January 2027), ahead of the wall clock, so APScheduler
never fires a slot during a test; every run here is started through the console ("run now").
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from agent.approval_store import DbApprovalStore
from agent.chat import ChatService
from agent.conversations import ConversationStore
from agent.gateway import ApprovalService, Policy, PolicyContext, ToolGateway
from agent.jobs import (
    BriefingStore,
    FixedActivity,
    JobContext,
    JobEngine,
    JobError,
    JobScheduler,
    MemoryNotifier,
    RetryPolicy,
    RunStore,
    Section,
    StaticIntegrations,
    load_schedule,
)
from agent.jobs.engine import Handler
from agent.jobs.handlers import briefing_handler, digest_handler
from agent.limits import MemoryLedger, Prices, TurnLimits
from agent.loop import ToolRunner
from agent.mcp_host import McpHost
from agent.services import AgentServices, ApprovalDesk
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import DataKey, Keyring
from storage.db import Database
from tests.agent.jobs.seed import SEED_JOBS
from tests.web.conftest import Console, FakeClock, cookie_header, enroll, make_keyring, serve
from web.app import create_app
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio

NY = "America/New_York"
CSRF = "__Host-aegis_csrf"
CONNECTED = {"mail", "calendar", "social", "crawlers", "health", "content", "grocery"}  # not "finance"
FINAL = ("ok", "failed", "skipped", "missed")
SOCIAL_ERROR = "the social network answered 503"


class Sources:
    """What the morning briefing and the digest read; mail is not connected."""

    async def sections(self, kind: str, start: date, end: date) -> list[Section]:
        if kind == "weekly":
            return [
                Section("productivity", "Productivity", "ok", ["meetings: 4", "tasks done: 12"], {"tasks_done": 12}),
                Section("email", "Email", "not connected"),
                Section("finance", "Finance", "ok", ["spent: 420.10"], {"spent": "420.10"}),
            ]
        yesterday = (end - timedelta(days=1)).isoformat()
        return [
            Section("calendar", "Today's calendar", "ok", ["10:00 Dentist <b>bring card</b> (Main St)"]),
            Section("mail", "Important unread mail", "not connected"),
            Section(
                "balances", "Balances", "ok", ["Checking: 1,234.50 USD", "Savings: 800.00 USD", "Total: 2,034.50 USD"]
            ),
            Section("transactions", "Notable transactions", "ok", [f"{yesterday} Rent: -1,500.00 USD"]),
        ]


@dataclass
class Jobs:
    console: Console
    scheduler: JobScheduler
    briefings: BriefingStore
    notifier: MemoryNotifier
    gate: asyncio.Event = field(default_factory=asyncio.Event)  # sync_calendar waits for it
    started: asyncio.Event = field(default_factory=asyncio.Event)  # set when sync_calendar starts

    async def login(self) -> dict[str, str]:
        return await self.console.browser_login()

    async def post(self, cookies: dict[str, str], path: str, *, csrf: bool = True) -> httpx.Response:
        """A form post as the page makes it."""
        data = {"csrf_token": cookies[CSRF]} if csrf else {}
        return await self.console.http.post(path, data=data, headers=cookie_header(cookies))

    async def api(self, cookies: dict[str, str], method: str, path: str, **params: Any) -> httpx.Response:
        """A script call with the session cookies and the CSRF header (console.js's way)."""
        headers = cookie_header(cookies) | {"X-CSRF-Token": cookies[CSRF]}
        return await self.console.http.request(method, path, headers=headers, params=params or None)

    async def page(self, cookies: dict[str, str], path: str) -> str:
        r = await self.console.http.get(path, headers=cookie_header(cookies))
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.text

    async def finished(self, cookies: dict[str, str], run_id: str, outcomes: Sequence[str] = FINAL) -> dict[str, Any]:
        """Poll the run over the API until it reaches an outcome."""
        async with asyncio.timeout(10):
            while True:
                r = await self.api(cookies, "GET", f"/api/jobs/runs/{run_id}")
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                if body["outcome"] in outcomes:
                    return body
                await asyncio.sleep(0.01)

    async def run_now(self, cookies: dict[str, str], job_id: str, outcomes: Sequence[str] = FINAL) -> dict[str, Any]:
        r = await self.api(cookies, "POST", f"/api/jobs/{job_id}/run")
        assert r.status_code == 202, r.text
        return await self.finished(cookies, r.json()["run_id"], outcomes)


def _handlers(
    gate: asyncio.Event, started: asyncio.Event, sources: Sources, store: BriefingStore, notifier: MemoryNotifier
) -> dict[str, Handler]:
    async def fetched(ctx: JobContext) -> dict[str, object]:
        return {"fetched": 3, "new": 1}

    async def gated(ctx: JobContext) -> dict[str, object]:
        started.set()
        await gate.wait()
        return {"events": 2}

    async def broken(ctx: JobContext) -> dict[str, object]:
        raise JobError(SOCIAL_ERROR)

    async def plain(ctx: JobContext) -> dict[str, object]:
        return {"n": 1}

    out: dict[str, Handler] = dict.fromkeys(load_schedule(NY, jobs=SEED_JOBS).jobs, plain)
    out |= {"sync_emails": fetched, "sync_calendar": gated, "sync_social": broken}
    out["daily_briefing"] = briefing_handler(sources, store, notifier, None)
    out["weekly_digest"] = digest_handler(sources, store, notifier, None)
    return out


def _light_agent(
    db: Database, cipher: FieldCipher, scheduler: JobScheduler, store: BriefingStore, notifier: MemoryNotifier
) -> AgentServices:
    """Chat and approvals are real but idle (no model, no MCP server): these pages use only the
    scheduler, the briefing store and the notifier."""

    def no_tools(cid: str, text: str, stored: Sequence[Any]) -> ToolRunner:
        raise AssertionError("no chat in the jobs tests")

    async def no_exec(request: Any) -> Any:
        raise AssertionError("no tool runs in the jobs tests")

    async def no_audit(event: Any) -> None:
        return None

    async def no_context(sid: str) -> PolicyContext:
        raise AssertionError("no conversations in the jobs tests")

    conversations = ConversationStore(db, cipher)
    approval_store = DbApprovalStore(db, cipher)
    approvals = ApprovalService(approval_store, os.urandom(32))
    gateway = ToolGateway(policy=Policy(), approvals=approvals, executor=no_exec, audit=no_audit)
    chat = ChatService(conversations, no_tools, None, TurnLimits(), Prices(), MemoryLedger())
    desk = ApprovalDesk(approvals, approval_store, gateway, no_context, conversations)
    return AgentServices(chat, conversations, desk, McpHost([]), None, scheduler, store, notifier)


@asynccontextmanager
async def open_jobs(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Jobs]:
    """The console with the scheduler behind it, served on loopback (each test module's fixture)."""
    db = Database(db_url)
    keyring = make_keyring()
    secret, codes = await enroll(db, keyring, console_config, clock.now)
    cipher = FieldCipher(Keyring([DataKey("conversation.enc.v1", os.urandom(32), "active")]))
    store, notifier, gate, started = BriefingStore(db, cipher), MemoryNotifier(), asyncio.Event(), asyncio.Event()
    gate.set()
    engine = JobEngine(
        load_schedule(NY, jobs=SEED_JOBS),
        RunStore(db),
        _handlers(gate, started, Sources(), store, notifier),
        integrations=StaticIntegrations(set(CONNECTED)),
        activity=FixedActivity(None),
        notifier=notifier,
        retry=RetryPolicy((timedelta(minutes=1),)),
        clock=lambda: datetime.fromtimestamp(clock.now, UTC),
    )
    scheduler = JobScheduler(engine)
    agent = _light_agent(db, cipher, scheduler, store, notifier)
    app = create_app(db, keyring=keyring, config=console_config, agent=agent)
    await scheduler.start()
    server, task, url = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10, follow_redirects=False) as http:
            c = Console(url, http, clock, db, keyring, app, secret, codes)
            yield Jobs(c, scheduler, store, notifier, gate, started)
    finally:
        await scheduler.stop()
        server.should_exit = True
        await task


@pytest.fixture
async def jobs(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Jobs]:
    async with open_jobs(db_url, clock, console_config) as j:
        yield j


async def audit_rows(j: Jobs, action: str) -> list[dict[str, Any]]:
    tokens = await j.console.login_tokens()
    return await j.console.audit(tokens["access_token"], action=action)


# --- the tests ---------------------------------------------------------------------------------------


async def test_every_job_is_listed_with_its_next_run_on_the_owners_clock(jobs: Jobs) -> None:
    cookies = await jobs.login()
    assert jobs.scheduler.running
    html = await jobs.page(cookies, "/jobs")
    for job_id in load_schedule(NY, jobs=SEED_JOBS).jobs:
        assert f'id="job-{job_id}"' in html
    # 2027-01-15 08:00 UTC is 03:00 in New York (EST): the next 06:00 briefing is that morning.
    assert "Fri 2027-01-15 06:00 EST" in html and 'title="2027-01-15T11:00:00+00:00"' in html
    assert "America/New_York" in html and "The scheduler is running." in html
    assert 'aria-current="page">Jobs<' in html

    body = (await jobs.api(cookies, "GET", "/api/jobs")).json()
    assert body["running"] is True and body["timezone"] == NY
    by_id = {j["id"]: j for j in body["jobs"]}
    assert set(by_id) == set(load_schedule(NY, jobs=SEED_JOBS).jobs)
    brief = by_id["daily_briefing"]
    assert brief["schedule"] == "cron 0 6 * * *" and brief["paused"] is False and brief["last_run"] is None
    assert (brief["next_run_at"], brief["next_run_local"]) == ("2027-01-15T11:00:00+00:00", "2027-01-15T06:00:00-05:00")
    assert by_id["weekly_digest"]["next_run_local"] == "2027-01-17T20:00:00-05:00"  # Sunday 20:00


async def test_run_now_creates_a_run_that_reaches_an_outcome(jobs: Jobs) -> None:
    cookies = await jobs.login()
    r = await jobs.api(cookies, "POST", "/api/jobs/sync_emails/run")
    assert r.status_code == 202 and r.json()["job"] == "sync_emails"
    run_id = r.json()["run_id"]
    done = await jobs.finished(cookies, run_id)
    assert (done["outcome"], done["attempts"], done["trigger"]) == ("ok", 1, "manual")
    assert done["summary"] == {"fetched": 3, "new": 1} and done["started_at"] and done["finished_at"]

    html = await jobs.page(cookies, "/jobs")
    assert f'data-run="{run_id}" data-outcome="ok"' in html and "fetched: 3" in html
    row = await jobs.scheduler.run(run_id)
    assert row is not None and row.outcome == "ok"

    # The page's own form: redirected back with a notice, the skip shows its reason.
    r = await jobs.post(cookies, "/jobs/sync_finances/run")
    assert (r.status_code, r.headers["location"]) == (303, "/jobs?done=run&target=sync_finances")
    runs = (await jobs.api(cookies, "GET", "/api/jobs/runs", job="sync_finances")).json()["items"]
    skipped = await jobs.finished(cookies, runs[0]["id"])
    assert skipped["outcome"] == "skipped" and skipped["error"] == "integration not connected: finance"
    html = await jobs.page(cookies, r.headers["location"])
    assert "sync_finances: run started." in html and "integration not connected: finance" in html

    audited = await audit_rows(jobs, "job.run_now")
    assert [(a["resource"], a["result"]) for a in audited] == [("job:sync_finances", "ok"), ("job:sync_emails", "ok")]
    assert audited[1]["details"]["run_id"] == run_id and audited[1]["actor"] == "admin"


async def test_run_now_while_running_is_refused_and_audited(jobs: Jobs) -> None:
    cookies = await jobs.login()
    jobs.gate.clear()
    first = (await jobs.api(cookies, "POST", "/api/jobs/sync_calendar/run")).json()["run_id"]
    await asyncio.wait_for(jobs.started.wait(), 10)
    assert jobs.scheduler.engine.running("sync_calendar")
    html = await jobs.page(cookies, "/jobs")
    assert 'id="job-sync_calendar" data-state="running now"' in html
    again = await jobs.api(cookies, "POST", "/api/jobs/sync_calendar/run")
    assert (again.status_code, again.json()) == (409, {"error": "job_busy"})
    form = await jobs.post(cookies, "/jobs/sync_calendar/run")
    assert form.headers["location"] == "/jobs?done=busy&target=sync_calendar"
    jobs.gate.set()
    assert (await jobs.finished(cookies, first))["outcome"] == "ok"
    results = [(a["result"], a["reason"]) for a in await audit_rows(jobs, "job.run_now")]
    assert results == [("fail", "busy"), ("fail", "busy"), ("ok", None)]


async def test_pause_and_resume_change_the_next_run_times(jobs: Jobs) -> None:
    cookies = await jobs.login()
    before = await jobs.scheduler.next_run_times()
    assert before["sync_emails"] is not None

    r = await jobs.post(cookies, "/jobs/sync_emails/pause")
    assert (r.status_code, r.headers["location"]) == (303, "/jobs?done=pause&target=sync_emails")
    assert (await jobs.scheduler.next_run_times())["sync_emails"] is None
    assert jobs.scheduler.apscheduler.get_job("sync_emails").next_run_time is None  # APScheduler paused it too
    html = await jobs.page(cookies, r.headers["location"])
    assert 'id="job-sync_emails" data-state="paused"' in html and 'action="/jobs/sync_emails/resume"' in html
    assert "sync_emails is paused" in html
    listed = {j["id"]: j for j in (await jobs.api(cookies, "GET", "/api/jobs")).json()["jobs"]}
    assert listed["sync_emails"]["paused"] is True and listed["sync_emails"]["next_run_at"] is None

    jobs.console.clock.advance(3600)
    cookies = await jobs.login()  # the access cookie lives 15 minutes
    r = await jobs.api(cookies, "POST", "/api/jobs/sync_emails/resume")
    assert r.status_code == 200
    after = (await jobs.scheduler.next_run_times())["sync_emails"]
    assert after is not None and after > before["sync_emails"]  # slots missed while paused are not made up
    assert r.json() == {"job": "sync_emails", "paused": False, "next_run_at": after.isoformat()}
    assert jobs.scheduler.apscheduler.get_job("sync_emails").next_run_time == after

    audited = [(a["action"], a["result"]) for a in await audit_rows(jobs, "job.pause")]
    audited += [(a["action"], a["result"]) for a in await audit_rows(jobs, "job.resume")]
    assert audited == [("job.pause", "ok"), ("job.resume", "ok")]


async def test_a_failure_retries_then_alerts_and_the_notification_is_listed(jobs: Jobs) -> None:
    cookies = await jobs.login()
    run_id = (await jobs.run_now(cookies, "sync_social", ("retrying",)))["id"]
    html = await jobs.page(cookies, "/jobs")
    assert f'data-run="{run_id}" data-outcome="retrying"' in html and "retry " in html
    assert 'id="alerts-empty"' in html

    assert await jobs.scheduler.engine.execute(run_id) == "failed"  # what the retry timer does
    html = await jobs.page(cookies, "/jobs")
    alerts = html.split('id="alerts"', 1)[1].split("</section>", 1)[0]
    assert "sync_social" in alerts and SOCIAL_ERROR in alerts and "after 2 attempt(s)" in alerts
    assert "(you were notified)" in alerts
    notes = html.split('id="notifications"', 1)[1]
    assert "sync_social failed" in notes and "failed after 2 attempt(s)" in notes
    assert [n.kind for n in jobs.notifier.sent] == ["job_failed"]


async def test_history_filters_by_job_and_pages_with_a_cursor(jobs: Jobs) -> None:
    cookies = await jobs.login()
    ids = []
    for _ in range(3):
        ids.append((await jobs.run_now(cookies, "sync_emails"))["id"])
        jobs.console.clock.advance(60)
    await jobs.run_now(cookies, "health_sync")

    first = (await jobs.api(cookies, "GET", "/api/jobs/runs", job="sync_emails", limit=2)).json()
    assert [i["id"] for i in first["items"]] == ids[:0:-1] and first["next_cursor"]
    rest = await jobs.api(cookies, "GET", "/api/jobs/runs", job="sync_emails", limit=2, cursor=first["next_cursor"])
    assert [i["id"] for i in rest.json()["items"]] == [ids[0]] and rest.json()["next_cursor"] is None
    everything = (await jobs.api(cookies, "GET", "/api/jobs/runs")).json()["items"]
    assert [i["job_id"] for i in everything] == ["health_sync", "sync_emails", "sync_emails", "sync_emails"]
    bad = await jobs.api(cookies, "GET", "/api/jobs/runs", cursor="not-a-cursor")
    assert (bad.status_code, bad.json()) == (400, {"error": "bad_request"})

    unfiltered = await jobs.page(cookies, "/jobs?job=")  # the form's "All jobs"
    assert unfiltered.count("data-run=") == 4
    html = await jobs.page(cookies, "/jobs?job=sync_emails&limit=2")
    assert html.count("data-run=") == 2 and f'data-run="{ids[2]}"' in html and f'data-run="{ids[1]}"' in html
    found = re.search(r'<a href="([^"]+)" id="older">', html)
    assert found is not None
    link = found[1].replace("&amp;", "&")
    assert link.startswith("/jobs?job=sync_emails&limit=2&cursor=")
    page2 = await jobs.page(cookies, link)
    assert page2.count("data-run=") == 1 and f'data-run="{ids[0]}"' in page2 and 'id="newest"' in page2
