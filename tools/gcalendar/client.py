"""Google Calendar API v3 client: ``https://www.googleapis.com/calendar/v3``, JSON over the shared client.

Auth: the credential is the broker's oauth token secret ``gcalendar-oauth`` (JSON with
``access_token``, ``refresh_token``, ``expires_at``...). Only ``access_token`` is sent, as
``Authorization: Bearer``; refreshing is the broker's and the console's job. A 401 drops the cached
credential and raises :class:`AuthExpired`; a token whose ``expires_at`` has passed is re-read once.

Errors (Google's body ``{"error": {"code", "message", "errors": [{"reason"}]}}``): 400 →
InvalidRequest; 401 → AuthExpired; 403 ``rateLimitExceeded``/``userRateLimitExceeded`` → RateLimited
(retried), other 403 → AuthExpired; 404 → NotFound; **410 → SyncTokenExpired** (the sync token is
no longer valid: the caller does a full resync; reason ``deleted``: NotFound); 429 → RateLimited; 5xx → UpstreamError.

Event ids from callers are checked against an id alphabet before they go into a URL path.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Literal

import httpx

from tools._http import RetryPolicy
from tools.credentials import CredentialProvider
from tools.errors import IntegrationError, InvalidRequest, NotFound
from tools.gcalendar.models import Busy, Event, EventsPage
from tools.google import GoogleApiClient

BASE_URL = "https://www.googleapis.com/calendar/v3"
CREDENTIAL_NAME = "gcalendar-oauth"
PRIMARY = "primary"
MAX_PAGE = 2500
Response = Literal["accepted", "declined", "tentative"]
_ID = re.compile(r"[A-Za-z0-9_-]{1,1024}")


class SyncTokenExpired(NotFound):
    """Google answered 410 Gone to a sync token: clear the stored state and do a full sync."""


def check_id(value: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidRequest("invalid Google Calendar event id", integration="gcalendar")
    return value


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise InvalidRequest("times must carry a UTC offset", integration="gcalendar")
    return moment.isoformat()


class CalendarClient(GoogleApiClient):
    name = "gcalendar"

    label = "Google Calendar"
    quota_reasons = frozenset({"dailyLimitExceeded", "quotaExceeded", "usageLimits"})

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: CredentialProvider,
        *,
        credential_name: str = CREDENTIAL_NAME,
        base_url: str = BASE_URL,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            http, credentials, credential_name=credential_name, base_url=base_url, retry=retry, clock=clock
        )

    def _special_error(self, status: int, reason: str | None, text: str) -> IntegrationError | None:
        if status == 410 and reason == "deleted":  # deleting an event that is already gone
            return NotFound(text, integration=self.name, status=status, code=reason)
        if status == 410:
            return SyncTokenExpired(text, integration=self.name, status=status, code=reason)
        return None

    # ---- events ----------------------------------------------------------------------------

    async def list_events(
        self,
        *,
        time_min: datetime | None = None,
        time_max: datetime | None = None,
        sync_token: str | None = None,
        page_token: str | None = None,
        order_by_start: bool = False,
        max_results: int = 250,
    ) -> EventsPage:
        """One page of ``events.list`` on the primary calendar, recurring events expanded
        (``singleEvents=true``). With ``sync_token``: only changes, and no time window or order
        (Google refuses those together); raises :class:`SyncTokenExpired` on 410."""
        if not 1 <= max_results <= MAX_PAGE:
            raise InvalidRequest(f"max_results must be 1-{MAX_PAGE}", integration=self.name)
        params: list[tuple[str, str | int]] = [("singleEvents", "true"), ("maxResults", max_results)]
        if sync_token:
            if time_min or time_max or order_by_start:
                raise InvalidRequest("a sync token cannot be combined with a window or an order", integration=self.name)
            params.append(("syncToken", sync_token))
        if time_min:
            params.append(("timeMin", rfc3339(time_min)))
        if time_max:
            params.append(("timeMax", rfc3339(time_max)))
        if order_by_start:
            params.append(("orderBy", "startTime"))
        if page_token:
            params.append(("pageToken", page_token))
        body = await self._call("GET", f"/calendars/{PRIMARY}/events", params=params)
        return EventsPage.model_validate(body)

    async def iter_events(
        self, *, time_min: datetime | None = None, time_max: datetime | None = None, sync_token: str | None = None
    ) -> AsyncIterator[EventsPage]:
        """Every page; the last one carries ``next_sync_token``. Pages may be short or empty."""
        token: str | None = None
        while True:
            page = await self.list_events(time_min=time_min, time_max=time_max, sync_token=sync_token, page_token=token)
            yield page
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def get_event(self, event_id: str) -> Event:
        return Event.model_validate(await self._call("GET", f"/calendars/{PRIMARY}/events/{check_id(event_id)}"))

    async def insert_event(self, body: dict[str, Any]) -> Event:
        """Create an event; Google emails the attendees (``sendUpdates=all``). Not idempotent."""
        found = await self._call(
            "POST", f"/calendars/{PRIMARY}/events", params={"sendUpdates": "all"}, json_body=body, idempotent=False
        )
        return Event.model_validate(found)

    async def patch_event(self, event_id: str, body: dict[str, Any]) -> Event:
        path = f"/calendars/{PRIMARY}/events/{check_id(event_id)}"
        return Event.model_validate(await self._call("PATCH", path, params={"sendUpdates": "all"}, json_body=body))

    async def delete_event(self, event_id: str) -> None:
        path = f"/calendars/{PRIMARY}/events/{check_id(event_id)}"
        await self._call("DELETE", path, params={"sendUpdates": "all"})

    async def free_busy(self, time_min: datetime, time_max: datetime) -> list[Busy]:
        body = {"timeMin": rfc3339(time_min), "timeMax": rfc3339(time_max), "items": [{"id": PRIMARY}]}
        found = await self._call("POST", "/freeBusy", json_body=body)
        calendar = (found.get("calendars") or {}).get(PRIMARY) or {}
        if calendar.get("errors"):
            raise InvalidRequest("free/busy is not available for the calendar", integration=self.name)
        return [Busy.model_validate(b) for b in calendar.get("busy", [])]

    async def health_check(self) -> bool:
        return await self._healthy(lambda: self.list_events(max_results=1))


def attendee_addresses(values: Sequence[str]) -> list[dict[str, str]]:
    return [{"email": v} for v in values]
