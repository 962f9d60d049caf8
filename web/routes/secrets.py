"""Secrets: metadata only (name, type, resource, version, last updated), add and rotate.

A value goes one way: from the form to the broker. It is never put in a response, a log line, an
audit row or an error message (the vault's errors are fixed texts), and the form fields are
password inputs the browser does not autofill or remember. Writing a secret is high-risk: it needs
a fresh authenticator code (step-up), checked before the value is sent anywhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from web.auditing import ADMIN
from web.data import console_data
from web.errors import StepUpRequired, TooManyAttempts
from web.guard import CurrentPrincipal, Principal, require_step_up
from web.state import console
from web.vault import MESSAGES, TYPES, VaultError

router = APIRouter()

NOTICES: dict[str, tuple[str, str]] = {
    "added": ("ok", "Secret stored. Its value is not shown again."),
    "rotated": ("ok", "New version stored. The value is not shown again."),
    "step_up_failed": ("error", "That authenticator code was not accepted; nothing was stored."),
    "missing": ("error", "Fill in every field."),
    "unavailable": ("error", "The secrets vault is not available to this console."),
    **{f"vault_{code}": ("error", text) for code, text in MESSAGES.items()},
}


def _back(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/secrets?notice={notice}", status_code=303)


async def _form(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    out: dict[str, str] = {}
    for n in names:
        raw = form.get(n)
        text = raw if isinstance(raw, str) else ""
        out[n] = text if n == "value" else text.strip()  # a value is stored exactly as typed
    return out


async def _audit(request: Request, principal: Principal, action: str, result: str, **details: Any) -> None:
    """Metadata only: the name, type, resource and version. Never the value."""
    c = console(request)
    async with c.db.transaction() as s:
        await c.auditor.record(
            s,
            request,
            actor=ADMIN,
            action=action,
            result=result,
            resource=f"secret:{details.get('name', '')}",
            reason=details.pop("reason", None),
            details={"sid": principal.session_id, **details},
        )


@router.get("/secrets")
async def secrets_page(request: Request, principal: CurrentPrincipal) -> Response:
    c, vault = console(request), console_data(request).vault
    items, problem = [], None
    if vault is not None:
        try:
            items = await vault.list()
        except VaultError as exc:
            problem = exc.message
    ctx = {
        "items": items,
        "problem": problem,
        "vault": vault,
        "types": TYPES,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "secrets",
    }
    return c.templates.TemplateResponse(request, "secrets.html", ctx)


async def _step_up(request: Request, principal: Principal) -> bool:
    try:
        await require_step_up(request, principal)
    except (StepUpRequired, TooManyAttempts):
        return False
    return True


@router.post("/secrets/add")
async def secrets_add(request: Request, principal: CurrentPrincipal) -> Response:
    vault = console_data(request).vault
    f = await _form(request, "name", "type", "resource", "value")
    if not await _step_up(request, principal):
        return _back("step_up_failed")
    if vault is None:
        return _back("unavailable")
    if not all(f.values()):
        return _back("missing")
    try:
        meta = await vault.add(f["name"], f["value"], kind=f["type"], resource=f["resource"])
    except VaultError as exc:
        await _audit(request, principal, "secret.add", "fail", name=f["name"][:128], reason=exc.code)
        return _back(f"vault_{exc.code}" if exc.code in MESSAGES else "unavailable")
    await _audit(
        request, principal, "secret.add", "ok", name=meta.name, type=meta.type, bound_to=meta.resource, version=1
    )
    return _back("added")


@router.post("/secrets/rotate")
async def secrets_rotate(request: Request, principal: CurrentPrincipal) -> Response:
    vault = console_data(request).vault
    f = await _form(request, "name", "value")
    if not await _step_up(request, principal):
        return _back("step_up_failed")
    if vault is None:
        return _back("unavailable")
    if not all(f.values()):
        return _back("missing")
    try:
        meta = await vault.rotate(f["name"], f["value"])
    except VaultError as exc:
        await _audit(request, principal, "secret.rotate", "fail", name=f["name"][:128], reason=exc.code)
        return _back(f"vault_{exc.code}" if exc.code in MESSAGES else "unavailable")
    await _audit(request, principal, "secret.rotate", "ok", name=meta.name, version=meta.version)
    return _back("rotated")
