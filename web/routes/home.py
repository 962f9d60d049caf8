"""The home page: today's overview, one panel per connected integration (see web.panels)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.data import console_data
from web.guard import CurrentPrincipal
from web.panels import load_panels
from web.state import console

router = APIRouter()


@router.get("/")
async def home(request: Request, principal: CurrentPrincipal) -> Response:
    c, data = console(request), console_data(request)
    async with c.db.transaction() as s:
        email = await c.account.email(s)
    ctx = {
        "email": email,
        "today": data.now().date(),
        "panels": await load_panels(data),
        "agent": data.tools is not None,
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "home",
    }
    return c.templates.TemplateResponse(request, "home.html", ctx)


@router.get("/api/me")
async def me(request: Request, principal: CurrentPrincipal) -> dict[str, str | None]:
    c = console(request)
    async with c.db.transaction() as s:
        email = await c.account.email(s)
    return {"email": email, "session_id": principal.session_id, "via": principal.via}
