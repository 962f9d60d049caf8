"""The first-start setup in the browser: admin email and passphrase, the authenticator, the recovery
codes; then the integrations and the model. Reached only through the link ``aegis up`` prints
(:mod:`web.setup_gate`); once an admin exists these pages send the browser to the login page."""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from web.auth import totp
from web.auth.enrolment import AdminSetup
from web.auth.passwords import WeakPassphrase
from web.setup_gate import SetupGate
from web.state import console

router = APIRouter()

MAX_FIELD = 1024


def _cookie(request: Request) -> str:
    return ("__Host-" if console(request).config.secure_cookies else "") + "aegis_setup"


def _parts(request: Request) -> tuple[SetupGate, AdminSetup] | None:
    found = getattr(request.app.state, "setup", None)
    return found if isinstance(found, tuple) else None


def _page(request: Request, step: str, status: int = 200, **ctx: Any) -> Response:
    parts = _parts(request)
    ctx = {"step": step, "form_key": parts[0].form_key() if parts else "", **ctx}
    return console(request).templates.TemplateResponse(request, "setup.html", ctx, status_code=status)


async def _open_gate(request: Request) -> tuple[SetupGate, AdminSetup] | Response:
    """The gate when this browser holds the token and no admin exists; else the page to show."""
    parts = _parts(request)
    if parts is None:
        return RedirectResponse("/login", status_code=303)
    gate, admin = parts
    if gate.codes is None and (gate.done or await admin.exists()):
        return RedirectResponse("/login", status_code=303)
    if not gate.admits(request.cookies.get(_cookie(request))):
        return _page(request, "locked", status=403)
    return gate, admin


async def _form(request: Request, gate: SetupGate) -> dict[str, str] | None:
    form = await request.form()
    fields = {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}
    return fields if gate.form_ok(fields.get("form_key")) else None


@router.get("/setup")
async def setup_page(request: Request) -> Response:
    parts = _parts(request)
    token = request.query_params.get("token")
    if parts is not None and token is not None:
        gate, admin = parts
        if gate.codes is None and (gate.done or await admin.exists()):
            return RedirectResponse("/login", status_code=303)  # set up already: the link is spent
        if not gate.admits(token):
            return _page(request, "locked", status=403)
        # Move the token out of the address bar at once; the cookie carries it from here on.
        response = RedirectResponse("/setup", status_code=303)
        secure = console(request).config.secure_cookies
        response.set_cookie(_cookie(request), token, path="/", secure=secure, httponly=True, samesite="strict")
        return response
    opened = await _open_gate(request)
    if isinstance(opened, Response):
        return opened
    gate, _admin = opened
    if gate.codes is not None:
        return RedirectResponse("/setup/recovery", status_code=303)
    if gate.enrolment is not None:
        return _totp_page(request, gate)
    return _page(request, "account", email="")


@router.post("/setup/account")
async def setup_account(request: Request) -> Response:
    opened = await _open_gate(request)
    if isinstance(opened, Response):
        return opened
    gate, admin = opened
    fields = await _form(request, gate)
    if fields is None:
        return _page(request, "locked", status=403)
    email, passphrase = fields.get("email", "").strip(), fields.get("passphrase", "")
    if "@" not in email or len(email) > 320:
        return _page(request, "account", status=422, email=email, error="Enter the email address you log in with.")
    if passphrase != fields.get("passphrase2", ""):
        return _page(request, "account", status=422, email=email, error="The two passphrases differ.")
    try:
        gate.enrolment = admin.start(email, passphrase)
    except WeakPassphrase as exc:
        return _page(request, "account", status=422, email=email, error=f"Choose another passphrase: {exc}.")
    return RedirectResponse("/setup", status_code=303)


def _totp_page(request: Request, gate: SetupGate, status: int = 200, error: str | None = None) -> Response:
    assert gate.enrolment is not None
    uri = gate.enrolment.uri
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    secret = totp.b32(gate.enrolment.secret)
    return _page(request, "totp", status=status, qr=qr, secret=secret, email=gate.enrolment.email, error=error)


@router.post("/setup/totp")
async def setup_totp(request: Request) -> Response:
    opened = await _open_gate(request)
    if isinstance(opened, Response):
        return opened
    gate, admin = opened
    fields = await _form(request, gate)
    if fields is None or gate.enrolment is None:
        return RedirectResponse("/setup", status_code=303)
    if fields.get("restart"):
        gate.enrolment = None
        return RedirectResponse("/setup", status_code=303)
    step = gate.enrolment.confirm(fields.get("code", "").strip(), admin.now())
    if step is None:
        return _totp_page(request, gate, 422, "That code does not match. Type the code the app shows now.")
    gate.codes = await admin.finish(gate.enrolment, step, via="web:setup")
    gate.enrolment = None
    return RedirectResponse("/setup/recovery", status_code=303)


@router.get("/setup/recovery")
async def setup_recovery(request: Request) -> Response:
    parts = _parts(request)
    if parts is None or parts[0].codes is None or not parts[0].admits(request.cookies.get(_cookie(request))):
        return RedirectResponse("/login", status_code=303)
    codes = parts[0].take_codes()
    response = _page(request, "recovery", codes=codes)
    response.headers["Cache-Control"] = "no-store"
    secure = console(request).config.secure_cookies
    response.delete_cookie(_cookie(request), path="/", secure=secure, httponly=True, samesite="strict")
    return response
