"""Deny by default: every route of the app depends on :func:`guard`, which lets through only the
allowlisted public routes and otherwise demands a valid access token of a live session, checks CSRF
on cookie-authenticated writes, and audits the access before the handler reads anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from web.auditing import ADMIN, ANONYMOUS, client_ip
from web.auth.tokens import AccessClaims, InvalidAccessToken
from web.cookies import CookieNames, clear_session_cookies, set_session_cookies
from web.errors import CsrfRejected, NotAuthenticated, RateLimited, StepUpRequired, TooManyAttempts
from web.security import queue_cookie_headers
from web.state import Console, console

# (method, route path) pairs reachable without a session. /static/* is a mount outside the routes.
# The /setup pages check the one-time setup token themselves (web.setup_gate).
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {("GET", "/health"), ("GET", "/login"), ("POST", "/auth/login"), ("POST", "/auth/refresh")}
    | {("POST", "/auth/passkey-options")}
    | {("GET", "/setup"), ("POST", "/setup/account"), ("POST", "/setup/totp"), ("GET", "/setup/recovery")}
)
UNLIMITED = frozenset({"/health"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class Principal:
    session_id: str
    via: str  # "cookie" or "bearer"
    claims: AccessClaims


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/auth/"))


def is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(FORM_TYPES)


def route_path(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


async def form_field(request: Request, name: str) -> str | None:
    if not is_form(request):
        return None
    value = (await request.form()).get(name)
    return value if isinstance(value, str) else None


def same_origin(request: Request) -> bool:
    """Defence in depth next to the CSRF token. With Referrer-Policy no-referrer, browsers send
    ``Origin: null`` on form posts, so Fetch Metadata (Sec-Fetch-Site) is the stronger signal."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    return origin in (None, "null") or origin == f"{request.url.scheme}://{request.url.netloc}"


def cookie_names(c: Console) -> CookieNames:
    return CookieNames.for_security(c.config.secure_cookies)


async def guard(request: Request) -> Principal | None:
    c = console(request)
    path = route_path(request)
    if path not in UNLIMITED:
        limiter = c.auth_limiter if path.startswith("/auth/") else c.api_limiter
        wait = limiter.check(client_ip(request) or "unknown")
        if wait:
            raise RateLimited(retry_after=wait)
    if (request.method, path) in PUBLIC or (request.method, path) in _declared_public(request):
        return None
    return await _authenticate(request, c)


def _declared_public(request: Request) -> frozenset[tuple[str, str]]:
    """Public entries the app declared at build time from the manifests (a device's ingest route,
    web.push): each checks its own per-device token, never a console session."""
    found = getattr(request.app.state, "public_routes", None)
    return found if isinstance(found, frozenset) else frozenset()


async def _authenticate(request: Request, c: Console) -> Principal:
    names = cookie_names(c)
    header = request.headers.get("authorization")
    via = "bearer" if header is not None else "cookie"
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await _deny(request, c, "malformed_authorization")
        token = token.strip()
    else:
        token = request.cookies.get(names.access, "")
    now = c.now()
    claims: AccessClaims | None = None
    problem = "no_credential"
    if token:
        try:
            claims = c.keys.verify_access(token, now)
        except InvalidAccessToken as exc:
            problem = f"invalid_token:{exc}"
    if claims is None and via == "cookie" and request.method == "GET" and wants_html(request):
        claims = await _refresh_in_place(request, c, names)
    if claims is None:
        if problem == "no_credential":
            raise NotAuthenticated("no credential")  # plain anonymous visit: not worth an audit row
        await _deny(request, c, problem)
    assert claims is not None
    if via == "cookie" and request.method not in SAFE_METHODS:
        await _check_csrf(request, c, names, claims.sid)
    sid = claims.sid
    ok_fields = {
        "actor": ADMIN,
        "action": "access.read" if request.method in SAFE_METHODS else "access.write",
        "result": "ok",
        "details": {"method": request.method, "sid": sid},
    }

    def check(s: Session) -> Mapping[str, Any]:
        found = c.sessions.check_active(s, sid, now)
        if found.refused is not None:
            return _denial(found.refused, sid)
        if found.stale:
            c.sessions.touch(s, sid, now)
        return ok_fields

    # The session check and its audit row go in one group commit, before the handler reads anything;
    # concurrent requests share one commit.
    row = await c.auditor.commit_checked(request, check)
    if row.result != "ok":
        raise NotAuthenticated(row.reason or "denied")
    return Principal(claims.sid, via, claims)


async def _refresh_in_place(request: Request, c: Console, names: CookieNames) -> AccessClaims | None:
    """A browser page load with an expired access cookie but a live refresh cookie: rotate transparently.

    SameSite=Strict keeps the cookie off cross-site navigations, so another site cannot trigger this.
    """
    refresh = request.cookies.get(names.refresh)
    if not refresh:
        return None
    now = c.now()
    async with c.db.transaction() as s:
        outcome = await c.sessions.rotate(s, refresh, now)
        result = "ok" if outcome.tokens else ("denied" if outcome.reason == "reused" else "fail")
        action = "auth.refresh_reuse" if outcome.reason == "reused" else "auth.refresh"
        actor = ADMIN if outcome.tokens else ANONYMOUS
        await c.auditor.record(
            s,
            request,
            actor=actor,
            action=action,
            result=result,
            reason=outcome.reason,
            details={"sid": outcome.session_id, "via": "page"},
        )
    scratch = Response()
    if outcome.tokens is None:
        clear_session_cookies(scratch, names, secure=c.config.secure_cookies)
    else:
        set_session_cookies(scratch, names, outcome.tokens, secure=c.config.secure_cookies)
    queue_cookie_headers(request.scope, [v.decode("latin-1") for k, v in scratch.raw_headers if k == b"set-cookie"])
    if outcome.tokens is None:
        return None
    return c.keys.verify_access(outcome.tokens.access_token, now)


async def _check_csrf(request: Request, c: Console, names: CookieNames, sid: str) -> None:
    presented = request.headers.get("x-csrf-token") or await form_field(request, "csrf_token")
    ok = same_origin(request) and c.keys.csrf_matches(sid, presented, request.cookies.get(names.csrf))
    if not ok:
        async with c.db.transaction() as s:
            await c.auditor.record(
                s,
                request,
                actor=ANONYMOUS,
                action="access.denied",
                result="denied",
                reason="csrf",
                details={"sid": sid},
            )
        raise CsrfRejected("missing or mismatched CSRF token")


def _denial(reason: str, sid: str | None) -> dict[str, Any]:
    return {
        "actor": ANONYMOUS,
        "action": "access.denied",
        "result": "denied",
        "reason": reason[:128],
        "details": {"sid": sid} if sid else None,
    }


async def _deny(request: Request, c: Console, reason: str, *, sid: str | None = None) -> None:
    await c.auditor.commit(request, **_denial(reason, sid))
    raise NotAuthenticated(reason)


async def current_principal(principal: Annotated[Principal | None, Depends(guard)]) -> Principal:
    if principal is None:
        raise NotAuthenticated("this route needs a session")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_step_up(request: Request, principal: CurrentPrincipal) -> Principal:
    """A fresh TOTP code for high-risk actions (export, approvals, key rotation): header
    ``X-Step-Up-Code`` or form field ``step_up_code``. Same replay rule and failure counting as login."""
    c = console(request)
    code = request.headers.get("x-step-up-code") or await form_field(request, "step_up_code") or ""
    now = c.now()
    if not code:
        async with c.db.transaction() as s:
            await c.auditor.record(
                s,
                request,
                actor=ADMIN,
                action="auth.step_up",
                result="fail",
                reason="missing_code",
                details={"sid": principal.session_id},
            )
        raise StepUpRequired("a fresh authenticator code is required")
    async with c.db.transaction() as s:
        pre = await c.account.step_up_precheck(s, code, now, address=client_ip(request) or "unknown")
    async with c.db.transaction() as s:
        decision = await c.account.settle(s, pre, now, step_up=True, address=client_ip(request) or "unknown")
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action="auth.step_up",
            result="ok" if decision.ok else "fail",
            reason=decision.reason,
            details={"sid": principal.session_id},
        )
    if decision.locked:
        raise TooManyAttempts(retry_after=decision.retry_after)
    if not decision.ok:
        raise StepUpRequired("a fresh authenticator code is required")
    return principal


StepUpPrincipal = Annotated[Principal, Depends(require_step_up)]
