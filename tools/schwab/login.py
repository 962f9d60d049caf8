"""Schwab's OAuth login as a web app runs it, following schwab-py's own web flow (API-NOTES §2):
:func:`schwab.auth.get_auth_context` builds the authorize URL with the console's state, and the
code is redeemed at :data:`schwab.auth.TOKEN_ENDPOINT` with the request
:func:`schwab.auth.client_from_received_url` sends (authlib's ``fetch_token``: grant type, code,
redirect URI and client id, the app key and secret as HTTP Basic), but on authlib's async client and
our transport, so the call goes through the shared HTTP client (and, in tests, the fake Schwab).

The console made the state, bound it to the owner's session and checked it when Schwab sent the
browser back; only then does it ask for the code to be redeemed, so the state is not checked again
here. The token comes back in schwab-py's stored format (:func:`~tools.schwab.client.wrap_token`),
for the vault; it is never written to a file.
"""

from __future__ import annotations

from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from schwab.auth import TOKEN_ENDPOINT, get_auth_context

from tools.errors import AuthExpired, UpstreamError
from tools.schwab.client import NAME, wrap_token


def authorize_url(app_key: str, callback_url: str, state: str) -> str:
    """Where the owner's browser goes to log in at Schwab."""
    return str(get_auth_context(app_key, callback_url, state=state).authorization_url)


async def redeem(
    app_key: str,
    app_secret: str,
    *,
    callback_url: str,
    code: str,
    now: float,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> str:
    """Exchange the code Schwab sent back; returns the token JSON in schwab-py's format."""
    oauth = AsyncOAuth2Client(app_key, redirect_uri=callback_url, transport=transport)
    try:
        token: Any = await oauth.fetch_token(
            TOKEN_ENDPOINT, grant_type="authorization_code", code=code, client_id=app_key, auth=(app_key, app_secret)
        )
    except AuthlibBaseError as exc:
        code_word = str(getattr(exc, "error", "") or "refused")
        raise AuthExpired(f"Schwab refused the login ({code_word})", integration=NAME, code="login_refused") from None
    except httpx2.HTTPError:
        raise UpstreamError("Schwab's token endpoint could not be reached", integration=NAME) from None
    finally:
        await oauth.aclose()
    if not isinstance(token, dict) or not token.get("access_token") or not token.get("refresh_token"):
        raise AuthExpired("Schwab's answer had no refresh token", integration=NAME, code="login_refused")
    return wrap_token(dict(token), now)
