"""OAuth run by the integration's own server, for integrations whose manifest names an
``authorize_tool`` and a ``redeem_tool``: the vendor's application key is in the vault, which the
console cannot read, so the server builds the vendor's authorize URL and redeems the code itself,
writing the token to the vault from its own process. The console keeps the flow, as for Google:

1. :meth:`ServerOAuth.start` makes a random state, remembers it (server side, single use, ten
   minutes) with the session id that asked and the integration, and asks the integration's
   ``authorize_tool`` for the vendor's URL with that state and the callback address (the console's
   address from the owner's settings, ``AEGIS_CONSOLE_URL``, + ``/static/oauth-return.html``).
2. The vendor sends the browser back there; the static page moves it on, same-site, to
   ``/integrations/oauth/callback`` (see :mod:`web.oauth`).
3. :meth:`ServerOAuth.finish` takes the state back (once), checks it belongs to the same session and
   has not expired, and only then asks the ``redeem_tool`` to exchange the code. The token is never
   in the console: :class:`~web.oauth.Granted` carries none.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from integrations import Catalog
from web.oauth import STATE_TTL, Granted, KeepsFlows, OAuthError, make_room, take_flow

CALLBACK_PATH = "/static/oauth-return.html"


class ConsoleTools(Protocol):
    async def console_only(self, tool: str, args: Any = None) -> Any:
        """An ADMIN tool's :class:`~web.data.ToolResult` (``ok``, ``content``, ``error``)."""
        ...


def callback_address(console_url: str) -> str:
    """Where the vendor sends the owner back: the console's own address, as the owner set it."""
    return console_url.rstrip("/") + CALLBACK_PATH


@dataclass(frozen=True)
class _Pending:
    session_id: str
    expires: float
    integration: str


@dataclass
class ServerOAuth(KeepsFlows):
    catalog: Catalog
    tools: ConsoleTools
    redirect_uri: str
    clock: Callable[[], float] = time.time
    _pending: dict[str, _Pending] = field(default_factory=dict)

    def _tool(self, integration: str, which: str) -> str:
        manifest = self.catalog.manifests.get(integration)
        tool = getattr(manifest.connect, which) if manifest is not None else None
        if not isinstance(tool, str):
            raise OAuthError("not_an_oauth_integration", integration)
        return tool

    async def start(self, session_id: str, *, integration: str, scopes: tuple[str, ...] = ()) -> str:
        tool = self._tool(integration, "authorize_tool")
        now = self.clock()
        make_room(self._pending, now)
        state = secrets.token_urlsafe(32)
        result = await self.tools.console_only(tool, {"redirect_uri": self.redirect_uri, "state": state})
        url = result.content.get("url") if result.ok and isinstance(result.content, dict) else None
        if not isinstance(url, str) or urlsplit(url).scheme != "https":
            raise OAuthError("authorize_refused", integration)
        self._pending[state] = _Pending(session_id, now + STATE_TTL, integration)
        return url

    async def finish(self, *, state: str, code: str, session_id: str) -> Granted:
        pending = take_flow(self._pending, state, session_id, self.clock())
        tool = self._tool(pending.integration, "redeem_tool")
        result = await self.tools.console_only(tool, {"code": code, "redirect_uri": self.redirect_uri})
        if not (result.ok and isinstance(result.content, dict) and result.content.get("stored")):
            raise OAuthError("redeem_refused", pending.integration)
        return Granted(pending.integration, None)
