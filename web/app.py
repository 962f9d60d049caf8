"""The console application. ``create_app`` is called by the composition root with its dependencies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agent.services import AgentServices
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.db import Database
from storage.flood_trace import FloodTrace
from storage.http_guard import Limits, RequestGuard
from voice.engines import VoiceEngines
from voice.store import TranscriptStore
from web import charts
from web.auditing import ANONYMOUS, client_ip
from web.auth.enrolment import AdminSetup
from web.badge import approvals_badge
from web.config import ConsoleConfig
from web.data import ConsoleData
from web.errors import AuditUnavailable, ConsoleError, NotAuthenticated, RateLimited
from web.guard import guard, wants_html
from web.push import PushRoute, mount_push, public_entries, push_routes
from web.routes import (
    approvals,
    audit,
    auth,
    chat,
    connect,
    content,
    content_settings,
    devices,
    home,
    integration_pages,
    integrations,
    jobs,
    memory,
    model,
    money,
    pair,
    passkeys,
    secrets,
    sessions,
    upload,
    voice,
    voice_ws,
)
from web.routes import health as health_routes
from web.routes import setup as setup_routes
from web.security import SecurityHeaders
from web.setup_gate import SetupGate
from web.state import Console

log = structlog.get_logger("aegis.web")
# Body limits before parsing: small for the sign-in routes, larger for the pages that take text.
LIMITS = Limits(max_body=256 * 1024, route_body={"/auth/*": 8 * 1024, "/api/upload/*": upload.PIECE + 1024})


def limits_for(routes: tuple[PushRoute, ...]) -> Limits:
    """The console's limits plus each device ingest route's own (its manifest's ``max_bytes``)."""
    return Limits(max_body=LIMITS.max_body, route_body={**LIMITS.route_body, **{r.path: r.max_bytes for r in routes}})


STATIC = Path(__file__).parent / "static"

Parts = Callable[[], Mapping[str, Mapping[str, Any]]]


def create_app(
    db: Database,
    *,
    keyring: Keyring,
    config: ConsoleConfig | None = None,
    version: str = "0.1.0",
    agent: AgentServices | None = None,
    data: ConsoleData | None = None,
    parts: Parts | None = None,
    setup: SetupGate | None = None,
    voice_engines: VoiceEngines | None = None,
) -> FastAPI:
    """``agent``: the chat and approvals backend; without it those pages say the agent is not running.
    ``parts``: the state of each supervised part (the broker, the MCP servers, sidecars) for /health; a part
    marked ``optional`` (a sidecar whose prerequisites are not installed) does not degrade it.
    ``setup``: the first-start gate for the browser setup (``aegis up`` prints its link), if any."""
    config = config or ConsoleConfig()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        flood_trace = getattr(_app.state, "flood", None)
        if isinstance(flood_trace, FloodTrace):
            try:
                await flood_trace.flush()
            except AuditUnavailable:
                log.error("could not write the last flood summaries")
        await chat.close_turns(_app.state)
        await db.dispose()

    # Deny by default: the guard is an app-level dependency, so every route (including ones added
    # later) runs it; it lets through only the allowlist in web.guard.PUBLIC.
    app = FastAPI(
        title="Aegis",
        version=version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(guard), Depends(approvals_badge)],
    )
    app.state.console = Console.build(db, keyring, config)
    app.state.agent = agent
    # ``data``: the integrations, secrets vault and home panels' backend (web.data).
    app.state.console_data = data or ConsoleData()
    app.state.setup = (setup, AdminSetup(db, keyring, config)) if setup is not None else None
    # ``voice_engines``: the voice page's speech engines (loaded once; see ``enable_voice``).
    app.state.voice = app.state.voice_store = None
    if voice_engines is not None:
        enable_voice(app, voice_engines, db, keyring)
    pushed = push_routes(app.state.console_data.catalog) if app.state.console_data.broker is not None else ()
    app.state.public_routes = public_entries(pushed)

    @app.get("/health")
    async def health() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "version": version}
        try:
            async with db.engine.connect() as conn:
                heads = (await conn.scalars(text("SELECT version_num FROM alembic_version"))).all()
                body["schema"] = ",".join(sorted(heads)) or None  # one head per migration branch
            body["database"] = "ok"
        except Exception:  # noqa: BLE001 - health reports, never raises
            body["status"], body["database"] = "degraded", "unreachable"
            return JSONResponse(body, status_code=503)
        if parts is not None:
            body["parts"] = {name: dict(part) for name, part in parts().items()}
            if not all(part.get("up") or part.get("optional") for part in body["parts"].values()):
                body["status"] = "degraded"
                return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    for module in (
        auth,
        setup_routes,
        home,
        money,
        sessions,
        audit,
        chat,
        approvals,
        content_settings,
        content,
        integrations,
        integration_pages,
        connect,
        pair,
        devices,
        health_routes,
        secrets,
        jobs,
        passkeys,
        memory,
        model,
        voice,
        upload,
    ):
        app.include_router(module.router)
    # A plain WebSocket route: it authenticates itself (session cookie, Origin, audit) before accepting.
    app.router.add_websocket_route(voice_ws.PATH, voice_ws.voice_socket)
    mount_push(app, app.state.console_data, app.state.console, app.state.console_data.broker)
    # Browser libraries installed by ``npm ci`` (package-lock.json), served by the console itself.
    # Without them the charts stay tables; the console still starts.
    app.mount("/static/vendor", StaticFiles(directory=charts.VENDOR, check_dir=False), name="vendor")
    app.mount("/static", ShellStatic(directory=STATIC), name="static")

    console_state: Console = app.state.console

    async def flood_row(kind: str, source: str, count: int, first: bool, ctx: object) -> None:
        assert isinstance(ctx, _FloodContext)
        details = {**ctx.details, "aggregated": True}
        if not first:
            details.update(count=count, summary=True)
        await console_state.auditor.commit(
            ctx.request, actor=ANONYMOUS, action=kind, result="denied", reason=ctx.reason, details=details
        )

    flood = app.state.flood = FloodTrace(flood_row, clock=config.clock)

    async def console_error(request: Request, exc: ConsoleError) -> Response:
        if isinstance(exc, RateLimited):
            # 429s leave a trace in aggregate: the first of a window, then its count.
            await _note(flood, request, "http.rate_limited", exc.code)
        return await _console_error(request, exc)

    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (404, 405):
            await _note(flood, request, "http.unknown_route", "not_found" if exc.status_code == 404 else "bad_method")
        return await http_exception_handler(request, exc)

    app.add_exception_handler(ConsoleError, console_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, not_found)  # type: ignore[arg-type]

    async def rejected(scope: Scope, status: int, code: str) -> None:
        details = {"method": scope.get("method"), "status": status}
        await console_state.auditor.commit(
            Request(scope), actor=ANONYMOUS, action="http.request", result="denied", reason=code, details=details
        )

    # add_middleware: the last added runs first, so proxy headers are resolved before anything else,
    # and the security headers wrap every answer, the limits' refusals and 500s included.
    limits = limits_for(pushed)
    app.add_middleware(RequestGuard, limits=limits, on_reject=rejected, trace=lambda _scope: uuid.uuid4().hex)
    app.add_middleware(SecurityHeaders)
    if config.trusted_proxies:
        # Only these peers may set X-Forwarded-For/-Proto; anyone else's are ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(config.trusted_proxies))
    log.info("console ready", trusted_proxies=list(config.trusted_proxies), secure_cookies=config.secure_cookies)
    return app


def enable_voice(app: FastAPI, engines: VoiceEngines, db: Database, keyring: Keyring) -> None:
    """Turn the voice page on (the composition root loads the models after the console is up)."""
    app.state.voice_store = TranscriptStore(db, FieldCipher(keyring))
    app.state.voice = engines


class ShellStatic(StaticFiles):
    """Static files; the service worker (served from /static/) may control the whole console."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Any, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if str(scope.get("path", "")).endswith("/sw.js"):
            response.headers["Service-Worker-Allowed"] = "/"
        return response


async def _console_error(request: Request, exc: ConsoleError) -> Response:
    if isinstance(exc, AuditUnavailable):
        log.error("audit write failed, request refused", path=request.url.path, error=str(exc))
    elif exc.status >= 400:
        log.info("request refused", path=request.url.path, code=exc.code, status=exc.status)
    if isinstance(exc, NotAuthenticated) and wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method == "GET" and target != "/":
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        return RedirectResponse("/login", status_code=303)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return JSONResponse({"error": exc.code}, status_code=exc.status, headers=headers)


class _FloodContext:
    def __init__(self, request: Request, reason: str, details: dict[str, Any]) -> None:
        self.request, self.reason, self.details = request, reason, details


async def _note(flood: FloodTrace, request: Request, kind: str, reason: str) -> None:
    source = client_ip(request) or "unknown"
    details: dict[str, Any] = {"path": request.url.path[:128], "method": request.method}
    try:
        await flood.note(kind, source, _FloodContext(request, reason, details))
    except AuditUnavailable:
        log.error("could not write a flood trace row", kind=kind)
