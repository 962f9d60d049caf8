"""Integrations: status, health check, sync now, Plaid connect, disconnect with step-up."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.jobs.history import RunPage, RunView
from integrations import Catalog
from tests.web.conftest import FakeClock, bearer, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
GMAIL, PLAID = Catalog.load().manifests["gmail"], Catalog.load().manifests["plaid"]
GMAIL_TOKEN = '{"access_token": "ya29.demo-gmail-access-token-not-a-real-credential", "expires_at": 4102444800}'


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


def _card(html: str, name: str) -> str:
    found = re.search(rf'<section class="card integration" id="{name}".*?</section>', html, re.S)
    assert found, name
    return found.group(0)


class Session:
    def __init__(self, live: Live, cookies: dict[str, str]) -> None:
        self.live, self.cookies = live, cookies
        self.headers = cookie_header(cookies)
        self.csrf = cookies["__Host-aegis_csrf"]

    async def post(self, path: str, **form: str) -> str:
        r = await self.live.console.http.post(path, data={"csrf_token": self.csrf, **form}, headers=self.headers)
        assert r.status_code == 303, r.text
        location: str = r.headers["location"]
        return location

    async def page(self, path: str = "/integrations") -> str:
        r = await self.live.console.http.get(path, headers=self.headers)
        assert r.status_code == 200
        return r.text


async def _session(live: Live) -> Session:
    return Session(live, await live.console.browser_login())


async def test_status_page_before_and_after_connecting(live: Live) -> None:
    s = await _session(live)
    html = await s.page()
    gmail, plaid = _card(html, "gmail"), _card(html, "plaid")
    assert "not connected" in gmail and "no credential is stored" in gmail  # never connected: not "re-auth"
    assert "not connected" in plaid and 'id="connect-sandbox-plaid"' in plaid
    assert "never" in gmail  # no sync yet
    await live.data.vault.put("gmail-oauth", GMAIL_TOKEN, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    live.data.forget("gmail")
    back = await s.post("/integrations/plaid/sandbox")
    assert back == "/integrations?notice=connected&i=plaid#plaid"
    html = await s.page(back)
    assert 'status-ok">connected' in _card(html, "gmail")
    plaid = _card(html, "plaid")
    assert 'status-ok">connected' in plaid
    assert "(manual, ok: items 1" in plaid  # connecting ran a first sync
    assert 'id="notice"' in html and "Connected." in html


async def test_sync_now_and_health_check_run_and_are_audited(live: Live) -> None:
    await live.data.vault.put("gmail-oauth", GMAIL_TOKEN, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    s = await _session(live)
    assert await s.post("/integrations/gmail/sync") == "/integrations?notice=sync_ok&i=gmail#gmail"
    assert await s.post("/integrations/plaid/health") == "/integrations?notice=health_ok&i=plaid#plaid"
    html = await s.page()
    assert re.search(r"\(manual, ok: mode full, stored \d+", _card(html, "gmail"))
    assert "passed" in _card(html, "plaid")
    # Without the CSRF token the guard refuses, and nothing runs.
    r = await live.console.http.post("/integrations/gmail/sync", data={}, headers=s.headers)
    assert r.status_code == 403
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], limit=200)
    mine = [(r["action"], r["resource"], r["result"]) for r in rows if r["action"].startswith("integration.")]
    assert ("integration.sync", "integration:gmail", "ok") in mine
    assert ("integration.health", "integration:plaid", "ok") in mine
    calls = [r for r in rows if r["action"] == "tool.call" and r["resource"] == "gmail.sync"]
    assert calls and all(r["actor"] == "agent:console" and r["result"] == "allow" for r in calls)


async def test_a_failing_sync_shows_the_error_and_needs_reauth(live: Live) -> None:
    bad = '{"access_token": "ya29.revoked", "expires_at": 4102444800}'
    await live.data.vault.put("gmail-oauth", bad, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    s = await _session(live)
    assert await s.post("/integrations/gmail/sync") == "/integrations?notice=sync_failed&i=gmail#gmail"
    gmail = _card(await s.page(), "gmail")
    assert "needs re-auth" in gmail and "must reconnect" in gmail
    assert "Reconnect with Google" in gmail or "not configured" in gmail


class FakeSchedule:
    def __init__(self, at: datetime) -> None:
        self.at = at

    async def runs(self, *, job_id: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage:
        run = RunView(
            id="r1",
            job_id=job_id or "",
            scheduled_for=self.at,
            trigger="schedule",
            outcome="failed",
            attempts=3,
            next_attempt_at=None,
            started_at=self.at,
            finished_at=self.at + timedelta(seconds=5),
            error="ToolError: plaid: the owner must reconnect this account (ITEM_LOGIN_REQUIRED)",
            summary={},
            alerted=True,
        )
        return RunPage([run] if job_id == "sync_finances" else [], None)

    async def next_run_times(self) -> dict[str, datetime | None]:
        return {"sync_finances": self.at + timedelta(hours=6), "sync_emails": None}

    async def run_and_wait(self, job_id: str) -> RunView | None:
        raise AssertionError("no manual run in this test")


async def test_last_and_next_sync_come_from_the_scheduler(live: Live) -> None:
    at = datetime(2026, 11, 14, 6, 0, tzinfo=UTC)
    live.data.scheduler = FakeSchedule(at)
    status = await live.data.status(PLAID)
    assert status.last_sync is not None and status.last_sync.source == "scheduled" and not status.last_sync.ok
    assert status.next_sync == at + timedelta(hours=6)
    assert status.needs_reauth
    plaid = _card(await (await _session(live)).page(), "plaid")
    assert "2026-11-14T12:00:00+00:00" in plaid and "needs re-auth" in plaid
    assert (await live.data.status(GMAIL)).next_sync is None


async def test_disconnect_needs_step_up_then_purges(live: Live) -> None:
    await live.data.vault.put("gmail-oauth", GMAIL_TOKEN, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    s = await _session(live)
    assert await s.post("/integrations/gmail/disconnect") == "/integrations?notice=step_up_failed&i=gmail#gmail"
    assert await s.post("/integrations/gmail/disconnect", step_up_code="000000") == (
        "/integrations?notice=step_up_failed&i=gmail#gmail"
    )
    assert [m.name for m in await live.data.vault.list()] == ["gmail-oauth"]  # type: ignore[union-attr]
    assert live.mailbox.revoked == []  # no step-up, no revocation
    code = live.console.fresh_code()
    assert await s.post("/integrations/gmail/disconnect", step_up_code=code) == (
        "/integrations?notice=disconnected&i=gmail#gmail"
    )
    assert await live.data.vault.list() == []  # type: ignore[union-attr]
    purged = [m for m in await live.broker.list_secrets(include_deleted=True) if m["purged"]]
    assert len(purged) == 1 and purged[0]["resource"] == "mcp:gmail"
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="integration.disconnect")
    assert rows[0]["result"] == "ok" and rows[0]["details"]["purged"] == ["gmail-oauth"]
    assert rows[0]["details"]["revoked"] == ["google-grant"]
    assert live.mailbox.revoked == ["ya29.demo-gmail-access-token-not-a-real-credential"]  # revoked at Google first
    step = await live.console.audit(tokens["access_token"], action="auth.step_up")
    assert [r["result"] for r in step][:3] == ["ok", "fail", "fail"]


async def test_a_failed_revocation_at_google_keeps_the_credential_for_a_retry(live: Live) -> None:
    await live.data.vault.put("gmail-oauth", GMAIL_TOKEN, kind="oauth-token", resource="mcp:gmail")  # type: ignore[union-attr]
    s = await _session(live)
    live.mailbox.revoke_fails = True  # Google answers 503
    assert await s.post("/integrations/gmail/disconnect", step_up_code=live.console.fresh_code()) == (
        "/integrations?notice=revoke_failed&i=gmail#gmail"
    )
    assert [m.name for m in await live.data.vault.list()] == ["gmail-oauth"]  # type: ignore[union-attr]
    live.mailbox.revoke_fails = False
    assert await s.post("/integrations/gmail/disconnect", step_up_code=live.console.fresh_code()) == (
        "/integrations?notice=disconnected&i=gmail#gmail"
    )
    assert await live.data.vault.list() == []  # type: ignore[union-attr]
    assert len(live.mailbox.revoked) == 1


async def test_disconnecting_plaid_removes_the_item_at_plaid_then_forgets_it(live: Live) -> None:
    s = await _session(live)
    assert await s.post("/integrations/plaid/sandbox") == "/integrations?notice=connected&i=plaid#plaid"
    assert (await live.data.status(PLAID)).connected
    code = live.console.fresh_code()
    assert await s.post("/integrations/plaid/disconnect", step_up_code=code) == (
        "/integrations?notice=disconnected&i=plaid#plaid"
    )
    assert live.bank.removed == 1 and live.bank.calls.count("/item/remove") == 1
    assert not (await live.data.status(PLAID)).connected
    assert live.data.tools is not None
    balances = await live.data.tools.read("plaid.balances", {})
    assert balances.ok and isinstance(balances.content, dict) and balances.content["accounts"] == []  # deleted here
    tokens = await live.console.login_tokens()
    rows = await live.console.audit(tokens["access_token"], action="integration.disconnect")
    assert rows[0]["result"] == "ok" and len(rows[0]["details"]["revoked"]) == 1
    revoke = await live.console.audit(tokens["access_token"], action="integration.revoke")
    assert [(r["resource"], r["result"]) for r in revoke] == [("tool:plaid.disconnect", "ok")]
    # Nothing left to remove: a second disconnect revokes nothing and says so.
    again = await s.post("/integrations/plaid/disconnect", step_up_code=live.console.fresh_code())
    assert again == "/integrations?notice=nothing_stored&i=plaid#plaid"
    assert live.bank.removed == 1


async def test_plaid_link_server_side(live: Live) -> None:
    tokens = await live.console.login_tokens()
    r = await live.console.http.post("/api/integrations/plaid/connect/start", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200 and r.json()["link_token"].startswith("link-sandbox-")
    assert r.headers["cache-control"] == "no-store"
    bad = await live.console.http.post(
        "/api/integrations/plaid/connect/finish", json={"value": "x"}, headers=bearer(tokens["access_token"])
    )
    assert bad.status_code == 409  # not the shape the manifest requires: nothing is sent to the server
    wrong_type = await live.console.http.post(
        "/api/integrations/plaid/connect/finish", json={"value": 12345678}, headers=bearer(tokens["access_token"])
    )
    assert wrong_type.status_code == 422
    unknown = await live.console.http.post(
        "/api/integrations/plaid/connect/finish",
        json={"value": "public-sandbox-00000000-0000-0000-0000-000000000000"},
        headers=bearer(tokens["access_token"]),
    )
    assert (unknown.status_code, unknown.json()) == (409, {"error": "not_configured"})
    page = await live.console.http.get(
        "/integrations/plaid/connect", headers=cookie_header(await live.console.browser_login())
    )
    assert 'id="plaid-open"' in page.text and "<script>" not in page.text
    assert page.headers["content-security-policy"].count("https://cdn.plaid.com/") == 2  # script and frame
    home = await live.console.http.get("/integrations", headers=cookie_header(await live.console.browser_login()))
    assert "plaid" not in home.headers["content-security-policy"]


async def test_console_only_tools_never_reach_the_model_path(live: Live) -> None:
    assert live.data.tools is not None
    with pytest.raises(ValueError, match="not a READ tool"):
        await live.data.tools.read("gmail.send", {"to": ["a@example.com"], "subject": "s", "body": "b"})
    with pytest.raises(ValueError, match="not a console-only tool"):
        await live.data.tools.console_only("gmail.search", {"query": "x"})
    refused = await live.data.tools.gateway.call(
        __import__("agent.gateway.policy", fromlist=["ToolCall"]).ToolCall("c1", "plaid.create_link_token", {}),
        live.data.tools._context(),
    )
    assert refused.status.value == "denied" and "R2_ADMIN_NOT_MODEL_CALLABLE" in refused.decision.rule_ids


async def test_the_demo_first_start_connects_the_sandboxes_and_syncs_each_once(live: Live) -> None:
    from web.warmup import warm_demo

    assert live.data.sandbox
    first = await warm_demo(live.data)
    assert first["plaid"] == "connected, synced", first
    assert first["gmail"].startswith("skipped: "), first  # it needs the owner's consent: nothing ran
    assert set(first) == {m.name for m in live.data.catalog}  # every integration has its line
    s = await _session(live)
    assert 'status-ok">connected' in _card(await s.page(), "plaid")
    # A second start connects nothing again and does not re-sync what has synced.
    again = await warm_demo(live.data)
    assert again["plaid"] == "skipped: synced before", again
