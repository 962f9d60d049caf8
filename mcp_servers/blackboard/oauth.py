"""Connecting Blackboard's REST API as the owner (three-legged OAuth), run from the console.

The authorize URL needs the school's application key and the code is redeemed with its secret, both
in the vault, which the console cannot read. So the console keeps the flow (a random ``state``, single
use, ten minutes, bound to the owner's session, and its callback URL from the owner's settings) and
asks this server for two things: ``authorize``, Learn's page where the owner lets Aegis read their
courses; and, once the state checked out, ``redeem``: the code Learn returned is exchanged at Learn's
token endpoint and the refresh token written to the vault (``blackboard-refresh``) from here. No token
and no part of the application key leaves this process.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from mcp_servers._common import LOCAL_READ, SEND, CallGate, vendor_errors
from mcp_servers._oauth import AuthorizeResult, Code, RedeemResult, RedirectUri, State
from mcp_servers._oauth import callback_url as _callback
from mcp_servers._secrets import SecretStore, SecretStoreUnavailable
from tools.blackboard.client import REFRESH_CREDENTIAL, BlackboardClient
from tools.errors import AuthExpired


def callback_url(value: str) -> str:
    """The console's callback: https, or plain http only to this machine."""
    return _callback(value, "blackboard")


def register_oauth(server: MCPServer, gate: CallGate, client: BlackboardClient, secrets: SecretStore) -> None:
    @server.tool(annotations=LOCAL_READ)
    async def authorize(redirect_uri: RedirectUri, state: State, ctx: Context) -> AuthorizeResult:
        """Console only: the address of Blackboard's page where the owner lets Aegis read their courses."""
        await gate.check(ctx, "coursework.link", "authorize")
        try:
            url = await client.authorize_url(callback_url(redirect_uri), state)
        except AuthExpired:
            raise ToolError(
                "blackboard: no application key is stored (blackboard-app, key:secret); the school must "
                "register Aegis as a REST API integration first"
            ) from None
        return {"url": url, "host": urlsplit(url).hostname or ""}

    @server.tool(annotations=SEND)
    async def redeem(code: Code, redirect_uri: RedirectUri, ctx: Context) -> RedeemResult:
        """Console only: exchange the code Blackboard returned and keep the refresh token in the vault."""
        await gate.check(ctx, "coursework.link", "redeem")
        try:
            await secrets.ready()  # before the single-use code is spent
            with vendor_errors("blackboard"):
                refresh = await client.exchange_code(code, callback_url(redirect_uri))
            await secrets.put(REFRESH_CREDENTIAL, refresh)
        except SecretStoreUnavailable as exc:
            raise ToolError(f"blackboard: the refresh token could not be stored ({exc})") from None
        client.invalidate_credential(REFRESH_CREDENTIAL)
        return {"stored": REFRESH_CREDENTIAL}
