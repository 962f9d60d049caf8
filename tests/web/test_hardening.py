"""CSRF on cookie-authenticated writes, security headers, proxy trust, rate limits, fail-closed audit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import uvicorn

from storage.audit import query
from storage.db import Database
from tests.web.conftest import Console, FakeClock, bearer, cookie_header, enroll, make_keyring, serve
from web.app import create_app
from web.config import ConsoleConfig
from web.security import CSP

pytestmark = pytest.mark.anyio


async def test_cookie_write_without_csrf_is_refused(console: Console) -> None:
    cookies = await console.browser_login()
    headers = cookie_header(cookies)
    r = await console.http.post("/auth/logout", headers=headers)
    assert (r.status_code, r.json()) == (403, {"error": "csrf_rejected"})
    r = await console.http.post("/auth/logout", headers={**headers, "X-CSRF-Token": "forged"})
    assert r.status_code == 403
    # The session survived both attempts.
    assert (await console.http.get("/api/me", headers=headers)).status_code == 200
    csrf = cookies["__Host-aegis_csrf"]
    cross = {**headers, "X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert (await console.http.post("/auth/logout", headers=cross)).status_code == 403
    ok = await console.http.post("/auth/logout", headers={**headers, "X-CSRF-Token": csrf})
    assert ok.status_code == 200


async def test_csrf_token_from_another_session_is_refused(console: Console) -> None:
    mine = await console.browser_login()
    theirs = await console.browser_login()
    headers = {**cookie_header(mine), "X-CSRF-Token": theirs["__Host-aegis_csrf"]}
    assert (await console.http.post("/auth/logout", headers=headers)).status_code == 403
    # Planting the other cookie too does not help: the token is bound to the session.
    planted = {**mine, "__Host-aegis_csrf": theirs["__Host-aegis_csrf"]}
    headers = {**cookie_header(planted), "X-CSRF-Token": theirs["__Host-aegis_csrf"]}
    assert (await console.http.post("/auth/logout", headers=headers)).status_code == 403


async def test_html_form_uses_the_hidden_field(console: Console) -> None:
    cookies = await console.browser_login()
    form = {"csrf_token": cookies["__Host-aegis_csrf"]}
    r = await console.http.post("/auth/logout-all", data=form, headers=cookie_header(cookies))
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    r = await console.http.post("/auth/logout-all", data={}, headers=cookie_header(cookies))
    assert r.status_code == 403


async def test_bearer_needs_no_csrf(console: Console) -> None:
    tokens = await console.login_tokens()
    r = await console.http.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert r.status_code == 200


async def test_cookie_refresh_needs_csrf(console: Console) -> None:
    cookies = await console.browser_login()
    r = await console.http.post("/auth/refresh", headers=cookie_header(cookies))
    assert r.status_code == 403
    r = await console.http.post(
        "/auth/refresh", headers={**cookie_header(cookies), "X-CSRF-Token": cookies["__Host-aegis_csrf"]}
    )
    assert r.status_code == 200
    assert "refresh_token" not in r.json()
    assert "__Host-aegis_refresh" in {c.split("=", 1)[0] for c in r.headers.get_list("set-cookie")}


def _assert_hardened(r: httpx.Response, *, no_store: bool = True) -> None:
    assert r.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["permissions-policy"] == "camera=(), microphone=(), geolocation=()"
    assert "strict-transport-security" not in r.headers  # plain http on loopback
    if no_store:
        assert r.headers["cache-control"] == "no-store"


async def test_security_headers_everywhere(console: Console) -> None:
    tokens = await console.login_tokens()
    responses = [
        await console.http.get("/health"),
        await console.http.get("/login"),
        await console.http.get("/"),
        await console.http.get("/api/me"),
        await console.http.get("/api/me", headers=bearer(tokens["access_token"])),
        await console.http.get("/no/such/page"),
        await console.http.post("/auth/login", json={}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 303, 401, 200, 404, 401]
    for r in responses:
        _assert_hardened(r)
    static = await console.http.get("/static/console.css")
    assert static.status_code == 200
    _assert_hardened(static, no_store=False)
    login = await console.http.get("/login")
    assert "<script>" not in login.text and " style=" not in login.text  # no inline script or style


async def _proxied_console(
    db_url: str, clock: FakeClock, trusted: tuple[str, ...]
) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = ConsoleConfig(clock=clock, trusted_proxies=trusted, auth_rate=(100.0, 1000), api_rate=(1000.0, 5000))
    db = Database(db_url)
    keyring = make_keyring()
    await enroll(db, keyring, config, clock.now)
    server, task, url = await serve(create_app(db, keyring=keyring, config=config))
    return server, task, url


@pytest.mark.parametrize(("trusted", "expect_tls"), [((), False), (("127.0.0.1",), True)])
async def test_proxy_headers_only_from_trusted_peers(
    db_url: str, clock: FakeClock, trusted: tuple[str, ...], expect_tls: bool
) -> None:
    server, task, url = await _proxied_console(db_url, clock, trusted)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            r = await http.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
            body = {"email": "nobody@example.org", "passphrase": "x", "code": "123456"}
            await http.post("/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.7"})
        assert ("strict-transport-security" in r.headers) is expect_tls
        if expect_tls:
            assert r.headers["strict-transport-security"] == "max-age=31536000"
        reader = Database(db_url)
        try:
            async with reader.transaction() as s:
                row = (await query(s, action="auth.login", limit=1))[0]
        finally:
            await reader.dispose()
        assert row.source_ip == ("203.0.113.7" if expect_tls else "127.0.0.1")
    finally:
        server.should_exit = True
        await task


async def test_login_is_rate_limited(db_url: str, clock: FakeClock) -> None:
    config = ConsoleConfig(clock=clock, auth_rate=(1 / 60, 3))
    db = Database(db_url)
    keyring = make_keyring()
    await enroll(db, keyring, config, clock.now)
    server, task, url = await serve(create_app(db, keyring=keyring, config=config))
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            statuses = [
                (await http.post("/auth/login", json={"email": "a@b.c", "passphrase": "p", "code": "1"})).status_code
                for _ in range(4)
            ]
            assert statuses == [401, 401, 401, 429]
            clock.advance(60)
            r = await http.post("/auth/login", json={"email": "a@b.c", "passphrase": "p", "code": "1"})
            assert r.status_code == 401
    finally:
        server.should_exit = True
        await task


async def test_audit_failure_refuses_the_request(console: Console) -> None:
    """Fail-closed: if the audit row cannot be written, no data leaves."""
    from sqlalchemy import text

    tokens = await console.login_tokens()
    async with console.db.transaction() as s:
        await s.execute(text("DELETE FROM audit_head"))  # breaks every further append
    r = await console.http.get("/api/sessions", headers=bearer(tokens["access_token"]))
    assert (r.status_code, r.json()) == (503, {"error": "audit_unavailable"})
    assert tokens["session_id"] not in r.text
    r = await console.login()
    assert r.status_code == 503
    assert "access_token" not in r.text


def test_a_page_may_widen_only_fetch_directives_with_exact_https_sources() -> None:
    from web.security import BASE_POLICY, render_csp, widen_csp

    scope: dict[str, object] = {}
    widen_csp(scope, "script-src", "https://cdn.example.org/a.js")
    widen_csp(scope, "script-src", "https://cdn.example.org/b.js")
    extra = scope["state"]["csp_extra"]  # type: ignore[index]
    policy = render_csp(extra)
    assert "script-src 'self' https://cdn.example.org/a.js https://cdn.example.org/b.js;" in policy
    assert policy.count("frame-ancestors 'none'") == 1 and "style-src 'self';" in policy
    for directive in ("style-src", "frame-ancestors", "form-action", "base-uri", "object-src", "default-src"):
        with pytest.raises(ValueError, match="cannot be widened"):
            widen_csp({}, directive, "https://ok.example")
    for source in (
        "http://cdn.example.org/a.js",
        "https://*.example.org",
        "'unsafe-inline'",
        "https://a; script-src *",
    ):
        with pytest.raises(ValueError, match="refusing CSP source"):
            widen_csp({}, "script-src", source)
    assert render_csp() == "; ".join(f"{d} {' '.join(v)}" for d, v in BASE_POLICY.items())


async def test_ids_beyond_64_bits_are_a_clear_refusal(console: Console) -> None:
    tokens = await console.login_tokens()
    for value in (2**63, 2**70):
        r = await console.http.get("/api/audit", params={"before_seq": value}, headers=bearer(tokens["access_token"]))
        assert r.status_code == 422, r.text
        _assert_hardened(r)
    rows = await console.audit(tokens["access_token"], limit=5)
    assert any(row["trace_id"] == r.headers["x-trace-id"] for row in rows)


async def _raw(url: str, request: bytes) -> bytes:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read(4096)
    finally:
        writer.close()


async def _last_rows(console: Console, n: int = 5) -> list[dict[str, object]]:
    async with console.db.transaction() as s:
        rows = await query(s, action="http.request", limit=n)
    return [{"reason": r.reason, "trace_id": r.trace_id, "result": r.result} for r in rows]


async def test_deeply_nested_json_to_login_is_a_clear_400(console: Console) -> None:
    deep = '{"email": ' + "[" * 1000 + "]" * 1000 + "}"
    r = await console.http.post("/auth/login", content=deep, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]) == (400, "json_too_deep")
    _assert_hardened(r)
    rows = await _last_rows(console)
    assert rows[0] == {"reason": "json_too_deep", "trace_id": r.headers["x-trace-id"], "result": "denied"}


async def test_a_huge_login_body_is_refused_before_it_is_read(console: Console) -> None:
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
    )
    answer = await _raw(console.url, head + b'{"email": "')
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"content-security-policy" in answer.lower() and b"x-trace-id" in answer.lower()
    assert (await _last_rows(console))[0]["reason"] == "body_too_large"


async def test_huge_headers_are_refused_with_the_security_headers(console: Console) -> None:
    r = await console.http.get("/login", headers={"X-Pad": "p" * 10_000})
    assert (r.status_code, r.json()["error"]) == (431, "headers_too_large")
    _assert_hardened(r)


async def test_a_500_carries_the_security_headers_and_the_trace_id(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr("web.routes.auth.safe_next", boom)
    r = await console.http.get("/login")
    assert r.status_code == 500
    _assert_hardened(r)
    assert len(r.headers["x-trace-id"]) == 32
    assert "internal detail" not in r.text


async def test_429s_and_unknown_routes_leave_an_aggregated_trace(db_url: str, clock: FakeClock) -> None:
    config = ConsoleConfig(clock=clock, api_rate=(0.001, 3))
    db = Database(db_url)
    keyring = make_keyring()
    await enroll(db, keyring, config, clock.now)
    server, task, url = await serve(create_app(db, keyring=keyring, config=config))
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            statuses = [(await http.get("/api/me")).status_code for _ in range(40)]
            assert statuses.count(429) == 37
            for i in range(20):
                assert (await http.get(f"/no/such/{i}")).status_code == 404
            clock.advance(3600)
            assert (await http.get("/api/me")).status_code == 401  # a new window: its first 429 is not yet
            assert (await http.get("/no/such/page")).status_code == 404
        async with db.transaction() as s:
            limited = await query(s, action="http.rate_limited", limit=10)
            unknown = await query(s, action="http.unknown_route", limit=10)
        assert _counts(unknown) == [None, 20, None]
        assert _counts(limited) == [37, None]
    finally:
        server.should_exit = True
        await task
        await db.dispose()


def _counts(rows: list[Any]) -> list[object]:
    out: list[object] = []
    for r in rows:
        details = json.loads(r.details) if isinstance(r.details, str) else (r.details or {})
        out.append(details.get("count"))
    return out
