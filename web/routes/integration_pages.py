"""An integration's own console pages, declared in its manifest and rendered by the core.

* ``/integrations/<name>/pages/<page>``: a READ tool's document (title, subtitle, sections of
  tables), through the gateway like every console read, with print styles: what the owner prints.
* ``/integrations/<name>/settings``: the owner's settings form, built from the manifest's field list,
  read with its READ tool and saved with its ADMIN (console-only) tool, which validates and refuses
  a bad value with a clear message, changing nothing. Saving is audited.

Every value shown comes from a tool result and is escaped by the templates; nothing in a result
changes the layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from integrations.manifest import Manifest
from web import settings_form
from web.data import console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal, Principal
from web.routes.integrations import integration
from web.state import console

router = APIRouter()
MAX_CELL = 300
MAX_ROWS = 200
MAX_SECTIONS = 40


def _text(value: Any) -> str:
    flat = " ".join(str("" if value is None else value).split())
    return flat if len(flat) <= MAX_CELL else flat[: MAX_CELL - 1] + "…"


def document(result: Any) -> dict[str, Any]:
    """A tool's document as plain strings only; a result of the wrong shape shows as empty."""
    raw = result if isinstance(result, Mapping) else {}
    sections = []
    for sec in (raw.get("sections") or [])[:MAX_SECTIONS]:
        if not isinstance(sec, Mapping):
            continue
        columns = [_text(c) for c in sec.get("columns") or [] if not isinstance(c, Mapping | list)]
        rows = [
            [_text(cell) for cell in row[: len(columns) or None]]
            for row in (sec.get("rows") or [])[:MAX_ROWS]
            if isinstance(row, list)
        ]
        heading, note = _text(sec.get("heading")), _text(sec.get("note"))
        sections.append({"heading": heading, "columns": columns, "rows": rows, "note": note})
    return {"title": _text(raw.get("title")), "subtitle": _text(raw.get("subtitle")), "sections": sections}


@router.get("/integrations/{name}/pages/{page_id}")
async def integration_page(request: Request, name: str, page_id: str, principal: CurrentPrincipal) -> Response:
    manifest, data = integration(request, name), console_data(request)
    page = next((p for p in manifest.pages if p.id == page_id), None)
    if page is None:
        raise NotFound("no such page")
    ctx: dict[str, Any] = {"nav": "integrations", "manifest": manifest, "page": page, "doc": None, "error": None}
    if data.tools is None:
        ctx["error"] = "The agent is not running, so this page cannot be read."
    else:
        args = {arg: request.query_params[q] for arg, q in page.query.items() if request.query_params.get(q)}
        result = await data.tools.read(page.tool, args)
        if result.ok:
            ctx["doc"] = document(result.content)
        else:
            ctx["error"] = "This page could not be read: the request was refused or the integration is unavailable."
    return console(request).templates.TemplateResponse(request, "integration_page.html", ctx)


async def _settings_page(
    request: Request,
    principal: Principal,
    manifest: Manifest,
    *,
    values: Mapping[str, Any] | None = None,
    error: str | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    c, data = console(request), console_data(request)
    assert manifest.settings is not None
    ctx: dict[str, Any] = {
        "nav": "integrations",
        "manifest": manifest,
        "fields": [],
        "error": error,
        "saved": saved,
        "csrf": c.keys.csrf_token(principal.session_id),
        "available": data.tools is not None,
    }
    if values is None and data.tools is not None:
        values = await settings_form.current(data, manifest)
        if values is None and error is None:
            ctx["error"] = "The current settings could not be read."
    ctx["fields"] = settings_form.rows(manifest, values or {})
    return c.templates.TemplateResponse(request, "integration_settings.html", ctx, status_code=status)


@router.get("/integrations/{name}/settings")
async def settings_page(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest = integration(request, name)
    if manifest.settings is None:
        raise NotFound("this integration has no settings")
    saved = request.query_params.get("notice") == "saved"
    return await _settings_page(request, principal, manifest, saved=saved)


@router.post("/integrations/{name}/settings")
async def save_settings(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = integration(request, name), console_data(request)
    if manifest.settings is None:
        raise NotFound("this integration has no settings")
    saved = await settings_form.save(request, principal, data, manifest)
    if saved.error is not None:
        return await _settings_page(
            request, principal, manifest, values=saved.values, error=saved.error, status=saved.status
        )
    return RedirectResponse(f"/integrations/{name}/settings?notice=saved", status_code=303)
