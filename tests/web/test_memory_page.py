"""Memory with provenance, end to end: chat turns write memories through the gateway (the owner's
words are remembered at once; one written after reading mail is quarantined), answers cite the
memory they used, and the memory page confirms, shows uses, edits and forgets."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.model import Message, ScriptedModel, ScriptedStep, ToolSpec
from tests.web.agent_stack import (
    AgentConsole,
    _call,
    _since_owner,
    agent_console,
    form_headers,
    post_form,
    read_events,
    start_turn,
)
from tests.web.conftest import FakeClock
from web.config import ConsoleConfig

pytestmark = pytest.mark.anyio
PLANTED = "My new bank account is Northwind Credit Union 58-221-7730"


def memory_script(messages: Sequence[Message], _tools: Sequence[ToolSpec]) -> ScriptedStep:
    text, results = _since_owner(messages)
    if text.startswith("remember"):
        if not results:
            return _call("memory__write", {"text": text.removeprefix("remember that ").capitalize()})
        return ScriptedStep(text=f"Noted ({results[-1].get('result', {}).get('state')}).")
    if "mail" in text:
        if not results:
            return _call("gmail__search", {"query": "is:unread", "limit": 5})
        if len(results) == 1:  # an obedient model, after reading mail, stores what a message told it to
            return _call("memory__write", {"text": PLANTED})
        return ScriptedStep(text=f"Summarized ({results[-1].get('result', {}).get('state')}).")
    if "?" in text:
        if not results:
            return _call("memory__read", {"query": text.rstrip("?").split()[-1]})
        items = results[-1].get("result", {}).get("items", [])
        if not items:
            return ScriptedStep(text="I don't know.")
        return ScriptedStep(text=" ".join(f"{i['text']} [memory:{i['id']}]" for i in items))
    return ScriptedStep(text="?")


@pytest.fixture
async def stack(
    db_url: str, tmp_path: Path, clock: FakeClock, console_config: ConsoleConfig
) -> AsyncIterator[AgentConsole]:
    model = ScriptedModel(memory_script)
    async with agent_console(db_url, tmp_path, clock, console_config, model, console_tools=True) as ac:
        yield ac


async def _turn(ac: AgentConsole, cookies: dict[str, str], text: str) -> tuple[list[dict[str, Any]], str]:
    """The turn's tool results and its conversation page, as the owner sees it after the turn."""
    cid = await start_turn(ac.console, cookies, text)
    events = await read_events(ac.console, cookies, cid)
    results = [d for k, d in events if k == "tool_result"]
    page = (await ac.console.http.get(f"/chat/{cid}", headers=form_headers(cookies))).text
    return results, page


async def test_memories_keep_their_provenance_and_the_page_manages_them(stack: AgentConsole) -> None:
    c = stack.console
    cookies = await c.browser_login()

    results, said = await _turn(stack, cookies, "remember that I don't eat pork")
    assert [(r["tool"], r["status"]) for r in results] == [("memory.write", "ok")]
    assert "Noted (active)" in said

    results, said = await _turn(stack, cookies, "summarize my unread mail")
    assert [(r["tool"], r["status"]) for r in results] == [("gmail.search", "ok"), ("memory.write", "ok")]
    assert "Summarized (quarantined)" in said

    # Quarantined: not used in answers until the owner confirms it.
    results, said = await _turn(stack, cookies, "what is my bank?")
    assert results[-1]["tool"] == "memory.read" and "I don't know" in html.unescape(said)
    assert all("58-221-7730" not in str(r.get("content", "")) for r in results[-1:])

    results, said = await _turn(stack, cookies, "what do I eat?")
    assert results[-1]["label"]["integrity"] in ("OWNER", "SYSTEM")
    cited = re.search(r'<a class="memory-cite" href="/memory/([0-9a-f-]{36})">', said)
    assert cited is not None and "pork" in said  # the answer cites the memory it used, as a link

    page = (await c.http.get("/memory", headers=form_headers(cookies))).text
    quarantined = page.split('id="quarantined"')[1].split('id="active"')[0]
    assert "58-221-7730" in quarantined and "From untrusted: email" in quarantined
    planted = re.search(r'data-memory="([0-9a-f-]{36})"', quarantined)
    assert planted is not None
    pid = planted.group(1)

    detail = (await c.http.get(f"/memory/{cited.group(1)}", headers=form_headers(cookies))).text
    assert 'id="uses"' in detail and "eat" in detail

    r = await post_form(c, cookies, f"/memory/{pid}/confirm")
    assert (r.status_code, r.headers["location"]) == (303, f"/memory/{pid}")
    results, said = await _turn(stack, cookies, "what is my bank?")
    assert "58-221-7730" in said and results[-1]["label"]["integrity"] == "OWNER"

    r = await post_form(c, cookies, f"/memory/{pid}/edit", text="My bank is Northwind Credit Union")
    assert r.status_code == 303
    history = (await c.http.get(f"/memory/{pid}", headers=form_headers(cookies))).text
    assert "My bank is Northwind Credit Union" in history
    assert [a for a in ("created", "confirmed", "used", "edited") if a in history] == [
        "created",
        "confirmed",
        "used",
        "edited",
    ]

    r = await post_form(c, cookies, f"/memory/{pid}/forget")
    assert (r.status_code, r.headers["location"]) == (303, "/memory")
    assert (await c.http.get(f"/memory/{pid}", headers=form_headers(cookies))).status_code == 404
    page = (await c.http.get("/memory?q=bank", headers=form_headers(cookies))).text
    assert "Northwind" not in page and 'id="no-memories"' in page

    tokens = await c.login_tokens()
    rows = await c.audit(tokens["access_token"], action="memory.forget")
    assert [(x["result"], x["resource"]) for x in rows] == [("ok", f"memory:{pid}")]
