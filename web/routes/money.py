"""The money page: one picture of the owner's money, composed of what the installed finance
integrations declare in their manifests (``money:`` views: net worth over time, holdings and their
allocation, spending by category, the week's largest movements). The same tools and arguments feed
the briefing's finance section and the weekly digest, so the figures agree.

Settings forms marked ``money`` (the trading limits) are edited here too, with the same checks as on
the integration's settings page: a step-up when the form asks for it, an audit record for every
save, and a refused save shows what the owner typed again with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from web import settings_form
from web.data import ConsoleData, console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal, Principal
from web.panels import load_money
from web.routes.integrations import integration
from web.state import console

router = APIRouter()


async def _forms(
    data: ConsoleData, edited: str | None, values: Mapping[str, Any] | None, error: str | None, saved: str | None
) -> list[dict[str, Any]]:
    out = []
    for m in data.catalog:
        if m.settings is None or not m.settings.money:
            continue
        mine = m.name == edited
        shown = values if mine and values is not None else await settings_form.current(data, m)
        problem = error if mine else None
        if shown is None and problem is None and data.tools is not None:
            problem = "The current settings could not be read."
        out.append({
            "manifest": m,
            "title": m.settings.title or f"{m.title} settings",
            "fields": settings_form.rows(m, shown or {}),
            "error": problem,
            "saved": saved == m.name,
        })  # fmt: skip
    return out


async def _page(
    request: Request,
    principal: Principal,
    *,
    edited: str | None = None,
    values: Mapping[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    c, data = console(request), console_data(request)
    saved = request.query_params.get("saved") if request.method == "GET" else None
    ctx = {
        "today": data.now().date(),
        "panels": await load_money(data),
        "forms": await _forms(data, edited, values, error, saved),
        "agent": data.tools is not None,
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "money",
    }
    return c.templates.TemplateResponse(request, "money.html", ctx, status_code=status)


@router.get("/money")
async def money(request: Request, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal)


@router.post("/money/settings/{name}")
async def save_money_settings(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = integration(request, name), console_data(request)
    if manifest.settings is None or not manifest.settings.money:
        raise NotFound("this integration has no settings on the money page")
    saved = await settings_form.save(request, principal, data, manifest)
    if saved.error is not None:
        return await _page(request, principal, edited=name, values=saved.values, error=saved.error, status=saved.status)
    return RedirectResponse(f"/money?saved={name}#settings-{name}", status_code=303)
