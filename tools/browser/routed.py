"""Serving a browser's requests from an ``httpx`` client instead of the network.

The demo profile of a browser-only source has no website to visit: its pages come from an in-memory
``httpx.MockTransport`` (the source's ``demo.py``), like every other integration's demo. An
:class:`HttpxRoute` is a Playwright route handler that answers each request the page makes through
that client, with the same retry helper as every API call (a 429's ``Retry-After`` is waited out).
A 401 or 403 marks the site as having refused the login; a request that fails is aborted, so the
page fails to load as it would on a dead network.
"""

from __future__ import annotations

import httpx
from playwright.async_api import Route

from tools._http import RetryPolicy, send_with_retry

_HOP = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})


class HttpxRoute:
    def __init__(self, http: httpx.AsyncClient, *, retry: RetryPolicy | None = None) -> None:
        self._http = http
        self._retry = retry or RetryPolicy()
        self.refused = False  # the site answered 401/403: the saved login no longer works

    async def __call__(self, route: Route) -> None:
        req = route.request
        request = self._http.build_request(
            req.method, req.url, content=req.post_data_buffer, headers={"Accept": req.headers.get("accept", "*/*")}
        )
        try:
            response = await send_with_retry(lambda: self._http.send(request), policy=self._retry)
            body = await response.aread()
        except Exception:  # noqa: BLE001 - any failure is a page that did not load
            await route.abort("failed")
            return
        if response.status_code in (401, 403):
            self.refused = True
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP}
        await route.fulfill(status=response.status_code, headers=headers, body=body)
