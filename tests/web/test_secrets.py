"""Secrets: metadata only; add and rotate with step-up; a value never comes back, never in logs or audit."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from agent.call_tokens import CallTokens
from broker.client import BrokerClient
from tests.web.conftest import Console, FakeClock, cookie_header
from tests.web.harness_data import Live, demo_clock, start_live
from web.config import ConsoleConfig
from web.vault import BrokerVault

pytestmark = pytest.mark.anyio
CANARY = "sk-live-CANARY-4f1d9a7c-never-echo"
CANARY2 = "sk-live-CANARY-rotated-b83e11"


@pytest.fixture
def clock() -> FakeClock:
    return demo_clock()


@pytest.fixture
async def live(db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Live]:
    async with start_live(db_url, tmp_path, clock, console_config) as lc:
        yield lc


async def _post(live: Live, cookies: dict[str, str], path: str, **form: str) -> str:
    r = await live.console.http.post(
        path, data={"csrf_token": cookies["__Host-aegis_csrf"], **form}, headers=cookie_header(cookies)
    )
    assert r.status_code == 303, r.text
    assert CANARY not in r.text and CANARY2 not in r.text and CANARY not in str(r.headers)
    location: str = r.headers["location"]
    return location


async def _everything_stored(console: Console) -> str:
    """Every audit row, raw from the database: details, reasons, resources, user agents."""
    async with console.db.transaction() as s:
        rows = (await s.execute(text("SELECT * FROM audit_log"))).all()
    return "\n".join(str(tuple(r)) for r in rows)


async def test_add_and_rotate_never_echo_the_value(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cookies = await live.console.browser_login()
    form = {"name": "openai-key", "type": "api-token", "resource": "mcp:plaid", "value": CANARY}
    assert await _post(live, cookies, "/secrets/add", **form) == "/secrets?notice=step_up_failed"
    assert await live.broker.list_secrets() == []  # refused before the value went anywhere
    added = await _post(live, cookies, "/secrets/add", **form, step_up_code=live.console.fresh_code())
    assert added == "/secrets?notice=added"
    page = await live.console.http.get(added, headers=cookie_header(cookies))
    assert page.status_code == 200 and CANARY not in page.text
    assert "openai-key" in page.text and "api-token" in page.text and "mcp:plaid" in page.text
    assert "Secret stored. Its value is not shown again." in page.text
    rotated = await _post(
        live, cookies, "/secrets/rotate", name="openai-key", value=CANARY2, step_up_code=live.console.fresh_code()
    )
    assert rotated == "/secrets?notice=rotated"
    page = await live.console.http.get("/secrets", headers=cookie_header(cookies))
    row = page.text[page.text.index('<th scope="row" class="name">openai-key') :]
    assert "<td>2</td>" in row[: row.index("</tr>")]  # version 2
    assert CANARY not in page.text and CANARY2 not in page.text
    # Value fields are password inputs the browser does not autofill.
    assert page.text.count('type="password" autocomplete="off"') == 2
    stored = await _everything_stored(live.console)
    assert CANARY not in stored and CANARY2 not in stored
    assert "secret.add" in stored and "secret.rotate" in stored
    assert CANARY not in caplog.text and CANARY2 not in caplog.text
    # The broker holds it, bound to the chosen resource.
    meta = [m for m in await live.broker.list_secrets() if m["name"] == "openai-key"]
    assert meta[0]["version"] == 2 and meta[0]["resource"] == "mcp:plaid"


async def test_refusals_use_fixed_messages(live: Live) -> None:
    cookies = await live.console.browser_login()
    bad_name = {"name": "bad name<script>", "type": "api-token", "resource": "mcp:gmail", "value": CANARY}
    assert await _post(live, cookies, "/secrets/add", **bad_name, step_up_code=live.console.fresh_code()) == (
        "/secrets?notice=vault_invalid_name"
    )
    outside = {"name": "ssh-prod", "type": "password", "resource": "host:server1", "value": CANARY}
    assert await _post(live, cookies, "/secrets/add", **outside, step_up_code=live.console.fresh_code()) == (
        "/secrets?notice=vault_secret_not_writable"
    )
    wrong_type = {"name": "gmail-oauth", "type": "oauth-token", "resource": "mcp:gmail", "value": CANARY}
    assert await _post(live, cookies, "/secrets/add", **wrong_type, step_up_code=live.console.fresh_code()) == (
        "/secrets?notice=vault_invalid_value"
    )
    missing = await _post(
        live, cookies, "/secrets/rotate", name="nope", value=CANARY, step_up_code=live.console.fresh_code()
    )
    assert missing == "/secrets?notice=vault_unknown_secret"
    page = await live.console.http.get(missing, headers=cookie_header(cookies))
    assert "There is no such secret." in page.text and CANARY not in page.text
    assert CANARY not in await _everything_stored(live.console)
    assert await live.broker.list_secrets() == []


async def test_a_secret_outside_the_consoles_resources_is_not_listed(live: Live) -> None:
    await live.broker.add_secret("root-ssh", "hunter2-canary", kind="password", resource="host:server1")
    await live.broker.add_secret("gmail-oauth", '{"access_token": "x"}', kind="oauth-token", resource="mcp:gmail")
    cookies = await live.console.browser_login()
    page = await live.console.http.get("/secrets", headers=cookie_header(cookies))
    assert "gmail-oauth" in page.text and "root-ssh" not in page.text and "hunter2-canary" not in page.text


async def test_without_a_vault_the_page_says_so(console: Console) -> None:
    cookies = await console.browser_login()
    page = await console.http.get("/secrets", headers=cookie_header(cookies))
    assert page.status_code == 200 and "not available to this console" in page.text
    r = await console.http.post(
        "/secrets/add",
        data={
            "csrf_token": cookies["__Host-aegis_csrf"],
            "name": "x",
            "value": CANARY,
            "step_up_code": console.fresh_code(),
        },
        headers=cookie_header(cookies),
    )
    assert (r.status_code, r.headers["location"]) == (303, "/secrets?notice=unavailable")


async def test_pages_say_the_broker_is_restarting_instead_of_failing(live: Live) -> None:
    """As after ``kill -9`` of the broker: nothing listens on its port until the supervisor restarts it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    async with httpx.AsyncClient(base_url=dead, timeout=2) as http:
        live.data.vault = BrokerVault(
            BrokerClient(http), tokens=CallTokens(BrokerClient(http), "aegis_k_dead"), resources=("mcp:gmail",)
        )
        cookies = await live.console.browser_login()
        page = await live.console.http.get("/secrets", headers=cookie_header(cookies))
        assert page.status_code == 200, page.text
        assert "The credential broker is restarting" in page.text
        added = await _post(
            live,
            cookies,
            "/secrets/add",
            name="k",
            type="api-token",
            resource="mcp:gmail",
            value=CANARY,
            step_up_code=live.console.fresh_code(),
        )
        assert added == "/secrets?notice=vault_unreachable"
