"""The console's Schwab login (``finance.link``, ADMIN: console only). The console makes the state,
binds it to the owner's session and checks it when Schwab sends the browser back; these tools build
Schwab's authorize URL for that state and redeem the code (:mod:`tools.schwab.login`), storing the
token through the broker's vault. Neither result carries a token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import CREATE, LOCAL_READ, vendor_errors
from tools.schwab.login import authorize_url, redeem

if TYPE_CHECKING:
    from mcp_servers.schwab.args import SchwabDeps

NAME = "schwab"
CallbackUrl = Annotated[str, Field(pattern=r"^https://[^\s?#]{3,300}$", description="The console's return page")]
State = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{20,100}$")]
Code = Annotated[str, Field(min_length=4, max_length=2000, pattern=r"^[\x21-\x7e]+$")]


class LoginStart(TypedDict):
    url: str


class LoginDone(TypedDict):
    connected: bool
    refresh_expires_at: str | None


def register_login_tools(server: MCPServer, deps: SchwabDeps) -> None:
    gate, client = deps.gate, deps.service.client

    @server.tool(annotations=LOCAL_READ)
    async def login_start(redirect_uri: CallbackUrl, state: State, ctx: Context) -> LoginStart:
        """Console only: Schwab's login page for this state and callback URL."""
        await gate.check(ctx, "finance.link", "login_start")
        with vendor_errors(NAME):
            key, _secret = await client.app_keys()
        return {"url": authorize_url(key, redirect_uri, state)}

    @server.tool(annotations=CREATE)
    async def login_finish(redirect_uri: CallbackUrl, state: State, code: Code, ctx: Context) -> LoginDone:
        """Console only: redeem the code Schwab sent back and keep the token in the vault."""
        await gate.check(ctx, "finance.link", "login_finish")
        with vendor_errors(NAME):
            key, secret = await client.app_keys()
            token = await redeem(
                key,
                secret,
                callback_url=redirect_uri,
                state=state,
                code=code,
                now=deps.now().timestamp(),
                transport=client.transport,
            )
            ends = await client.store_token(token)
        return {"connected": True, "refresh_expires_at": ends.isoformat() if ends else None}
