"""The grocery job uses recent active energy when a health integration provides it (by the figure's
name, ``active_energy_kcal``), and runs without it when none is installed or it cannot be read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from agent.job_wiring import reduce_figure
from integrations import Manifest
from integrations.manifest import Provides
from storage.db import Database
from tests.mcp_servers.groceries.conftest import START, make_rig

pytestmark = pytest.mark.anyio


def _fitness(days: list[dict[str, Any]] | None) -> tuple[Manifest, MCPServer]:
    """A stand-in health integration that provides the figure (what a health manifest declares)."""
    manifest = Manifest.model_validate(
        {
            "name": "fitness",
            "title": "Fitness",
            "summary": "A health source.",
            "category": "health",
            "identity": {"scopes": ("datakeys.read",), "data_domain": "health"},
            "tools": {
                "fitness.daily": {
                    "scope": "fitness.read",
                    "entry": {
                        "class": "READ",
                        "description": "One metric per day.",
                        "data_classes": ["health"],
                        "result": {"channel": "health", "integrity": "OWNER", "conf": "SECRET"},
                    },
                }
            },
            "connect": {"kind": "none", "probe": "fitness.daily"},
            "provides": {
                "active_energy_kcal": {
                    "tool": "fitness.daily",
                    "args": {"metric": "active_energy", "start_date": "$days_ago:7", "end_date": "$days_ago:1"},
                    "list": "days",
                    "value": "value",
                }
            },
        }
    )
    server = MCPServer("fitness")
    asked: list[dict[str, str]] = []

    @server.tool()
    async def daily(metric: str, start_date: dt.date, end_date: dt.date) -> dict[str, Any]:
        """One metric per day."""
        asked.append({"metric": metric})
        if days is None:
            raise ToolError("fitness: the service is unavailable")
        return {"metric": metric, "days": days}

    return manifest, server


async def test_an_active_week_raises_the_energy_floor_but_never_the_limit(db: Database) -> None:
    days = [{"date": f"2026-11-{25 + i}", "value": v} for i, v in enumerate((900, 1000, 1100, 1000, 1000, 1000, 1000))]
    async with make_rig(db, [_fitness(days)]) as rig:
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert "without" not in summary
        plan = await rig.store.get(f"plan-{START}")
        assert plan is not None and plan.body["active_kcal"] == 1000
        goals = plan.body["goals"]
        assert goals["kcal_min"] == 1800 and goals["kcal_max"] == 1900  # 1500 + (1000 - 400) / 2, capped at 1800
        for day in plan.body["days"]:
            assert 1800 <= day["kcal"] <= 1900 and day["protein_g"] >= 175


async def test_without_a_provider_or_when_it_fails_the_job_runs_without_activity(db: Database) -> None:
    async with make_rig(db) as rig:
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert summary["without"] == "active_energy_kcal" and summary["approval"]
        plan = await rig.store.get(f"plan-{START}")
        assert plan is not None and plan.body["active_kcal"] is None and plan.body["goals"]["kcal_min"] == 1500
    async with make_rig(db, [_fitness(None)]) as rig:
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert summary["without"] == "active_energy_kcal" and summary["approval"]


def test_the_figure_is_reduced_from_numbers_only() -> None:
    source = Provides(tool="x.daily", list="days", value="value")
    assert reduce_figure(source, {"days": [{"value": 2}, {"value": "9"}, {"value": True}, {"value": 4.0}]}) == 3
    assert reduce_figure(source, {"days": []}) is None and reduce_figure(source, "nope") is None
    assert (
        reduce_figure(Provides(tool="x.d", list="days", value="v", reduce="sum"), {"days": [{"v": 1}, {"v": 2}]}) == 3
    )
