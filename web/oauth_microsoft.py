"""Microsoft consent for the integrations whose manifest names the ``microsoft`` provider: msal's
authorization code flow with PKCE (S256, and an OIDC nonce), as a public client (no secret), for a
personal or a work or school account (``/common``).

1. :meth:`MicrosoftOAuth.start` builds the public client application (msal's OIDC discovery, sync,
   run in a thread), asks msal for the flow with a random state bound to the console session, keeps
   the flow (its code verifier and nonce) server side, single use, ten minutes, and returns
   Microsoft's authorize URL.
2. Microsoft sends the browser back to ``redirect_uri``: the static ``/static/oauth-return.html``,
   which moves it on, same-site, to ``/integrations/oauth/callback`` (the session cookies are
   SameSite=Strict). The response comes in the query: that hop cannot take a cross-site form post,
   and PKCE binds the code to this server's verifier, so msal's form_post advice is declined here.
3. :meth:`MicrosoftOAuth.finish` takes the flow back (once, same session), lets msal redeem the code
   into a fresh token cache, and returns the vault credential: msal's serialised cache (never a file).
"""

from __future__ import annotations

import secrets
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx
import msal

from tools.microsoft import DEFAULT_AUTHORITY, credential_json, public_app
from web.oauth import STATE_TTL, Granted, KeepsFlows, OAuthError, make_room, take_flow


@dataclass(frozen=True)
class MicrosoftClient:
    client_id: str
    redirect_uri: str  # e.g. https://aegis.example/static/oauth-return.html, registered in Entra
    authority: str = DEFAULT_AUTHORITY


@dataclass(frozen=True)
class _Pending:
    session_id: str
    flow: dict[str, Any]
    expires: float
    integration: str
    scopes: tuple[str, ...]

    def __repr__(self) -> str:
        return f"_Pending(integration={self.integration!r})"


def _granted_all(asked: tuple[str, ...], granted: str) -> bool:
    """Microsoft may answer scopes as ``https://graph.microsoft.com/Mail.Read``: compare the last segment."""
    have = {s.rsplit("/", 1)[-1].lower() for s in granted.split()}
    return all(s.rsplit("/", 1)[-1].lower() in have for s in asked)


@dataclass
class MicrosoftOAuth(KeepsFlows):
    client: MicrosoftClient
    http_client: Callable[[], httpx.Client] = lambda: httpx.Client(timeout=30, trust_env=False)
    clock: Callable[[], float] = time.time
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def _app(self, cache: msal.SerializableTokenCache) -> msal.PublicClientApplication:
        return public_app(self.client.client_id, self.client.authority, cache, self.http_client())

    async def start(self, session_id: str, *, integration: str, scopes: tuple[str, ...]) -> str:
        now = self.clock()
        make_room(self._pending, now)
        state = secrets.token_urlsafe(32)

        def initiate() -> dict[str, Any]:
            app = self._app(msal.SerializableTokenCache())
            with warnings.catch_warnings():  # query response mode: see the module's step 2
                warnings.simplefilter("ignore", UserWarning)
                flow: dict[str, Any] = app.initiate_auth_code_flow(
                    list(scopes), redirect_uri=self.client.redirect_uri, state=state, response_mode="query"
                )
            return flow

        try:
            flow = await anyio.to_thread.run_sync(initiate)
        except (ValueError, httpx.HTTPError):
            raise OAuthError("authority_unreachable", integration) from None
        self._pending[state] = _Pending(session_id, flow, now + STATE_TTL, integration, tuple(scopes))
        return str(flow["auth_uri"])

    async def finish(self, *, state: str, code: str, session_id: str) -> Granted:
        pending = take_flow(self._pending, state, session_id, self.clock())
        cache = msal.SerializableTokenCache()

        def redeem() -> dict[str, Any]:
            result: dict[str, Any] = self._app(cache).acquire_token_by_auth_code_flow(
                pending.flow, {"code": code, "state": state}
            )
            return result

        try:
            result = await anyio.to_thread.run_sync(redeem)
        except (ValueError, RuntimeError):  # msal: a state or nonce mismatch
            raise OAuthError("flow_mismatch", pending.integration) from None
        except httpx.HTTPError:
            raise OAuthError("token_endpoint_unreachable", pending.integration) from None
        if "access_token" not in result:
            error = str(result.get("error", "no_token"))
            raise OAuthError(error if error.replace("_", "").isalpha() else "token_refused", pending.integration)
        if not _granted_all(pending.scopes, str(result.get("scope", ""))):
            raise OAuthError("scope_not_granted", pending.integration)
        token = credential_json(
            client_id=self.client.client_id,
            authority=self.client.authority,
            scopes=pending.scopes,
            cache=cache.serialize(),
        )
        return Granted(pending.integration, token)
