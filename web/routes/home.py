"""The home page: who is logged in, and where to go."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.guard import CurrentPrincipal
from web.state import console

router = APIRouter()


@router.get("/")
async def home(request: Request, principal: CurrentPrincipal) -> Response:
    c = console(request)
    async with c.db.transaction() as s:
        email = await c.account.email(s)
    ctx = {"email": email, "sid": principal.session_id, "csrf": c.keys.csrf_token(principal.session_id), "nav": "home"}
    return c.templates.TemplateResponse(request, "home.html", ctx)


@router.get("/api/me")
async def me(request: Request, principal: CurrentPrincipal) -> dict[str, str | None]:
    c = console(request)
    async with c.db.transaction() as s:
        email = await c.account.email(s)
    return {"email": email, "session_id": principal.session_id, "via": principal.via}
