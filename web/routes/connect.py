"""Connecting an integration, by the kind its manifest declares: OAuth (authorization code with
PKCE through a provider the console configures), a vendor's widget on a page of its own, or the
demo profile's one-click sandbox. Every step is audited; credentials go straight into the vault.

A widget page comes from the integration's own folder (``mcp_servers/<name>/console/connect.html``,
its script ``connect.js`` served from ``/integrations/<name>/assets/``), and only that page widens
the Content-Security-Policy, by exactly the sources its manifest lists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from integrations.catalog import SERVERS_DIR
from web.data import console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal, Principal
from web.oauth import OAuthError
from web.routes.integrations import NotConfigured, audit, back, integration
from web.security import widen_csp
from web.state import console
from web.vault import VaultError

router = APIRouter()
ASSET = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}\.(js|css)$")
MEDIA = {"js": "text/javascript", "css": "text/css"}


def _console_dir(name: str) -> Path:
    return SERVERS_DIR / name / "console"


# ---- OAuth -------------------------------------------------------------------------------------


@router.post("/integrations/{name}/oauth/start")
async def oauth_start(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, c, data = integration(request, name), console(request), console_data(request)
    flow = data.oauth_flow(manifest)
    if flow is None or data.vault is None:
        return back("oauth_unconfigured", name)
    try:
        url = await flow.start(principal.session_id, integration=name, scopes=manifest.connect.oauth_scopes)
    except OAuthError as exc:
        resource = f"integration:{name}"
        await audit(request, principal, "integration.connect_start", "fail", resource=resource, reason=exc.code)
        return back("oauth_failed", name)
    await audit(request, principal, "integration.connect_start", "ok", resource=f"integration:{name}")
    # A link, not a redirect: CSP form-action 'self' (rightly) stops a form post from ending off-site.
    flow_name = name if manifest.connect.authorize_tool else (manifest.connect.provider or name)
    at = manifest.title if manifest.connect.authorize_tool else flow_name.capitalize()
    ctx = {"url": url, "host": urlsplit(url).hostname or "", "at": at, "flow": flow_name, "title": manifest.title}
    ctx |= {"csrf": c.keys.csrf_token(principal.session_id), "nav": "integrations"}
    return c.templates.TemplateResponse(request, "oauth_continue.html", ctx)


@router.get("/integrations/oauth/callback")
async def oauth_callback(request: Request, principal: CurrentPrincipal) -> Response:
    """Reached from /static/oauth-return.html (same-site, so the session cookies come along)."""
    data, q = console_data(request), request.query_params
    state, code, error = q.get("state", ""), q.get("code", ""), q.get("error")
    flow = data.oauth_for_state(state)
    if flow is None or data.vault is None:
        return back("oauth_unconfigured")
    if error or not code:
        which = flow.discard(state, principal.session_id) if state else None
        resource = f"integration:{which or 'oauth'}"
        await audit(request, principal, "integration.connect", "fail", resource=resource, reason="denied")
        return back("oauth_denied", which)
    try:
        granted = await flow.finish(state=state, code=code, session_id=principal.session_id)
    except OAuthError as exc:
        resource = f"integration:{exc.integration or 'oauth'}"
        await audit(request, principal, "integration.connect", "fail", resource=resource, reason=exc.code)
        return back("oauth_failed", exc.integration)
    manifest = data.integration(granted.integration)
    if manifest is None or (granted.token is not None and manifest.connect.credential is None):
        return back("oauth_failed")
    name, version = manifest.name, None
    if granted.token is not None and manifest.connect.credential is not None:  # else its server stored it
        try:
            meta = await data.vault.put(
                manifest.connect.credential, granted.token, kind="oauth-token", resource=manifest.resource
            )
        except VaultError as exc:
            resource = f"integration:{name}"
            await audit(request, principal, "integration.connect", "fail", resource=resource, reason=exc.code)
            return back("oauth_failed", name)
        version = meta.version
    data.forget(name)
    data.problems[name] = None
    await audit(request, principal, "integration.connect", "ok", resource=f"integration:{name}", version=version)
    return back("oauth_connected", name)


# ---- a pasted token ----------------------------------------------------------------------------


@router.post("/integrations/{name}/token")
async def token_connect(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    """A personal access token the owner pasted: straight into the vault under the manifest's
    credential name, bound to the integration's resource. It is never shown again."""
    manifest, data = integration(request, name), console_data(request)
    credential = manifest.connect.credential
    if manifest.connect.kind != "token" or credential is None:
        raise NotFound("this integration is not connected with a token")
    if data.vault is None:
        return back("vault_unavailable", name)
    form = await request.form()
    value = form.get("token")
    token = value.strip() if isinstance(value, str) else ""
    pattern = manifest.connect.finish_pattern
    if not token or len(token) > 4096 or (pattern and not re.fullmatch(pattern, token)):
        await audit(request, principal, "integration.connect", "fail", resource=f"integration:{name}", reason="shape")
        return back("token_malformed", name)
    try:
        meta = await data.vault.put(credential, token, kind="api-token", resource=manifest.resource)
    except VaultError as exc:
        await audit(request, principal, "integration.connect", "fail", resource=f"integration:{name}", reason=exc.code)
        return back("vault_unavailable", name)
    data.forget(name)
    data.problems[name] = None
    await audit(request, principal, "integration.connect", "ok", resource=f"integration:{name}", version=meta.version)
    return back("connected", name)


# ---- the demo profile's sandbox ----------------------------------------------------------------


@router.post("/integrations/{name}/sandbox")
async def sandbox_connect(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = integration(request, name), console_data(request)
    tool = manifest.connect.sandbox_tool
    if data.tools is None or not data.sandbox or tool is None:
        return back("agent_unavailable", name)
    result = await data.tools.console_only(tool)
    data.forget(name)
    if result.ok:
        await data.sync_now(manifest)  # fill the store, so the home page has figures at once
    data.problems[name] = None if result.ok else f"connecting failed: {result.error}"
    await audit(
        request, principal, "integration.connect", "ok" if result.ok else "fail", resource=f"integration:{name}"
    )
    return back("connected" if result.ok else "connect_failed", name)


# ---- a vendor's widget ------------------------------------------------------------------------


@router.get("/integrations/{name}/connect")
async def widget_page(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    """The integration's own connect page; its vendor's widget runs there and nowhere else."""
    manifest, c, data = integration(request, name), console(request), console_data(request)
    if manifest.connect.kind != "widget" or not (_console_dir(name) / "connect.html").is_file():
        raise NotFound("this integration has no connect page")
    for directive, sources in manifest.connect.csp.items():
        widen_csp(request.scope, directive, *sources)
    ctx = {
        "csrf": c.keys.csrf_token(principal.session_id),
        "nav": "integrations",
        "sandbox": data.sandbox and manifest.connect.sandbox_tool is not None,
        "ready": data.tools is not None,
        "integration": manifest,
        "sources": manifest.connect.csp,
    }
    return c.templates.TemplateResponse(request, f"{name}/connect.html", ctx)


@router.get("/integrations/{name}/assets/{file}")
async def widget_asset(request: Request, name: str, file: str, principal: CurrentPrincipal) -> Response:
    integration(request, name)
    path = _console_dir(name) / file
    if not ASSET.match(file) or not path.is_file():
        raise NotFound("no such file")
    return FileResponse(path, media_type=MEDIA[file.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"})


class WidgetResult(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    value: str = Field(min_length=1, max_length=512)


async def _console_only(request: Request, principal: Principal, name: str, tool: str, args: dict[str, Any]) -> Any:
    data = console_data(request)
    if data.tools is None:
        raise NotConfigured("the agent is not running")
    result = await data.tools.console_only(tool, args)
    await audit(request, principal, "integration.link", "ok" if result.ok else "fail", resource=f"tool:{tool}")
    if not result.ok or not isinstance(result.content, dict):
        raise NotConfigured(f"{name} refused")
    data.forget(name)
    return result.content


@router.post("/api/integrations/{name}/connect/start")
async def widget_start(request: Request, name: str, principal: CurrentPrincipal) -> JSONResponse:
    """The widget's start data (e.g. a short-lived link token: the widget needs it; not a credential)."""
    manifest = integration(request, name)
    if manifest.connect.kind != "widget" or manifest.connect.start_tool is None:
        raise NotFound("this integration has no widget")
    out = await _console_only(request, principal, name, manifest.connect.start_tool, {})
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


@router.post("/api/integrations/{name}/connect/finish")
async def widget_finish(request: Request, name: str, body: WidgetResult, principal: CurrentPrincipal) -> JSONResponse:
    """The widget's one result (e.g. a public token) goes to the server; the credential it turns into
    never leaves the server."""
    manifest = integration(request, name)
    connect = manifest.connect
    if connect.kind != "widget" or connect.finish_tool is None or connect.finish_field is None:
        raise NotFound("this integration has no widget")
    if connect.finish_pattern and not re.fullmatch(connect.finish_pattern, body.value):
        raise NotConfigured("the widget's result has the wrong shape")
    out = await _console_only(request, principal, name, connect.finish_tool, {connect.finish_field: body.value})
    console_data(request).problems[name] = None
    return JSONResponse({"connected": bool(out)})
