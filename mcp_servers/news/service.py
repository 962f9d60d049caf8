"""A news run: the owner's feeds, NewsAPI, article texts and iCalendar feeds, merged and stored.

Every fetch goes through :class:`~mcp_servers.news.crawl.Crawler` (the egress guard, ``robots.txt``,
the per-host pace). One source failing (a feed down, a page refused) is reported and the run goes on;
a NewsAPI key the vendor refuses fails the run after what was fetched is stored, so the owner hears
that the key needs replacing. Anything else (a bug, a process dying) stores nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_servers.news.crawl import Crawler
from mcp_servers.news.settings import Settings, host_of
from mcp_servers.news.store import NewsStore, StoredEvent, StoredStory, story_id
from storage.audit import AuditEvent
from tools.egress import EgressError
from tools.errors import AuthExpired, IntegrationError
from tools.news.dedupe import merge
from tools.news.models import Article, Event
from tools.news.newsapi import BASE, CREDENTIAL, NewsApiClient
from tools.news.parse import extract_text, parse_calendar, parse_feed

EXTRACT_PER_RUN = 6
EVENT_HORIZON = timedelta(days=60)
FEED_ACCEPT = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8"}


@dataclass
class RunReport:
    articles: int = 0
    stories: int = 0
    new_stories: int = 0
    texts: int = 0
    events: int = 0
    failed: list[dict[str, str]] | None = None


def _failed(source: str, exc: IntegrationError) -> dict[str, str]:
    return {"source": source, "reason": str(exc)[:200]}


@dataclass
class NewsService:
    crawler: Crawler
    newsapi: NewsApiClient
    store: NewsStore
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def run(self, event: Callable[[dict[str, Any]], AuditEvent]) -> RunReport:
        settings = await self.store.settings()
        self.crawler.begin(settings.hosts())
        report, failed = RunReport(), []
        articles: list[Article] = []
        for feed in settings.feeds:
            try:
                fetched = await self.crawler.get(feed, headers=FEED_ACCEPT)
                articles += parse_feed(fetched.content, feed)
            except IntegrationError as exc:
                failed.append(_failed(feed, exc))
        refused: AuthExpired | None = None
        try:
            articles += await self._newsapi(settings)
        except AuthExpired as exc:
            refused = exc
        except IntegrationError as exc:
            failed.append(_failed("newsapi", exc))
        except (EgressError, OSError) as exc:  # the guarded transport refused or could not resolve
            failed.append({"source": "newsapi", "reason": f"egress refused: {type(exc).__name__}: {exc}"[:200]})
        stories = merge(articles)
        texts = await self._texts(settings, [s.lead for s in stories], failed)
        events, calendars = await self._events(settings, failed)
        now = self.now()
        report.articles, report.stories, report.texts, report.events = (
            len(articles),
            len(stories),
            len(texts),
            len(events),
        )
        report.failed = failed
        counts = {"stories": len(stories), "events": len(events), "failed": len(failed)}
        report.new_stories = await self.store.apply_run(
            stories, texts, events, calendars=calendars, now=now, event=event(counts)
        )
        if refused is not None:
            raise refused
        return report

    async def _newsapi(self, settings: Settings) -> list[Article]:
        if not settings.use_newsapi or not self.crawler.allowed(BASE):
            return []
        try:
            await self.newsapi.get_credential(CREDENTIAL)
        except AuthExpired:
            return []  # no key stored: the feeds alone
        if settings.topics:
            query = " OR ".join(f'"{t}"' for t in settings.topics)
            return await self.newsapi.everything(query[:500], page_size=30)
        return await self.newsapi.top_headlines(country=settings.country, page_size=30)

    async def _texts(self, settings: Settings, leads: list[Article], failed: list[dict[str, str]]) -> dict[str, str]:
        sites = settings.article_hosts()
        wanted = [a for a in leads if host_of(a.url) in sites][: EXTRACT_PER_RUN * 2]
        known = await self.store.with_text(story_id(a.url) for a in wanted)
        texts: dict[str, str] = {}
        for article in [a for a in wanted if story_id(a.url) not in known][:EXTRACT_PER_RUN]:
            try:
                page = await self.crawler.get(article.url)
            except IntegrationError as exc:
                failed.append(_failed(article.url, exc))
                continue
            text = extract_text(page.content, page.url) if page.content_type in ("text/html", "") else None
            if text:
                texts[story_id(article.url)] = text
        return texts

    async def _events(self, settings: Settings, failed: list[dict[str, str]]) -> tuple[list[Event], set[str]]:
        now = self.now()
        window = (now - timedelta(hours=12), now + EVENT_HORIZON)
        events: list[Event] = []
        done: set[str] = set()
        for url in settings.calendars:
            try:
                fetched = await self.crawler.get(url, headers={"Accept": "text/calendar"})
                events += parse_calendar(fetched.content, url, window)
                done.add(url)
            except IntegrationError as exc:
                failed.append(_failed(url, exc))
        return events, done

    # ---- reads ---------------------------------------------------------------------------------

    async def top(self, settings: Settings, *, days: int, limit: int) -> list[tuple[StoredStory, list[str]]]:
        """The stories of the last ``days`` about the owner's topics (all stories when none are set),
        the most widely reported first, then the newest."""
        found = await self.store.stories(self.now() - timedelta(days=days))
        words = [(t, re.compile(rf"(?<!\w){re.escape(t.casefold())}(?!\w)")) for t in settings.topics]
        scored = []
        for story in found:
            text = f"{story.body['title']} {story.body.get('summary') or ''}".casefold()
            topics = [t for t, word in words if word.search(text)]
            if settings.topics and not topics:
                continue
            scored.append((story, topics))
        scored.sort(key=lambda st: (-len(st[0].body["sources"]), -len(st[1]), -st[0].published_at.timestamp()))
        return scored[:limit]

    async def upcoming(self, *, days: int, limit: int) -> list[StoredEvent]:
        now = self.now()
        return (await self.store.events(now - timedelta(hours=1), now + timedelta(days=days)))[:limit]
