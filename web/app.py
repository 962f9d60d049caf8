"""The console application. ``create_app`` is called by the composition root with its dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agent.services import AgentServices
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import Keyring
from storage.db import Database
from voice.engines import VoiceEngines
from voice.store import TranscriptStore
from web.config import ConsoleConfig
from web.data import ConsoleData
from web.errors import AuditUnavailable, ConsoleError, NotAuthenticated
from web.guard import guard, wants_html
from web.routes import approvals, audit, auth, chat, home, integrations, jobs, secrets, sessions, voice, voice_ws
from web.security import SecurityHeaders
from web.state import Console

log = structlog.get_logger("aegis.web")
STATIC = Path(__file__).parent / "static"


def create_app(
    db: Database,
    *,
    keyring: Keyring,
    config: ConsoleConfig | None = None,
    version: str = "0.1.0",
    agent: AgentServices | None = None,
    data: ConsoleData | None = None,
    voice_engines: VoiceEngines | None = None,
) -> FastAPI:
    """``agent``: the chat and approvals backend; without it those pages say the agent is not running."""
    config = config or ConsoleConfig()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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
        dependencies=[Depends(guard)],
    )
    app.state.console = Console.build(db, keyring, config)
    app.state.agent = agent
    # ``data``: the integrations, secrets vault and home panels' backend (web.data).
    app.state.console_data = data or ConsoleData()
    # ``voice_engines``: the voice page's speech engines (loaded once; see ``enable_voice``).
    app.state.voice = app.state.voice_store = None
    if voice_engines is not None:
        enable_voice(app, voice_engines, db, keyring)

    @app.get("/health")
    async def health() -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "version": version}
        try:
            async with db.engine.connect() as conn:
                body["schema"] = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            body["database"] = "ok"
        except Exception:  # noqa: BLE001 - health reports, never raises
            body["status"], body["database"] = "degraded", "unreachable"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    for module in (auth, home, sessions, audit, chat, approvals, integrations, secrets, jobs, voice):
        app.include_router(module.router)
    # A plain WebSocket route: it authenticates itself (session cookie, Origin, audit) before accepting.
    app.router.add_websocket_route(voice_ws.PATH, voice_ws.voice_socket)
    app.mount("/static", ShellStatic(directory=STATIC), name="static")
    app.add_exception_handler(ConsoleError, _console_error)  # type: ignore[arg-type]

    # add_middleware: the last added runs first, so proxy headers are resolved before anything else.
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
