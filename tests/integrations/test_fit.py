"""Events to attend, checked by the core (integrations.fit) against every calendar: free, a clash
with the owner's event, or unknown when a calendar could not be read. Sources are neutral stand-ins
shaped like the declared contracts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from integrations import Catalog, fit, prep
from integrations.manifest import Manifest
from integrations.views import render

pytestmark = pytest.mark.anyio
DAY = date(2026, 12, 3)
FEED = prep.Source("Event feeds", "eventfeed.events")
WORK = prep.Source("Work calendar", "workcal.events")
HOME = prep.Source("Home calendar", "homecal.events")


def _at(day: int, hour: int) -> str:
    return f"2026-12-{day:02d}T{hour:02d}:00:00+00:00"


SUGGESTED = [
    {"title": "Applied AI meetup", "start": _at(4, 23), "end": _at(5, 1), "all_day": False, "day": "Fri"},
    {"title": "Public lecture", "start": _at(4, 17), "end": _at(4, 18), "all_day": False, "location": "Great Court"},
    {"title": "Career fair", "start": _at(8, 0), "end": _at(9, 0), "all_day": True, "day": "Tue", "when": "all day"},
]
BUSY = {
    "workcal.events": [{"title": "Budget review", "start": _at(4, 16), "end": _at(4, 17), "all_day": False}],
    "homecal.events": [
        {"title": "Dinner with Sam", "start": _at(4, 17), "end": _at(4, 19), "all_day": False},
        {"title": "Holiday", "start": _at(4, 0), "end": _at(5, 0), "all_day": True},
    ],
}


class Sources:
    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failing = failing

    async def __call__(self, tool: str, args: dict[str, Any]) -> Any:
        self.calls.append((tool, args))
        if tool in self.failing:
            raise prep.SourceFailed("the service is unavailable")
        return {"events": SUGGESTED} if tool == FEED.tool else {"events": BUSY[tool]}


async def test_each_event_is_free_or_names_the_owners_event_it_clashes_with() -> None:
    sources = Sources()
    found, failed = await fit.events_fit([FEED], [WORK, HOME], sources, DAY)
    assert failed == []
    fits = {e["title"]: e["fit"] for e in found["events"]}
    assert fits == {
        "Public lecture": "clashes with Dinner with Sam",  # 17-18 overlaps 17-19; 16-17 only touches
        "Applied AI meetup": "free",  # the all-day holiday blocks nothing
        "Career fair": "all day: check your calendar",
    }
    assert [e["title"] for e in found["events"]] == ["Public lecture", "Applied AI meetup", "Career fair"]
    window = dict(sources.calls)[WORK.tool]
    assert (window["start"], window["end"]) == ("2026-12-03", "2026-12-11")
    lines = render(fit.VIEW.render, found).lines()
    assert "Public lecture: clashes with Dinner with Sam · Great Court" in lines[0]
    assert "Applied AI meetup: free" in lines[1] and "·" not in lines[1]


async def test_a_calendar_that_fails_is_a_line_and_nothing_is_called_free() -> None:
    found, failed = await fit.events_fit([FEED], [WORK, HOME], Sources(frozenset({HOME.tool})), DAY)
    assert failed == [("Home calendar", "the service is unavailable")]
    fits = {e["title"]: e["fit"] for e in found["events"]}
    assert fits["Applied AI meetup"] == "your calendar could not be read"


async def test_without_suggestions_no_calendar_is_asked() -> None:
    sources = Sources(frozenset({FEED.tool}))
    found, failed = await fit.events_fit([FEED], [WORK], sources, DAY)
    assert found == {"events": []} and failed == [("Event feeds", "the service is unavailable")]
    assert [t for t, _ in sources.calls] == [FEED.tool]


def test_a_manifest_declaring_event_suggestions_brings_the_core_section() -> None:
    raw: dict[str, Any] = {
        "name": "eventfeed",
        "title": "Event feeds",
        "summary": "Events from feeds.",
        "category": "news",
        "identity": {"scopes": ("datakeys.read",), "data_domain": "social"},
        "tools": {"eventfeed.events": {"scope": "eventfeed.read", "entry": {"class": "READ", "description": "x"}}},
        "connect": {"kind": "none", "probe": "eventfeed.events"},
        "event_suggestions": "eventfeed.events",
    }
    catalog = Catalog([Manifest.model_validate(raw)])
    placed = [p for p in catalog.briefing() if p.view.id == fit.VIEW.id]
    assert len(placed) == 1 and placed[0].merged is not None
    assert placed[0].merged.sources == (("eventfeed", "eventfeed.events"),)
    with pytest.raises(ValueError, match="must be READ tools"):
        admin = {"scope": "eventfeed.x", "entry": {"class": "ADMIN", "description": "x"}}
        Manifest.model_validate(
            {**raw, "tools": {**raw["tools"], "eventfeed.x": admin}, "event_suggestions": "eventfeed.x"}
        )
