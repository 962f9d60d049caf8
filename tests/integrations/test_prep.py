"""Meeting prep merged by the core (integrations.prep): every calendar's meetings of the day, each
with the latest threads with its people from every mailbox, in time order; a failing source is a
line saying so. Sources here are neutral stand-ins shaped like the declared contracts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from integrations import Catalog, prep
from integrations.manifest import Manifest
from integrations.views import render

pytestmark = pytest.mark.anyio
DAY = date(2026, 12, 3)
ME, OTHER_ME = "me@home.example", "me@work.example"
WORK = prep.Source("Work calendar", "workcal.events")
HOME = prep.Source("Home calendar", "homecal.events")
BOX_A = prep.Source("Mail A", "mail_a.threads")
BOX_B = prep.Source("Mail B", "mail_b.threads")


def _event(title: str, start: str, organizer: str, attendees: list[str], **more: Any) -> dict[str, Any]:
    return {
        "title": title, "start": f"2026-12-03T{start}:00+00:00", "end": f"2026-12-03T{start[:2]}:59:00+00:00",
        "when": f"{start} UTC", "organizer": organizer, "attendees": attendees,
        "organized_by_owner": organizer in (ME, OTHER_ME), "all_day": False, **more,
    }  # fmt: skip


EVENTS = {
    "workcal.events": [
        _event("Budget review", "15:00", "dana@corp.example", ["dana@corp.example", OTHER_ME]),
        _event("Focus time", "09:00", OTHER_ME, []),
    ],
    "homecal.events": [
        _event("Plan the trip", "11:00", ME, [ME, "sam@friends.example"]),
        _event("Holiday", "00:00", ME, ["sam@friends.example"], all_day=True),
    ],
}
THREADS = {
    ("mail_a.threads", "dana@corp.example"): [
        {
            "subject": "Q1 budget",
            "last_from": "Dana",
            "last_at": "2026-12-01T10:00:00+00:00",
            "open_questions": ["Can you confirm the hiring number?"],
        },
    ],
    ("mail_b.threads", "dana@corp.example"): [
        {"subject": "Offsite", "last_from": "Dana", "last_at": "2026-12-02T10:00:00+00:00", "open_questions": []},
    ],
}


class Sources:
    def __init__(self, failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failing = failing

    async def __call__(self, tool: str, args: dict[str, Any]) -> Any:
        self.calls.append((tool, args))
        if tool in self.failing:
            raise prep.SourceFailed("the server did not answer")
        if tool in EVENTS:
            assert args == {"start": "2026-12-03", "end": "2026-12-04", "limit": prep.MAX_MEETINGS}
            return {"events": EVENTS[tool], "sources": []}
        found = [t for p in args["people"] for t in THREADS.get((tool, p), [])]
        return {"threads": found, "sources": []}


async def test_meetings_of_both_calendars_in_time_order_with_threads_from_both_mailboxes() -> None:
    src = Sources()
    found, failed = await prep.meetings([WORK, HOME], [BOX_A, BOX_B], src, DAY)
    assert failed == []
    meetings = found["meetings"]
    assert [m["title"] for m in meetings] == ["Plan the trip", "Budget review"]  # time order; solo and all-day out
    assert [m["calendar"] for m in meetings] == ["Home calendar", "Work calendar"]
    budget = meetings[1]
    assert budget["people"] == ["dana@corp.example"]  # the owner's addresses (both calendars') left out
    assert budget["prep"] == (
        "With dana@corp.example. Last thread (Mail B): Offsite. Open: Can you confirm the hiring number?"
    )
    assert meetings[0]["prep"] == "With sam@friends.example. No recent mail with them."
    asked = [a["people"] for t, a in src.calls if t == "mail_a.threads"]
    assert asked == [["sam@friends.example"], ["dana@corp.example"]]
    lines = render(prep.VIEW.render, found).lines()
    assert lines[1].startswith("15:00 UTC Budget review")


async def test_a_failing_mailbox_is_asked_once_and_shown_and_the_rest_still_prepares() -> None:
    src = Sources(failing={"mail_a.threads", "homecal.events"})
    found, failed = await prep.meetings([WORK, HOME], [BOX_A, BOX_B], src, DAY)
    assert failed == [("Home calendar", "the server did not answer"), ("Mail A", "the server did not answer")]
    assert [t for t, _ in src.calls].count("mail_a.threads") == 1
    assert [m["title"] for m in found["meetings"]] == ["Budget review"]
    assert "Last thread (Mail B): Offsite. Open: nothing open" in found["meetings"][0]["prep"]


def test_the_core_places_meeting_prep_in_the_briefing_only_when_a_calendar_declares_meetings() -> None:
    catalog = Catalog.load()
    placed = [p for p in catalog.briefing() if p.view.id == prep.VIEW.id]
    assert len(placed) == 1 and placed[0].integration == "" and placed[0].merged is not None
    assert placed[0].merged.sources == tuple(catalog.meeting_sources())
    assert catalog.thread_sources()  # at least one mailbox answers threads with people
    for name, tool in [*catalog.meeting_sources(), *catalog.thread_sources()]:
        manifest = catalog.get(name)
        assert manifest is not None and manifest.tools[tool].cls == "READ"
    assert not [p for p in Catalog([]).briefing() if p.view.id == prep.VIEW.id]


def test_a_meetings_tool_must_be_a_read_tool() -> None:
    raw = {
        "name": "somecal", "title": "Some calendar", "summary": "x", "category": "calendar",
        "identity": {"scopes": (), "data_domain": "calendar"},
        "tools": {
            "somecal.events": {"scope": "calendar.read", "entry": {"class": "READ", "description": "d"}},
            "somecal.create": {"scope": "calendar.write", "entry": {"class": "SIDE_EFFECT", "description": "d"}},
        },
        "connect": {"kind": "none", "probe": "somecal.events"},
    }  # fmt: skip
    assert Manifest.model_validate({**raw, "meetings": "somecal.events"}).meetings == "somecal.events"
    with pytest.raises(ValueError, match="must be READ tools"):
        Manifest.model_validate({**raw, "meetings": "somecal.create"})
