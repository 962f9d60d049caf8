"""What every Google REST client shares: the stored OAuth token, Google's error body, throttling,
and revoking the grant. Google is a provider several integrations use (each with its own scopes and
credential); an integration's client subclasses :class:`GoogleApiClient`.

Auth: the credential is the broker's ``oauth-token`` secret (JSON with ``access_token``,
``refresh_token``, ``expires_at``...). Only ``access_token`` is sent, as ``Authorization: Bearer``;
refreshing is the broker's and the console's job. A 401 drops the cached credential (the next call
reads whatever the broker holds now); a token whose ``expires_at`` has passed is re-read once.

Errors (``{"error": {"code", "message", "status", "errors": [{"reason"}]}}``): 403 with a throttle
reason is retried and then RateLimited, other quota reasons RateLimited; the rest by status
(:func:`tools._http.status_error`). A subclass adds its own cases in :meth:`_special_error`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import httpx

from tools._http import RetryPolicy, default_retryable, scrub, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, RateLimited

REVOKE_URL = "https://oauth2.googleapis.com/revoke"
THROTTLE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


def google_error(response: httpx.Response) -> tuple[str, str | None]:
    """(message, reason) from Google's error body; tolerant of non-JSON bodies."""
    try:
        err = response.json().get("error", {})
    except (ValueError, AttributeError):
        return response.reason_phrase or "error", None
    if not isinstance(err, dict):
        return str(err)[:200], None
    errors = err.get("errors") or [{}]
    reason = errors[0].get("reason") if isinstance(errors[0], dict) else None
    return str(err.get("message") or err.get("status") or "error")[:300], reason


def google_retryable(response: httpx.Response) -> bool:
    if default_retryable(response):
        return True
    return response.status_code == 403 and google_error(response)[1] in THROTTLE_REASONS


def expires_at(doc: dict[str, Any]) -> float | None:
    value = doc.get("expires_at")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


class GoogleApiClient(BaseIntegration):
    """A Google REST API under ``base_url`` with the token stored as ``credential_name``."""

    label: ClassVar[str] = "Google"  # how the owner calls the service, in error messages
    quota_reasons: ClassVar[frozenset[str]] = frozenset({"dailyLimitExceeded", "quotaExceeded"})

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        credential_name: str,
        base_url: str,
        logger_name: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(http, credentials, logger_name=logger_name, retry=retry)
        self._secret = credential_name
        self._base = base_url.rstrip("/")
        self._clock = clock

    async def _access_token(self) -> str:
        for _ in range(2):
            raw = await self.get_credential(self._secret)
            try:
                doc = json.loads(raw)
                token = doc["access_token"]
            except (ValueError, KeyError, TypeError):
                self.invalidate_credential(self._secret)
                raise AuthExpired(
                    f"the stored {self.label} credential is not an oauth token", integration=self.name
                ) from None
            if not isinstance(token, str) or not token:
                raise AuthExpired(f"the stored {self.label} credential has no access token", integration=self.name)
            expires = expires_at(doc)
            if expires is None or expires > self._clock():
                return token
            self.invalidate_credential(self._secret)  # maybe the broker has refreshed it by now
        raise AuthExpired(f"the {self.label} access token has expired; reconnect {self.label}", integration=self.name)

    async def _call(
        self, method: str, path: str, *, params: Any = None, json_body: Any = None, idempotent: bool = True
    ) -> Any:
        token = await self._access_token()
        response = await self._send(
            method,
            f"{self._base}{path}",
            headers={"Authorization": f"Bearer {token}"},
            params=params,
            json=json_body,
            idempotent=idempotent,
            retryable=google_retryable,
        )
        if response.status_code < 400:
            return response.json() if response.content else {}
        raise self._error(response, token)

    def _special_error(self, status: int, reason: str | None, text: str) -> IntegrationError | None:
        """A subclass's own mapping of an error response (None: the common one)."""
        return None

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        message, reason = google_error(response)
        text = f"{self.name} {response.status_code}: {scrub(message, [token])}"
        status = response.status_code
        if status == 401:
            self.invalidate_credential(self._secret)
        special = self._special_error(status, reason, text)
        if special is not None:
            return special
        if status == 403 and reason in THROTTLE_REASONS | self.quota_reasons:
            return RateLimited(text, retry_after=None, integration=self.name, status=status, code=reason)
        return status_error(response, text, integration=self.name, code=reason)

    async def revoke_grant(self) -> bool:
        """End Aegis's OAuth grant at Google (the refresh token if stored, which ends the whole grant).

        True when Google revoked it now; False when Google says the token is already expired or
        revoked. Anything else raises, so the caller keeps the credential and can try again."""
        raw = await self.get_credential(self._secret)
        try:
            doc = json.loads(raw)
            token = doc.get("refresh_token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise AuthExpired(f"the stored {self.label} credential holds no token to revoke", integration=self.name)
        response = await self._send("POST", REVOKE_URL, form={"token": token}, idempotent=True)
        if response.status_code == 200:
            self.invalidate_credential(self._secret)
            return True
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None
        if response.status_code == 400 and error == "invalid_token":
            return False
        raise status_error(response, f"google revoke {response.status_code}", integration=self.name, code=error)
