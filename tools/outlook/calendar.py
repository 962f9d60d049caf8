"""Microsoft Graph calendar client: delta queries on ``/me/calendarView/delta`` over the shared client.

A round starts with ``startDateTime``/``endDateTime`` (the window is fixed for the round), then
follows ``@odata.nextLink`` until a page carries ``@odata.deltaLink``; the caller stores that whole
URL and starts the next round from it. Entries with ``@removed`` were deleted (or moved out of the
window). An expired delta link answers 410 Gone (sometimes 400 ``SyncStateNotFound``):
:class:`DeltaExpired`, and the caller does a full resync. Throttling (429, 503 with
``Retry-After``) is retried by the shared helper, honouring ``Retry-After``.

Links from Graph are followed only on Graph's own host, so a page cannot send the bearer token
elsewhere. Auth: the credential ``outlook-oauth`` is a JSON token with ``access_token`` (acquiring
and refreshing it with msal, its cache kept in the broker's vault, is not built yet).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from tools._http import RetryPolicy, scrub, status_error
from tools.base import BaseIntegration
from tools.credentials import CredentialProvider
from tools.errors import AuthExpired, IntegrationError, InvalidRequest, NotFound

BASE_URL = "https://graph.microsoft.com/v1.0"
GRAPH_HOST = "graph.microsoft.com"
CREDENTIAL_NAME = "outlook-oauth"


class DeltaExpired(NotFound):
    """Graph no longer knows the delta link: start a full round."""


class _Graph(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class DateTimeZone(_Graph):
    date_time: str = Field(alias="dateTime")
    time_zone: str = Field(default="UTC", alias="timeZone")


class EmailAddress(_Graph):
    address: str | None = None
    name: str | None = None


class Recipient(_Graph):
    email_address: EmailAddress = Field(default_factory=EmailAddress, alias="emailAddress")


class GraphEvent(_Graph):
    id: str
    subject: str | None = None
    start: DateTimeZone | None = None
    end: DateTimeZone | None = None
    is_all_day: bool = Field(default=False, alias="isAllDay")
    is_cancelled: bool = Field(default=False, alias="isCancelled")
    organizer: Recipient | None = None
    attendees: tuple[Recipient, ...] = ()
    series_master_id: str | None = Field(default=None, alias="seriesMasterId")
    type: str | None = None
    removed: dict[str, Any] | None = Field(default=None, alias="@removed")

    @property
    def gone(self) -> bool:
        return self.removed is not None or self.is_cancelled


class DeltaPage(_Graph):
    value: tuple[GraphEvent, ...] = ()
    next_link: str | None = Field(default=None, alias="@odata.nextLink")
    delta_link: str | None = Field(default=None, alias="@odata.deltaLink")


def _graph_error(response: httpx.Response) -> str | None:
    try:
        err = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    return str(err.get("code")) if isinstance(err, dict) and err.get("code") else None


class GraphCalendarClient(BaseIntegration):
    name = "outlook"

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        credential_name: str = CREDENTIAL_NAME,
        base_url: str = BASE_URL,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
    ) -> None:
        super().__init__(http, credentials, retry=retry)
        self._secret = credential_name
        self._base = base_url.rstrip("/")
        self._page_size = page_size

    async def _token(self) -> str:
        raw = await self.get_credential(self._secret)
        try:
            token = json.loads(raw)["access_token"]
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            self.invalidate_credential(self._secret)
            raise AuthExpired("the stored Outlook credential holds no access token", integration=self.name)
        return token

    async def _get(self, url: str, params: Any = None) -> DeltaPage:
        if urlsplit(url).hostname != GRAPH_HOST or not url.startswith("https://"):
            raise InvalidRequest("Graph sent a link off its own host", integration=self.name)
        token = await self._token()
        headers = {"Authorization": f"Bearer {token}", "Prefer": f"odata.maxpagesize={self._page_size}"}
        response = await self._send("GET", url, headers=headers, params=params)
        if response.status_code < 400:
            return DeltaPage.model_validate(response.json())
        raise self._error(response, token)

    def _error(self, response: httpx.Response, token: str) -> IntegrationError:
        code = _graph_error(response)
        text = scrub(f"outlook {response.status_code}: {code or response.reason_phrase}", [token])
        if response.status_code == 401:
            self.invalidate_credential(self._secret)
        if response.status_code == 410 or code in ("SyncStateNotFound", "resyncRequired"):
            return DeltaExpired(text, integration=self.name, status=response.status_code, code=code)
        return status_error(response, text, integration=self.name, code=code)

    async def health_check(self) -> bool:
        async def probe() -> DeltaPage:
            now = datetime.now(UTC)
            return await self._get(
                f"{self._base}/me/calendarView/delta",
                {"startDateTime": now.isoformat(), "endDateTime": (now + timedelta(days=1)).isoformat()},
            )

        return await self._healthy(probe)

    async def delta_round(
        self, *, start: datetime | None = None, end: datetime | None = None, delta_link: str | None = None
    ) -> AsyncIterator[DeltaPage]:
        """Every page of one round: a new window (``start``/``end``) or the changes since ``delta_link``.
        The last page carries the round's ``delta_link``."""
        if delta_link is None:
            if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
                raise InvalidRequest("a new round needs an offset-aware window", integration=self.name)
            params = {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()}
            page = await self._get(f"{self._base}/me/calendarView/delta", params)
        else:
            page = await self._get(delta_link)
        while True:
            yield page
            if page.delta_link or not page.next_link:
                return
            page = await self._get(page.next_link)
