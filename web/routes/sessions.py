"""Active sessions: list, revoke one, as JSON and as a page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from storage.models import ConsoleSessionRow
from web.auditing import ADMIN
from web.errors import NotFound
from web.guard import CurrentPrincipal, Principal
from web.state import Console, console

router = APIRouter()


def _view(row: ConsoleSessionRow, principal: Principal) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "last_seen_at": row.last_seen_at.isoformat(),
        "ip": row.ip,
        "user_agent": row.user_agent,
        "current": row.id == principal.session_id,
    }


async def list_sessions(c: Console, principal: Principal) -> list[dict[str, Any]]:
    """The read itself, without auth or audit (the bench mounts this bare)."""
    async with c.db.read() as s:
        rows = await c.sessions.list_active(s, c.now())
    return [_view(r, principal) for r in rows]


@router.get("/api/sessions")
async def api_sessions(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    return JSONResponse({"items": await list_sessions(console(request), principal)})


async def _revoke(request: Request, principal: Principal, sid: str) -> None:
    c = console(request)
    async with c.db.transaction() as s:
        done = await c.sessions.revoke(s, sid, "revoked_by_admin", c.now())
        if done:
            await c.auditor.record(
                s,
                request,
                actor=ADMIN,
                action="auth.session_revoke",
                result="ok",
                details={"sid": principal.session_id, "revoked": sid},
            )
    if not done:
        raise NotFound("no such active session")


@router.delete("/api/sessions/{sid}")
async def api_revoke(request: Request, sid: str, principal: CurrentPrincipal) -> JSONResponse:
    await _revoke(request, principal, sid)
    return JSONResponse({"revoked": sid, "current": sid == principal.session_id})


@router.get("/sessions")
async def sessions_page(request: Request, principal: CurrentPrincipal) -> Response:
    c = console(request)
    items = await list_sessions(c, principal)
    csrf = c.keys.csrf_token(principal.session_id)
    return c.templates.TemplateResponse(request, "sessions.html", {"items": items, "csrf": csrf, "nav": "sessions"})


@router.post("/sessions/{sid}/revoke")
async def sessions_revoke_form(request: Request, sid: str, principal: CurrentPrincipal) -> Response:
    await _revoke(request, principal, sid)
    return RedirectResponse("/login" if sid == principal.session_id else "/sessions", status_code=303)
