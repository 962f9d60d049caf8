"""The chat page over HTTP: a turn streamed as SSE, its tool trace, stopping, untrusted output."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from agent.chat import NO_MODEL
from agent.model import Message, ModelReply, ScriptedModel, ScriptedStep, TextSink, ToolSpec
from tests.web.agent_stack import (
    BALANCE_LINK,
    AgentConsole,
    agent_console,
    form_headers,
    post_form,
    read_events,
    scripted,
    start_turn,
)
from tests.web.conftest import Console, FakeClock
from web.config import ConsoleConfig
from web.routes.chat_turns import STOPPED_REPLY

pytestmark = pytest.mark.anyio


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    async with agent_console(db_url, tmp_path, clock, console_config, scripted()) as ac:
        yield ac


async def test_balance_question_streams_answer_and_tool_trace(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    assert stack.pins["plaid.balances"] == "approved"
    cid = await start_turn(c, cookies, "what's my balance?")
    events = await read_events(c, cookies, cid)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["tool_call", "tool_result"] and kinds[-2:] == ["done", "end"]
    call, result = events[0][1], events[1][1]
    assert (call["tool"], call["args"]) == ("plaid.balances", "{}")
    assert (result["id"], result["status"], result["rules"]) == (call["id"], "ok", ["R12_DEFAULT_ALLOW"])
    assert result["label"]["integrity"] == "SYSTEM" and result["label"]["conf"] == "PRIVATE"
    assert "Plaid Checking" in result["result"]
    answer = "".join(d["text"] for k, d in events if k == "text")
    assert answer.startswith("Your balances: Plaid Credit Card") and BALANCE_LINK in answer

    page = await c.http.get(f"/chat/{cid}", headers=form_headers(cookies))
    assert page.status_code == 200
    html = page.text
    assert "what&#39;s my balance?" in html and 'data-call="' in html and "plaid.balances" in html
    assert "R12_DEFAULT_ALLOW" in html  # the rules come from the gateway's audit row, after the turn too
    assert 'class="inert-link"' in html and "[link to dashboard.plaid.example]" in html
    assert 'href="https://dashboard' not in html  # links from the model are never live
    listing = await c.http.get("/chat", headers=form_headers(cookies))
    assert f'href="/chat/{cid}"' in listing.text and "what&#39;s my balance?" in listing.text


async def test_sending_needs_csrf(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    r = await c.http.post("/chat", data={"text": "hello"}, headers=form_headers(cookies))
    assert r.status_code == 403
    assert await stack.services.conversations.recent() == []


async def test_unknown_conversation_is_404(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()
    r = await c.http.get("/chat/00000000-0000-0000-0000-000000000000", headers=form_headers(cookies))
    assert r.status_code == 404


class BlockingModel:
    """Answers nothing until cancelled: a turn that is still running when the owner stops it."""

    model_id = "blocking"

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_tokens: int,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        if on_text is not None:
            await on_text("Thinking ")
        self.called.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_stop_cancels_the_turn_and_keeps_history_consistent(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    model = BlockingModel()
    async with agent_console(db_url, tmp_path, clock, console_config, model) as ac:
        c = ac.console
        cookies = await c.browser_login()
        cid = await start_turn(c, cookies, "a long question")
        async with asyncio.timeout(10):
            await model.called.wait()
        page = await c.http.get(f"/chat/{cid}", headers=form_headers(cookies))
        assert 'id="stop"' in page.text and 'id="live"' in page.text
        busy = await post_form(c, cookies, f"/chat/{cid}", text="another")
        assert busy.status_code == 409  # one turn at a time per conversation
        r = await post_form(c, cookies, f"/chat/{cid}/stop")
        assert (r.status_code, r.headers["location"]) == (303, f"/chat/{cid}")
        events = await read_events(c, cookies, cid)
        assert [k for k, _ in events] == ["text", "stopped", "end"]
        stored = await ac.services.conversations.messages(cid)
        assert [(m.role, m.content) for m in stored] == [
            ("user", "a long question"),
            ("assistant", [{"type": "text", "text": STOPPED_REPLY}]),
        ]
        page = await c.http.get(f"/chat/{cid}", headers=form_headers(cookies))
        assert 'id="stop"' not in page.text and "Stopped by the owner" in page.text


async def test_model_output_is_escaped_and_hidden_characters_shown(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    hostile = "<script>alert(1)</script> <img src=x onerror=alert(1)> see https://evil.example/a?b=1 ok\u202etxt"
    model = ScriptedModel([ScriptedStep(text=hostile)])
    async with agent_console(db_url, tmp_path, clock, console_config, model) as ac:
        c = ac.console
        cookies = await c.browser_login()
        cid = await start_turn(c, cookies, "say something")
        events = await read_events(c, cookies, cid)
        streamed = "".join(d["text"] for k, d in events if k == "text")
        assert "\u202e" not in streamed and "⟨U+202E⟩" in streamed
        html = (await c.http.get(f"/chat/{cid}", headers=form_headers(cookies))).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "[link to evil.example]" in html and 'href="https://evil' not in html
        assert "⟨U+202E⟩" in html and "\u202e" not in html


async def test_without_a_model_chat_says_how_to_configure_one(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> None:
    async with agent_console(db_url, tmp_path, clock, console_config, None) as ac:
        c = ac.console
        cookies = await c.browser_login()
        html = (await c.http.get("/chat", headers=form_headers(cookies))).text
        assert 'id="no-model"' in html and 'href="/model"' in html
        assert NO_MODEL.split(".")[0] in html
        assert '<textarea id="text" name="text" rows="3" maxlength="8000" required disabled>' in html
        # A post anyway (a script, or a page open from before): a clear error, nothing stored, the text kept.
        before = len(await ac.services.conversations.recent(50))
        r = await post_form(c, cookies, "/chat", text="What did I spend on groceries?")
        assert r.status_code == 409 and "nothing was sent and nothing was stored" in r.text
        assert "What did I spend on groceries?</textarea>" in r.text
        assert len(await ac.services.conversations.recent(50)) == before


async def test_pages_say_when_the_agent_is_not_running(console: Console) -> None:
    cookies = await console.browser_login()
    for path in ("/chat", "/approvals", "/approvals/some-id"):
        r = await console.http.get(path, headers=form_headers(cookies))
        assert r.status_code == 200, path
        assert 'id="agent-off"' in r.text
    r = await post_form(console, cookies, "/chat", text="hello")
    assert r.status_code == 503 and "The agent is not running" in r.text
