"""The news server on its demo sources: a run merges duplicates across feeds and NewsAPI, reads the
articles robots.txt allows, expands the campus calendar, and every result names its sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult

from mcp_servers._common import Demo
from mcp_servers._standalone import demo_runtime
from mcp_servers.news.__main__ import build
from storage.db import Database
from tools.news.demo import demo_credentials, demo_transport

pytestmark = pytest.mark.anyio


@dataclass
class Live:
    client: Client
    seen: list[str]

    async def call(self, tool: str, args: dict[str, Any] | None = None) -> Any:
        result = await self.client.call_tool(tool, args or {})
        assert isinstance(result, CallToolResult)
        if result.is_error:
            return result
        return result.structured_content


@pytest.fixture
async def live(db: Database) -> AsyncIterator[Live]:
    seen: list[str] = []
    inner = demo_transport()

    async def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return await inner.handle_async_request(request)

    transport = httpx.MockTransport(record)
    async with (
        demo_runtime("news", "social", Demo(demo_credentials(), transport), db=db) as runtime,
        Client(build(runtime)) as client,
    ):
        live = Live(client, seen)
        assert not isinstance(await live.call("sandbox_connect"), CallToolResult)
        yield live


async def test_a_run_merges_duplicates_and_answers_the_top_stories_with_their_sources(live: Live) -> None:
    run = await live.call("sync")
    assert run["stories"] < run["articles"] and run["texts"] >= 2
    assert [f["source"] for f in run["failed"]] == ["https://www.harborlight.example/2026/members/briefing"]
    assert "robots.txt" in run["failed"][0]["reason"]
    assert not any("/members/" in u for u in live.seen)  # disallowed by robots.txt: never requested
    assert not any("metroledger.example" in u or "signalweekly.example" in u for u in live.seen)

    top = await live.call("top_stories", {"days": 2, "limit": 10})
    by_title = {s["title"]: s for s in top["stories"]}
    grid = by_title["City utility tests artificial intelligence to balance the winter grid"]
    assert grid["publishers"] == "Harbor Light Tech, Open Lab Notes" and grid["topics"] == ["artificial intelligence"]
    patch = by_title["Cybersecurity teams rush to patch a flaw in a popular VPN appliance"]
    assert patch["publishers"] == "Harbor Light Tech, Metro Ledger"  # the same link, with tracking parameters
    assert top["stories"][0]["source_count"] == 2 and "River restoration" not in " ".join(by_title)
    assert {s["item_id"] for s in top["sources"]} == {f"story:{s['id']}" for s in top["stories"]}
    assert all(s["channel"] == "news" and s["server"] == "news" and s["principal"] for s in top["sources"])

    full = await live.call("story", {"story_id": grid["id"]})
    assert "40,000 homes" in full["story"]["text"]
    assert [x["publisher"] for x in full["story"]["links"]] == ["Harbor Light Tech", "Open Lab Notes"]


async def test_a_second_run_adds_no_duplicate(live: Live) -> None:
    first = await live.call("sync")
    second = await live.call("sync")
    assert first["new_stories"] == first["stories"] and second["new_stories"] == 0
    top = await live.call("top_stories", {"days": 2, "limit": 30})
    assert len({s["title"] for s in top["stories"]}) == len(top["stories"])
    assert all(s["source_count"] <= 2 for s in top["stories"])


async def test_upcoming_events_come_from_the_calendar_with_the_recurring_meetup_expanded(live: Live) -> None:
    await live.call("sync")
    found = await live.call("events", {"days": 30, "limit": 50})
    titles = [e["title"] for e in found["events"]]
    assert "Public lecture: Cities that adapt to climate change" in titles
    assert titles.count("Applied AI meetup") == 4 and "Last week's seminar" not in titles
    fair = next(e for e in found["events"] if e["title"].startswith("Career fair"))
    assert fair["when"] == "all day" and fair["calendar"] == "calendar.campus.example"
    assert [e["start"] for e in found["events"]] == sorted(e["start"] for e in found["events"])
    assert all(s["channel"] == "events" and s["principal"] == "calendar.campus.example" for s in found["sources"])


async def test_settings_are_validated_and_a_bad_source_changes_nothing(live: Live) -> None:
    before = await live.call("settings")
    refused = await live.call(
        "save_settings", {"values": {**before["settings"], "feeds": ["http://plain.example/rss"]}}
    )
    assert isinstance(refused, CallToolResult) and refused.is_error
    assert "not an https:// address" in refused.content[0].text  # type: ignore[union-attr]
    assert await live.call("settings") == before
    chosen = {**before["settings"], "topics": ["climate"], "calendars": []}
    saved = await live.call("save_settings", {"values": chosen})
    assert saved["settings"]["topics"] == ["climate"]
    live.seen.clear()
    await live.call("sync")
    assert not any("calendar.campus.example" in u for u in live.seen)  # no longer a source: never fetched
    top = await live.call("top_stories")
    assert top["stories"] and all("climate" in s["topics"] for s in top["stories"])


async def test_topics_match_whole_words_only(live: Live) -> None:
    await live.call("sync")
    before = (await live.call("settings"))["settings"]
    await live.call("save_settings", {"values": {**before, "topics": ["AI"]}})
    assert (await live.call("top_stories"))["stories"] == []  # "rain", "said" and "again" are not "AI"
    await live.call("save_settings", {"values": {**before, "topics": ["rain"]}})
    titles = [s["title"] for s in (await live.call("top_stories"))["stories"]]
    assert titles == ["Open lab releases a small artificial intelligence model for weather nowcasting"]
