"""The memory page: search what Aegis remembers, see where each memory came from and what it was
used for, confirm a quarantined one, edit one in your own words, or forget it (it and its history
are deleted for good).

The console holds no memory data key: every action is a console-only tool of the memory MCP server
(registry class ADMIN), called with a per-call broker token, and audited here as ``memory.*``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from web.data import console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal, Principal
from web.routes.integrations import audit
from web.state import console

router = APIRouter()
MAX_QUERY = 200


def describe_source(label: dict[str, Any]) -> list[str]:
    out = []
    for s in label.get("sources", []) if isinstance(label, dict) else []:
        who = f" from {s.get('principal')}" if s.get("principal") else ""
        out.append(f"{s.get('channel', '?')} {s.get('item_id', '')}{who}".strip())
    return out


async def _tool(request: Request, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
    tools = console_data(request).tools
    if tools is None:
        return None
    result = await tools.console_only(tool, args)
    return result.content if result.ok and isinstance(result.content, dict) else None


@router.get("/memory")
async def memory_page(request: Request, principal: CurrentPrincipal) -> Response:
    c = console(request)
    query = (request.query_params.get("q") or "")[:MAX_QUERY]
    found = await _tool(request, "memory.browse", {"query": query})
    items = [m | {"sources": describe_source(m.get("label", {}))} for m in (found or {}).get("memories", [])]
    ctx = {
        "nav": "memory",
        "csrf": c.keys.csrf_token(principal.session_id),
        "query": query,
        "ready": found is not None,
        "quarantined": [m for m in items if m["state"] != "active"],
        "active": [m for m in items if m["state"] == "active"],
    }
    return c.templates.TemplateResponse(request, "memory.html", ctx)


@router.get("/memory/{mid}")
async def memory_detail(request: Request, mid: str, principal: CurrentPrincipal) -> Response:
    c = console(request)
    found = await _tool(request, "memory.history", {"memory_id": mid[:36]})
    if found is None:
        raise NotFound("no such memory")
    item = found["memory"] | {"sources": describe_source(found["memory"].get("label", {}))}
    ctx = {
        "nav": "memory",
        "csrf": c.keys.csrf_token(principal.session_id),
        "item": item,
        "events": found["events"],
        "uses": [e for e in found["events"] if e["action"] == "used"],
    }
    return c.templates.TemplateResponse(request, "memory_item.html", ctx)


async def _change(request: Request, principal: Principal, mid: str, action: str, **args: Any) -> Response:
    out = await _tool(request, f"memory.{action}", {"memory_id": mid[:36], **args})
    ok = out is not None and out.get("done") is True
    await audit(request, principal, f"memory.{action}", "ok" if ok else "fail", resource=f"memory:{mid[:36]}")
    if not ok:
        raise NotFound("no such memory")
    return RedirectResponse("/memory" if action == "forget" else f"/memory/{mid[:36]}", status_code=303)


@router.post("/memory/{mid}/confirm")
async def confirm(request: Request, mid: str, principal: CurrentPrincipal) -> Response:
    return await _change(request, principal, mid, "confirm")


@router.post("/memory/{mid}/edit")
async def edit(request: Request, mid: str, principal: CurrentPrincipal) -> Response:
    form = await request.form()
    text = form.get("text")
    text = " ".join(text.split())[:2000] if isinstance(text, str) else ""
    if not text:
        return RedirectResponse(f"/memory/{mid[:36]}", status_code=303)
    return await _change(request, principal, mid, "edit", text=text)


@router.post("/memory/{mid}/forget")
async def forget(request: Request, mid: str, principal: CurrentPrincipal) -> Response:
    return await _change(request, principal, mid, "forget")
