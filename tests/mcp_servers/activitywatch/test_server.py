"""The ActivityWatch server over the demo device: sync, usage per app and category, focus, trend, digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from integrations import load_manifest
from integrations.views import render, resolve_args
from mcp_servers.activitywatch.models import DeviceUsageDayRow
from mcp_servers.activitywatch.service import FIRST_SYNC_DAYS, summarize
from tests.mcp_servers.activitywatch.conftest import TODAY, Usage
from tests.mcp_servers.conftest import call, error_text
from tools.activitywatch.client import Event

pytestmark = pytest.mark.anyio
READ = "usage.read"
T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def _event(minute: float, minutes: float, app: str, title: str = "") -> Event:
    return Event(timestamp=T0 + timedelta(minutes=minute), duration=minutes * 60, data={"app": app, "title": title})


def test_focus_is_unbroken_study_of_25_minutes_or_more() -> None:
    day = summarize(
        [
            _event(0, 20, "Firefox", "Canvas - CS 260"),
            _event(21, 10, "Code", "tree.py"),  # 1 minute gap: the same stretch (31 min)
            _event(31, 5, "Slack", "general"),  # a break
            _event(36, 20, "Code", "graph.py"),  # 20 min: too short
            _event(60, 30, "Firefox", "Pearson Mastering"),  # 4 min gap after the break: a new stretch
        ]
    )
    assert day.focus == (31 + 30) * 60
    assert day.active == 85 * 60
    assert day.categories == {"Study": 80 * 60, "Communication": 5 * 60}
    assert day.apps == {"Firefox": 50 * 60, "Code": 30 * 60, "Slack": 5 * 60}


async def _count(u: Usage) -> int:
    async with u.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(DeviceUsageDayRow)) or 0)


async def test_sync_stores_daily_summaries_encrypted_then_continues(usage: Usage) -> None:
    first = await call(usage.client, usage.tokens, "sync", {}, READ)
    assert first == {"days": FIRST_SYNC_DAYS} and await _count(usage) == FIRST_SYNC_DAYS
    again = await call(usage.client, usage.tokens, "sync", {}, READ)
    assert again == {"days": 1}  # only today, which may have grown
    assert len(usage.demo.queries[-1]["timeperiods"]) == 1
    async with usage.db.transaction() as s:
        raw = b"".join((await s.scalars(select(DeviceUsageDayRow.data))).all())
    assert b"Firefox" not in raw and b"Study" not in raw and b"Canvas" not in raw


async def test_usage_of_one_day_per_app_and_category(usage: Usage) -> None:
    await call(usage.client, usage.tokens, "sync", {}, READ)
    day = TODAY.isoformat()
    out = await call(usage.client, usage.tokens, "usage", {"start": day, "end": day}, READ)
    # Wednesday of the current week: the demo's Code blocks are 75 and 60 minutes.
    assert out["active_hours"] == round(275 / 60, 2)
    assert out["focus_hours"] == round(195.5 / 60, 2)
    assert out["categories"] == [
        {"name": "Study", "hours": 3.25},
        {"name": "Entertainment", "hours": round(50 / 60, 2)},
        {"name": "Communication", "hours": 0.5},
    ]
    assert out["apps"][:2] == [{"name": "Code", "hours": 2.25}, {"name": "Firefox", "hours": round(100 / 60, 2)}]
    bad = await usage.client.call_tool("usage", {"start": day, "end": "2026-11-01"}, meta=usage.tokens.meta(READ))
    assert "invalid request" in error_text(bad)


async def test_the_trend_across_weeks_rises_with_the_demo(usage: Usage) -> None:
    await call(usage.client, usage.tokens, "sync", {}, READ)
    out = await call(usage.client, usage.tokens, "trend", {"weeks": 4}, READ)
    weeks = out["weeks"]
    assert [w["week"] for w in weeks] == ["2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]
    full = [w["focus_hours"] for w in weeks[:3]]
    assert full == sorted(full) and full[0] < full[2]
    assert weeks[3]["active_hours"] < weeks[2]["active_hours"]  # the current week is three days old


async def test_status_is_the_connect_probe_and_tokens_are_checked(usage: Usage) -> None:
    manifest = load_manifest("activitywatch")
    out = await call(usage.client, usage.tokens, "status", {}, READ)
    assert manifest.connect.is_connected(out)
    refused = await usage.client.call_tool("status", {})
    assert "missing_token" in error_text(refused)


async def _lines(usage: Usage, kind: str, view_id: str) -> tuple[list[str], Any]:
    view = next(v for v in getattr(load_manifest("activitywatch"), kind) if v.id == view_id)
    result = await call(usage.client, usage.tokens, view.tool.partition(".")[2], resolve_args(view.args, TODAY), READ)
    data = render(view.render, result)
    return data.lines(), data.chart


async def test_the_digest_sections(usage: Usage) -> None:
    await call(usage.client, usage.tokens, "sync", {}, READ)
    lines, chart = await _lines(usage, "digest", "device_usage")
    assert chart is not None and chart.labels[0] == "Study"
    assert lines[0].startswith("Hours at the device: ")
    trend, line = await _lines(usage, "digest", "focus_trend")
    assert trend[0].startswith("Week of 2026-11-09: focus ")
    assert line is not None and line.kind == "line"


async def test_disconnect_deletes_the_summaries(usage: Usage) -> None:
    await call(usage.client, usage.tokens, "sync", {}, READ)
    out = await call(usage.client, usage.tokens, "disconnect", {}, "usage.link")
    assert out == {"removed": ["usage-summaries"]} and await _count(usage) == 0
