"""Graph access tokens with ``msal`` (sync, run in a thread), its token cache kept in the broker's vault.

The credential ``outlook-oauth`` is JSON. After the console's connect (authorization code with
PKCE) it is ``{"client_id", "authority", "scopes", "cache"}``, ``cache`` being msal's serialised
:class:`msal.SerializableTokenCache`. :class:`MsalTokens` rebuilds the public client application
over that cache, asks ``acquire_token_silent_with_error`` (msal refreshes and rotates the refresh token inside
its cache), and when the cache changed writes it back through a :class:`CacheWriter` (the broker's
scoped write path): the cache is never a file. msal talks HTTP through the ``http_client`` given
(an ``httpx.Client``), never ``requests``. A credential with a bare ``access_token`` (the demo
profile) is used as it is.

msal does not raise on auth errors: a result with ``error`` (or ``None``: no account, interaction
needed) is an :class:`AuthExpired` the owner fixes by connecting again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
import httpx
import msal

from tools.credentials import CredentialProvider
from tools.errors import AuthExpired
from tools.microsoft import DEFAULT_AUTHORITY, credential_json, public_app

CREDENTIAL_NAME = "outlook-oauth"
GRAPH_SCOPES: tuple[str, ...] = (
    "Mail.ReadWrite",
    "Mail.Send",
    "Calendars.ReadWrite",
    "User.Read",
)
EXPIRY_SKEW = 120.0


class CacheWriter(Protocol):
    async def put(self, name: str, value: str) -> None:
        """Store the new credential value (create or rotate)."""
        ...


@dataclass
class _Session:
    raw: str
    app: msal.PublicClientApplication | None
    cache: msal.SerializableTokenCache | None
    scopes: list[str]
    token: str | None = None
    expires: float = 0.0


class MsalTokens:
    """Access tokens for Graph; ``invalidate()`` drops what is held, so the vault is read again."""

    def __init__(
        self,
        credentials: CredentialProvider,
        *,
        writer: CacheWriter | None,
        http_client: Callable[[], httpx.Client] = lambda: httpx.Client(timeout=30),
        credential_name: str = CREDENTIAL_NAME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._writer = writer
        self._http_client = http_client
        self.name = credential_name
        self._clock = clock
        self._session: _Session | None = None

    def invalidate(self) -> None:
        self._session = None
        self._credentials.invalidate(self.name)

    async def _open(self) -> _Session:
        raw = await self._credentials.get(self.name)
        if self._session is not None and self._session.raw == raw:
            return self._session
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise AuthExpired("the stored Outlook credential is not JSON", integration="outlook")
        if "cache" not in doc:
            token = doc.get("access_token")
            if not isinstance(token, str) or not token:
                raise AuthExpired("the stored Outlook credential holds no token cache", integration="outlook")
            self._session = _Session(raw, None, None, [], token, float("inf"))
            return self._session
        cache = msal.SerializableTokenCache()
        try:
            cache.deserialize(str(doc["cache"]))
            client_id, authority = str(doc["client_id"]), str(doc.get("authority") or DEFAULT_AUTHORITY)
        except (KeyError, ValueError, TypeError):
            raise AuthExpired("the stored Outlook token cache is unreadable", integration="outlook") from None
        scopes = [str(s) for s in doc.get("scopes") or GRAPH_SCOPES]
        http = self._http_client()
        try:
            app = await anyio.to_thread.run_sync(lambda: public_app(client_id, authority, cache, http))
        except ValueError:  # msal: the authority's discovery failed
            raise AuthExpired("Microsoft's sign-in authority could not be reached", integration="outlook") from None
        self._session = _Session(raw, app, cache, scopes)
        return self._session

    async def token(self) -> str:
        session = await self._open()
        if session.token is not None and session.expires > self._clock():
            return session.token
        app, cache = session.app, session.cache
        assert app is not None and cache is not None

        def silent() -> dict[str, Any] | None:
            accounts = app.get_accounts()
            if not accounts:
                return None
            result: dict[str, Any] | None = app.acquire_token_silent_with_error(session.scopes, account=accounts[0])
            return result

        result = await anyio.to_thread.run_sync(silent)
        if not result or "access_token" not in result:
            self.invalidate()
            reason = str(result.get("error")) if result else "no signed-in account"
            raise AuthExpired(f"Microsoft asks to sign in again ({reason})", integration="outlook")
        if cache.has_state_changed and self._writer is not None:
            doc = json.loads(session.raw)
            fresh = credential_json(
                client_id=doc["client_id"],
                authority=doc.get("authority") or DEFAULT_AUTHORITY,
                scopes=session.scopes,
                cache=cache.serialize(),
            )
            await self._writer.put(self.name, fresh)
            cache.has_state_changed = False
            session.raw = fresh
        session.token = str(result["access_token"])
        session.expires = self._clock() + float(result.get("expires_in", 300)) - EXPIRY_SKEW
        return session.token
