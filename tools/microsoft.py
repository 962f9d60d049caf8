"""The Microsoft identity platform, shared by the console (connecting) and the servers (refreshing):
the shape of the vault credential that carries msal's token cache, and the public client application.

The credential is JSON ``{"client_id", "authority", "scopes", "cache"}``, ``cache`` being msal's
serialised :class:`msal.SerializableTokenCache`. msal talks HTTP only through the ``http_client``
given (an ``httpx.Client``). Building the application performs OIDC discovery on the authority.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx
import msal

DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"  # personal and work or school accounts


def credential_json(*, client_id: str, authority: str, scopes: Sequence[str], cache: str) -> str:
    """The vault value: what a server needs to rebuild the application over its cache."""
    return json.dumps({"client_id": client_id, "authority": authority, "scopes": list(scopes), "cache": cache})


def public_app(
    client_id: str, authority: str, cache: msal.SerializableTokenCache, http_client: httpx.Client
) -> msal.PublicClientApplication:
    """A public client application (no secret: authorization code with PKCE) over ``cache``."""
    return msal.PublicClientApplication(
        client_id, authority=authority, token_cache=cache, http_client=http_client, instance_discovery=False
    )
