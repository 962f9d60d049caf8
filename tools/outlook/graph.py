"""The Microsoft Graph base client: bearer tokens from :class:`~tools.outlook.auth.MsalTokens`,
httpx async, throttling and errors.

Throttling: 429 and 503 (and other 5xx) are retried by the shared helper, honouring ``Retry-After``
and then backing off; a send (not idempotent) is retried only on 429. Links Graph returns
(``@odata.nextLink``, ``@odata.deltaLink``) are followed only on Graph's own host over HTTPS, so a
page cannot send the bearer token elsewhere. An expired delta link answers 410 Gone (sometimes 400
``SyncStateNotFound``): :class:`DeltaExpired`, and the caller resyncs in full.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from tools._http import RetryPolicy, scrub, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import IntegrationError, InvalidRequest, NotFound
from tools.outlook.auth import MsalTokens

BASE_URL = "https://graph.microsoft.com/v1.0"
GRAPH_HOST = "graph.microsoft.com"
EXPIRED_CODES = frozenset({"SyncStateNotFound", "syncStateNotFound", "resyncRequired", "SyncStateInvalid"})


class DeltaExpired(NotFound):
    """Graph no longer knows the delta link: start a full round."""


def graph_error_code(response: httpx.Response) -> str | None:
    try:
        err = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    return str(err.get("code")) if isinstance(err, dict) and err.get("code") else None


def _retry_idempotent(response: httpx.Response) -> bool:
    return response.status_code in (429, 503, 504) or response.status_code >= 500


def _retry_send(response: httpx.Response) -> bool:
    return response.status_code == 429  # Graph did not take a throttled send; anything else may have gone


class GraphBase(BaseIntegration):
    name = "outlook"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        tokens: MsalTokens,
        *,
        base_url: str = BASE_URL,
        retry: RetryPolicy | None = None,
        page_size: int = 50,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self.tokens = tokens
        self._base = base_url.rstrip("/")
        self._page_size = page_size

    def url(self, path: str) -> str:
        return f"{self._base}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        if urlsplit(url).hostname != GRAPH_HOST or not url.startswith("https://"):
            raise InvalidRequest("Graph sent a link off its own host", integration=self.name)
        token = await self.tokens.token()
        sent = {"Authorization": f"Bearer {token}", "Prefer": f"odata.maxpagesize={self._page_size}", **(headers or {})}
        response = await self._send(
            method,
            url,
            headers=sent,
            params=params,
            json=json,
            idempotent=idempotent,
            retryable=_retry_idempotent if idempotent else _retry_send,
        )
        if response.status_code < 400:
            return response
        raise self._error(response, token)

    async def get_json(self, url: str, params: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        doc = (await self.request("GET", url, params=params, headers=headers)).json()
        if not isinstance(doc, dict):
            raise InvalidRequest("Graph answered something other than an object", integration=self.name)
        return doc

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        code = graph_error_code(response)
        text = scrub(f"outlook {response.status_code}: {code or response.reason_phrase}", [token])
        if response.status_code == 401:
            self.tokens.invalidate()
        if response.status_code == 410 or code in EXPIRED_CODES:
            return DeltaExpired(text, integration=self.name, status=response.status_code, code=code)
        return status_error(response, text, integration=self.name, code=code)
