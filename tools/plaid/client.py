"""Plaid client: JSON POSTs to ``https://sandbox.plaid.com`` or ``https://production.plaid.com``.

``client_id`` and ``secret`` come from the :class:`CredentialProvider` (secrets ``plaid-client-id``
and ``plaid-secret`` by default) and travel in the JSON body, as Plaid documents. The Item's
``access_token`` is passed per call by the service layer, which keeps it in the broker.

Error bodies carry ``error_type``, ``error_code``, ``error_message``, ``display_message`` and
``request_id``; they map to the :mod:`tools.errors` tree by code first, then by type, then by status:

==============================================================  ===============================
``ITEM_LOGIN_REQUIRED``, ``INVALID_ACCESS_TOKEN``,              AuthExpired
``ACCESS_NOT_GRANTED``, ``USER_PERMISSION_REVOKED``,
``INVALID_API_KEYS``, ``UNAUTHORIZED_ENVIRONMENT``,
``ITEM_LOCKED``, ``OAUTH_ERROR`` type
``TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION``                 SyncMutationDuringPagination
``RATE_LIMIT_EXCEEDED`` type, or HTTP 429                        RateLimited
``ITEM_NOT_FOUND``                                               NotFound
``API_ERROR`` / ``INSTITUTION_ERROR`` types, ``PRODUCT_NOT_READY``,  UpstreamError
HTTP 5xx
anything else (``INVALID_REQUEST``, ``INVALID_INPUT``, ...)     InvalidRequest
==============================================================  ===============================

The sync *loop* (and restarting it after a mutation) lives in ``mcp_servers``; this client returns
one page per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import httpx

from tools._http import RetryPolicy, parse_retry_after, scrub, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import (
    AuthExpired,
    IntegrationError,
    InvalidRequest,
    NotFound,
    RateLimited,
    SyncMutationDuringPagination,
    UpstreamError,
)
from tools.plaid.models import (
    AccountsResponse,
    ExchangeResult,
    Institution,
    LinkToken,
    PlaidErrorBody,
    SandboxPublicToken,
    SyncPage,
)

Environment = Literal["sandbox", "production"]
HOSTS: dict[str, str] = {"sandbox": "https://sandbox.plaid.com", "production": "https://production.plaid.com"}
API_VERSION = "2020-09-14"
SANDBOX_INSTITUTION = "ins_109508"  # First Platypus Bank (non-OAuth)
MAX_SYNC_COUNT = 500

_AUTH_CODES = frozenset(
    {
        "ITEM_LOGIN_REQUIRED",
        "INVALID_ACCESS_TOKEN",
        "ACCESS_NOT_GRANTED",
        "USER_PERMISSION_REVOKED",
        "INVALID_API_KEYS",
        "UNAUTHORIZED_ENVIRONMENT",
        "ITEM_LOCKED",
    }
)
_KEY_CODES = frozenset({"INVALID_API_KEYS", "UNAUTHORIZED_ENVIRONMENT"})
_UPSTREAM_TYPES = frozenset({"API_ERROR", "INSTITUTION_ERROR"})


class PlaidClient(BaseIntegration):
    name = "plaid"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        environment: Environment = "sandbox",
        *,
        id_credential: str = "plaid-client-id",
        key_credential: str = "plaid-secret",
        client_name: str = "Aegis",
        country_codes: Sequence[str] = ("US",),
        language: str = "en",
        logger_name: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if environment not in HOSTS:
            raise InvalidRequest(f"unknown Plaid environment {environment!r}", integration="plaid")
        super().__init__(http, credentials, logger_name=logger_name, retry=retry)
        self.environment = environment
        self._host = HOSTS[environment]
        self._id_name, self._secret_name = id_credential, key_credential
        self._client_name, self._countries, self._language = client_name, list(country_codes), language

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> Any:
        client_id = await self.get_credential(self._id_name)
        secret = await self.get_credential(self._secret_name)
        response = await self._send(
            "POST",
            f"{self._host}{path}",
            headers={"Plaid-Version": API_VERSION},
            json={"client_id": client_id, "secret": secret, **body},
            idempotent=idempotent,
        )
        if response.status_code < 400:
            return response.json()
        held = [client_id, secret, *(v for k, v in body.items() if k.endswith("_token") and isinstance(v, str))]
        raise self._error(response, held)

    def _error(self, response: httpx.Response, held: list[str]) -> IntegrationError:
        try:
            err = PlaidErrorBody.model_validate(response.json())
        except ValueError:
            return status_error(response, f"plaid {response.status_code}", integration="plaid")
        text = scrub(f"plaid {err.error_type}/{err.error_code}: {err.error_message[:300]}", held)
        kwargs: dict[str, Any] = {
            "integration": "plaid",
            "status": response.status_code,
            "code": err.error_code,
            "request_id": err.request_id,
        }
        code, kind, status = err.error_code, err.error_type, response.status_code
        error: IntegrationError
        if code == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION":
            error = SyncMutationDuringPagination(text, **kwargs)
        elif code in _AUTH_CODES or kind == "OAUTH_ERROR":
            if code in _KEY_CODES:
                self.invalidate_credential(self._id_name)
                self.invalidate_credential(self._secret_name)
            error = AuthExpired(text, **kwargs)
        elif kind == "RATE_LIMIT_EXCEEDED" or status == 429:
            after = parse_retry_after(response.headers.get("Retry-After"))
            error = RateLimited(text, retry_after=after, **kwargs)
        elif code == "ITEM_NOT_FOUND":
            error = NotFound(text, **kwargs)
        elif kind in _UPSTREAM_TYPES or code == "PRODUCT_NOT_READY" or status >= 500:
            error = UpstreamError(text, **kwargs)
        else:
            error = InvalidRequest(text, **kwargs)
        error.display_message = err.display_message
        return error

    # ---- API -------------------------------------------------------------------------------

    async def institution_get_by_id(self, institution_id: str = SANDBOX_INSTITUTION) -> Institution:
        body = await self._post(
            "/institutions/get_by_id", {"institution_id": institution_id, "country_codes": self._countries}
        )
        return Institution.model_validate(body["institution"])

    async def health_check(self) -> bool:
        """Checks that Plaid answers and accepts our client_id/secret (no Item needed)."""
        return await self._healthy(self.institution_get_by_id)

    async def link_token_create(
        self,
        client_user_id: str,
        products: Sequence[str] = ("transactions",),
        *,
        access_token: str | None = None,
        webhook: str | None = None,
        redirect_uri: str | None = None,
    ) -> LinkToken:
        """A token for Plaid Link. With ``access_token`` it opens Link in update mode (re-login)."""
        body: dict[str, Any] = {
            "client_name": self._client_name,
            "language": self._language,
            "country_codes": self._countries,
            "user": {"client_user_id": client_user_id},
        }
        if access_token:
            body["access_token"] = access_token
        else:
            body["products"] = list(products)
        if webhook:
            body["webhook"] = webhook
        if redirect_uri:
            body["redirect_uri"] = redirect_uri
        return LinkToken.model_validate(await self._post("/link/token/create", body))

    async def sandbox_public_token_create(
        self, institution_id: str = SANDBOX_INSTITUTION, initial_products: Sequence[str] = ("transactions",)
    ) -> SandboxPublicToken:
        """Sandbox only: make an Item without the Link UI."""
        if self.environment != "sandbox":
            raise InvalidRequest("sandbox_public_token_create exists only in the sandbox", integration="plaid")
        body = {"institution_id": institution_id, "initial_products": list(initial_products)}
        return SandboxPublicToken.model_validate(await self._post("/sandbox/public_token/create", body))

    async def item_public_token_exchange(self, public_token: str) -> ExchangeResult:
        """Single-use public token → permanent access token. Not idempotent."""
        body = {"public_token": public_token}
        return ExchangeResult.model_validate(await self._post("/item/public_token/exchange", body, idempotent=False))

    async def item_remove(self, access_token: str) -> None:
        """Remove the Item at Plaid: its access token stops working and Plaid stops billing for it."""
        await self._post("/item/remove", {"access_token": access_token}, idempotent=False)

    async def transactions_sync(
        self, access_token: str, cursor: str | None = None, count: int = MAX_SYNC_COUNT
    ) -> SyncPage:
        """One page of changes since ``cursor`` (None: from the beginning)."""
        if not 1 <= count <= MAX_SYNC_COUNT:
            raise InvalidRequest(f"count must be 1-{MAX_SYNC_COUNT}", integration="plaid")
        body: dict[str, Any] = {"access_token": access_token, "count": count}
        if cursor:
            body["cursor"] = cursor
        return SyncPage.model_validate(await self._post("/transactions/sync", body))

    async def accounts_get(self, access_token: str) -> AccountsResponse:
        """Accounts with cached balances (cheap)."""
        return AccountsResponse.model_validate(await self._post("/accounts/get", {"access_token": access_token}))

    async def accounts_balance_get(
        self, access_token: str, account_ids: Sequence[str] | None = None
    ) -> AccountsResponse:
        """Real-time balances (billed per call in production; 5/min per Item)."""
        body: dict[str, Any] = {"access_token": access_token}
        if account_ids:
            body["options"] = {"account_ids": list(account_ids)}
        return AccountsResponse.model_validate(await self._post("/accounts/balance/get", body))
