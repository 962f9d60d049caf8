"""The device-token page of a push integration: issue (shown once), list and revoke ingest tokens,
with the exact steps for the owner's phone from the manifest.

Issuing answers with the page itself (``Cache-Control: no-store``), never a redirect carrying the
token; the token is not stored or logged by the console. Every action is audited and CSRF-checked
by the guard.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from broker.client import BrokerClientError
from integrations import Manifest
from web import devices
from web.data import console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal
from web.routes.integrations import audit, integration
from web.state import console

router = APIRouter()

NOTICES = {
    "revoked": ("ok", "Revoked: that device can no longer push."),
    "unknown": ("error", "No such device token for this integration; nothing was changed."),
    "broker": ("error", "The credential broker did not answer; nothing was changed. Try again."),
}


def _push(request: Request, name: str) -> Manifest:
    manifest = integration(request, name)
    if manifest.connect.push is None:
        raise NotFound("this integration takes no pushes from a device")
    return manifest


async def _page(request: Request, principal: CurrentPrincipal, manifest: Manifest, **extra: Any) -> Response:
    c, data = console(request), console_data(request)
    keys: list[devices.DeviceKey] = []
    problem = None
    if data.broker_admin is None:
        problem = "Device tokens need the credential broker's admin access, which this console does not have."
    else:
        try:
            keys = await devices.listing(data.broker_admin, manifest)
        except BrokerClientError:
            problem = "The credential broker did not answer; the device tokens cannot be listed now."
    push = manifest.connect.push
    assert push is not None
    ctx = {
        "integration": manifest,
        "keys": keys,
        "problem": problem,
        "url": f"{str(request.base_url).rstrip('/')}{push.path}",
        "max_mib": push.max_bytes // (1024 * 1024),
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "integrations",
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **extra,
    }
    response = c.templates.TemplateResponse(request, "devices.html", ctx)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/integrations/{name}/devices")
async def devices_page(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    return await _page(request, principal, _push(request, name))


@router.post("/integrations/{name}/devices")
async def issue_token(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = _push(request, name), console_data(request)
    form = await request.form()
    raw = form.get("device")
    device = raw.strip().lower() if isinstance(raw, str) else ""
    resource = f"integration:{name}"
    if data.broker_admin is None:
        return await _page(request, principal, manifest, error="The broker's admin access is not available.")
    try:
        issued = await devices.issue(data.broker_admin, manifest, device)
    except devices.DeviceError as exc:
        await audit(request, principal, "device.issue", "fail", resource=resource, reason="bad_name")
        return await _page(request, principal, manifest, error=str(exc))
    except BrokerClientError as exc:
        await audit(request, principal, "device.issue", "fail", resource=resource, reason=exc.code)
        return await _page(request, principal, manifest, error="The credential broker refused; no token was issued.")
    await audit(request, principal, "device.issue", "ok", resource=resource, device=device, key_id=issued.key_id)
    return await _page(request, principal, manifest, issued=issued)


@router.post("/integrations/{name}/devices/{key_id}/revoke")
async def revoke_token(request: Request, name: str, key_id: str, principal: CurrentPrincipal) -> Response:
    manifest, data = _push(request, name), console_data(request)
    resource = f"integration:{name}"
    notice = "revoked"
    if data.broker_admin is None:
        notice = "broker"
    else:
        try:
            found = await devices.revoke(data.broker_admin, manifest, key_id)
            details = {"device": found.device, "key_id": key_id}
            await audit(request, principal, "device.revoke", "ok", resource=resource, **details)
        except devices.DeviceError:
            notice = "unknown"
        except BrokerClientError:
            notice = "broker"
    if notice != "revoked":
        await audit(request, principal, "device.revoke", "fail", resource=resource, reason=notice, key_id=key_id[:64])
    return RedirectResponse(f"/integrations/{name}/devices?notice={notice}", status_code=303)
