"""Connecting Schwab from the console (``finance.link``, ADMIN: console only), in the shape the
console's server-run OAuth takes (``connect.authorize_tool`` / ``connect.redeem_tool``, see
:mod:`web.oauth_server`). The app key and secret are in the vault, which the console cannot read, so
the console keeps the flow (a random state, single use, ten minutes, bound to the owner's session;
the callback URL from the owner's settings) and asks this server for two things: ``authorize``,
Schwab's login page for that state and callback; and, once the state checked out, ``redeem``: the
code is exchanged at Schwab's token endpoint (:mod:`tools.schwab.login`) and the token written to
the vault from here. Neither result carries a token or any part of the app key's secret."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import LOCAL_READ, SEND, vendor_errors
from mcp_servers.schwab.views import ConnectionResult
from tools.schwab import login
from tools.schwab.client import TOKEN

if TYPE_CHECKING:
    from mcp_servers.schwab.args import SchwabDeps

NAME = "schwab"
WARN_AHEAD = dt.timedelta(days=1)
# Schwab accepts only an https callback, matched exactly as registered with the app.
CallbackUrl = Annotated[str, Field(pattern=r"^https://[^\s?#]{3,300}$", description="The console's return page")]
State = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{20,100}$")]
Code = Annotated[str, Field(min_length=4, max_length=2000, pattern=r"^[\x21-\x7e]+$")]


class AuthorizeResult(TypedDict):
    url: str
    host: str


class RedeemResult(TypedDict):
    stored: str
    refresh_expires_at: str | None


def register_login_tools(server: MCPServer, deps: SchwabDeps) -> None:
    gate, client = deps.gate, deps.service.client

    @server.tool(annotations=LOCAL_READ)
    async def authorize(redirect_uri: CallbackUrl, state: State, ctx: Context) -> AuthorizeResult:
        """Console only: the address of Schwab's login page for this state and callback URL."""
        await gate.check(ctx, "finance.link", "authorize")
        with vendor_errors(NAME):
            key, _secret = await client.app_keys()
        url = login.authorize_url(key, redirect_uri, state)
        return {"url": url, "host": urlsplit(url).hostname or ""}

    @server.tool(annotations=SEND)
    async def redeem(code: Code, redirect_uri: CallbackUrl, ctx: Context) -> RedeemResult:
        """Console only: exchange the code Schwab sent back and keep the token in the vault."""
        await gate.check(ctx, "finance.link", "redeem")
        with vendor_errors(NAME):
            await client.ready_to_store()  # before the single-use code is spent
            key, secret = await client.app_keys()
            now = deps.now().timestamp()
            token = await login.redeem(
                key, secret, callback_url=redirect_uri, code=code, now=now, transport=client.transport
            )
            ends = await client.store_token(token)
        return {"stored": TOKEN, "refresh_expires_at": ends.isoformat() if ends else None}


def login_clock(expires: dt.datetime, now: dt.datetime) -> ConnectionResult:
    """The login's 7-day clock as ``schwab.connection`` reports it: from ``WARN_AHEAD`` before the
    refresh token ends, ``reconnect`` with a notice for the owner (the daily login check sends it)
    and an ``attention`` entry (the console's "needs attention" on the integrations page and in the
    merged view), both saying to reconnect Schwab; after the end, that its login ended."""
    left = expires - now
    hours = max(0, int(left.total_seconds() // 3600))
    alive = left.total_seconds() > 0
    out: ConnectionResult = {
        "connected": alive,
        "refresh_expires_at": expires.isoformat(),
        "hours_left": hours,
        "reconnect": left <= WARN_AHEAD,
        "attention": [],
    }
    if left > WARN_AHEAD:
        return out | {"message": f"connected; reconnect Schwab within {hours // 24} days {hours % 24} h"}
    when = expires.strftime("%a %d %b %H:%M UTC")
    ending = f"its login ends in {hours} h ({when})"
    message = "reconnect Schwab: " + (ending if alive else "its login ended")
    since = expires - WARN_AHEAD if alive else expires
    reason = "login_ending" if alive else "login_ended"
    return out | {
        "message": message,
        "attention": [{"reason": reason, "detail": message, "since": since.isoformat(), "snapshot_id": None}],
        "notice": {
            "title": "Reconnect Schwab" + (f" before {when}" if alive else ": its login ended"),
            "body": "Schwab's login lasts 7 days and cannot be extended. Open Integrations in the console and "
            "choose Authorize on Schwab; balances and orders stop updating until you do.",
        },
    }
