"""The broker's HTTP application: sealed-state gate, trace ids, errors, health and JWKS."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker import admin, datakeys, routes
from broker.anchor import start_checkpoints
from broker.errors import BadRequest, BrokerError, TooManyRequests
from broker.guard import FloodContext, RequestInfo, deny, record, write_flood_row
from broker.state import BrokerState
from broker.unseal import unseal
from storage.flood_trace import FloodTrace
from storage.http_guard import Limits, RequestGuard

log = structlog.get_logger("aegis.broker")
_TRACE = re.compile(r"[A-Za-z0-9._-]{1,64}")
OPEN_PATHS = frozenset({"/health"})


def trace_of(scope: Scope) -> str:
    """The caller's X-Trace-Id when it is well formed, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-trace-id":
            raw = value.decode("latin-1")
            return raw if _TRACE.fullmatch(raw) else uuid.uuid4().hex
    return uuid.uuid4().hex


def info_of(scope: Scope) -> RequestInfo:
    state = scope.setdefault("state", {})
    trace = state.get("trace_id") or trace_of(scope)
    client = scope.get("client")
    ua = next((v.decode("latin-1") for n, v in scope.get("headers", ()) if n == b"user-agent"), "")
    return RequestInfo(ip=client[0] if client else "unknown", user_agent=ua[:256] or None, trace_id=trace)


def request_info(request: Request) -> RequestInfo:
    info = getattr(request.state, "info", None)
    if isinstance(info, RequestInfo):
        return info
    info = info_of(request.scope)
    request.state.info = info
    return info


# Body limits per route; the default covers every small JSON request.
SECRET_BODY = 512 * 1024  # a 64 KiB secret, JSON-escaped
ROUTE_BODY = {"/v1/secrets": SECRET_BODY, "/v1/secrets/*": SECRET_BODY}
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class Gate:
    """The sealed-state gate, as plain ASGI (no task and body stream per request): sealed, only the
    open paths answer; otherwise the flood summaries that are due are written first. Every response
    carries the trace id and the no-store and nosniff headers."""

    def __init__(self, app: ASGIApp, *, state: BrokerState, flood: FloodTrace) -> None:
        self.app, self.state, self.flood = app, state, flood

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = info_of(scope)
        scope["state"]["info"] = info
        path = str(scope.get("path", ""))
        sealed = self.state.sealed and path not in OPEN_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Trace-Id"] = info.trace_id
                headers.setdefault("Cache-Control", "no-store")
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        if not sealed:
            try:  # the windows that are over are summarised before this request's own rows
                await self.flood.close_due()
            except BrokerError:
                log.warning("could not write a flood summary row")
            await self.app(scope, receive, send_with_headers)
            return
        response = JSONResponse({"error": "sealed", "message": "the broker is sealed"}, status_code=503)
        context = FloodContext(info, "anonymous", "broker.sealed", "sealed", {"path": path[:128]})
        try:  # recorded in aggregate: a sealed broker polled in a loop is not a row per request
            await self.flood.note("broker.sealed", info.ip, context)
        except BrokerError:
            log.warning("could not record a sealed-mode refusal")
        await response(scope, receive, send_with_headers)


def _error_body(exc: BrokerError) -> dict[str, str]:
    return {"error": exc.code, "message": exc.message}


def create_broker_app(state: BrokerState, *, auto_unseal: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if auto_unseal and await unseal(state):
            await admin.resume_rotations(state)
        checkpoints = start_checkpoints(state)
        refresh = asyncio.create_task(admin.refresh_signing_keys(state, state.config.keyset_refresh_seconds))
        state.background.add(refresh)
        refresh.add_done_callback(state.background.discard)
        yield
        if not state.sealed:
            try:
                await flood.flush()
            except BrokerError:
                log.warning("could not write the last flood summaries")
        for task in list(state.background):
            task.cancel()
        if checkpoints is not None:  # the last checkpoint, at shutdown
            await checkpoints.try_checkpoint()
        await state.db.dispose()

    app = FastAPI(title="Aegis broker", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.broker = state

    async def flood_row(kind: str, source: str, count: int, first: bool, ctx: object) -> None:
        await write_flood_row(state, kind, source, count, first, ctx)

    flood = state.flood = FloodTrace(flood_row, clock=state.clock)

    app.add_middleware(Gate, state=state, flood=flood)

    @app.exception_handler(BrokerError)
    async def broker_error(request: Request, exc: BrokerError) -> Response:
        info = request_info(request)
        if not exc.audited and not state.sealed:
            try:
                if isinstance(exc, TooManyRequests):
                    await deny(
                        state,
                        info,
                        exc,
                        actor=getattr(request.state, "actor", "anonymous"),
                        action=getattr(request.state, "action", request.url.path[:64]),
                    )
                await record(
                    state,
                    info,
                    actor=getattr(request.state, "actor", "anonymous"),
                    action=getattr(request.state, "action", request.url.path[:64]),
                    result="deny",
                    reason=exc.code,
                )
            except TooManyRequests:
                pass
            except BrokerError as audit_exc:
                exc = audit_exc
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if exc.code == "insufficient_scope":
            headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
        return JSONResponse(_error_body(exc), status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Unknown routes and methods: one aggregated trace per source and window, not a row each."""
        info = request_info(request)
        code = (
            "not_found" if exc.status_code == 404 else "method_not_allowed" if exc.status_code == 405 else "http_error"
        )
        if exc.status_code in (404, 405) and not state.sealed:
            context = FloodContext(info, "anonymous", "http.unknown_route", code, {"path": request.url.path[:128]})
            try:
                await flood.note("http.unknown_route", info.ip, context)
            except BrokerError as audit_exc:
                return JSONResponse(_error_body(audit_exc), status_code=audit_exc.status)
        return JSONResponse({"error": code, "message": code.replace("_", " ")}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        err = BadRequest("invalid_request", "invalid or missing fields: " + ", ".join(f for f in fields if f))
        return await broker_error(request, err)

    @app.get("/health")
    async def health() -> JSONResponse:
        if state.sealed:
            return JSONResponse({"status": "sealed", "sealed": True, "reason": state.sealed_reason}, status_code=503)
        return JSONResponse({"status": "ok", "sealed": False, "active_kid": state.active_kid})

    @app.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        return JSONResponse(state.jwks_doc, headers={"Cache-Control": "public, max-age=60"})

    async def rejected(scope: Scope, status: int, code: str) -> None:
        if state.sealed:
            return
        info = info_of(scope)
        details = {"method": scope.get("method"), "path": str(scope.get("path", ""))[:128], "status": status}
        await record(state, info, actor="anonymous", action="http.request", result="deny", reason=code, details=details)

    app.include_router(routes.router)
    app.include_router(datakeys.router)
    limits = Limits(max_body=16 * 1024, route_body=ROUTE_BODY, body_timeout=state.config.body_timeout_seconds)
    app.add_middleware(RequestGuard, limits=limits, on_reject=rejected, trace=trace_of, headers=HEADERS)
    return app
