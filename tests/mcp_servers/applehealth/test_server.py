from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client
from sqlalchemy import func, select

from mcp_servers._common import CallGate, audit_log
from mcp_servers.applehealth.models import HealthSampleRow
from mcp_servers.applehealth.server import HealthDeps, build_server
from mcp_servers.applehealth.store import HealthStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models import AuditRow
from tests.mcp_servers.conftest import Clock, Tokens, call, error_text
from tools.applehealth.demo import DAYS

pytestmark = pytest.mark.anyio
INGEST, READ, MANAGE = "health.ingest", "health.read", "health.manage"
TODAY = dt.date(2026, 12, 2)


@dataclass
class Health:
    client: Client
    tokens: Tokens
    db: Database


@pytest.fixture
async def health(
    db: Database, make_gate: Callable[[str], CallGate], signing_key: Any, clock: Clock
) -> AsyncIterator[Health]:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("health", "chain") for p in ("enc", "idx")]
    )
    store = HealthStore(db, FieldCipher(keyring), audit_log(keyring, "health"))
    server = build_server(HealthDeps(store=store, gate=make_gate("applehealth"), today=lambda: TODAY, demo=True))
    async with Client(server) as client:
        yield Health(client, Tokens(signing_key, clock, "applehealth"), db)


def _steps(*points: tuple[str, float, str]) -> dict[str, Any]:
    data = [{"date": d, "qty": q, "source": s} for d, q, s in points]
    return {"data": {"metrics": [{"name": "step_count", "units": "count", "data": data}]}}


async def _count(h: Health) -> int:
    async with h.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(HealthSampleRow)) or 0)


async def _audits(h: Health, result: str) -> int:
    async with h.db.transaction() as s:
        query = select(func.count()).select_from(AuditRow).where(AuditRow.action == "health.ingest")
        return int(await s.scalar(query.where(AuditRow.result == result)) or 0)


async def _ingest(h: Health, payload: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = await call(h.client, h.tokens, "ingest", {"payload": payload, "device": "iphone-15"}, INGEST)
    return out


async def test_repeated_and_overlapping_windows_store_nothing_twice(health: Health) -> None:
    first = _steps(("2026-11-30 00:00:00 -0800", 9000, "iPhone"), ("2026-12-01 00:00:00 -0800", 7000, "iPhone"))
    out = await _ingest(health, first)
    assert (out["received"], out["stored"], out["repeated"]) == (2, 2, 0)
    again = await _ingest(health, first)
    assert (again["stored"], again["repeated"]) == (0, 2)
    overlap = _steps(("2026-12-01 00:00:00 -0800", 7000, "iPhone"), ("2026-12-02 00:00:00 -0800", 1200, "iPhone"))
    assert (await _ingest(health, overlap))["stored"] == 1
    assert await _count(health) == 3
    assert await _audits(health, "ok") == 3  # every batch, even one that stored nothing


async def test_bad_input_stores_nothing_and_is_audited(health: Health) -> None:
    bad = _steps(("2026-11-30 00:00:00 -0800", 9000, "iPhone"), ("yesterday", 1, "iPhone"))
    result = await health.client.call_tool(
        "ingest", {"payload": bad, "device": "iphone-15"}, meta=health.tokens.meta(INGEST)
    )
    assert "data.metrics[0].data[1].date" in error_text(result)
    assert await _count(health) == 0
    assert await _audits(health, "refused") == 1


async def test_a_read_token_cannot_ingest(health: Health) -> None:
    result = await health.client.call_tool(
        "ingest", {"payload": _steps(), "device": "x"}, meta=health.tokens.meta(READ)
    )
    assert result.is_error and await _count(health) == 0


async def test_values_and_sources_are_encrypted_at_rest(health: Health) -> None:
    await _ingest(health, _steps(("2026-11-30 00:00:00 -0800", 987654, "Owner's iPhone")))
    async with health.db.transaction() as s:
        row = (await s.scalars(select(HealthSampleRow))).one()
    assert b"987654" not in bytes(row.value) and b"iPhone" not in bytes(row.source)
    assert row.metric == "step_count" and row.day == dt.date(2026, 11, 30)


async def test_unknown_metrics_are_kept_and_listed(health: Health) -> None:
    body = {
        "samples": [{"metric": "time_in_daylight", "time": "2026-12-01T12:00:00+01:00", "value": 42, "unit": "min"}]
    }
    await _ingest(health, body)
    out = await call(health.client, health.tokens, "metrics", {}, READ)
    assert [m["metric"] for m in out["metrics"]] == ["time_in_daylight"]
    daily = await call(
        health.client,
        health.tokens,
        "daily",
        {"metric": "time_in_daylight", "start_date": "2026-12-01", "end_date": "2026-12-01"},
        READ,
    )
    assert daily["days"] == [{"date": "2026-12-01", "value": 42.0}]


async def test_phone_and_watch_steps_are_not_added_together(health: Health) -> None:
    await _ingest(
        health,
        _steps(
            ("2026-12-01 08:00:00 -0800", 4000, "iPhone"),
            ("2026-12-01 18:00:00 -0800", 5000, "iPhone"),
            ("2026-12-01 08:00:00 -0800", 8000, "Apple Watch"),
        ),
    )
    out = await call(
        health.client,
        health.tokens,
        "steps",
        {"start_date": "2026-12-01", "end_date": "2026-12-01", "goal": 8500},
        READ,
    )
    assert out["days"] == [{"date": "2026-12-01", "steps": 9000, "goal": 8500, "met": True}]


async def test_demo_data_gives_last_nights_sleep_and_yesterdays_steps(health: Health) -> None:
    out = await call(health.client, health.tokens, "sandbox_connect", {}, INGEST)
    assert out["stored"] == out["received"] > DAYS * 5
    assert (await call(health.client, health.tokens, "sandbox_connect", {}, INGEST))["stored"] == 0
    today = TODAY.isoformat()
    sleep = await call(health.client, health.tokens, "sleep", {"start_date": today, "end_date": today}, READ)
    (night,) = sleep["nights"]
    assert night["date"] == today and 4 < night["total_hours"] < 9
    assert night["total_hours"] == pytest.approx(
        night["deep_hours"] + night["rem_hours"] + night["core_hours"], abs=0.02
    )
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    steps = await call(health.client, health.tokens, "steps", {"start_date": yesterday, "end_date": yesterday}, READ)
    assert [d["date"] for d in steps["days"]] == [yesterday] and steps["days"][0]["steps"] > 5000
    month = await call(
        health.client,
        health.tokens,
        "steps",
        {"start_date": (TODAY - dt.timedelta(days=DAYS)).isoformat(), "end_date": today},
        READ,
    )
    assert len(month["days"]) == DAYS


async def test_disconnect_deletes_everything(health: Health) -> None:
    await call(health.client, health.tokens, "sandbox_connect", {}, INGEST)
    out = await call(health.client, health.tokens, "disconnect", {}, MANAGE)
    assert out["deleted"] > 0 and await _count(health) == 0
