"""What the console sees of the content engine: drafts, their checks and sources, and the owner's
content settings. :class:`ContentService` is the one interface the content page uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

DraftStatus = Literal[
    "ready",  # checked and clean: the owner may edit it and ask to publish it
    "held",  # a check failed (length, near-duplicate, link, hidden characters): edit it first
    "refused",  # the gateway refused it: an input carried a private label (``refusal`` says which)
    "awaiting_approval",  # the publish card waits for the owner's approval with a step-up
    "published",  # published once, exactly as approved (``post_id``, ``url``)
    "expired",  # not approved before its slot ended
    "rejected",  # the owner rejected the card or discarded the draft
    "failed",  # the approved call ran but the network refused it (``refusal`` says why)
]


class ContentError(Exception):
    """An owner action the engine refuses, in words the owner can act on (nothing was changed)."""


@dataclass(frozen=True)
class DraftSource:
    """Something the draft drew on: a news story, one of the owner's past posts, a theme."""

    kind: Literal["news", "past_post", "theme", "activity"]
    title: str
    url: str | None = None
    untrusted: bool = False  # written by someone other than the owner


@dataclass(frozen=True)
class DraftCheck:
    name: Literal["length", "near_duplicate", "links", "hidden"]
    ok: bool
    detail: str  # "212 of 280", "73% like your post of 2026-11-20", "example.org is not approved"


@dataclass(frozen=True)
class EngagementPoint:
    at: datetime
    metrics: Mapping[str, int]  # likes, reposts, replies, impressions... as the network gives them


@dataclass(frozen=True)
class DraftView:
    id: str
    integration: str  # the integration that publishes it (its manifest name)
    network: str  # the owner's words for the network (its manifest's content.network)
    day: date  # the slot's day, on the owner's clock
    status: DraftStatus
    text: str
    created_at: datetime
    expires_at: datetime  # the slot's end: not approved by then, it expires
    limit: int  # the network's length limit, by its own counting
    sources: tuple[DraftSource, ...] = ()
    checks: tuple[DraftCheck, ...] = ()
    refusal: str | None = None
    edited: bool = False
    approval_id: str | None = None
    post_id: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    engagement: tuple[EngagementPoint, ...] = ()  # oldest first

    @property
    def open(self) -> bool:
        return self.status in ("ready", "held", "awaiting_approval")


@dataclass(frozen=True)
class ContentSettings:
    themes: tuple[str, ...] = ()  # what the owner writes about
    voice: str = ""  # how the owner writes, in their words
    allowed_links: tuple[str, ...] = ()  # hosts a draft may link to (nothing else)
    paused: tuple[str, ...] = ()  # integrations the engine drafts nothing for
    extra: Mapping[str, str] = field(default_factory=dict)


class ContentService(Protocol):
    async def queue(self, *, days: int = 60) -> list[DraftView]:
        """Open drafts first (newest slot first), then the last ``days`` days' others, newest first.
        Expires what is past its slot and records published posts' ids first."""
        ...

    async def draft(self, draft_id: str) -> DraftView | None: ...

    async def edit(self, draft_id: str, text: str) -> DraftView:
        """Replace an open draft's text and run every check again; ContentError when it is not open."""
        ...

    async def publish(self, draft_id: str, *, session: str) -> str:
        """Ask to publish exactly the draft's text: the approval id of the card (step-up needed).
        ContentError when a check fails, the gateway refused it, or it expired."""
        ...

    async def discard(self, draft_id: str) -> DraftView: ...

    async def settings(self) -> ContentSettings: ...

    async def save_settings(self, values: ContentSettings) -> ContentSettings:
        """Validated (ContentError with what is wrong), stored encrypted."""
        ...

    def networks(self) -> list[tuple[str, str]]:
        """(integration, network) of every installed network the engine drafts for."""
        ...
