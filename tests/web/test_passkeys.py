"""Passkeys without a browser: where the relying party comes from, and what needs a fresh code."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from aegis.settings import Settings
from tests.web.agent_stack import CSRF_COOKIE, form_headers
from tests.web.conftest import Console
from web.auth.passkeys import RelyingParty, approval_binding

pytestmark = pytest.mark.anyio


def test_relying_party_from_the_console_address() -> None:
    assert RelyingParty.from_url("https://aegis.example.org") == RelyingParty(
        "aegis.example.org", "https://aegis.example.org"
    )
    assert RelyingParty.from_url("https://Aegis.Example.org:8443/x") == RelyingParty(
        "aegis.example.org", "https://aegis.example.org:8443"
    )
    # The embedded default: browsers refuse an IP address as the RP id, localhost works.
    assert RelyingParty.from_url("http://127.0.0.1:8420") == RelyingParty("localhost", "http://localhost:8420")
    for bad in ("http://aegis.example.org", "ftp://localhost", "localhost:8420"):
        with pytest.raises(ValueError):
            RelyingParty.from_url(bad)


def test_the_approval_binding_names_the_approval_and_its_arguments() -> None:
    base = approval_binding("a1", "h1")
    assert len(base) == 32
    assert base != approval_binding("a2", "h1") and base != approval_binding("a1", "h2")


async def test_adding_a_passkey_needs_a_fresh_code_and_a_session(console: Console) -> None:
    assert (await console.http.post("/api/passkeys/options")).status_code == 401
    cookies = await console.browser_login()
    headers = form_headers(cookies) | {"X-CSRF-Token": cookies[CSRF_COOKIE]}
    r = await console.http.post("/api/passkeys/options", headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "step_up_required"
    r = await console.http.post("/api/passkeys/options", headers=headers | {"X-Step-Up-Code": console.fresh_code()})
    assert r.status_code == 200
    options = r.json()["options"]
    assert options["rp"] == {"id": "localhost", "name": "Aegis"}
    assert options["excludeCredentials"] == [] and len(r.json()["challenge_id"]) == 36
    # The answer must come from this session: another session cannot finish the registration.
    other = await console.browser_login()
    body = {"challenge_id": r.json()["challenge_id"], "name": "x", "credential": "{}"}
    other_headers = form_headers(other) | {"X-CSRF-Token": other[CSRF_COOKIE]}
    assert (await console.http.post("/api/passkeys", json=body, headers=other_headers)).status_code == 400
    tokens = await console.login_tokens()
    rows = await console.audit(tokens["access_token"], action="passkey.register")
    assert [(x["result"], x["reason"]) for x in rows] == [
        ("fail", "challenge_of_another_session"),
        ("fail", "step_up_failed"),
    ]
    # Nothing to log in with yet: the public login challenge is not offered.
    assert (await console.http.post("/auth/passkey-options")).status_code == 404
    assert (await console.http.get("/api/passkeys", headers=form_headers(cookies))).json() == {"items": []}


def test_a_console_address_passkeys_cannot_use_is_refused_at_start(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, console_url="https://aegis.example.org").console_url
    with pytest.raises(ValidationError, match="https"):
        Settings(data_dir=tmp_path, console_url="http://192.168.1.20:8420")
