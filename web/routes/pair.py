"""Pairing a device-linked integration (``connect.kind: qr``): its QR code or pairing code on a
console page behind the owner's login, redrawn as the vendor rotates it.

The manifest's ``pair_tool`` (console only) answers ``{state, connected, headline, detail, qr, code,
problem, retry_in_seconds}``; the console draws ``qr`` server side with segno (a ``data:`` image,
allowed by the CSP) and ``/static/pair.js`` fetches the state fragment again every few seconds
(the page works without it: the Refresh link). Every state shows as words, including "the server
does not answer": never silence. Opening the page and asking for a pairing code are audited; the
polls are not (they repeat what the page showed). The QR string is never logged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from integrations import Manifest
from web.data import console_data
from web.errors import NotFound
from web.guard import CurrentPrincipal
from web.routes.integrations import audit, integration
from web.state import console

router = APIRouter()
MAX_QR = 1024
OK_STATES = frozenset({"connected"})
WAITING_STATES = frozenset({"starting", "pairing", "authenticated", "reconnecting"})
NOTICES = {
    "code_failed": (
        "error",
        "No pairing code: the phone number must be 6-15 digits, country code first, and "
        "the bridge must be showing a QR code.",
    ),
    "code_ok": ("ok", "Enter the code below on your phone."),
}


class PairState(BaseModel):
    """What the pair tool said, bounded; anything malformed becomes an "unavailable" state."""

    model_config = ConfigDict(extra="ignore")

    state: str = Field(max_length=40)
    connected: bool = False
    headline: str = Field(max_length=200)
    detail: str = Field(default="", max_length=400)
    qr: str | None = Field(default=None, max_length=MAX_QR)
    code: str | None = Field(default=None, max_length=32)
    problem: str | None = Field(default=None, max_length=300)
    retry_in_seconds: int | None = None

    @property
    def tone(self) -> str:
        return "ok" if self.state in OK_STATES else "warn" if self.state in WAITING_STATES else "error"

    def qr_src(self) -> str | None:
        if not self.qr:
            return None
        return str(segno.make(self.qr, error="l").svg_data_uri(scale=5, border=4, dark="#000", light="#fff"))


def unavailable(detail: str) -> PairState:
    return PairState(state="unavailable", headline="Its server does not answer", detail=detail[:400])


def _manifest(request: Request, name: str) -> Manifest:
    manifest = integration(request, name)
    if manifest.connect.kind != "qr" or manifest.connect.pair_tool is None:
        raise NotFound("this integration does not pair with a QR code")
    return manifest


async def pair_state(request: Request, manifest: Manifest) -> PairState:
    data = console_data(request)
    if data.tools is None:
        return unavailable("The agent is not running in this console.")
    assert manifest.connect.pair_tool is not None
    result = await data.tools.console_only(manifest.connect.pair_tool)
    if not result.ok or not isinstance(result.content, dict):
        return unavailable(str(result.error or "no answer"))
    try:
        found = PairState.model_validate(result.content)
    except ValidationError:
        return unavailable("It answered something this page cannot show.")
    if found.connected:
        data.problems[manifest.name] = None
    data.agree(manifest.name, found.connected)
    return found


def _render(request: Request, template: str, manifest: Manifest, state: PairState, **extra: object) -> Response:
    ctx = {
        "integration": manifest,
        "p": state,
        "qr_src": state.qr_src(),
        "checked": datetime.now(tz=UTC),
        "nav": "integrations",
        **extra,
    }
    return console(request).templates.TemplateResponse(
        request, template, ctx, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.get("/integrations/{name}/pair")
async def pair_page(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, c = _manifest(request, name), console(request)
    state = await pair_state(request, manifest)
    await audit(request, principal, "integration.pair_view", "ok", resource=f"integration:{name}", state=state.state)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return _render(request, "pair.html", manifest, state, csrf=c.keys.csrf_token(principal.session_id), notice=notice)


@router.get("/integrations/{name}/pair/state")
async def pair_fragment(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest = _manifest(request, name)
    return _render(request, "pair_state.html", manifest, await pair_state(request, manifest))


@router.post("/integrations/{name}/pair/code")
async def pair_code(request: Request, name: str, principal: CurrentPrincipal) -> Response:
    manifest, data = _manifest(request, name), console_data(request)
    tool = manifest.connect.pair_code_tool
    if tool is None:
        raise NotFound("this integration has no pairing code")
    value = (await request.form()).get("phone_number")
    digits = re.sub(r"[\s+()-]", "", value) if isinstance(value, str) else ""
    ok = False
    if re.fullmatch(r"[0-9]{6,15}", digits) and data.tools is not None:
        ok = (await data.tools.console_only(tool, {"phone_number": digits})).ok
    await audit(request, principal, "integration.pair_code", "ok" if ok else "fail", resource=f"integration:{name}")
    notice = "code_ok" if ok else "code_failed"
    return RedirectResponse(f"/integrations/{name}/pair?notice={notice}", status_code=303)
