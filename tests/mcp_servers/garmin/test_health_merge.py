"""The health page, the briefing's and digest's health sections and the home panel with Garmin and
Apple Health both connected: the real servers on their demo data (the phone's pushes, Garmin's
answers at the network edge), merged by the manifests' rules: the watch's sleep, resting heart rate
and HRV win, steps are the larger of the two, the phone's weight stays, and no day is counted twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from agent.job_wiring import GatewayCalls, HostIntegrations, ViewSections
from agent.jobs import IntegrationCheck, JobError
from integrations import Catalog, Manifest
from storage.crypto.keystore import ensure_keys, load_keyring
from storage.crypto.master import KeyEncryptionKey, generate_master_key_file, load_master_key
from storage.db import Database
from tests.integrations.harness import DemoServer, demo_server
from web.data import ConsoleData, ToolResult
from web.health_page import load_health
from web.panels import load_panel

pytestmark = pytest.mark.anyio


@dataclass
class Tools:
    servers: dict[str, DemoServer]

    async def read(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        server = self.servers.get(tool.partition(".")[0])
        if server is None:
            return ToolResult(False, error="not running")
        out = await server.call(tool, dict(args or {}))
        return ToolResult(not out.is_error, out.structured_content)


@dataclass
class Data:
    catalog: Catalog
    tools: Tools
    goals: dict[str, float]

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def connected(self, manifest: Manifest) -> bool:
        return manifest.name in self.tools.servers


@dataclass
class Calls:
    """The briefing job's gateway calls, answered by the demo servers."""

    catalog: Catalog
    tools: Tools
    asked: list[tuple[str, dict[str, Any], str]]

    async def call(self, tool: str, args: dict[str, Any], *, session: str) -> Any:
        self.asked.append((tool, args, session))
        out = await self.tools.read(tool, args)
        if not out.ok:
            raise JobError(f"{tool} failed")
        return out.content


class Up:
    async def check(self, name: str) -> IntegrationCheck:
        return IntegrationCheck(name in ("applehealth", "garmin"))


@pytest.fixture
async def both(db: Database, tmp_path: Path) -> Any:
    path = tmp_path / "master.key"
    generate_master_key_file(path)
    kek = KeyEncryptionKey(load_master_key(path))
    async with db.transaction() as s:
        await ensure_keys(s, kek)
        keyring = await load_keyring(s, kek)
    async with demo_server("applehealth", db, keyring) as apple, demo_server("garmin", db, keyring) as garmin:
        await apple.connect_and_sync()
        await garmin.connect_and_sync()
        yield Tools({"applehealth": apple, "garmin": garmin})


async def test_garmin_and_apple_health_merge_without_double_counting(both: Tools) -> None:
    apple, garmin = both.servers["applehealth"], both.servers["garmin"]
    data = Data(Catalog.load(), both, {})
    view = await load_health(cast(ConsoleData, data), "week")
    assert [s.state for s in view.sources if s.name in ("applehealth", "garmin")] == ["ok", "ok"]
    args = {"start_date": view.start.isoformat(), "end_date": view.end.isoformat()}
    phone = {d["date"]: d for d in (await apple.call("applehealth.summary", args)).structured_content["days"]}
    watch = {d["date"]: d for d in (await garmin.call("garmin.summary", args)).structured_content["days"]}
    dates = [(view.start + dt.timedelta(days=i)).isoformat() for i in range(7)]
    for i, date in enumerate(dates):
        p, w = phone.get(date, {}), watch.get(date, {})
        if "steps" in w:
            assert view.series["steps"][i] == max(p.get("steps", 0), w["steps"])
        if "sleep_h" in w:
            assert view.series["sleep_h"][i] == round(w["sleep_h"], 1)  # the page shows tenths
            assert view.series["deep_h"][i] == round(w["deep_h"], 1)
        if "resting_hr" in w:
            assert view.series["resting_hr"][i] == w["resting_hr"]
        if "weight_kg" in p:
            assert view.series["weight_kg"][i] == round(p["weight_kg"], 1)  # only the phone has a scale
    assert any(v is not None for v in view.series["steps"]) and any(v is not None for v in view.series["sleep_h"])
    starts = [w["start"] for w in view.workouts]
    assert len(starts) == len(set(starts))
    assert {w["source"] for w in view.workouts} >= {"garmin"}


async def _summaries(tools: Tools, day: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    args = {"start_date": day.isoformat(), "end_date": day.isoformat()}
    apple = (await tools.servers["applehealth"].call("applehealth.summary", args)).structured_content
    garmin = (await tools.servers["garmin"].call("garmin.summary", args)).structured_content
    assert apple is not None and garmin is not None
    return next(iter(apple["days"]), {}), next(iter(garmin["days"]), {})


async def test_the_briefing_and_digest_merge_both_sources_on_today(both: Tools) -> None:
    today = dt.datetime.now(dt.UTC).date()
    calls = Calls(Catalog.load(), both, [])
    sections = ViewSections(cast(GatewayCalls, calls), cast(HostIntegrations, Up()), goals={"steps": 8000})
    daily = {s.key: s for s in await sections.sections("daily", today, today)}
    sleep, activity = daily["core.sleep"], daily["core.activity"]
    phone, watch = await _summaries(both, today)
    assert "sleep_h" in watch and "sleep_h" in phone  # both have last night: the watch's wins
    assert sleep.status == "ok" and sleep.lines == [
        f"{today.isoformat()} {round(watch['sleep_h'], 1)} h asleep: deep {round(watch['deep_h'], 1)} h, "
        f"REM {round(watch['rem_h'], 1)} h, core/light {round(watch['light_h'], 1)} h, "
        f"awake {round(watch['awake_h'], 1)} h (from Garmin)"
    ]
    phone, watch = await _summaries(both, today - dt.timedelta(days=1))
    steps = round(max(phone.get("steps", 0), watch["steps"]))
    (line,) = activity.lines
    assert activity.status == "ok" and line.startswith(f"{(today - dt.timedelta(days=1)).isoformat()} {steps:,} steps")
    assert f"goal 8,000, met: {'yes' if steps >= 8000 else 'no'}" in line
    health = [(t, a) for t, a, _ in calls.asked if t in ("applehealth.summary", "garmin.summary")]
    assert {t for t, _ in health} == {"applehealth.summary", "garmin.summary"}
    assert all(set(a) == {"start_date", "end_date"} for _, a in health)  # the goal is the core's
    weekly = {s.key: s for s in await sections.sections("weekly", today - dt.timedelta(days=6), today)}
    week = [await _summaries(both, today - dt.timedelta(days=i)) for i in range(7)]
    total = sum(round(max(p.get("steps", 0), w.get("steps", 0))) for p, w in week)
    assert f"Steps this week: {total:,}" in weekly["core.steps"].lines  # the larger each day, never the sum
    assert weekly["core.sleep"].status == "ok" and len(weekly["core.sleep"].lines) == 7


async def test_the_home_panel_shows_both_sources(both: Tools) -> None:
    catalog = Catalog.load()
    (placed,) = [p for p in catalog.panels() if p.merged is not None and p.merged.health]
    panel = await load_panel(cast(ConsoleData, Data(catalog, both, {"steps": 8000})), placed)
    assert panel.state == "ok" and panel.name == "core-health" and panel.data is not None
    assert panel.chart is not None and len(panel.chart["lines"][0][1]) == 7  # the week in the chart
    assert len(panel.data.items) == 2 and panel.data.items[0].when > panel.data.items[1].when  # today first
    details = " ".join(i.detail for i in panel.data.items)
    assert "from Apple Health" in details or "from Garmin" in details
    assert all("h asleep" in i.title for i in panel.data.items)
