"""The demo profile's web: NewsAPI, an RSS feed, an Atom feed, article pages, ``robots.txt`` files and
an iCalendar feed, in memory, shaped like the real thing and dated around now.

NewsAPI answers ``/v2/everything`` and ``/v2/top-headlines`` with its ``status``/``articles``
envelope and its error body (401 ``apiKeyInvalid``) for a wrong ``X-Api-Key``. Any other host or path
is a 404. Sources are in :mod:`tools.news.demo_data.sources`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from html import escape
from typing import Any, Final

import httpx

from tools.news.demo_data import sources as data

DEMO_KEY: Final = "0d2e6a1f9b8c47d5a3e2f1c0b9a8d7e6"  # a public demo value shaped like a NewsAPI key


def demo_credentials() -> dict[str, str]:
    return {"newsapi-key": DEMO_KEY}


def _rfc822(at: datetime) -> str:
    return format_datetime(at, usegmt=True)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ical(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


class DemoNews:
    """The demo sources served as their sites would. ``now`` fixes the dates (default: the real now)."""

    def __init__(self, now: datetime | None = None, *, key: str = DEMO_KEY) -> None:
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.key = key

    @property
    def today(self) -> date:
        return self.now.date()

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{escape(title)}</title><link>https://{data.RSS_HOST}/2026/{slug}</link>"
            f"<guid>https://{data.RSS_HOST}/2026/{slug}</guid><description>{escape(summary)}</description>"
            f"<pubDate>{_rfc822(self.now - timedelta(hours=hours))}</pubDate></item>"
            for slug, title, hours, summary, _ in data.RSS_ITEMS
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Harbor Light Tech</title>'
            f"<link>https://{data.RSS_HOST}/</link><description>Technology news</description>{items}</channel></rss>"
        )

    def atom(self) -> str:
        entries = "".join(
            f'<entry><title>{escape(title)}</title><link href="https://{data.ATOM_HOST}/{slug}"/>'
            f"<id>tag:{data.ATOM_HOST},2026:{slug}</id><updated>{_iso(self.now - timedelta(hours=hours))}</updated>"
            f"<summary>{escape(summary)}</summary><author><name>Open Lab</name></author></entry>"
            for slug, title, hours, summary in data.ATOM_ENTRIES
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Open Lab Notes</title><id>tag:{data.ATOM_HOST},2026:feed</id>"
            f"<updated>{_iso(self.now)}</updated>{entries}</feed>"
        )

    def page(self, host: str, path: str) -> str | None:
        """An article's page on the feed's site (the lab's pages repeat the entry's summary)."""
        pages = {(data.RSS_HOST, f"/2026/{slug}"): (title, paras) for slug, title, _, _, paras in data.RSS_ITEMS}
        pages |= {(data.ATOM_HOST, f"/{slug}"): (title, (summary,)) for slug, title, _, summary in data.ATOM_ENTRIES}
        if (host, path) not in pages:
            return None
        title, paragraphs = pages[(host, path)]
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        return (
            f"<html><head><title>{escape(title)}</title></head><body><nav>Home | Tech</nav>"
            f"<article><h1>{escape(title)}</h1>{body}</article><footer>{escape(host)}</footer></body></html>"
        )

    def newsapi(self) -> dict[str, Any]:
        articles = [
            {
                "source": {"id": None, "name": publisher},
                "author": None,
                "title": title,
                "description": description,
                "url": url,
                "urlToImage": None,
                "publishedAt": _iso(self.now - timedelta(hours=hours)),
                "content": f"{description[:180]}… [+1200 chars]",
            }
            for publisher, url, title, hours, description in data.NEWSAPI_ARTICLES
        ]
        return {"status": "ok", "totalResults": len(articles), "articles": articles}

    def calendar(self) -> str:
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Campus Events//EN", "X-WR-CALNAME:Campus events"]
        for uid, title, days, hour, hours, location, description, rrule, skip in data.EVENTS:
            day = self.today + timedelta(days=days)
            lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{_ical(self.now)}", f"SUMMARY:{title}"]
            if hours == 0:
                lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}"]
            else:
                start = datetime.combine(day, time(hour), tzinfo=UTC)
                lines += [f"DTSTART:{_ical(start)}", f"DTEND:{_ical(start + timedelta(hours=hours))}"]
                if rrule:
                    lines.append(f"RRULE:{rrule}")
                if skip:
                    lines.append(f"EXDATE:{_ical(start + timedelta(weeks=skip))}")
            lines += [f"LOCATION:{location}", f"DESCRIPTION:{description}", "END:VEVENT"]
        return "\r\n".join([*lines, "END:VCALENDAR", ""])

    def robots(self, host: str) -> str:
        if host == data.RSS_HOST:
            return "User-agent: *\nDisallow: /2026/members/\n"
        return "User-agent: *\nAllow: /\n"

    # ---- the transport -----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        if host == "newsapi.org":
            return self._newsapi(request)
        if path == "/robots.txt" and host in (data.RSS_HOST, data.ATOM_HOST, data.CAL_HOST):
            return _text(self.robots(host), "text/plain")
        if f"https://{host}{path}" == data.RSS_URL:
            return _text(self.rss(), "application/rss+xml")
        if f"https://{host}{path}" == data.ATOM_URL:
            return _text(self.atom(), "application/atom+xml")
        if f"https://{host}{path}" == data.CAL_URL:
            return _text(self.calendar(), "text/calendar")
        page = self.page(host, path)
        if page is not None:
            return _text(page, "text/html")
        return _text("<html><body>Not found</body></html>", "text/html", 404)

    def _newsapi(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Api-Key") != self.key:
            return httpx.Response(
                401,
                json={
                    "status": "error",
                    "code": "apiKeyInvalid",
                    "message": "Your API key is invalid or incorrect. Check your key, or go to "
                    "https://newsapi.org to create a free API key.",
                },
            )
        if request.url.path not in ("/v2/everything", "/v2/top-headlines"):
            return httpx.Response(404, json={"status": "error", "code": "parameterInvalid", "message": "Not found"})
        return httpx.Response(200, json=self.newsapi())


def _text(body: str, ctype: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": f"{ctype}; charset=utf-8"})


def demo_transport(now: datetime | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(DemoNews(now).handle)


def demo_sources() -> dict[str, Any]:
    """The demo profile's settings: its feeds, calendar and topics."""
    return {
        "topics": list(data.TOPICS),
        "feeds": [data.RSS_URL, data.ATOM_URL],
        "calendars": [data.CAL_URL],
        "sites": [],
        "country": "us",
        "use_newsapi": True,
    }
