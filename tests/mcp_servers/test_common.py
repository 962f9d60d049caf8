"""Per-call tokens through the real MCP protocol, settings from the environment, error mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from mcp import Client
from mcp.types import RequestParamsMeta

from broker.tokens import SigningKey, jwks
from broker.verify import KeySet, VerificationError
from mcp_servers._common import CallGate, ConfigError, ServerSettings, keyset_verify, vendor_errors
from tests.mcp_servers.conftest import ISSUER, NOW, Clock, Gmail, Tokens, error_text
from tools.errors import AuthExpired, RateLimited, UpstreamError

pytestmark = pytest.mark.anyio


async def _refusal(g: Gmail, tool: str, args: dict[str, Any], meta: dict[str, Any] | RequestParamsMeta | None) -> str:
    result = await g.client.call_tool(tool, args, meta=cast(RequestParamsMeta | None, meta))
    text = error_text(result)
    assert all(token not in text for token in g.tokens.minted)  # never echoes a token
    return text


async def test_a_call_without_a_token_is_refused(gmail: Gmail) -> None:
    assert "call refused: missing_token" in await _refusal(gmail, "list_labels", {}, None)
    assert "missing_token" in await _refusal(gmail, "list_labels", {}, {"aegis/token": 42})


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"audience": "mcp-plaid"}, "bad_audience"),
        ({"issuer": "https://evil.test"}, "bad_issuer"),
        ({"now": NOW - 3600}, "expired"),
        ({"resource": "mcp:plaid"}, "resource_mismatch"),
        ({"scopes": ["mail.draft"]}, "insufficient_scope"),
        ({"key": SigningKey.generate(NOW)}, "unknown_kid"),
    ],
)
async def test_bad_tokens_are_refused_with_their_reason(gmail: Gmail, overrides: dict[str, Any], code: str) -> None:
    scopes = overrides.pop("scopes", ["mail.read"])
    meta = gmail.tokens.meta(*scopes, **overrides)
    assert f"call refused: {code}" in await _refusal(gmail, "list_labels", {}, meta)


async def test_a_tampered_token_is_refused(gmail: Gmail) -> None:
    token = gmail.tokens.mint("mail.read")
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    assert "call refused: bad_signature" in await _refusal(gmail, "list_labels", {}, {"aegis/token": forged})


async def test_a_valid_token_for_the_scope_is_accepted_and_scopes_do_not_stretch(gmail: Gmail) -> None:
    ok = await gmail.client.call_tool("list_labels", {}, meta=gmail.tokens.meta("mail.read"))
    assert not ok.is_error
    args = {"to": ["sam.okafor@example.net"], "subject": "s", "body": "b"}
    text = await _refusal(gmail, "send", args, gmail.tokens.meta("mail.read", "mail.draft"))
    assert "insufficient_scope" in text and gmail.mailbox.sent == []  # refused before any side effect
    sent = await gmail.client.call_tool("send", args, meta=gmail.tokens.meta("mail.send"))
    assert not sent.is_error and len(gmail.mailbox.sent) == 1


async def test_a_gate_that_is_off_lets_calls_through_without_tokens(gmail: Gmail) -> None:
    from mcp_servers.gmail.server import GmailDeps, build_server

    open_server = build_server(GmailDeps(gmail.service, CallGate(server="gmail", resource="mcp:gmail", verify=None)))
    async with Client(open_server) as client:
        result = await client.call_tool("list_labels", {})
    assert not result.is_error and result.structured_content is not None


async def test_keyset_verify_checks_audience_and_time(signing_key: SigningKey, clock: Clock) -> None:
    verify = keyset_verify(KeySet.from_jwks(jwks([signing_key])), issuer=ISSUER, audience="mcp-plaid", clock=clock)
    tokens = Tokens(signing_key, clock, "plaid")
    claims = await verify(tokens.mint("finance.read"))
    assert claims["aud"] == "mcp-plaid" and claims["scope"] == "finance.read"
    with pytest.raises(VerificationError, match="audience"):
        await verify(Tokens(signing_key, clock, "gmail").mint("mail.read"))
    clock.now += 3600
    with pytest.raises(VerificationError, match="expired"):
        await verify(tokens.mint("finance.read", now=NOW))


def test_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"AEGIS_MCP_KEY_FILE": str(tmp_path / "k"), "AEGIS_DATABASE_URL": "sqlite+aiosqlite:///x.db"}
    s = ServerSettings.from_env("gmail", env)
    assert (s.broker_url, s.issuer, s.demo, s.call_tokens) == (
        "http://127.0.0.1:8421",
        "http://127.0.0.1:8421",
        False,
        True,
    )
    assert (s.audience, s.resource) == ("mcp-gmail", "mcp:gmail")
    s = ServerSettings.from_env(
        "plaid", env | {"AEGIS_DEMO": "1", "AEGIS_MCP_CALL_TOKENS": "off", "AEGIS_BROKER_URL": "http://127.0.0.1:9/"}
    )
    assert (s.demo, s.call_tokens, s.broker_url) == (True, False, "http://127.0.0.1:9")
    for broken in ({"AEGIS_MCP_CALL_TOKENS": "maybe"}, {"AEGIS_DEMO": "yes"}):
        with pytest.raises(ConfigError):
            ServerSettings.from_env("gmail", env | broken)
    for missing in ("AEGIS_MCP_KEY_FILE", "AEGIS_DATABASE_URL"):
        with pytest.raises(ConfigError, match=missing):
            ServerSettings.from_env("gmail", {k: v for k, v in env.items() if k != missing})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AuthExpired("x", code="ITEM_LOGIN_REQUIRED"), "must reconnect this account (ITEM_LOGIN_REQUIRED)"),
        (RateLimited("x", retry_after=30), "rate limited; retry after 30 s"),
        (UpstreamError("x"), "unavailable, try again later"),
    ],
)
def test_vendor_errors_become_readable_tool_errors(error: Exception, expected: str) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    with pytest.raises(ToolError, match=expected.replace("(", r"\(").replace(")", r"\)")), vendor_errors("plaid"):
        raise error
