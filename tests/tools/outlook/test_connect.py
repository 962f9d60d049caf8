"""Connecting from the console (msal's authorization code flow with PKCE) through to a Graph token:
the console's credential is exactly what the server's token source reads."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.tools.outlook.conftest import AUTHORITY, CLIENT_ID, Identity, Writer
from tools.credentials import StaticCredentials
from tools.outlook.auth import GRAPH_SCOPES, MsalTokens
from web.oauth import OAuthError
from web.oauth_microsoft import MicrosoftClient, MicrosoftOAuth

pytestmark = pytest.mark.anyio
REDIRECT = "https://aegis.example/static/oauth-return.html"


def _flow(identity: Identity) -> MicrosoftOAuth:
    return MicrosoftOAuth(MicrosoftClient(CLIENT_ID, REDIRECT, AUTHORITY), http_client=identity.client)


async def test_connect_redeems_the_code_with_the_verifier_and_the_server_then_gets_tokens(identity: Identity) -> None:
    flow = _flow(identity)
    url = await flow.start("session-1", integration="outlook", scopes=GRAPH_SCOPES)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?")
    assert q["client_id"] == CLIENT_ID and q["redirect_uri"] == REDIRECT and q["code_challenge_method"] == "S256"
    assert "Mail.ReadWrite" in q["scope"] and "offline_access" in q["scope"] and q["response_mode"] == "query"
    assert flow.owns(q["state"])
    identity.nonce = q["nonce"]
    granted = await flow.finish(state=q["state"], code="M.C509_SN1.2.U.code", session_id="session-1")
    assert granted.integration == "outlook" and not flow.owns(q["state"])
    sent = identity.forms[-1]
    assert sent["grant_type"] == "authorization_code" and len(sent["code_verifier"]) >= 43
    assert "client_secret" not in sent  # a public client
    assert "EwB-access-1" not in repr(granted)
    assert granted.token is not None  # the console stores Microsoft's token itself
    creds = StaticCredentials({"outlook-oauth": granted.token})
    tokens = MsalTokens(creds, writer=Writer(creds), http_client=identity.client)
    assert await tokens.token() == "EwB-access-1"  # from the cache the console stored, no new request
    assert identity.issued == 1


async def test_a_state_from_another_session_or_used_twice_is_refused(identity: Identity) -> None:
    flow = _flow(identity)
    url = await flow.start("session-1", integration="outlook", scopes=GRAPH_SCOPES)
    state = parse_qs(urlsplit(url).query)["state"][0]
    with pytest.raises(OAuthError) as info:
        await flow.finish(state=state, code="c", session_id="session-2")
    assert info.value.code == "state_from_another_session"
    with pytest.raises(OAuthError) as again:
        await flow.finish(state=state, code="c", session_id="session-1")
    assert again.value.code == "unknown_state" and not [f for f in identity.forms if "code" in f]


async def test_a_refused_code_is_a_plain_reason(identity: Identity) -> None:
    flow = _flow(identity)
    url = await flow.start("s", integration="outlook", scopes=GRAPH_SCOPES)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    identity.refuse = "invalid_grant"
    with pytest.raises(OAuthError) as info:
        await flow.finish(state=q["state"], code="expired", session_id="s")
    assert info.value.code == "invalid_grant" and info.value.integration == "outlook"
