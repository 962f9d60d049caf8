"""Login, refresh and logout, for browsers (form + cookies) and API clients (JSON + bearer)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from storage.audit import Sensitive
from web.auditing import ADMIN, ANONYMOUS, client_ip
from web.auth.account import Decision
from web.auth.passkeys import PasskeyRejected
from web.auth.sessions import IssuedTokens
from web.cookies import clear_session_cookies, set_session_cookies
from web.errors import CsrfRejected, InvalidCredentials, NotAuthenticated, TooManyAttempts
from web.guard import CurrentPrincipal, cookie_names, is_form
from web.state import Console, console

router = APIRouter()


async def _credentials(request: Request) -> dict[str, str]:
    if is_form(request):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body: Any = await request.json()
    except ValueError:
        return {}
    return {k: v for k, v in body.items() if isinstance(v, str)} if isinstance(body, dict) else {}


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this console only (never ``//host``, a scheme, or
    the login routes), so a link cannot turn the login page into an open redirect."""
    if not value or len(value) > 512 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\\\r\n\t") or value.startswith(("/login", "/auth/")):
        return "/"
    return value


@router.get("/login")
async def login_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    return console(request).templates.TemplateResponse(request, "login.html", {"error": None, "next": target})


@router.post("/auth/login")
async def login(request: Request) -> Response:
    c = console(request)
    form = is_form(request)
    fields = await _credentials(request)
    email, passphrase, code = fields.get("email", ""), fields.get("passphrase", ""), fields.get("code", "")
    now = c.now()
    async with c.db.transaction() as s:
        pre = await c.account.precheck(
            s, email[:320], passphrase[:1024], code[:64], now, address=client_ip(request) or "unknown"
        )
    passkey_reason: str | None = None
    if not code and fields.get("passkey_credential") and not pre.locked_for:
        passkey_reason = await _passkey_factor(c, fields, now)
        if passkey_reason is None:
            pre = replace(pre, code_kind="passkey")
    tokens: IssuedTokens | None = None
    async with c.db.transaction() as s:
        decision = await c.account.settle(s, pre, now, address=client_ip(request) or "unknown")
        if decision.ok:
            tokens = await c.sessions.create(
                s, ip=client_ip(request), user_agent=request.headers.get("user-agent"), now=now
            )
        await _audit_login(c, s, request, decision, email, tokens, passkey_reason)
    if tokens is None:
        return _login_failed(request, c, decision, form, safe_next(fields.get("next")), email[:320])
    if not form:
        return JSONResponse(tokens.body())
    response = RedirectResponse(safe_next(fields.get("next")), status_code=303)
    set_session_cookies(response, cookie_names(c), tokens, secure=c.config.secure_cookies)
    return response


async def _passkey_factor(c: Console, fields: dict[str, str], now: float) -> str | None:
    """A passkey in place of the authenticator code: None when accepted, else why not. The
    challenge is spent first, in its own transaction, whatever the outcome."""
    try:
        async with c.db.transaction() as s:
            taken = await c.passkeys.take(s, fields.get("passkey_challenge", ""), "login", now)
        async with c.db.transaction() as s:
            await c.passkeys.verify_login(s, challenge=taken, credential=fields["passkey_credential"][:16_384], now=now)
    except PasskeyRejected as exc:
        return exc.reason
    return None


async def _audit_login(
    c: Console,
    s: Any,
    request: Request,
    d: Decision,
    email: str,
    tokens: IssuedTokens | None,
    passkey_reason: str | None = None,
) -> None:
    details: dict[str, Any] = {"failures": d.failures}
    if passkey_reason:
        details["passkey"] = passkey_reason
    if tokens is not None:
        details["sid"] = tokens.session_id
    if d.reason == "unknown_email" and email:
        details["email"] = Sensitive(email.strip().lower())  # a keyed hash, never the typed address
    result = "ok" if d.ok else ("denied" if d.locked and d.reason in {"locked", "backoff"} else "fail")
    await c.auditor.record(
        s,
        request,
        actor=ADMIN if d.ok else ANONYMOUS,
        action="auth.login",
        result=result,
        reason=d.reason,
        details=details,
    )
    if not d.ok and d.reason not in {"locked", "backoff"} and d.failures >= c.config.lockout_after:
        await c.auditor.record(
            s,
            request,
            actor=ANONYMOUS,
            action="auth.lockout",
            result="locked",
            reason=f"{d.failures} failed attempts",
            details={"seconds": d.retry_after, "scope": "address"},
        )
    if not d.ok and d.account_locked:
        await c.auditor.record(
            s,
            request,
            actor=ANONYMOUS,
            action="auth.lockout",
            result="locked",
            reason="failed attempts from all addresses",
            details={"seconds": c.config.global_lockout_seconds, "scope": "account"},
        )


def _login_failed(
    request: Request, c: Console, d: Decision, form: bool, target: str = "/", email: str = ""
) -> Response:
    """The form comes back with the email kept (never the passphrase or code)."""
    if d.reason in {"locked", "backoff"}:
        error: Exception = TooManyAttempts(retry_after=d.retry_after)
        message = f"Too many failed attempts. Try again in {d.retry_after} seconds."
        status = 429
    else:
        error, message, status = InvalidCredentials(), "Invalid credentials.", 401
    if not form:
        raise error
    headers = {"Retry-After": str(d.retry_after)} if status == 429 else None
    context = {"error": message, "next": target, "email": email}
    return c.templates.TemplateResponse(request, "login.html", context, status_code=status, headers=headers)


@router.post("/auth/refresh")
async def refresh(request: Request) -> Response:
    """API clients post ``{"refresh_token": ...}``; browsers send the cookie plus X-CSRF-Token."""
    c = console(request)
    names = cookie_names(c)
    body = {} if is_form(request) else await _credentials(request)
    token = body.get("refresh_token")
    via = "body" if token else "cookie"
    token = token or request.cookies.get(names.refresh, "")
    if not token:
        raise NotAuthenticated("no refresh token")
    now = c.now()
    if via == "cookie":
        async with c.db.transaction() as s:
            sid = await c.sessions.session_of(s, token)
        presented = request.headers.get("x-csrf-token")
        if sid is None or not c.keys.csrf_matches(sid, presented, request.cookies.get(names.csrf)):
            async with c.db.transaction() as s:
                await c.auditor.record(
                    s,
                    request,
                    actor=ANONYMOUS,
                    action="auth.refresh",
                    result="denied",
                    reason="csrf",
                    details={"sid": sid},
                )
            raise CsrfRejected("missing or mismatched CSRF token")
    async with c.db.transaction() as s:
        outcome = await c.sessions.rotate(s, token, now)
        reused = outcome.reason == "reused"
        await c.auditor.record(
            s,
            request,
            actor=ADMIN if outcome.tokens else ANONYMOUS,
            action="auth.refresh_reuse" if reused else "auth.refresh",
            result="ok" if outcome.tokens else ("denied" if reused else "fail"),
            reason=outcome.reason,
            details={"sid": outcome.session_id, "via": via},
        )
    if outcome.tokens is None:
        raise NotAuthenticated(f"refresh refused: {outcome.reason}")
    if via == "body":
        return JSONResponse(outcome.tokens.body())
    response = JSONResponse({"expires_in": outcome.tokens.access_expires_in})
    set_session_cookies(response, names, outcome.tokens, secure=c.config.secure_cookies)
    return response


async def _end(request: Request, principal: CurrentPrincipal, *, everywhere: bool) -> Response:
    c = console(request)
    now = c.now()
    async with c.db.transaction() as s:
        if everywhere:
            count = await c.sessions.revoke_all(s, "logout_all", now)
        else:
            count = int(await c.sessions.revoke(s, principal.session_id, "logout", now))
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action="auth.logout_all" if everywhere else "auth.logout",
            result="ok",
            details={"sid": principal.session_id, "revoked": count},
        )
    response: Response
    response = RedirectResponse("/login", status_code=303) if is_form(request) else JSONResponse({"revoked": count})
    clear_session_cookies(response, cookie_names(c), secure=c.config.secure_cookies)
    return response


@router.post("/auth/logout")
async def logout(request: Request, principal: CurrentPrincipal) -> Response:
    return await _end(request, principal, everywhere=False)


@router.post("/auth/logout-all")
async def logout_all(request: Request, principal: CurrentPrincipal) -> Response:
    return await _end(request, principal, everywhere=True)
