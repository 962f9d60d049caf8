"""Approvals: the queue of actions the gateway held, each with its full card, and the decisions.

``/approvals/{id}`` is also the deep link a phone notification opens. Approving needs a fresh
authenticator code (the same verification path as :func:`web.guard.require_step_up`, with its
replay rule and lockout counting) for every approval, not only for cards marked step-up: approval
is the moment untrusted content can become a side effect, so a stolen session cookie alone must
not be enough. Rejecting needs a reason. The gateway audits the execution; the console action is
audited here as ``approval.approve`` / ``approval.reject``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from agent.gateway.approvals import ApprovalError, ApprovalState, NotApprovable, PendingApproval, UnknownApproval
from agent.gateway.gateway import GatewayStatus
from agent.services import AgentServices
from web.auditing import ADMIN
from web.errors import NotFound, StepUpRequired, TooManyAttempts
from web.guard import CurrentPrincipal, Principal, is_form, require_step_up
from web.plain_words import card_sentence
from web.routes.chat_view import reveal_hidden
from web.routes.passkeys import passkey_step_up
from web.state import console

log = structlog.get_logger("aegis.web.approvals")
router = APIRouter()
STEP_UP_FOR_EVERY_APPROVAL = True
MAX_REASON = 256
STATE_WORDS = {
    ApprovalState.PENDING: "waiting for you",
    ApprovalState.APPROVED: "approved",
    ApprovalState.CONSUMED: "approved and run",
    ApprovalState.DENIED: "rejected",
}


def agent_of(request: Request) -> AgentServices | None:
    found = getattr(request.app.state, "agent", None)
    return found if isinstance(found, AgentServices) else None


def _now() -> datetime:
    return datetime.now(UTC)  # the approval service's clock (expiry is decided there)


def origin_link(session: str | None) -> tuple[str, str] | None:
    """Where the asking came from, as a link: the conversation, the content queue, the jobs page."""
    if not session:
        return None
    kind = session.partition(":")[0] if ":" in session else ""
    if kind == "content":
        return "/content", "the content queue"
    if kind == "job":
        return "/jobs", "the job that asked"
    return f"/chat/{quote(session, safe='')}", "the conversation"


def summary(p: PendingApproval, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    expired = p.state is ApprovalState.PENDING and _now() >= p.expires_at
    extra = extra or {}
    decided = extra.get("decided_at")
    return {
        "id": p.approval_id,
        "tool": p.tool,
        "headline": p.card.headline,
        "sentence": card_sentence(p.card, owner_asked=(p.session_id or "").startswith("content:")),
        "state": "expired" if expired else p.state.value,
        "state_words": "expired unanswered" if expired else STATE_WORDS[p.state],
        "created_at": p.created_at.isoformat(),
        "expires_at": p.expires_at.isoformat(),
        "decided_at": decided.isoformat() if isinstance(decided, datetime) else None,
        "note": reveal_hidden(str(extra.get("reason") or "")),
        "conversation_id": p.session_id or None,
        "origin": origin_link(p.session_id),
        "step_up": p.step_up_required,
        "flags": list(p.card.red_flags),
        "expired": expired,
    }


def _base(request: Request, principal: Principal) -> dict[str, Any]:
    c = console(request)
    return {"nav": "approvals", "csrf": c.keys.csrf_token(principal.session_id), "agent": agent_of(request) is not None}


@router.get("/approvals")
async def approvals_page(request: Request, principal: CurrentPrincipal) -> Response:
    c = console(request)
    ctx = _base(request, principal) | {"pending": [], "history": []}
    agent = agent_of(request)
    if agent is not None:
        rows = await agent.approvals.history(limit=100)
        views = [summary(p, extra) for p, extra in rows]
        ctx["pending"] = [v for v in views if v["state"] == "pending"]
        ctx["history"] = [v for v in views if v["state"] != "pending"]
    return c.templates.TemplateResponse(request, "approvals.html", ctx)


async def _card_page(
    request: Request, principal: Principal, aid: str, *, error: str | None = None, status: int = 200
) -> Response:
    c = console(request)
    agent = agent_of(request)
    ctx = _base(request, principal) | {"error": error, "item": None, "card": None}
    if agent is not None:
        found = await agent.approvals.get(aid) if len(aid) <= 64 else None
        if found is None:
            raise NotFound("no such approval")
        extra = next((x for p, x in await agent.approvals.history(limit=500) if p.approval_id == aid), None)
        ctx["item"] = summary(found, extra)
        ctx["card"] = found.card
        ctx["step_up_needed"] = STEP_UP_FOR_EVERY_APPROVAL or found.step_up_required
    return c.templates.TemplateResponse(request, "approvals_card.html", ctx, status_code=status)


PROBLEMS = {
    "code": "That code was not accepted. Enter a fresh code from your authenticator app.",
    "locked": "Too many wrong codes. Try again in {wait} seconds.",
}


@router.get("/approvals/{aid}")
async def approval_page(
    request: Request,
    aid: str,
    principal: CurrentPrincipal,
    problem: Annotated[str | None, Query(max_length=16)] = None,
    wait: Annotated[int, Query(ge=0, le=86400)] = 60,
) -> Response:
    """``problem``: the fixed message after a refused approval's redirect (the text is never echoed)."""
    error = PROBLEMS[problem].format(wait=wait) if problem in PROBLEMS else None
    return await _card_page(request, principal, aid, error=error)


async def _audit(
    request: Request, principal: Principal, action: str, aid: str, result: str, reason: str | None, **details: Any
) -> None:
    c = console(request)
    async with c.db.transaction() as s:
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action=action,
            result=result,
            reason=reason[:MAX_REASON] if reason else None,
            resource=f"approval:{aid}",
            details={"sid": principal.session_id, **details},
        )


@router.post("/approvals/{aid}/approve")
async def approve(request: Request, aid: str, principal: CurrentPrincipal) -> Response:
    agent = agent_of(request)
    if agent is None:
        return await _card_page(request, principal, aid, error="The agent is not running.", status=503)
    pending = await agent.approvals.get(aid) if len(aid) <= 64 else None
    if pending is None:
        raise NotFound("no such approval")
    form = await request.form() if is_form(request) else None
    credential = form.get("passkey_credential") if form is not None else None
    challenge = form.get("passkey_challenge") if form is not None else None
    if isinstance(credential, str) and credential and isinstance(challenge, str):
        # The passkey replaces the code: its challenge names this approval and its arguments' hash.
        rejected = await passkey_step_up(request, principal, pending, challenge, credential)
        if rejected:
            await _audit(request, principal, "approval.approve", aid, "fail", "passkey_rejected", tool=pending.tool)
            msg = "The passkey was not accepted. Try again, or use a code from your authenticator app."
            return await _card_page(request, principal, aid, error=msg, status=403)
    elif STEP_UP_FOR_EVERY_APPROVAL or pending.step_up_required:
        try:
            await require_step_up(request, principal)
        except TooManyAttempts as exc:
            await _audit(request, principal, "approval.approve", aid, "fail", "step_up_locked", tool=pending.tool)
            wait = exc.retry_after or 60
            return RedirectResponse(f"/approvals/{aid}?{urlencode({'problem': 'locked', 'wait': wait})}", 303)
        except StepUpRequired:
            await _audit(request, principal, "approval.approve", aid, "fail", "step_up_failed", tool=pending.tool)
            # Back to the card's own address (never left on the POST URL), with a fixed message.
            return RedirectResponse(f"/approvals/{aid}?problem=code", status_code=303)
    try:
        result = await agent.approvals.approve(aid, step_up_done=True)
    except (UnknownApproval, NotApprovable) as exc:
        await _audit(request, principal, "approval.approve", aid, "fail", "not_pending", tool=pending.tool)
        return await _card_page(request, principal, aid, error=f"Not approved: {exc}.", status=409)
    except ApprovalError as exc:
        await _audit(request, principal, "approval.approve", aid, "fail", type(exc).__name__, tool=pending.tool)
        return await _card_page(request, principal, aid, error="Not approved: the approval is not valid.", status=409)
    except Exception as exc:
        log.exception("approved call failed", approval=aid)
        await _audit(request, principal, "approval.approve", aid, "fail", type(exc).__name__, tool=pending.tool)
        return await _card_page(request, principal, aid, error="Approved, but running it failed.", status=502)
    ran = result.status is GatewayStatus.OK
    await _audit(
        request,
        principal,
        "approval.approve",
        aid,
        "ok",
        None if ran else f"execution_{result.status.value}",
        tool=pending.tool,
        call_id=pending.call_id,
        outcome=result.status.value,
        step_up=True,
    )
    return RedirectResponse(f"/approvals/{aid}", status_code=303)


@router.post("/approvals/{aid}/reject")
async def reject(request: Request, aid: str, principal: CurrentPrincipal) -> Response:
    agent = agent_of(request)
    if agent is None:
        return await _card_page(request, principal, aid, error="The agent is not running.", status=503)
    form = await request.form()
    raw = form.get("reason")
    reason = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not reason or len(reason) > MAX_REASON:
        msg = f"Say why you reject it (1 to {MAX_REASON} characters)."
        return await _card_page(request, principal, aid, error=msg, status=400)
    pending = await agent.approvals.get(aid) if len(aid) <= 64 else None
    if pending is None:
        raise NotFound("no such approval")
    try:
        await agent.approvals.reject(aid, reason)
    except ApprovalError:
        await _audit(request, principal, "approval.reject", aid, "fail", "not_pending", tool=pending.tool)
        return await _card_page(request, principal, aid, error="It was already decided.", status=409)
    await _audit(request, principal, "approval.reject", aid, "ok", reason, tool=pending.tool, call_id=pending.call_id)
    return RedirectResponse(f"/approvals/{aid}", status_code=303)
