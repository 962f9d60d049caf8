"""Integrations: status, health check, sync now and disconnect, for every installed integration
(connecting is in :mod:`web.routes.connect`, by the kind the manifest declares).

Every action is a form post (CSRF-checked by the guard) followed by a redirect back to the page
with a fixed notice code, never with text from the request. Disconnect is high-risk and needs a
fresh authenticator code (step-up).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from integrations import Manifest
from web.auditing import ADMIN
from web.data import console_data
from web.errors import ConsoleError, NotFound, StepUpRequired, TooManyAttempts
from web.guard import CurrentPrincipal, Principal, require_step_up
from web.state import console
from web.vault import VaultError

router = APIRouter()
SNAPSHOT_ID = re.compile(r"[a-z0-9_]{2,32}-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}")

NOTICES = {
    "sync_ok": ("ok", "Sync finished."),
    "sync_failed": ("error", "Sync failed: see the integration's status below."),
    "sync_not_connected": ("error", "Nothing was synced: this integration is not connected yet. Connect it first."),
    "health_ok": ("ok", "Health check passed: the server answered."),
    "health_failed": ("error", "Health check failed: the server did not answer; it is being restarted."),
    "connected": ("ok", "Connected."),
    "connect_failed": ("error", "Connecting failed: see the integration's status below."),
    "token_malformed": ("error", "That does not look like a token for this service; nothing was stored."),
    "oauth_connected": ("ok", "Connected: the token is stored in the secrets vault."),
    "oauth_denied": ("error", "Consent was not given; nothing was stored."),
    "oauth_failed": ("error", "Connecting failed; nothing was stored."),
    "oauth_unconfigured": ("error", "OAuth is not configured on this console: see the steps under Connect."),
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


def integration(request: Request, name: str) -> Manifest:
    found = console_data(request).integration(name)
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
    statuses = [await data.status(i) for i in data.catalog]
    notice = NOTICES.get(request.query_params.get("notice", ""))
    ctx = {
        "statuses": statuses,
        "notice": notice,
        "health": data.health,
        "sandbox": data.sandbox,
        "oauth_ready": dict.fromkeys(data.oauth_providers(), data.vault is not None),
        "server_callback": data.server_oauth.redirect_uri if data.server_oauth else None,
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "integrations",
    }
    return c.templates.TemplateResponse(request, "integrations.html", ctx)


@router.post("/integrations/{name}/health")
async def health_check(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = integration(request, name), console_data(request)
    if data.tools is None:
        return back("agent_unavailable", name)
    ok = await data.tools.host.health_check(manifest.server)
    data.health[name] = (data.now(), ok)
    data.forget(name)
    await audit(request, principal, "integration.health", "ok" if ok else "fail", resource=f"integration:{name}")
    return back("health_ok" if ok else "health_failed", name)


@router.post("/integrations/{name}/sync")
async def sync_now(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = integration(request, name), console_data(request)
    if data.tools is None:
        return back("agent_unavailable", name)
    state = await data.status(manifest)
    if not (state.connected or state.needs_reauth):
        await audit(
            request, principal, "integration.sync", "fail", resource=f"integration:{name}", reason="not_connected"
        )
        return back("sync_not_connected", name)
    result = await data.sync_now(manifest)
    await audit(request, principal, "integration.sync", "ok" if result.ok else "fail", resource=f"integration:{name}")
    return back("sync_ok" if result.ok else "sync_failed", name)


@router.post("/integrations/{name}/disconnect")
async def disconnect(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    """Purge the integration's stored credentials (every version destroyed). High-risk: step-up."""
    manifest, data = integration(request, name), console_data(request)
    try:
        await require_step_up(request, principal)
    except (StepUpRequired, TooManyAttempts):
        return back("step_up_failed", name)
    if data.vault is None:
        return back("vault_unavailable", name)
    revoked = await _revoke_at_vendor(request, principal, manifest)
    if revoked is None:
        return back("revoke_failed", name)  # the credential is kept, so a retry can still revoke it
    purged: list[str] = []
    try:
        for name_ in [m.name for m in await data.vault.list() if m.resource == manifest.resource]:
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


async def _revoke_at_vendor(request: Request, principal: Principal, manifest: Manifest) -> list[str] | None:
    """Revoke at the vendor with the manifest's disconnect tool (before the vault purge); the ids
    revoked ([] when there is nothing to revoke), None on failure."""
    tool, data, name = manifest.connect.disconnect_tool, console_data(request), manifest.name
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


@router.get("/integrations/{name}/snapshots/{snapshot_id}")
async def snapshot_page(request: Request, name: str, snapshot_id: str, principal: CurrentPrincipal) -> Response:
    """The encrypted screenshot and HTML of the page a browser sync stopped at: the picture shown as
    an image, the HTML only as escaped text (never rendered, it is the site's markup)."""
    manifest, c, data = integration(request, name), console(request), console_data(request)
    tool = manifest.connect.snapshot_tool
    if tool is None or data.tools is None or not SNAPSHOT_ID.fullmatch(snapshot_id):
        raise NotFound("no such snapshot")
    result = await data.tools.console_only(tool, {"snapshot_id": snapshot_id})
    await audit(
        request, principal, "integration.snapshot", "ok" if result.ok else "fail", resource=f"integration:{name}"
    )
    doc = result.content if result.ok and isinstance(result.content, dict) else None
    if doc is None:
        raise NotFound("no such snapshot")
    png = str(doc.get("png") or "")
    ctx = {
        "integration": manifest,
        "reason": str(doc.get("reason") or "").replace("_", " "),
        "created_at": str(doc.get("created_at") or ""),
        "png": png if re.fullmatch(r"[A-Za-z0-9+/=]{0,20000000}", png) else "",
        "html": str(doc.get("html") or "")[:200_000],
        "nav": "integrations",
    }
    return c.templates.TemplateResponse(request, "integration_snapshot.html", ctx)
