"""A passkey as the approval step-up, in Chromium with a virtual authenticator: bound to one
approval and its arguments, single use, and refused once the passkey is revoked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from tests.web.agent_stack import AgentConsole, agent_console, read_events, scripted, start_turn
from tests.web.conftest import FakeClock
from tests.web.passkey_browser import CHROMIUM, SHOTS, Phone, config_for, free_port, phone

pytestmark = pytest.mark.anyio
ASK = "reply to the last email from Dana"


@pytest.fixture
async def stack(db_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[tuple[AgentConsole, str]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    port = free_port()
    async with agent_console(db_url, tmp_path, clock, config_for(clock, port), scripted(), port) as ac:
        yield ac, f"http://localhost:{port}"


async def _held_send(ac: AgentConsole, cookies: dict[str, str]) -> str:
    cid = await start_turn(ac.console, cookies, ASK)
    results = [d for k, d in await read_events(ac.console, cookies, cid) if k == "tool_result"]
    assert results[-1]["status"] == "approval_required"
    return str(results[-1]["approval_id"])


async def _step_ups(ac: AgentConsole) -> list[tuple[str, str | None]]:
    tokens = await ac.console.login_tokens()
    rows = await ac.console.audit(tokens["access_token"], action="auth.step_up")
    return [(r["result"], r["reason"]) for r in reversed(rows) if (r["details"] or {}).get("method") == "passkey"]


async def _sign_for(p: Phone, aid: str) -> dict[str, str]:
    """Ask the console for approval ``aid``'s challenge and let the authenticator answer it."""
    started = await p.post_json(f"/approvals/{aid}/passkey-options")
    assert started["status"] == 200, started
    body = started["body"]
    return {"passkey_challenge": body["challenge_id"], "passkey_credential": await p.assertion(body["options"])}


async def test_approve_with_a_passkey_bound_to_that_approval(stack: tuple[AgentConsole, str]) -> None:
    ac, base = stack
    c = ac.console
    cookies = await c.browser_login()
    first, second, third = [await _held_send(ac, cookies) for _ in range(3)]
    async with phone(base) as p:
        await p.login_with_code(c)
        await p.add_passkey(c, "Phone")

        # The card's button: the browser answers a challenge for this approval, the mail goes.
        await p.page.goto(f"{base}/approvals/{first}")
        await p.page.locator(".decide").screenshot(path=str(SHOTS / "approval-card-passkey.png"))
        sent_form: list[str] = []
        p.page.on("request", lambda r: sent_form.append(r.post_data or "") if r.url.endswith("/approve") else None)
        async with p.page.expect_navigation(url=f"{base}/approvals/{first}"):
            await p.page.click("#passkey-approve")
        assert "approved and run" in (await p.page.content())
        assert len(ac.mailbox.sent) == 1 and "passkey_credential" in sent_form[0]
        await p.page.screenshot(path=str(SHOTS / "approval-passkey.png"), full_page=True)

        # That assertion, replayed on another approval: its challenge is spent.
        await p.page.goto(f"{base}/approvals/{second}")
        replay = {k: v for k, v in parse_qsl(sent_form[0]) if k.startswith("passkey_")}
        status, text = await p.post_form(f"/approvals/{second}/approve", replay)
        assert status == 403 and "passkey was not accepted" in text

        # An assertion made for the third approval, presented for the second.
        other = await _sign_for(p, third)
        status, _ = await p.post_form(f"/approvals/{second}/approve", other)
        assert status == 403 and len(ac.mailbox.sent) == 1

        # The second, properly: accepted once.
        mine = await _sign_for(p, second)
        status, _ = await p.post_form(f"/approvals/{second}/approve", mine)
        assert status == 303 and len(ac.mailbox.sent) == 2

        # A client that asks the authenticator for presence only: the server still demands verification.
        await p.cdp.send("WebAuthn.setUserVerified", {"authenticatorId": p.authenticator, "isUserVerified": False})
        started = (await p.post_json(f"/approvals/{third}/passkey-options"))["body"]
        weak_options = started["options"] | {"userVerification": "discouraged"}
        weak = {"passkey_challenge": started["challenge_id"], "passkey_credential": await p.assertion(weak_options)}
        status, _ = await p.post_form(f"/approvals/{third}/approve", weak)
        assert status == 403 and len(ac.mailbox.sent) == 2
        await p.cdp.send("WebAuthn.setUserVerified", {"authenticatorId": p.authenticator, "isUserVerified": True})

        # Revoked: a challenge issued before the revocation is answered in vain.
        await p.page.goto(f"{base}/approvals/{third}")
        late = await _sign_for(p, third)
        await p.manage(c, "revoke")
        await p.page.goto(f"{base}/approvals/{third}")
        status, _ = await p.post_form(f"/approvals/{third}/approve", late)
        assert status == 403 and len(ac.mailbox.sent) == 2
        assert [x.approval_id for x in await ac.services.approvals.pending()] == [third]

    assert await _step_ups(ac) == [
        ("ok", None),
        ("fail", "replayed_challenge"),
        ("fail", "challenge_for_another_approval"),
        ("ok", None),
        ("fail", "user_not_verified"),
        ("fail", "revoked_passkey"),
    ]
