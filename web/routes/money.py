"""The money page: one picture of the owner's money, composed of what the installed finance
integrations declare in their manifests (``money:`` views: net worth over time, holdings and their
allocation, spending by category, the week's largest movements). The same tools and arguments feed
the briefing's finance section and the weekly digest, so the figures agree."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.data import console_data
from web.guard import CurrentPrincipal
from web.panels import load_money
from web.state import console

router = APIRouter()


@router.get("/money")
async def money(request: Request, principal: CurrentPrincipal) -> Response:
    c, data = console(request), console_data(request)
    ctx = {
        "today": data.now().date(),
        "panels": await load_money(data),
        "agent": data.tools is not None,
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "money",
    }
    return c.templates.TemplateResponse(request, "money.html", ctx)
