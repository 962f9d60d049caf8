"""The daily briefing's "Upcoming events that fit your calendar": the core asks every connected event
source and every connected calendar through the job's gateway session and marks each event free or
clashing; a calendar that fails is a line saying so."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import pytest

from agent.jobs import JobError
from integrations import Catalog, PlacedView, fit
from tests.agent.jobs.test_meeting_prep_section import Connected, _sections

pytestmark = pytest.mark.anyio
DAY = date(2026, 12, 3)


class FitOnly(Catalog):
    """The installed catalog, its briefing reduced to the events section."""

    def briefing(self) -> list[PlacedView]:
        return [p for p in super().briefing() if p.view.id == fit.VIEW.id]


@dataclass
class FakeCalls:
    catalog: Catalog
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    async def call(self, tool: str, args: dict[str, Any], *, session: str) -> Any:
        self.calls.append((tool, args, session))
        if tool in self.failing:
            raise JobError(f"{tool} failed: the server is down")
        if tool in dict(self.catalog.suggestion_sources()).values():
            talk = {"title": "Public lecture", "start": "2026-12-04T17:00:00+00:00", "end": "2026-12-04T18:00:00+00:00"}
            late = {"title": "Meetup", "start": "2026-12-04T23:00:00+00:00", "end": "2026-12-05T01:00:00+00:00"}
            return {"events": [talk, late], "sources": []}
        mine = {"title": f"Dinner ({tool})", "start": "2026-12-04T17:30:00+00:00", "end": "2026-12-04T19:00:00+00:00"}
        return {"events": [mine], "sources": []}


async def _section(calls: FakeCalls) -> Any:
    (section,) = await _sections(cast(Any, calls), Connected()).sections("daily", DAY, DAY)
    assert section.key == f"core.{fit.VIEW.id}" and section.status == "ok"
    return section


async def test_events_are_checked_against_every_calendar_in_the_briefing_session() -> None:
    catalog = FitOnly.load()
    calls = FakeCalls(catalog)
    section = await _section(calls)
    calendars = [t for _, t in catalog.meeting_sources()]
    assert catalog.suggestion_sources() and len(calendars) >= 2
    assert {s for _, _, s in calls.calls} == {"job:daily_briefing"}
    assert [t for t, _, _ in calls.calls if t in calendars] == calendars
    assert "Public lecture: clashes with Dinner" in section.lines[0]
    assert "Meetup: free" in section.lines[1]


async def test_a_calendar_that_fails_is_a_line_and_no_event_is_called_free() -> None:
    catalog = FitOnly.load()
    first = catalog.meeting_sources()[0][1]
    section = await _section(FakeCalls(catalog, failing={first}))
    assert any("the server is down" in line for line in section.lines)
    assert not any(line.endswith(": free") or ": free" in line for line in section.lines)
