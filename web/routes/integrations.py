"""Integrations: status, health check, sync now, connect (Google OAuth, Plaid) and disconnect.

Every action is a form post (CSRF-checked by the guard) followed by a redirect back to the page
with a fixed notice code, never with text from the request. Disconnect is high-risk and needs a
fresh authenticator code (step-up).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from web.auditing import ADMIN
from web.data import INTEGRATIONS, PLAID, Integration, console_data
from web.errors import ConsoleError, NotFound, StepUpRequired, TooManyAttempts
from web.guard import CurrentPrincipal, Principal, require_step_up
from web.oauth import OAuthError
from web.security import widen_csp
from web.state import console
from web.vault import VaultError

router = APIRouter()

NOTICES = {
    "sync_ok": ("ok", "Sync finished."),
    "sync_failed": ("error", "Sync failed: see the integration's status below."),
    "health_ok": ("ok", "Health check passed: the server answered."),
    "health_failed": ("error", "Health check failed: the server did not answer; it is being restarted."),
    "connected": ("ok", "Connected."),
    "connect_failed": ("error", "Connecting failed: see the integration's status below."),
    "google_connected": ("ok", "Gmail connected: the token is stored in the secrets vault."),
    "google_denied": ("error", "Google consent was not given; nothing was stored."),
    "google_failed": ("error", "Connecting Gmail failed; nothing was stored."),
    "google_unconfigured": ("error", "Google OAuth is not configured on this console (client id and secret)."),
    "disconnected": ("ok", "Disconnected: access was revoked at the provider and the stored credential purged."),
    "revoke_failed": ("error", "The provider did not confirm the revocation; nothing was purged. Try again."),
    "nothing_stored": ("ok", "There was no stored credential to purge."),
    "vault_unavailable": ("error", "The secrets vault is not available to this console."),
    "step_up_failed": ("error", "That authenticator code was not accepted; nothing was changed."),
    "agent_unavailable": ("error", "The agent is not running in this console, so integrations cannot be used."),
}


class NotConfigured(ConsoleError):
    status = 409
    code = "not_configured"


def _integration(name: str) -> Integration:
    found = INTEGRATIONS.get(name)
    if found is None:
        raise NotFound("no such integration")
    return found


def back(notice: str, name: str | None = None) -> RedirectResponse:
    suffix = f"&i={name}" if name else ""
    return RedirectResponse(f"/integrations?notice={notice}{suffix}#{name or 'top'}", status_code=303)


async def audit(request: Request, principal: Principal, action: str, result: str, **details: Any) -> None:
    c = console(request)
    async with c.db.transaction() as s:
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action=action,
            result=result,
            resource=details.pop("resource", None),
            reason=details.pop("reason", None),
            details={"sid": principal.session_id, **details},
        )


@router.get("/integrations")
async def integrations_page(request: Request, principal: CurrentPrincipal) -> Response:
    c, data = console(request), console_data(request)
    statuses = [await data.status(i) for i in INTEGRATIONS.values()]
    notice = NOTICES.get(request.query_params.get("notice", ""))
    ctx = {
        "statuses": statuses,
        "notice": notice,
        "health": data.health,
        "sandbox": data.sandbox,
        "google_ready": data.google is not None and data.vault is not None,
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "integrations",
    }
    return c.templates.TemplateResponse(request, "integrations.html", ctx)


@router.post("/integrations/{name}/health")
async def health_check(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    integration, data = _integration(name), console_data(request)
    if data.tools is None:
        return back("agent_unavailable", name)
    ok = await data.tools.host.health_check(integration.server)
    data.health[name] = (data.now(), ok)
    data.forget(name)
    await audit(request, principal, "integration.health", "ok" if ok else "fail", resource=f"integration:{name}")
    return back("health_ok" if ok else "health_failed", name)


@router.post("/integrations/{name}/sync")
async def sync_now(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    integration, data = _integration(name), console_data(request)
    if data.tools is None:
        return back("agent_unavailable", name)
    result = await data.sync_now(integration)
    await audit(request, principal, "integration.sync", "ok" if result.ok else "fail", resource=f"integration:{name}")
    return back("sync_ok" if result.ok else "sync_failed", name)


@router.post("/integrations/{name}/disconnect")
async def disconnect(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    """Purge the integration's stored credentials (every version destroyed). High-risk: step-up."""
    integration, data = _integration(name), console_data(request)
    try:
        await require_step_up(request, principal)
    except (StepUpRequired, TooManyAttempts):
        return back("step_up_failed", name)
    if data.vault is None:
        return back("vault_unavailable", name)
    revoked = await _revoke_at_vendor(request, principal, name)
    if revoked is None:
        return back("revoke_failed", name)  # the credential is kept, so a retry can still revoke it
    purged: list[str] = []
    try:
        for name_ in [m.name for m in await data.vault.list() if m.resource == integration.resource]:
            if await data.vault.purge(name_):  # one at a time: each purge is its own audited call
                purged.append(name_)  # noqa: PERF401
    except VaultError as exc:
        await audit(
            request, principal, "integration.disconnect", "fail", resource=f"integration:{name}", reason=exc.code
        )
        return back("vault_unavailable", name)
    data.forget(name)
    await audit(
        request,
        principal,
        "integration.disconnect",
        "ok",
        resource=f"integration:{name}",
        purged=purged,
        revoked=revoked,
    )
    return back("disconnected" if revoked or purged else "nothing_stored", name)


# The console-only tool that revokes an integration's grant at its vendor before the vault purge.
VENDOR_REVOKE = {"gmail": "gmail.disconnect", "plaid": "plaid.disconnect"}


async def _revoke_at_vendor(request: Request, principal: Principal, name: str) -> list[str] | None:
    """Revoke at the vendor; the ids revoked ([] when there is nothing to revoke), None on failure."""
    tool, data = VENDOR_REVOKE.get(name), console_data(request)
    if tool is None or data.tools is None:
        return []
    result = await data.tools.console_only(tool)
    ok = result.ok and isinstance(result.content, dict)
    await audit(request, principal, "integration.revoke", "ok" if ok else "fail", resource=f"tool:{tool}")
    if not ok:
        data.problems[name] = f"revoking at the vendor failed: {result.error}"
        return None
    assert isinstance(result.content, dict)
    return [str(i) for i in result.content.get("removed", [])]


# ---- Google (Gmail) ----------------------------------------------------------------------------


@router.post("/integrations/google/start")
async def google_start(request: Request, principal: CurrentPrincipal) -> Response:
    data = console_data(request)
    if data.google is None or data.vault is None:
        return back("google_unconfigured", "gmail")
    url = data.google.begin(principal.session_id)
    await audit(request, principal, "integration.connect_start", "ok", resource="integration:gmail")
    # A link, not a redirect: CSP form-action 'self' (rightly) stops a form post from ending off-site.
    c = console(request)
    ctx = {"url": url, "csrf": c.keys.csrf_token(principal.session_id), "nav": "integrations"}
    return c.templates.TemplateResponse(request, "oauth_continue.html", ctx)


@router.get("/integrations/google/callback")
async def google_callback(request: Request, principal: CurrentPrincipal) -> Response:
    """Reached from /static/oauth-return.html (same-site, so the session cookies come along)."""
    data, q = console_data(request), request.query_params
    if data.google is None or data.vault is None:
        return back("google_unconfigured", "gmail")
    state, code, error = q.get("state", ""), q.get("code", ""), q.get("error")
    if error or not code:
        if state:
            data.google.discard(state)
        await audit(request, principal, "integration.connect", "fail", resource="integration:gmail", reason="denied")
        return back("google_denied", "gmail")
    try:
        token = await data.google.finish(state=state, code=code, session_id=principal.session_id)
        meta = await data.vault.put("gmail-oauth", token, kind="oauth-token", resource="mcp:gmail")
    except (OAuthError, VaultError) as exc:
        await audit(request, principal, "integration.connect", "fail", resource="integration:gmail", reason=exc.code)
        return back("google_failed", "gmail")
    data.forget("gmail")
    await audit(request, principal, "integration.connect", "ok", resource="integration:gmail", version=meta.version)
    return back("google_connected", "gmail")


# ---- Plaid ------------------------------------------------------------------------------------


@router.post("/integrations/plaid/sandbox")
async def plaid_sandbox(request: Request, principal: CurrentPrincipal) -> Response:
    data = console_data(request)
    if data.tools is None or not data.sandbox:
        return back("agent_unavailable", "plaid")
    result = await data.tools.console_only("plaid.sandbox_connect")
    if result.ok:
        await data.sync_now(PLAID)  # fill the store, so the home page has figures at once
    data.forget("plaid")
    data.problems["plaid"] = None if result.ok else f"connecting failed: {result.error}"
    await audit(request, principal, "integration.connect", "ok" if result.ok else "fail", resource="integration:plaid")
    return back("connected" if result.ok else "connect_failed", "plaid")


PLAID_LINK_SCRIPT = "https://cdn.plaid.com/link/v2/stable/link-initialize.js"


@router.get("/integrations/plaid/link")
async def plaid_link_page(request: Request, principal: CurrentPrincipal) -> Response:
    """Plaid Link, Plaid's own widget: only this page lets in its script (which must come from Plaid's
    CDN) and its frame; the bank login happens inside that frame and never touches Aegis."""
    c = console(request)
    widen_csp(request.scope, "script-src", PLAID_LINK_SCRIPT)
    widen_csp(request.scope, "frame-src", "https://cdn.plaid.com/")
    widen_csp(request.scope, "connect-src", "https://production.plaid.com/", "https://sandbox.plaid.com/")
    ctx = {
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "integrations",
        "sandbox": console_data(request).sandbox,
        "ready": console_data(request).tools is not None,
        "script": PLAID_LINK_SCRIPT,
    }
    return c.templates.TemplateResponse(request, "plaid_link.html", ctx)


async def _console_only(request: Request, principal: Principal, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    data = console_data(request)
    if data.tools is None:
        raise NotConfigured("the agent is not running")
    result = await data.tools.console_only(tool, args)
    await audit(request, principal, "integration.link", "ok" if result.ok else "fail", resource=f"tool:{tool}")
    if not result.ok or not isinstance(result.content, dict):
        raise NotConfigured("plaid refused")
    data.forget("plaid")
    return result.content


@router.post("/api/integrations/plaid/link-token")
async def plaid_link_token(request: Request, principal: CurrentPrincipal) -> JSONResponse:
    """For a Plaid Link client: a short-lived link token (the widget needs it; it is not a credential)."""
    out = await _console_only(request, principal, "plaid.create_link_token", {})
    keep = ("link_token", "expiration", "hosted_link_url")
    return JSONResponse({k: out.get(k) for k in keep}, headers={"Cache-Control": "no-store"})


class PublicToken(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    public_token: str = Field(min_length=8, max_length=128, pattern=r"^public-[a-z]+-[A-Za-z0-9-]+$")


@router.post("/api/integrations/plaid/exchange")
async def plaid_exchange(request: Request, body: PublicToken, principal: CurrentPrincipal) -> JSONResponse:
    """Plaid Link's onSuccess posts the public token here; the access token never leaves the server."""
    out = await _console_only(request, principal, "plaid.exchange_public_token", {"public_token": body.public_token})
    return JSONResponse({k: out.get(k) for k in ("item_id", "institution_id", "accounts")})
