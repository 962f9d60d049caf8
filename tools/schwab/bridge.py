"""An ``httpx2`` transport that sends through the shared ``httpx.AsyncClient``.

schwab-py's session is authlib's ``AsyncOAuth2Client``, an ``httpx2`` client (API-NOTES §0). Giving
it this transport makes every Schwab request, token refreshes included, go through the one client
the composition root injects (its timeouts, its no-redirect rule, and in the demo profile its
in-memory transport). The response body is already decoded, so its encoding headers are dropped.
"""

from __future__ import annotations

import httpx
import httpx2

_HOP = frozenset({"content-encoding", "transfer-encoding", "content-length", "connection"})


class HttpxBridge(httpx2.AsyncBaseTransport):
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        outgoing = httpx.Request(
            request.method, str(request.url), headers=list(request.headers.multi_items()), content=body
        )
        try:
            response = await self._http.send(outgoing)
        except httpx.TimeoutException as exc:
            raise httpx2.TimeoutException(type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise httpx2.TransportError(type(exc).__name__) from None
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP]
        return httpx2.Response(response.status_code, headers=headers, content=response.content)
