"""Passkeys in Chromium with a virtual authenticator: add one with a fresh code, let it replace the
code at login, and the refusals: another origin, a signature counter that went backwards, a replayed
login challenge, a revoked passkey."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import expect

from storage.db import Database
from tests.web.conftest import Console, FakeClock, enroll, make_keyring, serve
from tests.web.passkey_browser import CHROMIUM, SHOTS, config_for, free_port, other_site, phone
from web.app import create_app

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pk_console(db_url: str, clock: FakeClock) -> AsyncIterator[tuple[Console, str]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it)")
    port = free_port()
    config = config_for(clock, port)
    db = Database(db_url)
    keyring = make_keyring()
    secret, codes = await enroll(db, keyring, config, clock.now)
    app = create_app(db, keyring=keyring, config=config)
    server, task, url = await serve(app, port)
    async with httpx.AsyncClient(base_url=url, timeout=10, follow_redirects=False) as http:
        yield Console(url, http, clock, db, keyring, app, secret, codes), f"http://localhost:{port}"
    server.should_exit = True
    await task


async def _audit(c: Console, action: str) -> list[tuple[str, str | None, dict[str, object]]]:
    tokens = await c.login_tokens()
    rows = await c.audit(tokens["access_token"], action=action)
    return [(r["result"], r["reason"], r["details"] or {}) for r in reversed(rows)]


async def _login_form(c: Console, challenge: str, credential: str) -> httpx.Response:
    body = {
        "email": c.email,
        "passphrase": c.passphrase,
        "code": "",
        "passkey_challenge": challenge,
        "passkey_credential": credential,
    }
    return await c.http.post("/auth/login", data=body)


async def test_add_a_passkey_then_log_in_with_it(pk_console: tuple[Console, str]) -> None:
    c, base = pk_console
    async with phone(base) as p:
        await p.login_with_code(c)
        # Without a fresh code nothing is registered.
        await p.page.goto(f"{base}/passkeys")
        await p.page.fill("#passkey-name", "Phone")
        await p.page.fill("#passkey-code", "000000" if c.code() != "000000" else "111111")
        await p.page.click("#add-passkey-button")
        await expect(p.page.locator("#passkey-status")).to_contain_text("not accepted")
        assert await p.credentials() == []

        await p.add_passkey(c, "My  phone")
        assert await p.page.locator("#passkeys td.name").all_text_contents() == ["My phone"]
        assert len(await p.credentials()) == 1
        await p.page.screenshot(path=str(SHOTS / "passkeys.png"), full_page=True)

        await p.manage(c, "rename")  # keeps the name field's value: a rename to the same name
        await p.manage(c, "login-use")
        assert await p.page.locator("#passkeys td.login").all_text_contents() == ["replaces the code"]

        # Log out, then passphrase + passkey.
        await p.context.clear_cookies()
        await p.page.goto(f"{base}/login")
        await p.page.fill("#email", c.email)
        await p.page.fill("#passphrase", c.passphrase)
        async with p.page.expect_navigation(url=f"{base}/"):
            await p.page.click("#passkey-login")
        assert await p.page.text_content("#who") == c.email

    logins = await _audit(c, "auth.login")
    assert [(r, why) for r, why, _ in logins][-2:] == [("ok", "ok_passkey"), ("ok", "ok")]
    changes = await _audit(c, "passkey.register") + await _audit(c, "passkey.login")
    assert [(r, why) for r, why, _ in changes] == [("fail", "step_up_failed"), ("ok", None), ("ok", None)]


async def test_login_refuses_other_origin_replay_counter_and_revoked(pk_console: tuple[Console, str]) -> None:
    c, base = pk_console
    async with phone(base) as p:
        await p.login_with_code(c)
        await p.add_passkey(c, "Phone")
        await p.manage(c, "login-use")

        # A page on another origin relays a real login challenge: the browser signs it for that origin.
        options = (await c.http.post("/auth/passkey-options")).json()
        async with other_site() as evil:
            await p.page.goto(evil)
            stolen = await p.assertion(options["options"])
        r = await _login_form(c, options["challenge_id"], stolen)
        assert r.status_code == 401 and "Invalid credentials." in r.text

        # A genuine assertion works once; replayed, its challenge is spent.
        await p.page.goto(f"{base}/login")
        options = (await c.http.post("/auth/passkey-options")).json()
        good = await p.assertion(options["options"])
        assert (await _login_form(c, options["challenge_id"], good)).status_code == 303
        assert (await _login_form(c, options["challenge_id"], good)).status_code == 401

        # A cloned authenticator whose counter is behind the last one seen.
        [cred] = await p.credentials()
        assert cred["signCount"] >= 1
        await p.set_counter(cred, 0)
        options = (await c.http.post("/auth/passkey-options")).json()
        behind = await p.assertion(options["options"])
        assert (await _login_form(c, options["challenge_id"], behind)).status_code == 401

        # Revoked: never accepted again, even with a challenge issued before the revocation.
        [cred] = await p.credentials()
        await p.set_counter(cred, 1000)
        options = (await c.http.post("/auth/passkey-options")).json()
        await p.login_with_code(c)
        await p.manage(c, "revoke")
        assert await p.page.locator("#no-passkeys").count() == 1
        await p.page.goto(f"{base}/login")
        late = await p.assertion(options["options"])
        assert (await _login_form(c, options["challenge_id"], late)).status_code == 401
        assert (await c.http.post("/auth/passkey-options")).status_code == 404

    logins = [(r, d.get("passkey")) for r, _why, d in await _audit(c, "auth.login")]
    assert [x for x in logins if x[1] is not None] == [
        ("fail", "wrong_origin"),
        ("fail", "replayed_challenge"),
        ("fail", "counter_not_increased"),
        ("fail", "revoked_passkey"),
    ]
