"""Typed Graph resources: the fields of messages and events Aegis reads, and a delta page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Graph(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class DateTimeZone(_Graph):
    date_time: str = Field(alias="dateTime")
    time_zone: str = Field(default="UTC", alias="timeZone")

    def instant(self) -> datetime:
        """The moment in UTC (Graph writes ``2026-12-02T09:00:00.0000000`` on the clock of ``timeZone``;
        Aegis asks for UTC, so a zone other than UTC is read as UTC only when it names UTC)."""
        text = self.date_time.rstrip("Z")
        head, _, frac = text.partition(".")
        parsed = datetime.fromisoformat(head + (f".{frac[:6]}" if frac else ""))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class EmailAddress(_Graph):
    address: str | None = None
    name: str | None = None


class Recipient(_Graph):
    email_address: EmailAddress = Field(default_factory=EmailAddress, alias="emailAddress")

    @property
    def address(self) -> str:
        return (self.email_address.address or "").lower()


class ResponseStatus(_Graph):
    response: str | None = None


class Attendee(Recipient):
    status: ResponseStatus | None = None
    type: str | None = None


class Location(_Graph):
    display_name: str | None = Field(default=None, alias="displayName")


class ItemBody(_Graph):
    content_type: str | None = Field(default=None, alias="contentType")
    content: str | None = None


class GraphEvent(_Graph):
    id: str
    subject: str | None = None
    body_preview: str | None = Field(default=None, alias="bodyPreview")
    body: ItemBody | None = None
    start: DateTimeZone | None = None
    end: DateTimeZone | None = None
    is_all_day: bool = Field(default=False, alias="isAllDay")
    is_cancelled: bool = Field(default=False, alias="isCancelled")
    is_organizer: bool = Field(default=False, alias="isOrganizer")
    show_as: str | None = Field(default=None, alias="showAs")
    location: Location | None = None
    organizer: Recipient | None = None
    attendees: tuple[Attendee, ...] = ()
    series_master_id: str | None = Field(default=None, alias="seriesMasterId")
    type: str | None = None
    web_link: str | None = Field(default=None, alias="webLink")
    removed: dict[str, Any] | None = Field(default=None, alias="@removed")

    @property
    def gone(self) -> bool:
        return self.removed is not None or self.is_cancelled


class GraphMessage(_Graph):
    id: str
    subject: str | None = None
    body_preview: str | None = Field(default=None, alias="bodyPreview")
    body: ItemBody | None = None
    from_: Recipient | None = Field(default=None, alias="from")
    to_recipients: tuple[Recipient, ...] = Field(default=(), alias="toRecipients")
    cc_recipients: tuple[Recipient, ...] = Field(default=(), alias="ccRecipients")
    received: datetime | None = Field(default=None, alias="receivedDateTime")
    is_read: bool = Field(default=False, alias="isRead")
    is_draft: bool = Field(default=False, alias="isDraft")
    conversation_id: str | None = Field(default=None, alias="conversationId")
    parent_folder_id: str | None = Field(default=None, alias="parentFolderId")
    web_link: str | None = Field(default=None, alias="webLink")
    removed: dict[str, Any] | None = Field(default=None, alias="@removed")

    @property
    def gone(self) -> bool:
        return self.removed is not None


class EventPage(_Graph):
    value: tuple[GraphEvent, ...] = ()
    next_link: str | None = Field(default=None, alias="@odata.nextLink")
    delta_link: str | None = Field(default=None, alias="@odata.deltaLink")


class MessagePage(_Graph):
    value: tuple[GraphMessage, ...] = ()
    next_link: str | None = Field(default=None, alias="@odata.nextLink")
    delta_link: str | None = Field(default=None, alias="@odata.deltaLink")


DeltaPage = EventPage  # the calendar's delta page, as it was first named
