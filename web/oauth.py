"""Google OAuth 2.0 consent for the integrations whose manifest names the ``google`` provider:
authorization code flow with PKCE (S256) and a state bound to the console session. Each
integration asks for its own scopes; ``include_granted_scopes`` makes the consent incremental, so
one Google client serves several integrations.

1. :meth:`GoogleOAuth.begin` makes a random state and code verifier, remembers them (server side,
   single use, ten minutes) with the session id that asked, the integration and its scopes, and
   returns Google's consent URL with the S256 challenge.
2. Google sends the browser back to ``redirect_uri``. That is the static page
   ``/static/oauth-return.html``: the session cookies are SameSite=Strict, so a navigation that
   comes from Google carries none; the page moves the browser on, same-site, to
   ``/integrations/oauth/callback`` with the same query, which carries them.
3. :meth:`GoogleOAuth.finish` takes the state back (once), checks it belongs to the same session,
   and exchanges the code at Google's token endpoint with the verifier. The token JSON is shaped as
   the integration clients read it (``access_token``, ``refresh_token``, ``expires_at``...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import httpx

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
STATE_TTL = 600.0
MAX_PENDING = 20


class OAuthError(Exception):
    """The flow failed; ``code`` is a fixed reason safe to show and audit; ``integration`` names the
    flow's integration once the state is known to belong to this session."""

    def __init__(self, code: str, integration: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.integration = integration


class OAuthProvider(Protocol):
    """A consent flow the console runs for integrations whose manifest names this provider."""

    async def start(self, session_id: str, *, integration: str, scopes: tuple[str, ...]) -> str:
        """Remember a new flow for this session; returns the URL to send the browser to."""
        ...

    def owns(self, state: str) -> bool:
        """Whether this provider started the flow with ``state`` (and has not ended it)."""
        ...

    def discard(self, state: str, session_id: str) -> str | None: ...

    async def finish(self, *, state: str, code: str, session_id: str) -> Granted: ...


class Flow(Protocol):
    """A flow kept between start and finish: whose session, until when, for which integration."""

    @property
    def session_id(self) -> str: ...

    @property
    def expires(self) -> float: ...

    @property
    def integration(self) -> str: ...


F = TypeVar("F", bound=Flow)


def make_room(pending: dict[str, F], now: float) -> None:
    """Drop expired flows, then the oldest, so a new one fits in :data:`MAX_PENDING`."""
    for key in [k for k, p in pending.items() if p.expires <= now]:
        del pending[key]
    while len(pending) >= MAX_PENDING:
        pending.pop(next(iter(pending)))


def discard_flow(pending: dict[str, F], state: str, session_id: str) -> str | None:
    """Forget a flow that ended without a code; its integration when it was this session's."""
    found = pending.pop(state, None)
    if found is None or not secrets.compare_digest(found.session_id, session_id):
        return None
    return found.integration


def take_flow(pending: dict[str, F], state: str, session_id: str, now: float) -> F:
    """The flow for ``state``, once (single use, whatever happens next): this session's, unexpired."""
    found = pending.pop(state, None)
    if found is None:
        raise OAuthError("unknown_state")
    if not secrets.compare_digest(found.session_id, session_id):
        raise OAuthError("state_from_another_session")
    if found.expires <= now:
        raise OAuthError("expired_state", found.integration)
    return found


class KeepsFlows:
    """``owns`` and ``discard`` of :class:`OAuthProvider`, over the flows a provider keeps."""

    _pending: dict[str, Any]

    def owns(self, state: str) -> bool:
        """Whether this provider started the flow with ``state`` (and has not ended it)."""
        return state in self._pending

    def discard(self, state: str, session_id: str) -> str | None:
        """Forget a flow that ended without a code (the owner declined)."""
        return discard_flow(self._pending, state, session_id)


def code_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class GoogleClient:
    client_id: str
    client_secret: str
    redirect_uri: str  # e.g. https://aegis.example/static/oauth-return.html, registered at Google

    def __repr__(self) -> str:
        return f"GoogleClient(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"


@dataclass(frozen=True)
class _Pending:
    session_id: str
    verifier: str
    expires: float
    integration: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Granted:
    """A finished consent: for which integration, and the token JSON to store (None: the
    integration's own server stored it, :mod:`web.oauth_server`)."""

    integration: str
    token: str | None

    def __repr__(self) -> str:
        return f"Granted(integration={self.integration!r})"


@dataclass
class GoogleOAuth(KeepsFlows):
    client: GoogleClient
    http: httpx.AsyncClient
    clock: Callable[[], float] = time.time
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def begin(self, session_id: str, *, integration: str, scopes: tuple[str, ...]) -> str:
        """Start a consent for this session and integration; returns the URL to send the browser to."""
        now = self.clock()
        make_room(self._pending, now)
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: within 43..128
        self._pending[state] = _Pending(session_id, verifier, now + STATE_TTL, integration, tuple(scopes))
        query = {
            "client_id": self.client.client_id,
            "redirect_uri": self.client.redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
            "access_type": "offline",  # a refresh token
            "prompt": "consent",
            "include_granted_scopes": "true",
        }
        return f"{AUTH_URL}?{urlencode(query)}"

    async def start(self, session_id: str, *, integration: str, scopes: tuple[str, ...]) -> str:
        return self.begin(session_id, integration=integration, scopes=scopes)

    async def finish(self, *, state: str, code: str, session_id: str) -> Granted:
        """Exchange the code; returns the integration and the token JSON to store (never logged or shown)."""
        pending = take_flow(self._pending, state, session_id, self.clock())
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.client.redirect_uri,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "code_verifier": pending.verifier,
        }
        try:
            r = await self.http.post(TOKEN_URL, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError:
            raise OAuthError("token_endpoint_unreachable", pending.integration) from None
        if r.status_code != 200:
            raise OAuthError(_google_error(r), pending.integration)
        try:
            doc = r.json()
        except ValueError:
            raise OAuthError("token_response_not_json", pending.integration) from None
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise OAuthError("token_response_without_access_token", pending.integration)
        granted = str(doc.get("scope", ""))
        if not all(s in granted.split() for s in pending.scopes):
            raise OAuthError("scope_not_granted", pending.integration)
        out = {
            "access_token": token,
            "refresh_token": doc.get("refresh_token"),
            "token_type": doc.get("token_type", "Bearer"),
            "expires_at": int(self.clock()) + int(doc.get("expires_in", 3600)),
            "scope": granted,
            "token_uri": TOKEN_URL,
            "client_id": self.client.client_id,
        }
        return Granted(pending.integration, json.dumps({k: v for k, v in out.items() if v is not None}))


def _google_error(r: httpx.Response) -> str:
    """Google's ``error`` code (e.g. ``invalid_grant``) when it is a plain word; never its text."""
    try:
        code = r.json().get("error")
    except (ValueError, AttributeError):
        code = None
    if isinstance(code, str) and code.replace("_", "").isalnum() and len(code) <= 40:
        return f"google_{code}"
    return f"google_http_{r.status_code}"
