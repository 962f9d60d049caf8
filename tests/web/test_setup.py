"""The first-start setup in the browser, over HTTP: the one-time link, the admin, the authenticator,
the recovery codes shown once; and the line ``aegis up`` prints."""

from __future__ import annotations

import re
from base64 import b32decode
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape

import httpx
import pytest

from aegis.console_setup import first_start_line
from storage.db import Database
from tests.web.conftest import EMAIL, PASSPHRASE, Console, FakeClock, bearer, make_keyring, serve, totp
from web.app import create_app
from web.auth.totp import b32
from web.config import ConsoleConfig
from web.setup_gate import SetupGate

pytestmark = pytest.mark.anyio
COOKIE = "__Host-aegis_setup"


@dataclass
class Fresh:
    http: httpx.AsyncClient
    token: str
    clock: FakeClock
    db: Database


@pytest.fixture
async def fresh(db_url: str, clock: FakeClock, console_config: ConsoleConfig) -> AsyncIterator[Fresh]:
    db = Database(db_url)
    gate, token = SetupGate.new()
    app = create_app(db, keyring=make_keyring(), config=console_config, setup=gate)
    server, task, url = await serve(app)
    async with httpx.AsyncClient(base_url=url, timeout=10, follow_redirects=False) as http:
        yield Fresh(http, token, clock, db)
    server.should_exit = True
    await task


def _form_key(page: str) -> str:
    found = re.search(r'name="form_key" value="([0-9a-f]{64})"', page)
    assert found
    return found.group(1)


async def _open(f: Fresh) -> dict[str, str]:
    r = await f.http.get("/setup", params={"token": f.token})
    assert (r.status_code, r.headers["location"]) == (303, "/setup")
    cookie = r.cookies.get(COOKIE)
    assert cookie == f.token
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "secure" in set_cookie
    return {"Cookie": f"{COOKIE}={cookie}"}


async def test_without_the_link_nobody_can_claim_the_admin(fresh: Fresh) -> None:
    r = await fresh.http.get("/setup")
    assert r.status_code == 403 and "one-time link" in r.text and "form_key" not in r.text
    r = await fresh.http.get("/setup", params={"token": fresh.token[:-1] + "x"})
    assert r.status_code == 403 and COOKIE not in r.headers.get("set-cookie", "")
    r = await fresh.http.post("/setup/account", data={"email": EMAIL, "passphrase": PASSPHRASE})
    assert r.status_code == 403
    # The right cookie but no form key (a cross-site form cannot know it): refused as well.
    headers = await _open(fresh)
    r = await fresh.http.post(
        "/setup/account", data={"email": EMAIL, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE}, headers=headers
    )
    assert r.status_code == 403


async def test_the_whole_setup_then_login(fresh: Fresh) -> None:
    headers = await _open(fresh)
    page = (await fresh.http.get("/setup", headers=headers)).text
    assert 'id="strength"' in page and "/static/setup.js" in page
    key = _form_key(page)

    weak = {"form_key": key, "email": EMAIL, "passphrase": "password1234", "passphrase2": "password1234"}
    r = await fresh.http.post("/setup/account", data=weak, headers=headers)
    assert r.status_code == 422 and "common passwords" in r.text and f'value="{EMAIL}"' in r.text
    differ = {"form_key": key, "email": EMAIL, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE + "x"}
    r = await fresh.http.post("/setup/account", data=differ, headers=headers)
    assert r.status_code == 422 and "differ" in r.text

    good = {"form_key": key, "email": EMAIL, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE}
    r = await fresh.http.post("/setup/account", data=good, headers=headers)
    assert (r.status_code, r.headers["location"]) == (303, "/setup")
    page = (await fresh.http.get("/setup", headers=headers)).text
    assert 'src="data:image/svg+xml' in page and 'alt="QR code for your authenticator app' in page
    found = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    assert found
    secret_b32 = found.group(1)
    secret = b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    assert b32(secret) == secret_b32

    r = await fresh.http.post("/setup/totp", data={"form_key": key, "code": "000000"}, headers=headers)
    assert r.status_code == 422 and "does not match" in r.text
    code = totp(secret, fresh.clock.now)
    r = await fresh.http.post("/setup/totp", data={"form_key": key, "code": code}, headers=headers)
    assert (r.status_code, r.headers["location"]) == (303, "/setup/recovery")

    r = await fresh.http.get("/setup/recovery", headers=headers)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    codes = [unescape(c) for c in re.findall(r"<li><code>([^<]+)</code></li>", r.text)]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/login?next=/integrations"' in r.text
    # Shown once; the gate is closed for good, even with the token.
    r = await fresh.http.get("/setup/recovery", headers=headers)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    r = await fresh.http.get("/setup", params={"token": fresh.token})
    assert (r.status_code, r.headers["location"]) == (303, "/login") and COOKIE not in r.headers.get("set-cookie", "")
    r = await fresh.http.get("/setup", headers=headers)
    assert (r.status_code, r.headers["location"]) == (303, "/login")

    # The new admin logs in with the passphrase and a recovery code, then with the app.
    r = await fresh.http.post("/auth/login", json={"email": EMAIL, "passphrase": PASSPHRASE, "code": codes[0]})
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    r = await fresh.http.get("/api/audit", params={"action": "admin.init"}, headers=bearer(access))
    (row,) = r.json()["items"]
    assert (row["resource"], row["result"], row["reason"]) == ("web:setup", "ok", "created")


async def test_restart_goes_back_to_the_account_step(fresh: Fresh) -> None:
    headers = await _open(fresh)
    key = _form_key((await fresh.http.get("/setup", headers=headers)).text)
    good = {"form_key": key, "email": EMAIL, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE}
    await fresh.http.post("/setup/account", data=good, headers=headers)
    r = await fresh.http.post("/setup/totp", data={"form_key": key, "restart": "1"}, headers=headers)
    assert r.status_code == 303
    page = (await fresh.http.get("/setup", headers=headers)).text
    assert 'action="/setup/account"' in page and "totp-secret" not in page


async def test_no_gate_means_login() -> None:
    assert first_start_line("http://127.0.0.1:8420", None) == "Aegis console: http://127.0.0.1:8420"
    line = first_start_line("http://127.0.0.1:8420", "tok")
    assert line.endswith("set up your admin at http://127.0.0.1:8420/setup?token=tok") and "\n" not in line


async def test_an_existing_admin_closes_the_setup(console: Console) -> None:
    r = await console.http.get("/setup")
    assert (r.status_code, r.headers["location"]) == (303, "/login")
