"""msal against a fake identity platform through its ``http_client``: the cache lives in the vault."""

from __future__ import annotations

import json
import warnings
from urllib.parse import parse_qs, urlsplit

import msal
import pytest

from tests.tools.outlook.conftest import AUTHORITY, CLIENT_ID, Identity, Writer
from tools.credentials import StaticCredentials
from tools.errors import AuthExpired
from tools.microsoft import credential_json, public_app
from tools.outlook.auth import GRAPH_SCOPES, MsalTokens

pytestmark = pytest.mark.anyio


def _connected(identity: Identity) -> str:
    """What the console stores after the authorization code flow: the serialised msal cache."""
    cache = msal.SerializableTokenCache()
    app = public_app(CLIENT_ID, AUTHORITY, cache, identity.client())
    with warnings.catch_warnings():  # query response mode: the console's same-site hop (see web/)
        warnings.simplefilter("ignore", UserWarning)
        flow = app.initiate_auth_code_flow(
            list(GRAPH_SCOPES), redirect_uri="https://aegis.example/static/oauth-return.html"
        )
    identity.nonce = parse_qs(urlsplit(flow["auth_uri"]).query)["nonce"][0]  # echoed as the authorize URL sent it
    result = app.acquire_token_by_auth_code_flow(flow, {"code": "M.C509_SN1.2.U.code", "state": flow["state"]})
    assert "access_token" in result, result
    assert identity.forms[-1]["code_verifier"] == flow["code_verifier"]  # PKCE
    assert identity.forms[-1]["grant_type"] == "authorization_code"
    return credential_json(client_id=CLIENT_ID, authority=AUTHORITY, scopes=GRAPH_SCOPES, cache=cache.serialize())


async def test_a_cached_access_token_is_served_without_the_network_then_refreshed_and_written_back(
    identity: Identity,
) -> None:
    stored = _connected(identity)
    creds = StaticCredentials({"outlook-oauth": stored})
    writer = Writer(creds)
    now = [1_000.0]
    tokens = MsalTokens(creds, writer=writer, http_client=identity.client, clock=lambda: now[0])
    assert await tokens.token() == "EwB-access-1"
    posts = [r for r in identity.requests if r.method == "POST"]
    assert len(posts) == 1 and writer.writes == []  # the code exchange only; nothing changed
    # The access token expires: msal refreshes with the refresh token and rotates it in its cache.
    cache = json.loads(json.loads(stored)["cache"])
    for entry in cache["AccessToken"].values():
        entry["expires_on"] = entry["extended_expires_on"] = "1"
    creds.set("outlook-oauth", json.dumps({**json.loads(stored), "cache": json.dumps(cache)}))
    tokens.invalidate()
    assert await tokens.token() == "EwB-access-2"
    assert identity.forms[-1]["grant_type"] == "refresh_token"
    assert identity.forms[-1]["refresh_token"] == "M.C509_BAY.refresh-1"
    assert "offline_access" in identity.forms[-1]["scope"] and "Mail.ReadWrite" in identity.forms[-1]["scope"]
    assert [name for name, _ in writer.writes] == ["outlook-oauth"]
    written = json.loads(writer.writes[0][1])
    assert "M.C509_BAY.refresh-2" in written["cache"] and written["client_id"] == CLIENT_ID
    # Held in memory until near its expiry: no second refresh.
    assert await tokens.token() == "EwB-access-2" and identity.issued == 2


async def test_a_refused_refresh_is_auth_expired_and_nothing_is_written(identity: Identity) -> None:
    stored = _connected(identity)
    cache = json.loads(json.loads(stored)["cache"])
    for entry in cache["AccessToken"].values():
        entry["expires_on"] = entry["extended_expires_on"] = "1"
    creds = StaticCredentials({"outlook-oauth": json.dumps({**json.loads(stored), "cache": json.dumps(cache)})})
    writer = Writer(creds)
    identity.refuse = "invalid_grant"
    tokens = MsalTokens(creds, writer=writer, http_client=identity.client)
    with pytest.raises(AuthExpired) as info:
        await tokens.token()
    assert "invalid_grant" in str(info.value)
    assert "M.C509" not in str(info.value) and writer.writes == []
    assert creds.invalidated == ["outlook-oauth"]


@pytest.mark.parametrize("value", ["not json", "[]", json.dumps({"cache": "{}", "client_id": CLIENT_ID})])
async def test_an_unusable_credential_is_auth_expired(identity: Identity, value: str) -> None:
    tokens = MsalTokens(StaticCredentials({"outlook-oauth": value}), writer=None, http_client=identity.client)
    with pytest.raises(AuthExpired):
        await tokens.token()
