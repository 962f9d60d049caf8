"""Approvals over HTTP: the held send, its full card, approve with step-up, reject with a reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import pytest

from tests.web.agent_stack import (
    DANA,
    AgentConsole,
    agent_console,
    form_headers,
    post_form,
    read_events,
    scripted,
    start_turn,
)
from tests.web.conftest import FakeClock, bearer
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
ASK = "reply to the last email from Dana"


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, scripted()) as ac:
        yield ac


async def _held_send(stack: AgentConsole, cookies: dict[str, str]) -> tuple[str, str]:
    cid = await start_turn(stack.console, cookies, ASK)
    events = await read_events(stack.console, cookies, cid)
    results = [d for k, d in events if k == "tool_result"]
    assert [(r["tool"], r["status"]) for r in results] == [
        ("gmail.search", "ok"),
        ("gmail.send", "approval_required"),
    ]
    assert results[0]["label"]["integrity"] == "UNTRUSTED"
    aid = results[1]["approval_id"]
    assert aid
    return cid, str(aid)


async def _audit(stack: AgentConsole, **params: Any) -> list[dict[str, Any]]:
    tokens = await stack.console.login_tokens()
    return await stack.console.audit(tokens["access_token"], **params)


async def test_the_send_is_held_with_its_full_card(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    _cid, aid = await _held_send(stack, cookies)
    assert stack.mailbox.sent == []
    queue = (await c.http.get("/approvals", headers=form_headers(cookies))).text
    assert f'href="/approvals/{aid}"' in queue
    # Plain words in the queue and on the card; the internals stay under the card's details fold.
    sentence = "Aegis wants to send this email to"
    assert sentence in queue and "EGRESS via gmail.send" not in queue
    html = (await c.http.get(f"/approvals/{aid}", headers=form_headers(cookies))).text
    assert 'data-arg="to"' in html and DANA in html
    assert "from untrusted: email" in html  # the recipient came from her email, not from the owner
    assert "Thanks⟨U+200B⟩ for the draft" in html and "hidden characters" in html
    assert "R9_PT_UNTRUSTED_CONTROL" in html
    title = html.split('<h1 id="card-title">', 1)[1].split("</h1>", 1)[0]
    assert title.startswith(sentence) and "because an email from" in title and "asked for it, not you." in title
    assert "R9_" not in title and "EGRESS" not in title
    fold = html.split('<details class="internals" id="card-details">', 1)[1].split("</details>", 1)[0]
    assert "R9_PT_UNTRUSTED_CONTROL" in fold and 'id="card-pin">' in fold and "EGRESS via gmail.send" in fold
    assert f'<p class="notice" id="original-request">{ASK}</p>' in html
    assert 'id="card-pin">' in html and 'id="card-pin">none<' not in html
    assert 'id="data-leaving"' in html and 'name="step_up_code"' in html
    pending = await stack.services.approvals.pending()
    assert [p.approval_id for p in pending] == [aid]
    # The notification a phone would get: kept in the database, it opens this card directly.
    notes = (await c.http.get("/jobs", headers=form_headers(cookies))).text
    assert f'<a href="/approvals/{aid}">' in notes and "Approval needed" in notes


async def test_approve_needs_a_fresh_code_then_the_mail_goes(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    cid, aid = await _held_send(stack, cookies)
    r = await post_form(c, cookies, f"/approvals/{aid}/approve")
    # A refused code sends the browser back to the card's own address (not left on the POST URL).
    assert (r.status_code, r.headers["location"]) == (303, f"/approvals/{aid}?problem=code")
    card = await c.http.get(r.headers["location"], headers=form_headers(cookies))
    assert card.status_code == 200 and "not accepted" in card.text and 'id="approve-form"' in card.text
    r = await post_form(c, cookies, f"/approvals/{aid}/approve", step_up_code="000000" if c.code() != "000000" else "1")
    assert (r.status_code, r.headers["location"]) == (303, f"/approvals/{aid}?problem=code")
    odd = await c.http.get(f"/approvals/{aid}?problem=<script>", headers=form_headers(cookies))
    assert odd.status_code == 200 and "<script>" not in odd.text and "not accepted" not in odd.text
    no_csrf = await c.http.post(
        f"/approvals/{aid}/approve", data={"step_up_code": c.fresh_code()}, headers=form_headers(cookies)
    )
    assert no_csrf.status_code == 403 and no_csrf.json() == {"error": "csrf_rejected"}
    assert stack.mailbox.sent == [] and (await stack.services.approvals.pending())

    code = c.fresh_code()
    r = await post_form(c, cookies, f"/approvals/{aid}/approve", step_up_code=code)
    assert (r.status_code, r.headers.get("location")) == (303, f"/approvals/{aid}")
    assert len(stack.mailbox.sent) == 1
    sent = message_from_bytes(stack.mailbox.sent[0], policy=email_policy)
    assert DANA in str(sent["To"]) and str(sent["Subject"]).startswith("Re: Q4 planning doc")
    page = (await c.http.get(f"/approvals/{aid}", headers=form_headers(cookies))).text
    assert "approved and run" in page and "approved; ran" in page and 'id="approve-form"' not in page
    again = await post_form(c, cookies, f"/approvals/{aid}/approve", step_up_code=code)
    assert again.status_code == 303  # the replayed code is refused before anything else
    # Decided: its "Approval needed" notification is no longer listed.
    listed = (await c.http.get("/jobs", headers=form_headers(cookies))).text
    assert f'href="/approvals/{aid}"' not in listed and "Approval needed" not in listed
    assert len(stack.mailbox.sent) == 1

    decisions = await _audit(stack, action="approval.approve")
    assert [(d["result"], d["reason"]) for d in decisions] == [
        ("fail", "step_up_failed"),
        ("ok", None),
        ("fail", "step_up_failed"),
        ("fail", "step_up_failed"),
    ]
    assert decisions[1]["details"]["outcome"] == "ok" and decisions[1]["resource"] == f"approval:{aid}"
    calls = await _audit(stack, action="tool.call")
    assert [(d["resource"], d["result"]) for d in calls] == [
        ("gmail.send", "allow"),
        ("gmail.send", "pending"),
        ("gmail.search", "allow"),
    ]
    assert calls[0]["actor"] == f"agent:{cid}"
    notes = [m.content for m in await stack.services.conversations.messages(cid) if m.role == "user"]
    assert any(isinstance(n, str) and "approved gmail.send; it ran" in n for n in notes)


async def test_reject_needs_a_reason_and_nothing_is_sent(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    cid, aid = await _held_send(stack, cookies)
    r = await post_form(c, cookies, f"/approvals/{aid}/reject", reason="   ")
    assert r.status_code == 400 and "Say why" in r.text
    r = await post_form(c, cookies, f"/approvals/{aid}/reject", reason="Not now <b>please</b>")
    assert r.status_code == 303
    assert stack.mailbox.sent == []
    queue = (await c.http.get("/approvals", headers=form_headers(cookies))).text
    assert 'id="pending-empty"' in queue and "rejected: Not now &lt;b&gt;please&lt;/b&gt;" in queue
    r = await post_form(c, cookies, f"/approvals/{aid}/approve", step_up_code=c.fresh_code())
    assert r.status_code == 409 and stack.mailbox.sent == []
    rows = await _audit(stack, action="approval.reject")
    assert [(x["result"], x["reason"]) for x in rows] == [("ok", "Not now <b>please</b>")]
    chat = (await c.http.get(f"/chat/{cid}", headers=form_headers(cookies))).text
    assert "The owner rejected gmail.send: Not now &lt;b&gt;please&lt;/b&gt;" in chat


async def test_unknown_approval_is_404(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    r = await c.http.get("/approvals/nope", headers=form_headers(cookies))
    assert r.status_code == 404
    tokens = await c.login_tokens()
    r = await c.http.post("/approvals/nope/reject", data={"reason": "x"}, headers=bearer(tokens["access_token"]))
    assert r.status_code == 404
