"""Response hardening for every response, and a trace id per request (pure ASGI, no body buffering)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
# Fetch directives a page may widen with extra origins (never style, object, base, form or framing).
WIDENABLE = frozenset({"script-src", "frame-src", "connect-src"})
CSP_EXTRA = "csp_extra"
MICROPHONE = "microphone_allowed"


def render_csp(extra: dict[str, tuple[str, ...]] | None = None) -> str:
    policy = dict(BASE_POLICY)
    for directive, sources in (extra or {}).items():
        base = policy.get(directive, policy["default-src"])
        policy[directive] = base + tuple(s for s in sources if s not in base)
    return "; ".join(f"{d} {' '.join(v)}" for d, v in policy.items())


CSP = render_csp()


def widen_csp(scope: Scope, directive: str, *sources: str) -> None:
    """Let one response load from exact HTTPS sources beyond this server (a vendor's connect widget,
    as its manifest lists them).

    No wildcards, no inline script, no scheme-only sources: each must be a full https:// URL or origin."""
    if directive not in WIDENABLE:
        raise ValueError(f"{directive} cannot be widened")
    for source in sources:
        if not source.startswith("https://") or any(c in source for c in " ;,*'\""):
            raise ValueError(f"refusing CSP source {source!r}")
    extra: dict[str, tuple[str, ...]] = scope.setdefault("state", {}).setdefault(CSP_EXTRA, {})
    extra[directive] = extra.get(directive, ()) + sources


def allow_microphone(scope: Scope) -> None:
    """Let this one page ask for the microphone (the voice page); every other page keeps it off."""
    scope.setdefault("state", {})[MICROPHONE] = True


STATIC_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000"
PENDING_COOKIES = "pending_cookies"


def queue_cookie_headers(scope: Scope, values: list[str]) -> None:
    """Set-Cookie values the middleware adds to the response (used where the handler builds its own)."""
    scope.setdefault("state", {}).setdefault(PENDING_COOKIES, []).extend(values)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        trace = uuid.uuid4().hex
        state["trace_id"] = trace
        # The scheme is https only when the socket was TLS or a trusted proxy said so (ProxyHeaders ran first).
        tls = scope.get("scheme") == "https"
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in STATIC_HEADERS.items():
                    headers[name] = value
                extra = state.get(CSP_EXTRA)
                headers["Content-Security-Policy"] = render_csp(extra) if extra else CSP
                headers["X-Trace-Id"] = trace
                if state.get(MICROPHONE):
                    headers["Permissions-Policy"] = "camera=(), microphone=(self), geolocation=()"
                headers["Cache-Control"] = "no-cache" if static else "no-store"
                if tls:
                    headers["Strict-Transport-Security"] = HSTS
                for cookie in state.get(PENDING_COOKIES, []):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)
