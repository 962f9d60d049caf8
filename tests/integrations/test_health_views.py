"""The briefing's, the digest's and the home page's health views: every source that declares
``health:`` asked for its summary in the job's session, merged by the health page's rule (no day
counted twice), the owner's goal applied by the core, a failing source shown as a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, cast

import pytest

from agent.job_wiring import GatewayCalls, HostIntegrations, ViewSections
from agent.jobs import IntegrationCheck, JobError
from integrations import Catalog, Manifest
from integrations.manifest import HealthSource

pytestmark = pytest.mark.anyio
DAY = date(2026, 12, 3)


def _source(base: Manifest, name: str, title: str, prefer: tuple[str, ...]) -> Manifest:
    return base.model_copy(
        update={"name": name, "title": title, "health": HealthSource(tool=f"{name}.summary", prefer=prefer)}
    )


@cache
def _catalog() -> Catalog:
    base = next(m for m in Catalog.load() if m.health is not None)
    phone = _source(base, "phone", "Phone", ("weight_kg",))
    watch = _source(base, "watch", "Watch", ("sleep", "resting_hr", "workouts"))
    return Catalog([phone, watch])


ANSWERS = {
    "phone.summary": {
        "days": [
            {"date": "2026-12-02", "steps": 9400, "active_kcal": 480.4, "resting_hr": 58},
            {"date": "2026-12-03", "sleep_h": 6.0, "deep_h": 0.9},
        ],
        "workouts": [{"start": "2026-12-02T07:00:00+00:00", "name": "Run (phone copy)", "minutes": 30}],
    },
    "watch.summary": {
        "days": [
            {"date": "2026-12-02", "steps": 9100, "resting_hr": 54},
            {"date": "2026-12-03", "sleep_h": 7.25, "deep_h": 1.5, "rem_h": 1.75, "light_h": 3.75, "awake_h": 0.25},
        ],
        "workouts": [{"start": "2026-12-02T07:04:00+00:00", "name": "Run", "minutes": 31}],
    },
}


@dataclass
class FakeCalls:
    catalog: Catalog
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    async def call(self, tool: str, args: dict[str, Any], *, session: str) -> Any:
        self.calls.append((tool, args, session))
        if tool in self.failing:
            raise JobError(f"{tool} failed: the server is down")
        return ANSWERS[tool]


class Connected:
    async def check(self, name: str) -> IntegrationCheck:
        return IntegrationCheck(True)


def _sections(calls: FakeCalls) -> ViewSections:
    return ViewSections(cast(GatewayCalls, calls), cast(HostIntegrations, Connected()), goals={"steps": 9000})


async def test_the_briefing_merges_every_source_without_double_counting() -> None:
    calls = FakeCalls(_catalog())
    sections = {s.key: s for s in await _sections(calls).sections("daily", DAY, DAY)}
    assert sections["core.sleep"].lines == [
        "2026-12-03 7.2 h asleep: deep 1.5 h, REM 1.8 h, core/light 3.8 h, awake 0.2 h (from Watch)"
    ]
    assert sections["core.activity"].lines == [
        "2026-12-02 9,400 steps: goal 9,000, met: yes; active energy 480 kcal; resting heart rate 54 bpm; "
        "workouts: Run (31 min); from Phone"  # the larger count, the watch's heart rate and workout, once
    ]
    assert [(t, a, s) for t, a, s in calls.calls if t == "watch.summary"] == [
        ("watch.summary", {"start_date": "2026-12-03", "end_date": "2026-12-03"}, "job:daily_briefing"),
        ("watch.summary", {"start_date": "2026-12-02", "end_date": "2026-12-02"}, "job:daily_briefing"),
    ]


async def test_the_digest_totals_each_day_once_and_a_failing_source_is_a_line() -> None:
    calls = FakeCalls(_catalog())
    steps = next(s for s in await _sections(calls).sections("weekly", DAY, DAY) if s.key == "core.steps")
    assert steps.lines[0] == "Steps this week: 9,400" and "2026-12-02 9,400 steps: goal 9,000, met: yes" in steps.lines
    calls = FakeCalls(_catalog(), failing={"watch.summary"})
    daily = {s.key: s for s in await _sections(calls).sections("daily", DAY, DAY)}
    assert daily["core.sleep"].lines == [
        "Watch: unavailable (watch.summary failed: the server is down)",
        "2026-12-03 6.0 h asleep: deep 0.9 h (from Phone)",
    ]


def test_the_health_views_exist_only_with_a_health_source() -> None:
    with_health = _catalog()
    without = Catalog([m.model_copy(update={"health": None}) for m in with_health])
    for listed in (Catalog.briefing, Catalog.digest, Catalog.panels):
        health = [p for p in listed(with_health) if p.merged is not None and p.merged.health]
        assert len(health) >= 1 and all(p.merged and p.merged.sources[0][0] == "phone" for p in health)
        assert not [p for p in listed(without) if p.merged is not None and p.merged.health]
