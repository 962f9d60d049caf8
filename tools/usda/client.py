"""USDA FoodData Central REST client: ``GET https://api.nal.usda.gov/fdc/v1/foods/search``.

Auth: a data.gov API key, the vault's ``usda-api-key``, sent as the ``api_key`` query parameter (the
only way FDC takes it). The key never reaches a log (requests are logged by path only) or an error
message (vendor messages are scrubbed of it).

Limits: 1,000 requests an hour per IP address by default; going over blocks the key for an hour.
api.data.gov answers that with 429 (``OVER_RATE_LIMIT``), retried with backoff (``Retry-After``
honoured) and raised as :class:`RateLimited` when retries run out. A missing or wrong key is a 403
(``API_KEY_MISSING`` / ``API_KEY_INVALID``): :class:`AuthExpired`, so the owner is told to enter it
again.

Search is limited to the ``SR Legacy`` and ``Foundation`` data types by default: generic foods with
values per 100 g, the same source as the offline table.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from tools._http import RetryPolicy, scrub, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, InvalidRequest, UpstreamError
from tools.usda.models import FdcFood, parse_food

BASE_URL: Final = "https://api.nal.usda.gov/fdc/v1"
CREDENTIAL_NAME: Final = "usda-api-key"
GENERIC_TYPES: Final = ("SR Legacy", "Foundation")
MAX_PAGE: Final = 50
MAX_QUERY: Final = 100


def _message(response: httpx.Response) -> tuple[str, str | None]:
    """api.data.gov errors: ``{"error": {"code", "message"}}``; FDC's own: ``{"message": ...}``."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "error")[:300], None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or "error")[:300], str(err.get("code") or "") or None
        if body.get("message"):
            return str(body["message"])[:300], None
    return "error", None


class UsdaClient(BaseIntegration):
    name = "usda"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        base_url: str = BASE_URL,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self._base = base_url.rstrip("/")

    async def _key(self) -> str:
        key = (await self.get_credential(CREDENTIAL_NAME)).strip()
        if not key:
            raise AuthExpired("no FoodData Central API key is stored", integration="usda")
        return key

    async def search(
        self, query: str, *, page_size: int = 10, data_types: tuple[str, ...] = GENERIC_TYPES
    ) -> list[FdcFood]:
        """Foods matching ``query``, best first, with their energy and macronutrients per 100 g."""
        query = query.strip()
        if not query or len(query) > MAX_QUERY:
            raise InvalidRequest(f"a food search is 1 to {MAX_QUERY} characters", integration="usda")
        if not 1 <= page_size <= MAX_PAGE:
            raise InvalidRequest(f"page_size must be 1 to {MAX_PAGE}", integration="usda")
        key = await self._key()
        params: dict[str, Any] = {"api_key": key, "query": query, "pageSize": page_size}
        if data_types:
            params["dataType"] = ",".join(data_types)
        response = await self._send("GET", f"{self._base}/foods/search", params=params)
        if response.status_code >= 400:
            message, code = _message(response)
            if response.status_code in (401, 403):
                self.invalidate_credential(CREDENTIAL_NAME)
            raise status_error(response, scrub(message, [key]), integration="usda", code=code)
        try:
            body = response.json()
            foods = body["foods"]
        except (ValueError, KeyError, TypeError):
            raise UpstreamError("FoodData Central sent an unreadable answer", integration="usda") from None
        return [parse_food(f) for f in foods if isinstance(f, dict) and "fdcId" in f]

    async def health_check(self) -> bool:
        return await self._healthy(lambda: self.search("egg", page_size=1))
