"""Step-up for high-risk actions, and the audit trail of every auth event and data access."""

from __future__ import annotations

import pytest

from storage.audit import ChainKey, verify_chain
from tests.web.conftest import Console, bearer, cookie_header

pytestmark = pytest.mark.anyio


async def test_export_needs_a_fresh_code(console: Console) -> None:
    tokens = await console.login_tokens()
    auth = bearer(tokens["access_token"])
    r = await console.http.get("/api/audit/export", headers=auth)
    assert (r.status_code, r.json()) == (403, {"error": "step_up_required"})
    r = await console.http.get("/api/audit/export", headers={**auth, "X-Step-Up-Code": "12345x"})
    assert r.status_code == 403
    code = console.fresh_code()
    r = await console.http.get("/api/audit/export", headers={**auth, "X-Step-Up-Code": code})
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith('attachment; filename="aegis-audit-')
    assert any(item["action"] == "auth.login" for item in r.json()["items"])
    replay = await console.http.get("/api/audit/export", headers={**auth, "X-Step-Up-Code": code})
    assert replay.status_code == 403  # the same code never works twice
    rows = await console.audit(tokens["access_token"], action="auth.step_up")
    assert [(r["result"], r["reason"]) for r in rows] == [
        ("fail", "replayed_code"),
        ("ok", "ok"),
        ("fail", "bad_code"),
        ("fail", "missing_code"),
    ]
    assert len(await console.audit(tokens["access_token"], action="audit.export")) == 1


async def test_step_up_failures_count_toward_lockout(console: Console) -> None:
    tokens = await console.login_tokens()
    auth = bearer(tokens["access_token"])
    bad = "000000" if console.code() != "000000" else "111111"
    for _ in range(10):
        await console.http.get("/api/audit/export", headers={**auth, "X-Step-Up-Code": bad})
        console.clock.advance(65)  # past each backoff, within the access token's 15 minutes
    r = await console.http.get("/api/audit/export", headers={**auth, "X-Step-Up-Code": console.fresh_code()})
    assert r.status_code == 429


async def test_every_auth_event_and_access_is_audited(console: Console) -> None:
    await console.login(passphrase="wrong-passphrase")
    tokens = await console.login_tokens()
    auth = bearer(tokens["access_token"])
    await console.http.get("/api/sessions", headers={**auth, "User-Agent": "audit-test/1"})
    await console.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    cookies = await console.browser_login()
    await console.http.post(
        "/auth/logout", headers={**cookie_header(cookies), "X-CSRF-Token": cookies["__Host-aegis_csrf"]}
    )
    rows = list(reversed(await console.audit(tokens["access_token"], limit=50)))
    seen = [(r["actor"], r["action"], r["result"], r["reason"]) for r in rows]
    assert seen[0] == ("anonymous", "auth.login", "fail", "bad_passphrase")
    assert seen[1] == ("admin", "auth.login", "ok", "ok")
    read = rows[2]
    assert (read["action"], read["resource"], read["result"]) == ("access.read", "/api/sessions", "ok")
    assert (read["source_ip"], read["user_agent"]) == ("127.0.0.1", "audit-test/1")
    assert read["trace_id"] and len(read["trace_id"]) == 32
    assert seen[3] == ("admin", "auth.refresh", "ok", "ok")
    assert seen[4] == ("admin", "auth.login", "ok", "ok")
    assert seen[5][:3] == ("admin", "access.write", "ok")
    assert seen[6][:3] == ("admin", "auth.logout", "ok")
    assert seen[7][:2] == ("admin", "access.read")  # this very listing
    async with console.db.transaction() as s:
        report = await verify_chain(s, key=ChainKey.of(console.keyring))
    assert report.ok
    assert report.rows == len(rows)


async def test_unknown_email_is_stored_hashed(console: Console) -> None:
    await console.login(email="Intruder@Example.net")
    tokens = await console.login_tokens()
    row = (await console.audit(tokens["access_token"], action="auth.login", result="fail"))[0]
    assert row["reason"] == "unknown_email"
    assert row["details"]["email"] == "h:" + console.keyring.blind_index("audit", "intruder@example.net")
    assert "intruder" not in str(row).lower()


async def test_audit_filters_and_pages(console: Console) -> None:
    tokens = await console.login_tokens()
    auth = bearer(tokens["access_token"])
    for _ in range(5):
        await console.http.get("/api/me", headers=auth)
    r = await console.http.get("/api/audit", params={"action": "access.read", "limit": 2}, headers=auth)
    first = r.json()
    assert len(first["items"]) == 2
    assert all(i["action"] == "access.read" for i in first["items"])
    r = await console.http.get(
        "/api/audit", params={"action": "access.read", "limit": 2, "before_seq": first["next_before_seq"]}, headers=auth
    )
    second = r.json()["items"]
    assert second and second[0]["seq"] < first["items"][-1]["seq"]
    trace = first["items"][0]["trace_id"]
    r = await console.http.get("/api/audit", params={"trace_id": trace}, headers=auth)
    assert [i["trace_id"] for i in r.json()["items"]] == [trace]
    r = await console.http.get("/api/audit", params={"since": "2100-01-01T00:00:00Z"}, headers=auth)
    assert r.json()["items"] == []
    r = await console.http.get("/api/audit", params={"limit": 100000}, headers=auth)
    assert r.status_code == 422


async def test_audit_page_shows_chain_and_rows(console: Console) -> None:
    cookies = await console.browser_login()
    page = await console.http.get("/audit", params={"action": "auth.login"}, headers=cookie_header(cookies))
    assert page.status_code == 200
    assert "Hash chain verified" in page.text
    assert "auth.login" in page.text
    assert "access.read" not in page.text.split("<tbody>")[1]
