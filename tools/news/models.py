"""What the news sources give: articles and events, with where each came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One story from one source. ``source`` is the publisher's name, ``origin`` the feed URL or
    ``newsapi`` it was read from; ``text`` is the extracted article body when it was fetched."""

    url: str
    title: str
    source: str
    origin: str
    published_at: datetime | None
    summary: str = ""
    author: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Event:
    """One occurrence of an iCalendar event (a recurring event gives one per occurrence)."""

    uid: str
    feed: str
    title: str
    start: datetime
    end: datetime | None
    all_day: bool = False
    location: str | None = None
    description: str = ""
    url: str | None = None


@dataclass
class Story:
    """Articles about the same thing, merged across sources (first seen is the lead)."""

    lead: Article
    others: list[Article] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(a.source for a in (self.lead, *self.others)))
