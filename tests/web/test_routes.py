"""Deny by default, proven over every route the app has."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from tests.web.conftest import Console, bearer
from web.guard import PUBLIC, guard
from web.routes import voice_ws

pytestmark = pytest.mark.anyio

EXPECTED_PUBLIC = {("GET", "/health"), ("GET", "/login"), ("POST", "/auth/login"), ("POST", "/auth/refresh")}
# The first-start setup: each route demands the one-time token itself (tests/web/test_setup.py).
EXPECTED_PUBLIC |= {("GET", "/setup"), ("POST", "/setup/account"), ("POST", "/setup/totp"), ("GET", "/setup/recovery")}
EXPECTED_PUBLIC |= {("POST", "/auth/passkey-options")}  # a login challenge, only when a passkey may replace the code


def _endpoints(console: Console) -> list[tuple[str, str]]:
    """Every (method, path), included routers flattened the way FastAPI itself does for OpenAPI."""
    out: list[tuple[str, str]] = []
    for ctx in iter_route_contexts(console.app.routes):
        if isinstance(ctx.original_route, APIRoute):
            assert ctx.path is not None and ctx.methods
            out.extend((method, ctx.path) for method in sorted(ctx.methods))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


def test_the_allowlist_is_exactly_what_we_expect() -> None:
    assert set(PUBLIC) == EXPECTED_PUBLIC


async def test_every_other_route_refuses_anonymous_requests(console: Console) -> None:
    endpoints = _endpoints(console)
    assert len(endpoints) >= 12, endpoints  # the enumeration really found the app's routes
    assert set(endpoints) >= EXPECTED_PUBLIC
    checked = 0
    for method, path in endpoints:
        if (method, path) in EXPECTED_PUBLIC:
            continue
        for headers in ({}, bearer("not-a-jwt"), bearer(console.keyring.blind_index("auth", "forged"))):
            r = await console.http.request(method, _concrete(path), headers=headers)
            if path.startswith(("/api/", "/auth/")):
                assert (r.status_code, r.json()) == (401, {"error": "unauthenticated"}), (method, path)
            else:
                concrete = _concrete(path)
                login = f"/login?{urlencode({'next': concrete})}" if method == "GET" and concrete != "/" else "/login"
                assert (r.status_code, r.headers.get("location")) == (303, login), (method, path)
            checked += 1
    assert checked == 3 * (len(endpoints) - len(EXPECTED_PUBLIC))


async def test_every_route_runs_the_guard(console: Console) -> None:
    """Structural: the guard sits on the app, so a route added later gets it too."""
    for ctx in iter_route_contexts(console.app.routes):
        if isinstance(ctx.original_route, APIRoute):
            calls = [d.call for d in ctx.dependant.dependencies]
            assert guard in calls, ctx.path
        elif isinstance(ctx.original_route, WebSocketRoute):
            # The voice socket authenticates itself before accepting (tests/web/test_voice.py).
            assert ctx.path == voice_ws.PATH and ctx.original_route.endpoint is voice_ws.voice_socket
        else:
            assert isinstance(ctx.original_route, Mount) and ctx.path in ("/static", "/static/vendor"), ctx.path


async def test_public_routes_answer_anonymously(console: Console) -> None:
    assert (await console.http.get("/health")).status_code == 200
    assert (await console.http.get("/login")).status_code == 200
    assert (await console.http.get("/static/console.js")).status_code == 200
    assert (await console.http.get("/static/")).status_code == 404  # no directory listing
    assert (await console.http.get("/static/../app.py")).status_code == 404
    vendor = await console.http.get("/static/vendor/chart.umd.min.js")  # Chart.js, from npm ci
    assert vendor.status_code == 200 and "Chart" in vendor.text[:2000]
    assert (await console.http.get("/static/vendor/../package.json")).status_code == 404


async def test_a_forged_token_signed_with_another_key_is_refused(console: Console) -> None:
    import jwt

    now = int(console.clock.now)
    claims = {"sub": "admin", "aud": "aegis-console", "sid": "x", "jti": "y", "iat": now, "exp": now + 60}
    forged = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"typ": "console+jwt"})
    assert (await console.http.get("/api/me", headers=bearer(forged))).status_code == 401
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    assert (await console.http.get("/api/me", headers=bearer(unsigned))).status_code == 401
    tokens = await console.login_tokens()
    rows = await console.audit(tokens["access_token"], action="access.denied")
    assert len(rows) == 2
    assert all(r["result"] == "denied" and r["actor"] == "anonymous" for r in rows)
