"""The session tweepy's async client sends through: Aegis's shared httpx client.

``tweepy.asynchronous.AsyncClient`` builds each request (route, parameters, OAuth 1.0a signature)
and parses each answer, and sends through ``self.session.request(method, url, params=, json=,
headers=)`` used as an async context manager whose response has ``status``, ``reason``,
``headers``, ``read()`` and ``json()`` (aiohttp's ``ClientSession`` by default). This is that
interface over httpx, so X is called like every other vendor: one client, its TLS settings, and
the demo or a test's transport at the network edge.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx


class HttpxResponse:
    """The part of ``aiohttp.ClientResponse`` tweepy reads."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.headers = response.headers

    async def read(self) -> bytes:
        return self._response.content

    async def json(self) -> Any:
        try:
            return jsonlib.loads(self._response.content or b"{}")
        except ValueError:
            return {}  # not X's JSON (a proxy's page): the status says what happened


class HttpxSession:
    """``session.request(...)`` for tweepy, over an :class:`httpx.AsyncClient`."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: Any,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[HttpxResponse]:
        # A signed (OAuth 1.0a) request arrives as an already-encoded yarl URL with its query.
        response = await self._http.request(method, str(url), params=params, json=json, headers=headers)
        yield HttpxResponse(response)
