"""The grocery job takes recent active energy from the health integrations that provide it (by the
figure's name, ``active_energy_kcal``): the real Apple Health and Garmin servers, the phone's samples
pushed in, Garmin's days answered at the network edge. A day both count is counted once (the
larger figure); the job runs without the figure when no provider runs or none has data."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver import MCPServer

from agent.job_wiring import combine_figures, reduce_figure
from integrations import Manifest, load_manifest
from integrations.manifest import Provides
from mcp_servers._common import Demo
from mcp_servers._standalone import demo_runtime
from mcp_servers.applehealth.__main__ import build as build_applehealth
from mcp_servers.garmin.__main__ import build as build_garmin
from storage.crypto.keyring import ACTIVE, DOMAINS, DataKey, Keyring
from storage.db import Database
from tests.mcp_servers.groceries.conftest import START, Rig, make_rig
from tools.garmin.demo import demo_credentials, demo_transport

pytestmark = pytest.mark.anyio
TODAY = dt.datetime.now(dt.UTC).date()  # the job resolves "$days_ago:7" against the real clock
WEEK = [TODAY - dt.timedelta(days=n) for n in range(7, 0, -1)]


def _keyring() -> Keyring:
    return Keyring([DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in DOMAINS for p in ("enc", "idx")])


def _refuse(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404)


@asynccontextmanager
async def health(
    db: Database, phone: dict[dt.date, float], *, watch: bool
) -> AsyncIterator[list[tuple[Manifest, MCPServer]]]:
    """Apple Health with ``phone``'s active energy pushed in, and Garmin (logged in and synced when
    ``watch``), each on its own runtime over ``db``."""
    async with AsyncExitStack() as stack:
        apple_rt = await stack.enter_async_context(
            demo_runtime("applehealth", "health", Demo({}, httpx.MockTransport(_refuse)), db=db, keyring=_keyring())
        )
        garmin_rt = await stack.enter_async_context(
            demo_runtime("garmin", "health", Demo(demo_credentials(), demo_transport(TODAY)), db=db, keyring=_keyring())
        )
        apple, garmin = build_applehealth(apple_rt), build_garmin(garmin_rt)
        samples = [
            {"metric": "active_energy", "time": f"{d.isoformat()}T12:00:00+00:00", "value": v, "unit": "kcal"}
            for d, v in phone.items()
        ]
        if samples:
            await apple.call_tool("ingest", {"payload": {"samples": samples}, "device": "test-iphone"})
        if watch:
            await garmin.call_tool("login", {})  # signs in to Garmin's demo account and syncs a month
        yield [(load_manifest("applehealth"), apple), (load_manifest("garmin"), garmin)]


async def _watch_days(rig: Rig) -> dict[str, float]:
    args = {"start_date": WEEK[0].isoformat(), "end_date": WEEK[-1].isoformat()}
    out = await rig.calls.call("garmin.summary", args, session="test")
    return {d["date"]: d["active_kcal"] for d in out["days"]}


async def test_phone_and_watch_give_the_larger_figure_of_each_day(db: Database) -> None:
    phone = {d: (1500.0 if i % 2 else 100.0) for i, d in enumerate(WEEK)}  # above, then below the watch's
    async with health(db, phone, watch=True) as servers, make_rig(db, servers) as rig:
        watch = await _watch_days(rig)
        assert len(watch) == 7
        daily = [max(phone[d], watch[d.isoformat()]) for d in WEEK]
        expected = sum(daily) / 7
        assert expected not in (sum(phone.values()) / 7, sum(watch.values()) / 7)  # neither source alone
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert "without" not in summary and summary["approval"]
        plan = await rig.store.get(f"plan-{START}")
        assert plan is not None and plan.body["active_kcal"] == round(expected)
        goals = plan.body["goals"]
        assert goals["kcal_min"] == pytest.approx(min(1800, 1500 + (expected - 400) / 2), abs=1)
        for day in plan.body["days"]:
            assert goals["kcal_min"] <= day["kcal"] <= 1900 and day["protein_g"] >= 175


async def test_the_phone_alone_gives_the_figure_when_garmin_has_no_days(db: Database) -> None:
    phone = dict.fromkeys(WEEK, 1200.0)
    async with health(db, phone, watch=False) as servers, make_rig(db, servers) as rig:
        assert await _watch_days(rig) == {}
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert "without" not in summary
        plan = await rig.store.get(f"plan-{START}")
        assert plan is not None and plan.body["active_kcal"] == 1200 and plan.body["goals"]["kcal_min"] == 1800


async def test_without_a_running_provider_or_any_data_the_job_runs_without_activity(db: Database) -> None:
    async with make_rig(db) as rig:  # Apple Health and Garmin are installed but their servers do not run
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert summary["without"] == "active_energy_kcal" and summary["approval"]
        plan = await rig.store.get(f"plan-{START}")
        assert plan is not None and plan.body["active_kcal"] is None and plan.body["goals"]["kcal_min"] == 1500
    async with health(db, {}, watch=False) as servers, make_rig(db, servers) as rig:
        summary = await rig.calls.sync("groceries", "job-token", "grocery_order")
        assert summary["without"] == "active_energy_kcal" and summary["approval"]


def test_the_figure_is_reduced_from_numbers_only() -> None:
    source = Provides(tool="x.daily", list="days", value="value")
    assert reduce_figure(source, {"days": [{"value": 2}, {"value": "9"}, {"value": True}, {"value": 4.0}]}) == 3
    assert reduce_figure(source, {"days": []}) is None and reduce_figure(source, "nope") is None
    assert (
        reduce_figure(Provides(tool="x.d", list="days", value="v", reduce="sum"), {"days": [{"v": 1}, {"v": 2}]}) == 3
    )


def test_providers_with_a_key_count_a_shared_day_once() -> None:
    a = Provides(tool="a.daily", list="days", value="value", key="date")
    b = Provides(tool="b.summary", list="days", value="kcal", key="date")
    one: dict[str, Any] = {"days": [{"date": "d1", "value": 300}, {"date": "d2", "value": 900}]}
    two: dict[str, Any] = {"days": [{"date": "d1", "kcal": 500}, {"date": "d3", "kcal": "x"}]}
    assert combine_figures([(a, one), (b, two)]) == 700  # d1: 500 (not 800), d2: 900
    assert combine_figures([(a, {"days": []}), (b, two)]) == 500
    assert combine_figures([]) is None
    plain = Provides(tool="c.daily", list="days", value="value")
    assert combine_figures([(plain, {"days": []}), (plain, json.loads('{"days": [{"value": 4}]}'))]) == 4
