"""``POST /ingest/applehealth``: where the owner's phone pushes Health Auto Export or Shortcut batches.

Never the owner's console session: the phone sends its own ingest token (``Authorization: Bearer``),
checked with the broker (:mod:`.tokens`). The body is read up to ``max_bytes`` and parsed here, so a
bad batch gets a clear 4xx naming where it is wrong and nothing reaches the store; a good one is
forwarded to the console-only tool ``applehealth.ingest`` (``ToolAccess.console_only`` in the
console), which stores it idempotently and audits it.

Answers: 200 ``{"received", "stored", "repeated"}``; 401 no or refused token; 411 no length on a
chunked body over the limit; 413 too large; 415 not JSON; 400 malformed JSON or a bad payload
(``{"error": "invalid_payload", "where": "...", "message": "..."}``); 503 broker or server down.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from broker.client import BrokerClient
from mcp_servers.applehealth.console.tokens import BrokerIngestTokens, BrokerUnavailable
from tools.applehealth.models import PayloadError
from tools.applehealth.parse import parse_payload

PATH: Final = "/ingest/applehealth"
TOOL: Final = "applehealth.ingest"
MAX_BYTES: Final = 8 * 1024 * 1024


class Verifier(Protocol):
    async def verify(self, token: str) -> str | None: ...


class Forwarded(Protocol):
    ok: bool
    content: Any
    error: str | None


Forward = Callable[[str, dict[str, Any]], Awaitable[Forwarded]]
# (request, result "ok"/"denied"/"fail", reason, details): one audit row per batch, refused ones too.
Audit = Callable[[Request, str, str | None, Mapping[str, Any]], Awaitable[None]]


async def _no_audit(_request: Request, _result: str, _reason: str | None, _details: Mapping[str, Any]) -> None:
    return None


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="aegis-ingest"'
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


async def _read(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def ingest_router(
    verifier: Verifier, forward: Forward, *, max_bytes: int = MAX_BYTES, audit: Audit = _no_audit
) -> APIRouter:
    router = APIRouter()

    @router.post(PATH)
    async def ingest(request: Request) -> JSONResponse:
        device: str | None = None

        async def refuse(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
            result = "denied" if status in (401, 413, 415) else "fail"
            await audit(request, result, code, {"status": status, "device": device, **extra})
            return _error(status, code, message, **extra)

        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return await refuse(401, "unauthorized", "send the device's token as 'Authorization: Bearer <token>'")
        try:
            device = await verifier.verify(token.strip())
        except BrokerUnavailable:
            return await refuse(503, "unavailable", "the credential broker is not answering; try again later")
        if device is None:
            return await refuse(401, "unauthorized", "the ingest token is not valid (revoked, expired or mistyped)")
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return await refuse(415, "unsupported_media_type", "send JSON (Content-Type: application/json)")
        raw = await _read(request, max_bytes)
        if raw is None:
            return await refuse(413, "too_large", f"a batch is at most {max_bytes} bytes; send a shorter period")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return await refuse(400, "invalid_json", "the body is not valid JSON")
        try:
            samples = parse_payload(body)
        except PayloadError as exc:
            return await refuse(400, "invalid_payload", exc.problem, where=exc.path)
        out = await forward(TOOL, {"payload": body, "device": device})
        if not out.ok:
            return await refuse(503, "unavailable", "the health store did not take the batch; try again later")
        content = out.content if isinstance(out.content, dict) else {}
        counts = {k: content.get(k) for k in ("received", "stored", "repeated")}
        await audit(request, "ok", None, {"device": device, **counts})
        return JSONResponse(counts | {"samples": len(samples)}, headers={"Cache-Control": "no-store"})

    return router


def push_router(*, broker: BrokerClient, forward: Forward, audit: Audit, max_bytes: int) -> APIRouter:
    """The route as the console mounts it (manifest ``connect.push.router``): tokens checked with the broker."""
    return ingest_router(BrokerIngestTokens(broker), forward, max_bytes=max_bytes, audit=audit)
