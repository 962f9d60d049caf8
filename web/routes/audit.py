"""The audit log for the admin: filtered listing (page and JSON) and a step-up-protected export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from storage import audit
from storage.models import AuditRow
from web.auditing import ADMIN
from web.guard import CurrentPrincipal, StepUpPrincipal
from web.state import console

router = APIRouter()


class AuditFilter(BaseModel):
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = Field(None, max_length=128)
    action: str | None = Field(None, max_length=64)
    result: str | None = Field(None, max_length=16)
    trace_id: str | None = Field(None, max_length=64)
    before_seq: int | None = Field(None, ge=1, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=500)

    def clean(self) -> dict[str, Any]:
        out = self.model_dump()
        for key in ("actor", "action", "result", "trace_id"):
            out[key] = out[key] or None  # an empty form field means "any"
        for key in ("since", "until"):
            if out[key] is not None and out[key].tzinfo is None:
                out[key] = out[key].replace(tzinfo=UTC)
        return out


Filters = Annotated[AuditFilter, Query()]


def row_view(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "ts": row.ts.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "resource": row.resource,
        "result": row.result,
        "reason": row.reason,
        "source_ip": row.source_ip,
        "user_agent": row.user_agent,
        "trace_id": row.trace_id,
        "details": json.loads(row.details) if row.details else None,
    }


async def _page(request: Request, f: AuditFilter) -> tuple[list[dict[str, Any]], int | None]:
    c = console(request)
    async with c.db.transaction() as s:
        rows = await audit.query(s, **f.clean())
    items = [row_view(r) for r in rows]
    nxt = items[-1]["seq"] if len(items) == f.limit else None
    return items, nxt


@router.get("/api/audit")
async def api_audit(request: Request, f: Filters, _p: CurrentPrincipal) -> JSONResponse:
    items, nxt = await _page(request, f)
    return JSONResponse({"items": items, "next_before_seq": nxt})


@router.get("/audit")
async def audit_page(request: Request, f: Filters, _p: CurrentPrincipal) -> Response:
    c = console(request)
    items, nxt = await _page(request, f)
    async with c.db.transaction() as s:
        chain = await audit.verify_chain(s, key=c.chain_key)
    query = {k: v for k, v in request.query_params.items() if k != "before_seq"}
    ctx = {"items": items, "next": nxt, "chain": chain, "f": f, "query": query, "nav": "audit"}
    ctx["csrf"] = c.keys.csrf_token(_p.session_id)
    return c.templates.TemplateResponse(request, "audit.html", ctx)


@router.get("/api/audit/export")
async def audit_export(request: Request, f: Filters, principal: StepUpPrincipal) -> Response:
    """Exporting data is a high-risk action: it needs a fresh authenticator code (step-up)."""
    c = console(request)
    async with c.db.transaction() as s:
        rows = await audit.query(s, **(f.clean() | {"limit": 1000}))
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action="audit.export",
            result="ok",
            details={"sid": principal.session_id, "rows": len(rows)},
        )
    stamp = datetime.fromtimestamp(c.now(), UTC).strftime("%Y%m%dT%H%M%SZ")
    body = json.dumps({"items": [row_view(r) for r in rows]}, indent=1)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="aegis-audit-{stamp}.json"'},
    )
