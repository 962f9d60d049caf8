"""Outlook calendar over Graph: delta rounds on ``/me/calendarView/delta``, window reads and event changes.

A delta round starts with ``startDateTime``/``endDateTime`` (the window is fixed for the round), then
follows ``@odata.nextLink`` until a page carries ``@odata.deltaLink``; the caller stores that whole
URL and starts the next round from it. Entries with ``@removed`` were deleted (or moved out of the
window). Times are asked for in UTC (``Prefer: outlook.timezone="UTC"``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tools.errors import InvalidRequest
from tools.outlook.graph import GraphBase
from tools.outlook.models import EventPage, GraphEvent

UTC_CLOCK = {"Prefer": 'outlook.timezone="UTC"'}
Answer = Literal["accepted", "declined", "tentative"]
_ACTIONS: dict[str, str] = {"accepted": "accept", "declined": "decline", "tentative": "tentativelyAccept"}


def graph_time(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _window(start: datetime, end: datetime) -> dict[str, str]:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidRequest("a window needs offset-aware times", integration="outlook")
    return {"startDateTime": start.astimezone(UTC).isoformat(), "endDateTime": end.astimezone(UTC).isoformat()}


class GraphCalendar(GraphBase):
    async def _event_page(self, url: str, params: Any = None) -> EventPage:
        return EventPage.model_validate(await self.get_json(url, params, UTC_CLOCK))

    async def health_check(self) -> bool:
        async def probe() -> EventPage:
            now = datetime.now(UTC)
            return await self._event_page(self.url("me/calendarView"), {**_window(now, now + timedelta(days=1))})

        return await self._healthy(probe)

    async def delta_round(
        self, *, start: datetime | None = None, end: datetime | None = None, delta_link: str | None = None
    ) -> AsyncIterator[EventPage]:
        """Every page of one round: a new window (``start``/``end``) or the changes since ``delta_link``.
        The last page carries the round's ``delta_link``."""
        if delta_link is None:
            if start is None or end is None:
                raise InvalidRequest("a new round needs an offset-aware window", integration=self.name)
            page = await self._event_page(self.url("me/calendarView/delta"), _window(start, end))
        else:
            page = await self._event_page(delta_link)
        while True:
            yield page
            if page.delta_link or not page.next_link:
                return
            page = await self._event_page(page.next_link)

    async def calendar_view(self, start: datetime, end: datetime, limit: int) -> list[GraphEvent]:
        """Events overlapping [start, end) (occurrences expanded), by start."""
        params = {**_window(start, end), "$orderby": "start/dateTime", "$top": str(min(limit, 100))}
        page = await self._event_page(self.url("me/calendarView"), params)
        found = list(page.value)
        while page.next_link and len(found) < limit:
            page = await self._event_page(page.next_link)
            found += page.value
        return [e for e in found if not e.is_cancelled][:limit]

    async def get_event(self, event_id: str) -> GraphEvent:
        return GraphEvent.model_validate(await self.get_json(self.url(f"me/events/{event_id}"), None, UTC_CLOCK))

    async def create_event(self, body: dict[str, Any]) -> GraphEvent:
        r = await self.request("POST", self.url("me/events"), json=body, headers=UTC_CLOCK, idempotent=False)
        return GraphEvent.model_validate(r.json())

    async def patch_event(self, event_id: str, body: dict[str, Any]) -> GraphEvent:
        r = await self.request("PATCH", self.url(f"me/events/{event_id}"), json=body, headers=UTC_CLOCK)
        return GraphEvent.model_validate(r.json())

    async def delete_event(self, event_id: str) -> None:
        """Delete an event; on the organizer's calendar Graph sends the attendees a cancellation."""
        await self.request("DELETE", self.url(f"me/events/{event_id}"))

    async def respond(self, event_id: str, answer: Answer) -> None:
        action = _ACTIONS[answer]
        await self.request("POST", self.url(f"me/events/{event_id}/{action}"), json={"sendResponse": True})
