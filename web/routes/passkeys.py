"""Passkeys: the page to add, rename, revoke them and choose which may replace the authenticator
code at login; the challenges for login and for approving one approval; the approval check itself.

Adding, renaming, revoking and the login choice each need a fresh authenticator code (the usual
step-up). Every outcome is audited (``passkey.*``, and ``auth.step_up`` with ``method: passkey``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from agent.gateway.approvals import PendingApproval
from agent.services import AgentServices
from web.auditing import ADMIN, ANONYMOUS
from web.auth.passkeys import PasskeyInputError, PasskeyRejected, PasskeyView, clean_name
from web.errors import NotFound, StepUpRequired, TooManyAttempts
from web.guard import CurrentPrincipal, Principal, is_form, require_step_up
from web.state import console

router = APIRouter()
MAX_CREDENTIAL = 16_384


def _json_view(p: PasskeyView) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "created_at": p.created_at.isoformat(),
        "last_used_at": p.last_used_at.isoformat() if p.last_used_at else None,
        "use_for_login": p.use_for_login,
    }


async def _audit(
    request: Request, action: str, result: str, reason: str | None, *, sid: str | None, **details: Any
) -> None:
    c = console(request)
    async with c.db.transaction() as s:
        await c.auditor.record(
            s,
            request,
            actor=ADMIN if sid else ANONYMOUS,
            action=action,
            result=result,
            reason=reason,
            resource=f"passkey:{details['passkey']}" if details.get("passkey") else None,
            details={"sid": sid, **details} if sid else details or None,
        )


async def _page(request: Request, principal: Principal, *, error: str | None = None, status: int = 200) -> Response:
    c = console(request)
    async with c.db.read() as s:
        items = await c.passkeys.listing(s)
    ctx = {"nav": "sessions", "csrf": c.keys.csrf_token(principal.session_id), "items": items, "error": error}
    return c.templates.TemplateResponse(request, "passkeys.html", ctx, status_code=status)


@router.get("/passkeys")
async def passkeys_page(request: Request, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal)


@router.get("/api/passkeys")
async def list_passkeys(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    c = console(request)
    async with c.db.read() as s:
        items = await c.passkeys.listing(s)
    return JSONResponse({"items": [_json_view(p) for p in items]})


async def _step_up(request: Request, principal: Principal) -> str | None:
    """None when a fresh authenticator code was given, else what to tell the owner."""
    try:
        await require_step_up(request, principal)
    except TooManyAttempts as exc:
        return f"Too many wrong codes. Try again in {exc.retry_after or 60} seconds."
    except StepUpRequired:
        return "That code was not accepted. Enter a fresh code from your authenticator app."
    return None


@router.post("/api/passkeys/options")
async def registration_options(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    """Step 1 of adding a passkey; needs ``X-Step-Up-Code``. The challenge is bound to this session."""
    problem = await _step_up(request, principal)
    if problem:
        await _audit(request, "passkey.register", "fail", "step_up_failed", sid=principal.session_id)
        return JSONResponse({"error": "step_up_required", "message": problem}, status_code=403)
    c = console(request)
    try:
        async with c.db.transaction() as s:
            body = await c.passkeys.registration_options(s, principal.session_id, c.now())
    except PasskeyInputError as exc:
        return JSONResponse({"error": "bad_request", "message": str(exc)}, status_code=400)
    return JSONResponse(body)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@router.post("/api/passkeys")
async def register(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    """Step 2: ``{"challenge_id", "name", "credential"}`` (the browser's answer, as JSON text)."""
    c = console(request)
    body = await _json_body(request)
    credential, cid, name = body.get("credential"), body.get("challenge_id"), body.get("name")
    if not all(isinstance(v, str) for v in (credential, cid, name)) or len(str(credential)) > MAX_CREDENTIAL:
        return JSONResponse({"error": "bad_request"}, status_code=400)
    try:
        clean_name(str(name))
        async with c.db.transaction() as s:
            taken = await c.passkeys.take(s, str(cid), "register", c.now(), session_id=principal.session_id)
        async with c.db.transaction() as s:
            view = await c.passkeys.register(
                s, challenge=taken, credential=str(credential), name=str(name), now=c.now()
            )
    except PasskeyInputError as exc:
        return JSONResponse({"error": "bad_request", "message": str(exc)}, status_code=400)
    except PasskeyRejected as exc:
        await _audit(request, "passkey.register", "fail", exc.reason, sid=principal.session_id)
        return JSONResponse({"error": "passkey_rejected"}, status_code=400)
    await _audit(request, "passkey.register", "ok", None, sid=principal.session_id, passkey=view.id)
    return JSONResponse(_json_view(view), status_code=201)


async def _manage(request: Request, principal: Principal, pid: str, action: str) -> Response:
    c = console(request)
    form = await request.form() if is_form(request) else {}
    problem = await _step_up(request, principal)
    if problem:
        await _audit(request, f"passkey.{action}", "fail", "step_up_failed", sid=principal.session_id, passkey=pid)
        return await _page(request, principal, error=problem, status=403)
    name, enabled = form.get("name"), form.get("enabled")
    try:
        async with c.db.transaction() as s:
            if action == "rename":
                await c.passkeys.rename(s, pid, name if isinstance(name, str) else "")
            elif action == "login":
                await c.passkeys.set_login(s, pid, enabled == "on")
            else:
                await c.passkeys.revoke(s, pid, c.now())
    except PasskeyInputError as exc:
        await _audit(request, f"passkey.{action}", "fail", str(exc)[:64], sid=principal.session_id, passkey=pid)
        return await _page(request, principal, error=f"Not changed: {exc}.", status=400)
    extra = {"use_for_login": enabled == "on"} if action == "login" else {}
    await _audit(request, f"passkey.{action}", "ok", None, sid=principal.session_id, passkey=pid, **extra)
    return RedirectResponse("/passkeys", status_code=303)


@router.post("/passkeys/{pid}/rename")
async def rename(request: Request, pid: str, principal: CurrentPrincipal) -> Response:
    return await _manage(request, principal, pid, "rename")


@router.post("/passkeys/{pid}/revoke")
async def revoke(request: Request, pid: str, principal: CurrentPrincipal) -> Response:
    return await _manage(request, principal, pid, "revoke")


@router.post("/passkeys/{pid}/login")
async def login_use(request: Request, pid: str, principal: CurrentPrincipal) -> Response:
    return await _manage(request, principal, pid, "login")


@router.post("/auth/passkey-options")
async def login_options(request: Request) -> JSONResponse:
    """Public (rate-limited with the other /auth/ routes): a login challenge, when the owner chose
    to let a passkey replace the authenticator code."""
    c = console(request)
    async with c.db.transaction() as s:
        if not await c.passkeys.any_for_login(s):
            raise NotFound("no passkey may be used to log in")
        body = await c.passkeys.login_options(s, c.now())
    return JSONResponse(body)


@router.post("/approvals/{aid}/passkey-options")
async def approval_options(request: Request, aid: str, principal: CurrentPrincipal) -> JSONResponse:
    """A challenge for approving this approval only: it carries the approval id and its arguments' hash."""
    agent = getattr(request.app.state, "agent", None)
    found = agent.approvals.get(aid) if isinstance(agent, AgentServices) and len(aid) <= 64 else None
    pending = await found if found is not None else None
    if pending is None:
        raise NotFound("no such approval")
    c = console(request)
    try:
        async with c.db.transaction() as s:
            body = await c.passkeys.approval_options(
                s, session_id=principal.session_id, approval_id=aid, args_hash=pending.args_hash, now=c.now()
            )
    except PasskeyInputError as exc:
        return JSONResponse({"error": "bad_request", "message": str(exc)}, status_code=400)
    return JSONResponse(body)


async def passkey_step_up(
    request: Request, principal: Principal, pending: PendingApproval, challenge_id: str, credential: str
) -> str | None:
    """Verify a passkey assertion as the step-up for ``pending``; None when accepted, else the
    reason (already audited as ``auth.step_up``)."""
    c = console(request)
    reason: str | None = None
    passkey: str | None = None
    try:
        async with c.db.transaction() as s:
            taken = await c.passkeys.take(s, challenge_id, "approval", c.now(), session_id=principal.session_id)
        async with c.db.transaction() as s:
            view = await c.passkeys.verify_approval(
                s,
                challenge=taken,
                approval_id=pending.approval_id,
                args_hash=pending.args_hash,
                credential=credential[:MAX_CREDENTIAL],
                now=c.now(),
            )
            passkey = view.id
    except PasskeyRejected as exc:
        reason = exc.reason
    await _audit(
        request,
        "auth.step_up",
        "fail" if reason else "ok",
        reason,
        sid=principal.session_id,
        method="passkey",
        approval=pending.approval_id,
        passkey=passkey,
    )
    return reason
