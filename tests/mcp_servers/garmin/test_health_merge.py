"""The health page's data with Garmin and Apple Health both connected: the real servers on their
demo data (the phone's pushes, Garmin's answers at the network edge), merged by the manifests'
rules: the watch's sleep, resting heart rate and HRV win, steps are the larger of the two, the
phone's weight stays, and no day is counted twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from integrations import Catalog, Manifest
from storage.crypto.keystore import ensure_keys, load_keyring
from storage.crypto.master import KeyEncryptionKey, generate_master_key_file, load_master_key
from storage.db import Database
from tests.integrations.harness import DemoServer, demo_server
from web.data import ConsoleData, ToolResult
from web.health_page import load_health

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

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def connected(self, manifest: Manifest) -> bool:
        return manifest.name in self.tools.servers


async def test_garmin_and_apple_health_merge_without_double_counting(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    generate_master_key_file(path)
    kek = KeyEncryptionKey(load_master_key(path))
    async with db.transaction() as s:
        await ensure_keys(s, kek)
        keyring = await load_keyring(s, kek)
    async with demo_server("applehealth", db, keyring) as apple, demo_server("garmin", db, keyring) as garmin:
        await apple.connect_and_sync()
        await garmin.connect_and_sync()
        data = Data(Catalog.load(), Tools({"applehealth": apple, "garmin": garmin}))
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
