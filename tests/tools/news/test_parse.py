"""Feeds, pages and calendars parsed from bytes Aegis fetched; duplicates merged across sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tools.news.dedupe import merge, normalize_url, title_key
from tools.news.demo import DemoNews
from tools.news.models import Article
from tools.news.parse import FeedUnreadable, extract_text, parse_calendar, parse_feed

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DEMO = DemoNews(NOW)


def test_rss_items_are_read_with_their_publisher_links_and_dates() -> None:
    found = parse_feed(DEMO.rss().encode(), "https://www.harborlight.example/rss/technology.xml")
    assert found[0].title == "City utility tests artificial intelligence to balance the winter grid"
    assert found[0].url == "https://www.harborlight.example/2026/city-grid-ai"
    assert found[0].source == "Harbor Light Tech" and found[0].published_at == NOW - timedelta(hours=3)
    assert found[0].summary.startswith("The pilot forecasts demand")


def test_atom_entries_are_read_with_their_links_and_updated_dates() -> None:
    found = parse_feed(DEMO.atom().encode(), "https://notes.openlab.example/atom.xml")
    assert [a.url for a in found] == [
        "https://notes.openlab.example/2026/grid-pilot",
        "https://notes.openlab.example/2026/open-weights",
    ]
    assert found[1].published_at == NOW - timedelta(hours=30) and found[1].source == "Open Lab Notes"
    assert found[0].author == "Open Lab"


def test_the_feed_parser_is_never_handed_a_path_or_url_it_could_open_itself(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(DEMO.rss())
    with pytest.raises(FeedUnreadable):
        parse_feed(str(secret).encode(), "https://example.org/feed")  # a body naming a file is not read
    with pytest.raises(FeedUnreadable):
        parse_feed(b"https://www.harborlight.example/rss/technology.xml", "https://example.org/feed")


def test_an_article_page_gives_its_text_without_the_navigation() -> None:
    page = DEMO.page("www.harborlight.example", "/2026/city-grid-ai")
    assert page is not None
    text = extract_text(page.encode(), "https://www.harborlight.example/2026/city-grid-ai")
    assert text is not None and "40,000 homes" in text and "Home | Tech" not in text


def test_a_recurring_event_is_expanded_within_the_window_without_its_cancelled_date() -> None:
    window = (NOW - timedelta(hours=12), NOW + timedelta(days=30))
    events = parse_calendar(DEMO.calendar().encode(), "https://calendar.campus.example/events.ics", window)
    meetups = [e.start for e in events if e.title == "Applied AI meetup"]
    first = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # six days before "today", weekly, 8 times
    assert meetups == [first + timedelta(weeks=w) for w in (1, 3, 4, 5)]  # week 2 cancelled (EXDATE)
    assert all(
        e.end is not None and e.end - e.start == timedelta(hours=2) for e in events if e.title == "Applied AI meetup"
    )
    fair = next(e for e in events if e.title.startswith("Career fair"))
    assert fair.all_day and fair.start == datetime(2026, 12, 8, tzinfo=UTC)
    assert "Last week's seminar" not in {e.title for e in events}
    assert events == sorted(events, key=lambda e: (e.start, e.title))


def test_a_body_that_is_not_a_calendar_is_refused() -> None:
    with pytest.raises(FeedUnreadable):
        parse_calendar(b"<html>not a calendar</html>", "https://x.example/e.ics", (NOW, NOW + timedelta(days=1)))


def _a(url: str, title: str, source: str) -> Article:
    return Article(url=url, title=title, source=source, origin="test", published_at=NOW)


def test_links_are_normalised_without_tracking_parameters_or_case() -> None:
    assert normalize_url("http://WWW.Example.org/a/b/?utm_source=x&b=2&a=1#top") == "https://example.org/a/b?a=1&b=2"
    assert title_key("Grid pilot: AI balances the load - Metro Ledger") == "grid pilot ai balances the load"


def test_the_same_story_from_several_sources_is_one_story_with_every_source() -> None:
    stories = merge(
        [
            _a("https://www.harborlight.example/2026/grid", "City tests AI to balance the grid", "Harbor Light"),
            _a("https://notes.openlab.example/grid", "City tests AI to balance the grid.", "Open Lab"),
            _a("https://harborlight.example/2026/grid/?utm_medium=rss", "Grid story (updated headline)", "NewsAPI"),
            _a("https://metroledger.example/bonds", "Climate bonds draw record demand", "Metro Ledger"),
        ]
    )
    assert len(stories) == 2
    assert stories[0].sources == ["Harbor Light", "Open Lab", "NewsAPI"]
    assert stories[1].lead.source == "Metro Ledger" and stories[1].others == []


def test_a_series_that_began_years_ago_still_gives_this_weeks_occurrences() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:standup@t\r\n"
        "DTSTAMP:20161201T000000Z\r\nDTSTART:20161201T130000Z\r\nDTEND:20161201T131500Z\r\n"
        "RRULE:FREQ=DAILY\r\nSUMMARY:Open office hour\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    events = parse_calendar(ics.encode(), "https://t.example/e.ics", (NOW, NOW + timedelta(days=3)))
    assert [e.start for e in events] == [datetime(2026, 12, d, 13, 0, tzinfo=UTC) for d in (3, 4, 5)]
