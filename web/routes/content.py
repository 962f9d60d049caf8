"""The content page: the daily drafts for each network the owner posts on, each editable with its
checks and sources, published posts with their engagement, and the drafts that ran out.

Publishing never happens here: "Publish…" asks the content engine for an approval card (the exact
text, once) and sends the owner to it, where approving needs a fresh authenticator code. The engine
is ``AgentServices.content`` (None when no network is installed); its refusals (``ContentError``) come
back as the page with the owner's text kept and the engine's words. Actions are audited as
``content.edit`` / ``content.publish`` / ``content.discard`` (never the text, only its length).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from agent.content.ports import ContentError, ContentService, DraftView
from web.guard import CurrentPrincipal, Principal
from web.routes.approvals import agent_of
from web.routes.content_view import draft_row, split_queue
from web.routes.integrations import audit
from web.state import console

router = APIRouter()
MAX_TEXT = 10_000  # far above any network's limit; the engine's length check says what fits
DRAFT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
NOTICES = {
    "saved": "Saved. The checks ran again on your text.",
    "discarded": "Discarded. Nothing was published.",
}
GONE = "That draft is not in the queue any more; nothing was changed."
OFF = "The content engine is not running in this console: no network that it drafts for is installed."


def content_of(request: Request) -> ContentService | None:
    agent = agent_of(request)
    return agent.content if agent is not None else None


def now_of(request: Request) -> datetime:
    return datetime.fromtimestamp(console(request).now(), UTC)


async def queue_page(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    error: str | None = None,
    kept: tuple[str, str | None, str] | None = None,
) -> Response:
    """``kept``: (draft id, the owner's text or None, the message) after a refused action on that draft."""
    c, service, agent = console(request), content_of(request), agent_of(request)
    now = now_of(request)
    ctx: dict[str, Any] = {
        "nav": "content",
        "csrf": c.keys.csrf_token(principal.session_id),
        "service": service is not None,
        "error": error if service is not None or error else OFF,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "model_ready": agent is not None and agent.model_configured,
        "live": [],
        "published": [],
        "past": [],
        "networks": [],
        "paused": [],
    }
    if service is not None:
        drafts = await service.queue()
        found = next((d for d in drafts if kept is not None and d.id == kept[0]), None)
        rows = {found.id: draft_row(found, now, text=kept[1], error=kept[2])} if found and kept else {}
        ctx |= split_queue(drafts, now, rows)
        if kept is not None and not any(row["id"] == kept[0] for row in ctx["live"]):
            ctx["error"] = ctx["error"] or kept[2]  # not shown in full: the message goes on top
        paused, installed = set((await service.settings()).paused), service.networks()
        ctx["networks"] = [name for integration, name in installed if integration not in paused]
        ctx["paused"] = [name for integration, name in installed if integration in paused]
    return c.templates.TemplateResponse(request, "content.html", ctx, status_code=status)


@router.get("/content")
async def content_page(request: Request, principal: CurrentPrincipal) -> Response:
    return await queue_page(request, principal)


async def _target(request: Request, principal: Principal, did: str) -> tuple[ContentService, DraftView] | Response:
    """The engine and the draft an action is about, or the page saying why there is none."""
    service = content_of(request)
    if service is None:
        return await queue_page(request, principal, status=503, error=OFF)
    found = await service.draft(did) if DRAFT_ID.match(did) else None
    if found is None:
        return await queue_page(request, principal, status=404, error=GONE)
    return service, found


def _text(raw: object) -> str | None:
    """The textarea's text with the browser's line breaks made plain; None when no text was sent."""
    if not isinstance(raw, str):
        return None
    return raw.replace("\r\n", "\n").replace("\r", "\n").strip()


def _problem(text: str | None) -> str | None:
    if not text:
        return "The post is empty: write something, or discard the draft."
    if len(text) > MAX_TEXT:
        return f"That text is {len(text):,} characters; a post cannot be longer than {MAX_TEXT:,}. Nothing was saved."
    return None


def _back(did: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/content?notice={notice}#draft-{did}", status_code=303)


async def _save(
    request: Request, principal: Principal, service: ContentService, draft: DraftView, text: str | None
) -> Response | None:
    """Save the owner's text (the engine checks it again); the page with the text kept when refused."""
    resource = f"draft:{draft.id}"
    if (problem := _problem(text)) is not None or text is None:
        await audit(request, principal, "content.edit", "fail", resource=resource, reason="invalid_text")
        return await queue_page(request, principal, status=422, kept=(draft.id, text or "", problem or ""))
    try:
        await service.edit(draft.id, text)
    except ContentError as exc:
        await audit(request, principal, "content.edit", "fail", resource=resource, reason="refused", chars=len(text))
        return await queue_page(request, principal, status=409, kept=(draft.id, text, f"Not saved: {exc}"))
    await audit(request, principal, "content.edit", "ok", resource=resource, network=draft.integration, chars=len(text))
    return None


@router.post("/content/{did}/edit")
async def edit(request: Request, did: str, principal: CurrentPrincipal) -> Response:
    if isinstance(target := await _target(request, principal, did), Response):
        return target
    service, draft = target
    refused = await _save(request, principal, service, draft, _text((await request.form()).get("text")))
    return refused or _back(did, "saved")


@router.post("/content/{did}/publish")
async def publish(request: Request, did: str, principal: CurrentPrincipal) -> Response:
    """The form's text, if changed, is saved (and checked) first, so the card shows what the owner sees."""
    if isinstance(target := await _target(request, principal, did), Response):
        return target
    service, draft = target
    text = _text((await request.form()).get("text"))
    resource = f"draft:{did}"
    changed = text is not None and text != draft.text
    if changed and (refused := await _save(request, principal, service, draft, text)) is not None:
        return refused
    try:
        approval_id = await service.publish(did, session=f"content:{did[:24]}")
    except ContentError as exc:
        await audit(request, principal, "content.publish", "fail", resource=resource, reason="refused")
        return await queue_page(request, principal, status=409, kept=(did, None, f"Not sent for approval: {exc}"))
    await audit(request, principal, "content.publish", "ok", resource=resource, network=draft.integration,
                approval=approval_id)  # fmt: skip
    return RedirectResponse(f"/approvals/{quote(approval_id, safe='')}", status_code=303)


@router.post("/content/{did}/discard")
async def discard(request: Request, did: str, principal: CurrentPrincipal) -> Response:
    if isinstance(target := await _target(request, principal, did), Response):
        return target
    service, draft = target
    resource = f"draft:{did}"
    try:
        await service.discard(did)
    except ContentError as exc:
        await audit(request, principal, "content.discard", "fail", resource=resource, reason="refused")
        return await queue_page(request, principal, status=409, kept=(did, None, f"Not discarded: {exc}"))
    await audit(request, principal, "content.discard", "ok", resource=resource, network=draft.integration)
    return _back(did, "discarded")
