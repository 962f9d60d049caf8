"""What the Outlook server's tools answer: argument types, result shapes and the views that build them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from mcp_servers._common import Source
from mcp_servers._mail_analysis import ThreadView, thread_view
from mcp_servers.outlook.service import NAME, Prep
from mcp_servers.outlook.store import StoredEvent, StoredMessage

GraphId = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_=-]+$")]
When = Annotated[str, Field(min_length=10, max_length=40, description="ISO 8601 date or date-time with offset")]
Zone = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")]
Title = Annotated[str, Field(min_length=1, max_length=1024)]
Text = Annotated[str, Field(max_length=8192)]
People = Annotated[
    list[Annotated[str, Field(pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+$", max_length=320)]], Field(max_length=50)
]
Addresses = Annotated[list[str], Field(max_length=50)]

MessageView = TypedDict(
    "MessageView",
    {
        "id": str,
        "conversation_id": str | None,
        "folder": str,
        "date": str | None,
        "from": str,
        "to": list[str],
        "cc": list[str],
        "subject": str,
        "snippet": str,
        "unread": bool,
    },
)


class MessageDetail(MessageView):
    body: str


class EventView(TypedDict):
    id: str
    title: str
    start: str | None
    end: str | None
    when: str
    day: str
    all_day: bool
    location: str
    description: str
    organizer: str | None
    organized_by_owner: bool
    attendees: list[str]
    recurring: bool
    show_as: str


class EventsResult(TypedDict):
    events: list[EventView]
    sources: list[Source]


class EventResult(TypedDict):
    event: EventView
    sources: list[Source]


class Insight(MessageView):
    category: str
    action_items: list[str]
    dates: list[str]
    questions: list[str]
    method: str
    model: str | None
    fallback: str | None


class InsightsResult(TypedDict):
    messages: list[Insight]
    sources: list[Source]


class MeetingPrep(TypedDict):
    event_id: str
    title: str
    when: str
    people: list[str]
    threads: list[ThreadView]
    prep: str


class PrepResult(TypedDict):
    meetings: list[MeetingPrep]
    sources: list[Source]


class SyncResult(TypedDict):
    mode: Literal["incremental", "full"]
    stored: int
    deleted: int


class SearchResult(TypedDict):
    messages: list[MessageView]
    sources: list[Source]


class ConversationResult(TypedDict):
    conversation_id: str
    messages: list[MessageDetail]
    sources: list[Source]


class DraftResult(TypedDict):
    draft_id: str
    to: list[str]
    subject: str
    sources: list[Source]


class SendResult(TypedDict):
    sent: bool
    recipients: int


class CancelResult(TypedDict):
    cancelled: str


class DisconnectResult(TypedDict):
    removed: list[str]


def event_source(e: StoredEvent) -> Source:
    return {"channel": "calendar", "server": NAME, "item_id": e.id, "principal": e.principal}


def mail_source(m: StoredMessage) -> Source:
    return {"channel": "email", "server": NAME, "item_id": m.id, "principal": m.principal}


def event_view(e: StoredEvent) -> EventView:
    if e.all_day or e.start is None:
        when = "all day"
    else:
        when = f"{e.start:%H:%M}-{e.end:%H:%M} UTC" if e.end else f"{e.start:%H:%M} UTC"
    return {
        "id": e.id,
        "title": e.summary,
        "start": e.start.isoformat() if e.start else None,
        "end": e.end.isoformat() if e.end else None,
        "when": when,
        "day": f"{e.start:%a %d %b}" if e.start else "",
        "all_day": e.all_day,
        "location": e.location,
        "description": e.description,
        "organizer": e.principal,
        "organized_by_owner": e.organizer_self,
        "attendees": [a.email for a in e.attendees],
        "recurring": e.series_master_id is not None,
        "show_as": e.show_as,
    }


def message_view(m: StoredMessage) -> MessageView:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "folder": m.folder,
        "date": m.received.isoformat() if m.received else None,
        "from": m.sender,
        "to": m.to,
        "cc": m.cc,
        "subject": m.subject,
        "snippet": m.preview[:300],
        "unread": not m.is_read,
    }


def insight(m: StoredMessage) -> Insight:
    a = m.analysis
    return {
        **message_view(m),
        "category": a["category"],
        "action_items": a["action_items"],
        "dates": a["dates"],
        "questions": a["questions"],
        "method": a["method"],
        "model": a["model"],
        "fallback": a["fallback"],
    }


def prep_view(p: Prep) -> MeetingPrep:
    threads = [thread_view(t) for t in p.threads]
    with_whom = ", ".join(p.people) or "just you"
    if threads:
        latest = threads[0]
        asks = "; ".join(latest["open_questions"][:2]) or "nothing open"
        summary = f"With {with_whom}. Last thread: {latest['subject']}. Open: {asks}"
    else:
        summary = f"With {with_whom}. No recent mail with them."
    return {
        "event_id": p.event.id,
        "title": p.event.summary,
        "when": event_view(p.event)["when"],
        "people": p.people,
        "threads": threads,
        "prep": summary,
    }
