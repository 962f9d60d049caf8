"""Parsing what was fetched: RSS/Atom (feedparser), article pages (trafilatura), iCalendar (icalendar).

Every parser takes bytes Aegis fetched itself through the egress guard. feedparser is handed a
stream, never a string or bytes: given a string that looks like a URL it would fetch it itself, and
given bytes it first tries them as a file name. trafilatura only extracts; it is never asked to
download.
"""

from __future__ import annotations

import calendar
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import feedparser  # type: ignore[import-untyped]
import trafilatura
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar

from tools.errors import UpstreamError
from tools.news.models import Article, Event

NAME = "news"
MAX_TEXT = 20_000
MAX_OCCURRENCES = 200
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class FeedUnreadable(UpstreamError):
    """The fetched document is not a feed (or calendar) this parser can read."""


def _when(struct: Any) -> datetime | None:
    if not struct:
        return None
    return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)


def _plain(fragment: str) -> str:
    """A feed summary's text: feedparser has sanitised its HTML; tags and entities go."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip()


def parse_feed(content: bytes, origin: str) -> list[Article]:
    """The entries of an RSS or Atom document, newest first as the feed lists them."""
    parsed = feedparser.parse(io.BytesIO(content), resolve_relative_uris=True, sanitize_html=True)
    if parsed.get("bozo") and not parsed.entries:
        raise FeedUnreadable(f"not a readable feed: {type(parsed.get('bozo_exception')).__name__}", integration=NAME)
    publisher = str(parsed.feed.get("title") or origin)
    out = []
    for entry in parsed.entries:
        link, title = entry.get("link"), entry.get("title")
        if not link or not title:
            continue
        published = _when(entry.get("published_parsed") or entry.get("updated_parsed"))
        summary = _plain(str(entry.get("summary") or ""))
        out.append(
            Article(
                url=str(link),
                title=str(title).strip(),
                source=publisher,
                origin=origin,
                published_at=published,
                summary=summary[:1000],
                author=entry.get("author"),
            )
        )
    return out


def extract_text(html: bytes, url: str) -> str | None:
    """The readable text of an article page, or None when trafilatura finds no article in it."""
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=False, favor_precision=True)
    return text[:MAX_TEXT] if text else None


def _as_datetime(value: date | datetime) -> tuple[datetime, bool]:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC), False
    return datetime.combine(value, time(), tzinfo=UTC), True


def _occurrences(event: Any, start: datetime, window: tuple[datetime, datetime]) -> Iterator[datetime]:
    """The event's starts from the window's start on (at most :data:`MAX_OCCURRENCES`), in UTC."""
    rules = event.rrules
    if not rules:
        yield start
        return
    skip = {_as_datetime(d)[0] for d in event.exdates}
    raw = event.start
    dtstart = raw if isinstance(raw, datetime) else datetime.combine(raw, time())
    since = window[0] if dtstart.tzinfo else window[0].replace(tzinfo=None)  # floating times read as UTC
    for rule in rules:
        if set(rule.get("FREQ", [])) & {"SECONDLY", "MINUTELY"}:
            yield start  # not an event series a person attends: the first occurrence only
            continue
        try:
            found = rrulestr(rule.to_ical().decode(), dtstart=dtstart, cache=False)
            for when in found.xafter(since, count=MAX_OCCURRENCES, inc=True):
                at = _as_datetime(when if isinstance(raw, datetime) else when.date())[0]
                if at > window[1]:
                    break
                if at not in skip:
                    yield at
        except (ValueError, TypeError):
            yield start  # an unreadable rule: the first occurrence only


def parse_calendar(content: bytes, feed: str, window: tuple[datetime, datetime]) -> list[Event]:
    """The events of an iCalendar feed that start within ``window``, recurring events expanded
    (RRULE with EXDATE), at most :data:`MAX_OCCURRENCES` in all."""
    try:
        cal = Calendar.from_ical(content)
    except ValueError as exc:
        raise FeedUnreadable(f"not a readable calendar: {type(exc).__name__}", integration=NAME) from None
    out: list[Event] = []
    for ev in cal.events:
        try:
            first, all_day = _as_datetime(ev.start)
        except (KeyError, ValueError, AttributeError):  # icalendar raises for a VEVENT without DTSTART
            continue
        try:
            length = ev.duration
        except (KeyError, ValueError, AttributeError):
            length = timedelta(0)
        uid = str(ev.get("UID") or f"{feed}#{first.isoformat()}")
        for at in _occurrences(ev, first, window):
            if not window[0] <= at <= window[1] or len(out) >= MAX_OCCURRENCES:
                continue
            out.append(
                Event(
                    uid=uid,
                    feed=feed,
                    title=str(ev.get("SUMMARY") or "(untitled event)").strip(),
                    start=at,
                    end=at + length if length else None,
                    all_day=all_day,
                    location=str(ev["LOCATION"]) if ev.get("LOCATION") else None,
                    description=str(ev.get("DESCRIPTION") or "")[:2000],
                    url=str(ev["URL"]) if ev.get("URL") else None,
                )
            )
    return sorted(out, key=lambda e: (e.start, e.title))
