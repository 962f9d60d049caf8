"""The daily briefing's meeting prep section: the core asks every connected calendar for the day's
meetings and every connected mailbox for the threads with their people, through the job's gateway
session; a source that fails is a line saying so, one that is not connected is not asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import pytest

from agent.job_wiring import GatewayCalls, HostIntegrations, ViewSections
from agent.jobs import IntegrationCheck, JobError
from integrations import Catalog, PlacedView, prep

pytestmark = pytest.mark.anyio
DAY = date(2026, 12, 3)


class PrepOnly(Catalog):
    """The installed catalog, its briefing reduced to the meeting prep section."""

    def briefing(self) -> list[PlacedView]:
        return [p for p in super().briefing() if p.view.id == prep.VIEW.id]


@dataclass
class FakeCalls:
    catalog: Catalog
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    async def call(self, tool: str, args: dict[str, Any], *, session: str) -> Any:
        self.calls.append((tool, args, session))
        if tool in self.failing:
            raise JobError(f"{tool} failed: the server is down")
        if tool in dict(self.catalog.meeting_sources()).values():
            event = {"title": f"Sync ({tool})", "start": "2026-12-03T10:00:00+00:00", "when": "10:00 UTC",
                     "organizer": "dana@corp.example", "attendees": ["dana@corp.example"]}  # fmt: skip
            return {"events": [event], "sources": []}
        thread = {"subject": f"Thread in {tool}", "last_at": "2026-12-01T00:00:00+00:00", "open_questions": ["When?"]}
        return {"threads": [thread], "sources": []}


@dataclass
class Connected:
    off: set[str] = field(default_factory=set)

    async def check(self, name: str) -> IntegrationCheck:
        return IntegrationCheck(name not in self.off)


def _sections(calls: FakeCalls, integrations: Connected) -> ViewSections:
    return ViewSections(cast(GatewayCalls, calls), cast(HostIntegrations, integrations))


async def _prep_section(calls: FakeCalls, integrations: Connected) -> Any:
    (section,) = await _sections(calls, integrations).sections("daily", DAY, DAY)
    assert section.key == f"core.{prep.VIEW.id}" and section.title == "Meeting prep"
    return section


async def test_every_calendar_and_mailbox_is_asked_in_the_briefing_session() -> None:
    catalog = PrepOnly.load()
    calls = FakeCalls(catalog)
    section = await _prep_section(calls, Connected())
    cal_tools = [t for _, t in catalog.meeting_sources()]
    box_tools = [t for _, t in catalog.thread_sources()]
    assert len(cal_tools) >= 2 and len(box_tools) >= 2  # both calendars, both mailboxes
    prep_calls = calls.calls
    assert {s for _, _, s in prep_calls} == {"job:daily_briefing"}
    assert [t for t, _, _ in prep_calls if t in cal_tools] == cal_tools
    assert [a["people"] for t, a, _ in prep_calls if t in box_tools] == [["dana@corp.example"]] * (
        len(cal_tools) * len(box_tools)
    )
    assert section.status == "ok" and len(section.lines) == len(cal_tools)
    assert all("With dana@corp.example. Last thread (" in line and "Open: When?" in line for line in section.lines)


async def test_a_failing_source_is_a_line_and_a_disconnected_one_is_not_asked() -> None:
    catalog = PrepOnly.load()
    (cal_name, cal_tool), *_ = catalog.meeting_sources()
    (box_name, _), (_, broken_box) = catalog.thread_sources()[:2]
    calls = FakeCalls(catalog, failing={broken_box})
    section = await _prep_section(calls, Connected(off={box_name}))
    assert not [t for t, _, _ in calls.calls if t == dict(catalog.thread_sources())[box_name]]
    failed = [line for line in section.lines if "unavailable" in line]
    assert len(failed) == 1 and "the server is down" in failed[0]  # asked once, shown once
    assert any(line.startswith("10:00 UTC Sync (" + cal_tool) for line in section.lines)
    assert cal_name
