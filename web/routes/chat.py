"""The chat page: conversations, a composer, answers streamed over SSE, and each turn's tool trace.

Sending is a plain form post (it starts the turn and redirects back), so the page works without
script; ``chat.js`` then follows the running turn through ``GET /chat/{id}/events`` (an
EventSource: CSP allows no inline script). Model output and tool results are untrusted: they are
rendered as escaped text, links inert with their full host (see ``chat_view``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import select
from starlette.responses import Response

from agent.chat import NO_MODEL
from agent.services import AgentServices
from storage.models.agent import ConversationRow
from storage.models.audit import AuditRow
from web.errors import NotFound
from web.guard import CurrentPrincipal
from web.routes.chat_turns import Turn, TurnBusy, TurnManager
from web.routes.chat_view import history_view, tool_call_ids
from web.state import Console, console

router = APIRouter()
MAX_TEXT = 8000
TITLE_CHARS = 60
Text = Annotated[str, Form(min_length=1, max_length=MAX_TEXT)]


def agent_of(request: Request) -> AgentServices | None:
    found = getattr(request.app.state, "agent", None)
    return found if isinstance(found, AgentServices) else None


def turns_of(request: Request, agent: AgentServices) -> TurnManager:
    manager = getattr(request.app.state, "chat_turns", None)
    if not isinstance(manager, TurnManager):
        manager = TurnManager(agent)
        request.app.state.chat_turns = manager
    return manager


async def close_turns(state: Any) -> None:
    """App shutdown: cancel running turns (each leaves its conversation consistent)."""
    manager = getattr(state, "chat_turns", None)
    if isinstance(manager, TurnManager):
        await manager.close()


def title_for(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


async def _exists(c: Console, cid: str) -> bool:
    if len(cid) > 64:
        return False
    async with c.db.transaction() as s:
        return await s.get(ConversationRow, cid) is not None


async def _rules(c: Console, call_ids: list[str]) -> dict[str, list[str]]:
    """The rules each call's gateway decision fired, from the gateway's own tool.call audit rows."""
    if not call_ids:
        return {}
    out: dict[str, list[str]] = {}
    async with c.db.transaction() as s:
        rows = await s.scalars(
            select(AuditRow)
            .where(AuditRow.action == "tool.call", AuditRow.trace_id.in_(call_ids[-200:]))
            .order_by(AuditRow.seq)
        )
        for row in rows:
            if row.trace_id:
                out[row.trace_id] = [r for r in (row.reason or "").split(",") if r]
    return out


async def _page(
    request: Request,
    principal: CurrentPrincipal,
    cid: str | None,
    *,
    error: str | None = None,
    status: int = 200,
    draft: str = "",
) -> Response:
    c = console(request)
    agent = agent_of(request)
    ctx: dict[str, Any] = {
        "nav": "chat",
        "csrf": c.keys.csrf_token(principal.session_id),
        "agent": agent is not None,
        "no_model": NO_MODEL if agent is not None and not agent.model_configured else None,
        "conversations": [],
        "cid": cid,
        "title": None,
        "items": [],
        "turn": None,
        "error": error,
        "draft": draft,
        "max_text": MAX_TEXT,
    }
    if agent is not None:
        ctx["conversations"] = await agent.conversations.recent(50)
        if cid is not None:
            ctx["title"] = next((x["title"] for x in ctx["conversations"] if x["id"] == cid), None) or "Conversation"
            messages = await agent.conversations.messages(cid, include_compacted=True)
            ctx["items"] = history_view(messages, await _rules(c, tool_call_ids(messages)))
            ctx["turn"] = turns_of(request, agent).running(cid)
    return c.templates.TemplateResponse(request, "chat.html", ctx, status_code=status)


@router.get("/chat")
async def chat_home(request: Request, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal, None)


@router.get("/chat/{cid}")
async def chat_page(request: Request, cid: str, principal: CurrentPrincipal) -> Response:
    if agent_of(request) is not None and not await _exists(console(request), cid):
        raise NotFound("no such conversation")
    return await _page(request, principal, cid)


async def _not_running(request: Request, principal: CurrentPrincipal, cid: str | None) -> Response:
    return await _page(request, principal, cid, error="The agent is not running, so nothing was sent.", status=503)


async def _no_model(request: Request, principal: CurrentPrincipal, cid: str | None, text: str) -> Response:
    """Nothing is stored (no conversation, no message); the message stays in the box."""
    error = "No model is configured, so nothing was sent and nothing was stored. " + NO_MODEL
    return await _page(request, principal, cid, error=error, status=409, draft=text)


@router.post("/chat")
async def chat_new(request: Request, text: Text, principal: CurrentPrincipal) -> Response:
    """A new conversation, titled by its first message, whose first turn starts now."""
    agent = agent_of(request)
    if agent is None:
        return await _not_running(request, principal, None)
    if not agent.model_configured:
        return await _no_model(request, principal, None, text)
    cid = await agent.conversations.create(title_for(text))
    turns_of(request, agent).start(cid, text)
    return RedirectResponse(f"/chat/{cid}", status_code=303)


@router.post("/chat/{cid}")
async def chat_send(request: Request, cid: str, text: Text, principal: CurrentPrincipal) -> Response:
    agent = agent_of(request)
    if agent is None:
        return await _not_running(request, principal, cid)
    if not await _exists(console(request), cid):
        raise NotFound("no such conversation")
    if not agent.model_configured:
        return await _no_model(request, principal, cid, text)
    try:
        turns_of(request, agent).start(cid, text)
    except TurnBusy:
        return await _page(request, principal, cid, error="Wait for the current answer, or stop it.", status=409)
    return RedirectResponse(f"/chat/{cid}", status_code=303)


@router.post("/chat/{cid}/stop")
async def chat_stop(request: Request, cid: str, principal: CurrentPrincipal) -> Response:
    agent = agent_of(request)
    if agent is not None:
        await turns_of(request, agent).stop(cid)
    return RedirectResponse(f"/chat/{cid}", status_code=303)


def _sse(event: dict[str, Any]) -> str:
    return f"id: {event['id']}\nevent: {event['kind']}\ndata: {json.dumps(event['data'], ensure_ascii=False)}\n\n"


@router.get("/chat/{cid}/events")
async def chat_events(request: Request, cid: str, principal: CurrentPrincipal, turn: str = "") -> Response:
    """Server-sent events of the conversation's latest turn (``turn`` names the one the page showed)."""
    agent = agent_of(request)
    current: Turn | None = turns_of(request, agent).latest(cid) if agent is not None else None
    if current is not None and turn and current.id != turn:
        current = None  # a newer turn started: the page is stale, it reloads
    last = request.headers.get("last-event-id", "")
    after = int(last) if last.isdigit() else 0

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        if current is None:
            yield _sse({"id": 0, "kind": "end", "data": {"stale": True}})
            return
        async for event in current.follow(after):
            if event is None:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
            else:
                yield _sse(event)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
