"""Access expiry, refresh rotation, reuse detection (RFC 9700), logout, session list and revoke."""

from __future__ import annotations

import pytest

from tests.web.conftest import Console, bearer, cookie_header

pytestmark = pytest.mark.anyio


async def _refresh(console: Console, token: str) -> tuple[int, dict[str, object]]:
    r = await console.http.post("/auth/refresh", json={"refresh_token": token})
    return r.status_code, r.json()


async def test_access_token_expires_after_15_minutes(console: Console) -> None:
    tokens = await console.login_tokens()
    console.clock.advance(15 * 60 - 1)
    assert (await console.http.get("/api/me", headers=bearer(tokens["access_token"]))).status_code == 200
    console.clock.advance(1)
    r = await console.http.get("/api/me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 401
    assert r.json() == {"error": "unauthenticated"}


async def test_refresh_rotates_and_reuse_revokes_the_family(console: Console) -> None:
    first = await console.login_tokens()
    status, second = await _refresh(console, first["refresh_token"])
    assert status == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]
    status, third = await _refresh(console, str(second["refresh_token"]))
    assert status == 200
    access = str(third["access_token"])
    assert (await console.http.get("/api/me", headers=bearer(access))).status_code == 200

    # Someone replays the first (rotated) token: the whole family dies, including the newest tokens.
    status, body = await _refresh(console, first["refresh_token"])
    assert (status, body) == (401, {"error": "unauthenticated"})
    assert (await console.http.get("/api/me", headers=bearer(access))).status_code == 401
    status, _ = await _refresh(console, str(third["refresh_token"]))
    assert status == 401

    other = await console.login_tokens()
    reuse = await console.audit(other["access_token"], action="auth.refresh_reuse")
    assert len(reuse) == 1
    assert reuse[0]["result"] == "denied"
    assert reuse[0]["details"]["sid"] == first["session_id"]
    refreshes = await console.audit(other["access_token"], action="auth.refresh")
    assert [r["reason"] for r in refreshes] == ["revoked", "ok", "ok"]


async def test_refresh_token_expires_after_7_days(console: Console) -> None:
    tokens = await console.login_tokens()
    console.clock.advance(7 * 24 * 3600)
    status, _ = await _refresh(console, tokens["refresh_token"])
    assert status == 401


async def test_unknown_refresh_token_is_refused(console: Console) -> None:
    status, body = await _refresh(console, "x" * 43)
    assert (status, body) == (401, {"error": "unauthenticated"})


async def test_logout_revokes_immediately(console: Console) -> None:
    tokens = await console.login_tokens()
    r = await console.http.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200
    assert r.json() == {"revoked": 1}
    # The JWT itself has not expired, but its session is gone.
    assert (await console.http.get("/api/me", headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await _refresh(console, tokens["refresh_token"]))[0] == 401


async def test_sessions_list_and_revoke(console: Console) -> None:
    a = await console.login_tokens()
    b = await console.login_tokens()
    r = await console.http.get("/api/sessions", headers={**bearer(a["access_token"]), "User-Agent": "pytest-a"})
    items = r.json()["items"]
    assert {i["id"] for i in items} == {a["session_id"], b["session_id"]}
    assert [i["current"] for i in items if i["id"] == a["session_id"]] == [True]
    assert all(i["ip"] == "127.0.0.1" for i in items)

    r = await console.http.delete(f"/api/sessions/{b['session_id']}", headers=bearer(a["access_token"]))
    assert r.status_code == 200
    assert (await console.http.get("/api/me", headers=bearer(b["access_token"]))).status_code == 401
    r = await console.http.delete(f"/api/sessions/{b['session_id']}", headers=bearer(a["access_token"]))
    assert r.status_code == 404
    r = await console.http.get("/api/sessions", headers=bearer(a["access_token"]))
    assert [i["id"] for i in r.json()["items"]] == [a["session_id"]]


async def test_logout_everywhere(console: Console) -> None:
    a = await console.login_tokens()
    b = await console.login_tokens()
    cookies = await console.browser_login()
    r = await console.http.post("/auth/logout-all", headers=bearer(a["access_token"]))
    assert r.json() == {"revoked": 3}
    for token in (a["access_token"], b["access_token"]):
        assert (await console.http.get("/api/me", headers=bearer(token))).status_code == 401
    page = await console.http.get("/", headers=cookie_header(cookies))
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    fresh = await console.login_tokens()
    rows = await console.audit(fresh["access_token"], action="auth.logout_all")
    assert rows[0]["details"]["revoked"] == 3


async def test_browser_cookies_are_locked_down(console: Console) -> None:
    body = {"email": console.email, "passphrase": console.passphrase, "code": console.fresh_code()}
    r = await console.http.post("/auth/login", data=body)
    assert (r.status_code, r.headers["location"]) == (303, "/")
    raw = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert set(raw) == {"__Host-aegis_access", "__Host-aegis_refresh", "__Host-aegis_csrf"}
    for name, attrs in raw.items():
        assert "secure" in attrs
        assert "samesite=strict" in attrs
        assert "path=/" in attrs
        assert "domain" not in attrs
        assert ("httponly" in attrs) is (name != "__Host-aegis_csrf")
    assert "access_token" not in r.text  # a browser never sees the tokens in a body


async def test_expired_page_load_refreshes_transparently(console: Console) -> None:
    cookies = await console.browser_login()
    console.clock.advance(20 * 60)
    page = await console.http.get("/", headers=cookie_header(cookies))
    assert page.status_code == 200
    renewed = {c.split("=", 1)[0] for c in page.headers.get_list("set-cookie")}
    assert renewed == {"__Host-aegis_access", "__Host-aegis_refresh", "__Host-aegis_csrf"}
    # The old refresh cookie was rotated: replaying it (e.g. a stolen copy) kills the family.
    again = await console.http.get("/", headers=cookie_header(cookies))
    assert (again.status_code, again.headers["location"]) == (303, "/login")
