"""The owner's integration-client pattern, adapted to Aegis.

The owner's pattern has ``BaseIntegration`` expose ``get_credential``, ``sync()`` and
``health_check()``. In Aegis the service logic — what a sync fetches in which order, what it stores,
encrypted, in which transaction — lives in ``mcp_servers/<x>/``, not in the client. So this base
declares only ``health_check()`` as abstract, and the concrete clients expose the *pieces* a sync is
made of (one-page calls plus page iterators such as ``iter_history``), which
``mcp_servers`` composes into ``sync()``. Clients never store anything.

Every HTTP call goes through :meth:`BaseIntegration._send`: one shared, injected ``httpx.AsyncClient``,
the retry helper, and one structured log line per attempt with the method, the path (never the query
string, which can hold a search), the status and the duration. Bodies, headers and tokens are never
logged.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import httpx
import structlog

from tools._http import RetryPolicy, default_retryable, send_with_retry
from tools.credentials import CredentialProvider
from tools.errors import IntegrationError


class BaseIntegration(ABC):
    """Base of every integration client: credentials, retries, typed errors, structured logs."""

    name: ClassVar[str] = "integration"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        logger_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._log = structlog.get_logger(logger_name or f"aegis.tools.{self.name}")

    async def get_credential(self, name: str) -> str:
        """The plaintext of secret ``name`` from the provider; never cached here, never logged."""
        return await self._credentials.get(name)

    def invalidate_credential(self, name: str | None = None) -> None:
        self._credentials.invalidate(name)

    @abstractmethod
    async def health_check(self) -> bool:
        """True when the API answers and the credentials are accepted.

        Returns False for any :class:`IntegrationError` (logged by class name); programming errors
        propagate.
        """

    async def _healthy(self, probe: Callable[[], Awaitable[object]]) -> bool:
        try:
            await probe()
        except IntegrationError as exc:
            self._log.warning("integration.health", integration=self.name, ok=False, error=type(exc).__name__)
            return False
        self._log.info("integration.health", integration=self.name, ok=True)
        return True

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retryable: Callable[[httpx.Response], bool] = default_retryable,
    ) -> httpx.Response:
        request = self._http.build_request(method, url, headers=headers, params=params, json=json, data=form)
        attempt = 0

        async def send() -> httpx.Response:
            nonlocal attempt
            attempt += 1
            started = time.perf_counter()
            fields = {"integration": self.name, "method": method, "path": request.url.path, "attempt": attempt}
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                duration = round((time.perf_counter() - started) * 1000, 1)
                self._log.warning("integration.http", **fields, error=type(exc).__name__, duration_ms=duration)
                raise
            await response.aread()
            duration = round((time.perf_counter() - started) * 1000, 1)
            level = "info" if response.status_code < 400 else "warning"
            getattr(self._log, level)("integration.http", **fields, status=response.status_code, duration_ms=duration)
            return response

        return await send_with_retry(
            send, policy=self._retry, idempotent=idempotent, retryable=retryable, integration=self.name
        )
