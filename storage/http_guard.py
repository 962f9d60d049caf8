"""Request limits shared by the broker and the console (pure ASGI, below both so neither imports the other).

Before the application parses anything: header size and count, a body limit per route (Content-Length
checked first, then the bytes as they arrive), a deadline for the whole body (slow clients), and for
JSON bodies the nesting depth and integers beyond 64 bits. Each refusal is a clear 4xx, reported to
the application's audit hook, and carries the trace id and the given headers. An exception that
escapes the application becomes a 500 with the same headers (the body says nothing of the cause).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("aegis.http")

MAX_INT = 2**63 - 1
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_LONG_INT = re.compile(rb"-?\d{19,}")

RejectHook = Callable[[Scope, int, str], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    max_body: int = 64 * 1024
    route_body: Mapping[str, int] = field(default_factory=dict)  # exact path (or "prefix*") -> bytes
    max_header_bytes: int = 8 * 1024  # below the server's own 16 KiB, so the refusal is ours (audited)
    max_headers: int = 64
    body_timeout: float = 10.0
    max_json_depth: int = 32

    def body_limit(self, path: str) -> int:
        exact = self.route_body.get(path)
        if exact is not None:
            return exact
        for pattern, limit in self.route_body.items():
            if pattern.endswith("*") and path.startswith(pattern[:-1]):
                return limit
        return self.max_body


@dataclass(frozen=True)
class Rejection(Exception):
    status: int
    code: str
    message: str


def check_json(body: bytes, max_depth: int) -> None:
    """Depth and integer size of a JSON text, without parsing it (strings are skipped first)."""
    bare = _STRING.sub(b'""', body)
    depth = 0
    for m in _BRACKET.finditer(bare):
        depth += 1 if m.group() in (b"[", b"{") else -1
        if depth > max_depth:
            raise Rejection(400, "json_too_deep", f"JSON nested deeper than {max_depth} levels")
    for m in _LONG_INT.finditer(bare):
        digits = m.group().lstrip(b"-")
        if len(digits) > 19 or int(digits) > MAX_INT:
            raise Rejection(400, "integer_too_large", "an integer in the body does not fit in 64 bits")


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return bool(media == b"application/json" or media.endswith(b"+json"))
    return False


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits,
        on_reject: RejectHook,
        trace: Callable[[Scope], str],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.app, self.limits, self.on_reject, self.trace = app, limits, on_reject, trace
        self.headers = dict(headers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        trace = state.get("trace_id") or self.trace(scope)
        state["trace_id"] = trace
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    out.setdefault(name, value)
                out["X-Trace-Id"] = trace
            await send(message)

        try:
            body = await self._read(scope, receive)
        except Rejection as r:
            await self._reject(scope, send_with_headers, r)
            return
        if body is None:
            return  # the client went away
        try:
            await self.app(scope, _replay(body, receive), send_with_headers)
        except Exception:
            log.exception("unhandled error", path=scope.get("path"), trace_id=trace)
            if not started:
                await _respond(send_with_headers, 500, {"error": "internal_error", "message": "internal error"})

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        limits = self.limits
        raw_headers = scope.get("headers", ())
        size = sum(len(n) + len(v) for n, v in raw_headers)
        if size > limits.max_header_bytes or len(raw_headers) > limits.max_headers:
            raise Rejection(431, "headers_too_large", "request headers too large")
        limit = limits.body_limit(str(scope.get("path", "")))
        declared = [v for n, v in raw_headers if n == b"content-length"]
        if declared:
            if len(declared) > 1 or not declared[0].isdigit():
                raise Rejection(400, "bad_content_length", "invalid Content-Length")
            if int(declared[0]) > limit:
                raise Rejection(413, "body_too_large", f"request body larger than {limit} bytes")
        chunks: list[bytes] = []
        total = 0
        try:
            async with asyncio.timeout(limits.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    total += len(chunk)
                    if total > limit:
                        raise Rejection(413, "body_too_large", f"request body larger than {limit} bytes")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise Rejection(408, "body_timeout", "the request body was not received in time") from None
        body = b"".join(chunks)
        if body and _is_json(scope):
            check_json(body, limits.max_json_depth)
        return body

    async def _reject(self, scope: Scope, send: Send, r: Rejection) -> None:
        try:
            await self.on_reject(scope, r.status, r.code)
        except Exception:
            log.exception("could not audit a refused request", code=r.code)
        headers = {"Connection": "close"} if r.status in (408, 413) else {}
        await _respond(send, r.status, {"error": r.code, "message": r.message}, headers)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, status: int, body: Mapping[str, str], headers: Mapping[str, str] | None = None) -> None:
    payload = json.dumps(body).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode("ascii"))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
