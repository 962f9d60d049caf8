"""Frozen models of the Google Calendar API v3 payloads Aegis uses
(``www.googleapis.com/calendar/v3``).

Field names follow the API's camelCase through aliases; unknown fields are ignored. An event's
``start``/``end`` carry ``dateTime`` (timed, RFC 3339 with an offset) or ``date`` (all day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CalendarModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True)


class EventTime(CalendarModel):
    date: str | None = None
    date_time: str | None = None
    time_zone: str | None = None

    @property
    def all_day(self) -> bool:
        return self.date_time is None and self.date is not None

    def instant(self) -> datetime | None:
        """The moment in UTC (an all-day date starts at midnight UTC)."""
        if self.date_time:
            parsed = datetime.fromisoformat(self.date_time.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if self.date:
            return datetime.combine(date.fromisoformat(self.date), time(), tzinfo=UTC)
        return None


class Person(CalendarModel):
    email: str | None = None
    display_name: str | None = None
    self_: bool = Field(default=False, alias="self")
    response_status: str | None = None
    organizer: bool = False


class Event(CalendarModel):
    id: str
    status: str = "confirmed"  # confirmed, tentative, cancelled
    html_link: str | None = None
    updated: str | None = None
    summary: str | None = None
    description: str | None = None
    location: str | None = None
    creator: Person | None = None
    organizer: Person | None = None
    start: EventTime | None = None
    end: EventTime | None = None
    recurrence: tuple[str, ...] = ()
    recurring_event_id: str | None = None
    attendees: tuple[Person, ...] = ()
    i_cal_uid: str | None = Field(default=None, alias="iCalUID")

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


class EventsPage(CalendarModel):
    summary: str | None = None  # the calendar's name (its owner's address for a primary calendar)
    time_zone: str | None = None
    items: tuple[Event, ...] = ()
    next_page_token: str | None = None
    next_sync_token: str | None = None


class Busy(CalendarModel):
    start: str
    end: str
