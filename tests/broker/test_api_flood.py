"""429s and unknown routes leave an aggregated trace: the first at once, then one summary per window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.broker.conftest import FakeClock
from tests.broker.test_api_support import running_broker

pytestmark = pytest.mark.anyio


async def test_a_429_flood_is_two_rows_not_one_per_request(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock, ip_rate=0.001, ip_burst=3) as b:
        statuses = [(await b.http.get("/v1/principals", headers=b.admin)).status_code for _ in range(50)]
        assert statuses.count(429) == 47
        clock.advance(3600)  # the window ends and the bucket refills
        assert (await b.http.get("/v1/principals", headers=b.admin)).status_code == 200
        rows = [r for r in await b.audit(action="principal.list", limit=100) if r["result"] == "deny"]
        assert len(rows) == 2
        summary, first = rows
        assert first["reason"] == summary["reason"] == "rate_limited"
        assert json.loads(summary["details"])["count"] == 47


async def test_unknown_routes_are_traced_in_aggregate(db_url: str, tmp_path: Path, clock: FakeClock) -> None:
    async with running_broker(db_url, tmp_path, clock) as b:
        for i in range(30):
            r = await b.http.get(f"/v1/nope/{i}")
            assert r.status_code == 404
        assert r.json()["error"] == "not_found"
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-trace-id"]
        rows = await b.audit(action="http.unknown_route")
        assert len(rows) == 1 and rows[0]["reason"] == "not_found" and rows[0]["trace_id"]
        clock.advance(61)
        assert (await b.http.post("/.well-known/jwks.json")).status_code == 405
        rows = await b.audit(action="http.unknown_route")
        assert [json.loads(r["details"]).get("count") for r in rows] == [None, 30, None]
