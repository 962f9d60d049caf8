"""Frozen models of the Gmail REST v1 payloads Aegis uses (``gmail.googleapis.com/gmail/v1/users/me``).

Field names follow the API's camelCase through aliases; unknown fields are ignored, so a new field
from Google never breaks parsing. ``internalDate`` arrives as a string of epoch milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class GmailModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True)


class Profile(GmailModel):
    email_address: str
    messages_total: int = 0
    threads_total: int = 0
    history_id: str


class Header(GmailModel):
    name: str
    value: str


class MessagePartBody(GmailModel):
    size: int = 0
    data: str | None = None  # base64url; see tools.gmail.mime.decode_base64url
    attachment_id: str | None = None


class MessagePart(GmailModel):
    part_id: str = ""
    mime_type: str = ""
    filename: str = ""
    headers: tuple[Header, ...] = ()
    body: MessagePartBody = MessagePartBody()
    parts: tuple[MessagePart, ...] = ()

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((h.value for h in self.headers if h.name.lower() == wanted), None)


class Message(GmailModel):
    id: str
    thread_id: str | None = None
    label_ids: tuple[str, ...] = ()
    snippet: str = ""
    history_id: str | None = None
    internal_date: int | None = None
    size_estimate: int | None = None
    payload: MessagePart | None = None
    raw: str | None = None  # base64url RFC 822, only with format="raw"

    def header(self, name: str) -> str | None:
        return self.payload.header(name) if self.payload is not None else None

    @property
    def received_at(self) -> datetime | None:
        if self.internal_date is None:
            return None
        return datetime.fromtimestamp(self.internal_date / 1000, tz=UTC)


class MessageRef(GmailModel):
    id: str
    thread_id: str


class MessageList(GmailModel):
    messages: tuple[MessageRef, ...] = ()
    next_page_token: str | None = None
    result_size_estimate: int = 0


class Thread(GmailModel):
    id: str
    snippet: str = ""
    history_id: str | None = None
    messages: tuple[Message, ...] = ()


class HistoryMessage(GmailModel):
    """``messagesAdded[]`` / ``messagesDeleted[]`` entries."""

    message: Message


class HistoryLabelChange(GmailModel):
    """``labelsAdded[]`` / ``labelsRemoved[]`` entries."""

    message: Message
    label_ids: tuple[str, ...] = ()


class HistoryRecord(GmailModel):
    id: str
    messages: tuple[Message, ...] = ()
    messages_added: tuple[HistoryMessage, ...] = ()
    messages_deleted: tuple[HistoryMessage, ...] = ()
    labels_added: tuple[HistoryLabelChange, ...] = ()
    labels_removed: tuple[HistoryLabelChange, ...] = ()


class HistoryPage(GmailModel):
    history: tuple[HistoryRecord, ...] = ()
    history_id: str
    next_page_token: str | None = None


class Label(GmailModel):
    id: str
    name: str
    type: str | None = None  # "system" | "user"
    message_list_visibility: str | None = None
    label_list_visibility: str | None = None
    messages_total: int | None = None
    messages_unread: int | None = None
    threads_total: int | None = None
    threads_unread: int | None = None


class Draft(GmailModel):
    id: str
    message: Message
