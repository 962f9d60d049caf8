"""The encrypted news store: stories (merged across sources and across runs), events, settings.

A run is stored in one transaction with its audit row, so a run that dies midway stores nothing and
the next run stores everything once. A story is keyed by its normalised link; a story of a later run
with a near-identical title joins the stored one (its sources are added) instead of being a second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcp_servers._store import OwnerSettings, Sealer, table_of, upsert
from mcp_servers.news.models import ENCRYPTED, NewsEventRow, NewsSettingsRow, NewsStoryRow
from mcp_servers.news.settings import Settings
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from tools.news.dedupe import normalize_url, same_title, title_key
from tools.news.models import Article, Event, Story

KEEP_STORIES = timedelta(days=30)
MERGE_WINDOW = timedelta(days=3)


def key_of(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def story_id(url: str) -> str:
    return key_of(normalize_url(url))


def event_id(e: Event) -> str:
    return key_of(e.feed, e.uid, e.start.isoformat())


@dataclass(frozen=True)
class StoredStory:
    id: str
    published_at: datetime
    body: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    id: str
    start_at: datetime
    body: dict[str, Any]


def _source(a: Article) -> dict[str, str]:
    return {"name": a.source, "url": a.url, "origin": a.origin}


def _body(story: Story, texts: dict[str, str]) -> dict[str, Any]:
    lead = story.lead
    return {
        "url": lead.url,
        "title": lead.title,
        "summary": lead.summary,
        "author": lead.author,
        "text": texts.get(story_id(lead.url)),
        "sources": [_source(a) for a in (lead, *story.others)],
    }


def _join(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    seen = {normalize_url(s["url"]) for s in old["sources"]}
    extra = [s for s in new["sources"] if normalize_url(s["url"]) not in seen]
    return {**old, "sources": [*old["sources"], *extra], "text": old.get("text") or new.get("text")}


def _by_title(
    stored: dict[str, tuple[NewsStoryRow, dict[str, Any]]], title: str
) -> tuple[NewsStoryRow, dict[str, Any]] | None:
    key = title_key(title)
    return next((v for v in stored.values() if same_title(title_key(v[1]["title"]), key)), None)


class NewsStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._stories = Sealer(cipher, ENCRYPTED, table="news_stories")
        self._events = Sealer(cipher, ENCRYPTED, table="news_events")
        self._settings = OwnerSettings(
            db, audit, Sealer(cipher, ENCRYPTED, table="news_settings"), NewsSettingsRow, Settings
        )
        self._audit = audit

    async def settings(self) -> Settings:
        return await self._settings.get()

    async def save_settings(self, settings: Settings, event: AuditEvent) -> None:
        await self._settings.save(settings, event)

    def _open_story(self, r: NewsStoryRow) -> StoredStory:
        return StoredStory(r.id, r.published_at, dict(self._stories.open_json("body", r.id, r.body)))

    def _open_event(self, r: NewsEventRow) -> StoredEvent:
        return StoredEvent(r.id, r.start_at, dict(self._events.open_json("body", r.id, r.body)))

    async def with_text(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are stored with their article text already."""
        wanted = list(ids)
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(NewsStoryRow).where(NewsStoryRow.id.in_(wanted)))).all()
            return {r.id for r in rows if self._open_story(r).body.get("text")}

    async def apply_run(
        self,
        stories: Sequence[Story],
        texts: dict[str, str],
        events: Sequence[Event],
        *,
        calendars: set[str],
        now: datetime,
        event: AuditEvent,
    ) -> int:
        """Store a run: stories merged into what is stored, the refreshed calendars' future events
        replaced; old stories and past events dropped. Returns how many stories were new."""
        async with self._db.transaction() as s:
            new = await self._put_stories(s, stories, texts, now)
            await self._put_events(s, events, calendars, now)
            await s.execute(delete(NewsStoryRow).where(NewsStoryRow.published_at < now - KEEP_STORIES))
            await s.execute(delete(NewsEventRow).where(NewsEventRow.start_at < now - timedelta(days=1)))
            await self._audit.append(s, event)
        return new

    async def _put_stories(
        self, s: AsyncSession, stories: Sequence[Story], texts: dict[str, str], now: datetime
    ) -> int:
        recent = (await s.scalars(select(NewsStoryRow).where(NewsStoryRow.published_at >= now - MERGE_WINDOW))).all()
        stored: dict[str, tuple[NewsStoryRow, dict[str, Any]]] = {r.id: (r, self._open_story(r).body) for r in recent}
        new = 0
        for story in stories:
            sid, body = story_id(story.lead.url), _body(story, texts)
            found = stored.get(sid) or await self._by_id(s, sid) or _by_title(stored, story.lead.title)
            if found is not None:
                row, old = found
                joined = _join(old, body)
                row.body = self._stories.seal_json("body", row.id, joined)
                stored[row.id] = (row, joined)
                continue
            published = min(story.lead.published_at or now, now)
            row = NewsStoryRow(
                id=sid, published_at=published, first_seen=now, body=self._stories.seal_json("body", sid, body)
            )
            s.add(row)
            stored[sid] = (row, body)
            new += 1
        return new

    async def _by_id(self, s: AsyncSession, sid: str) -> tuple[NewsStoryRow, dict[str, Any]] | None:
        row = await s.get(NewsStoryRow, sid)
        return None if row is None else (row, self._open_story(row).body)

    async def _put_events(self, s: AsyncSession, events: Sequence[Event], calendars: set[str], now: datetime) -> None:
        future = (await s.scalars(select(NewsEventRow).where(NewsEventRow.start_at >= now))).all()
        for r in future:
            if self._open_event(r).body["feed"] in calendars:
                await s.delete(r)
        await s.flush()
        rows = []
        for e in events:
            eid = event_id(e)
            body = {
                "uid": e.uid,
                "feed": e.feed,
                "title": e.title,
                "start": e.start.isoformat(),
                "end": e.end.isoformat() if e.end else None,
                "all_day": e.all_day,
                "location": e.location,
                "description": e.description,
                "url": e.url,
            }
            rows.append({"id": eid, "start_at": e.start, "body": self._events.seal_json("body", eid, body)})
        await upsert(s, table_of(NewsEventRow), list({r["id"]: r for r in rows}.values()), "id")

    async def stories(self, since: datetime) -> list[StoredStory]:
        async with self._db.transaction() as s:
            q = (
                select(NewsStoryRow)
                .where(NewsStoryRow.published_at >= since)
                .order_by(NewsStoryRow.published_at.desc())
            )
            return [self._open_story(r) for r in (await s.scalars(q)).all()]

    async def story(self, sid: str) -> StoredStory | None:
        async with self._db.transaction() as s:
            row = await s.get(NewsStoryRow, sid)
            return None if row is None else self._open_story(row)

    async def events(self, start: datetime, end: datetime) -> list[StoredEvent]:
        async with self._db.transaction() as s:
            q = (
                select(NewsEventRow)
                .where(NewsEventRow.start_at >= start, NewsEventRow.start_at < end)
                .order_by(NewsEventRow.start_at, NewsEventRow.id)
            )
            return [self._open_event(r) for r in (await s.scalars(q)).all()]

    async def forget(self, event: AuditEvent) -> list[str]:
        async with self._db.transaction() as s:
            for model in (NewsStoryRow, NewsEventRow, NewsSettingsRow):
                await s.execute(delete(model))
            await self._audit.append(s, event)
        return ["stories", "events", "settings"]
