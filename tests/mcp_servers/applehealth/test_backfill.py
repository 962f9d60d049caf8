from __future__ import annotations

import datetime as dt
import os
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mcp_servers._common import audit_log
from mcp_servers.applehealth.backfill import backfill
from mcp_servers.applehealth.models import HealthSampleRow
from mcp_servers.applehealth.store import HealthStore
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models import AuditRow
from tools.applehealth.export_xml import metric_name, stream_export
from tools.applehealth.models import PayloadError

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2026-12-01 20:00:00 -0800"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-01-01"/>
"""


def _export(path: Path, days: int) -> Path:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    fmt = "%Y-%m-%d %H:%M:%S %z"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEAD)
        for day in range(days):
            for hour in range(24):
                t = start + dt.timedelta(days=day, hours=hour)
                end = t + dt.timedelta(minutes=10)
                fh.write(
                    f' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="iPhone" unit="count"'
                    f' creationDate="{end.strftime(fmt)}" startDate="{t.strftime(fmt)}" endDate="{end.strftime(fmt)}"'
                    f' value="{100 + hour}"><MetadataEntry key="x" value="y"/></Record>\n'
                )
            night = start + dt.timedelta(days=day, hours=23)
            woke = night + dt.timedelta(hours=7)
            fh.write(
                ' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Watch"'
                f' startDate="{night.strftime(fmt)}" endDate="{woke.strftime(fmt)}"'
                ' value="HKCategoryValueSleepAnalysisAsleepCore"/>\n'
            )
            run = start + dt.timedelta(days=day, hours=7)
            done = run + dt.timedelta(minutes=30)
            fh.write(
                ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" durationUnit="min"'
                f' sourceName="Watch" startDate="{run.strftime(fmt)}" endDate="{done.strftime(fmt)}"/>\n'
            )
        fh.write("</HealthData>\n")
    return path


def test_metric_names_follow_health_auto_export() -> None:
    assert metric_name("HKQuantityTypeIdentifierStepCount") == "step_count"
    assert metric_name("HKQuantityTypeIdentifierHeartRateVariabilitySDNN") == "heart_rate_variability_s_d_n_n"
    assert metric_name("HKCategoryTypeIdentifierSleepAnalysis") == "sleep_analysis"


def test_a_large_export_streams_in_flat_memory(tmp_path: Path) -> None:
    path = _export(tmp_path / "export.xml", 300)  # about 7,800 records, 3 MB
    seen: list[int] = []
    tracemalloc.start()
    total = 0
    for samples in stream_export(path, batch=1000, progress=lambda done, _all: seen.append(done)):
        total += len(samples)
        assert len(samples) <= 1000
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == 300 * 26
    assert seen[-1] == path.stat().st_size and seen == sorted(seen)
    assert peak < path.stat().st_size  # never the whole tree


def test_a_bad_date_names_the_element(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(
        HEAD + ' <Record type="HKQuantityTypeIdentifierStepCount" startDate="yesterday" value="1"/>\n</HealthData>\n'
    )
    with pytest.raises(PayloadError, match="element 1"):
        list(stream_export(path))


@pytest.mark.anyio
async def test_backfill_stores_once_and_a_rerun_stores_nothing(db: Database, tmp_path: Path) -> None:
    keyring = Keyring(
        [DataKey(f"{d}.{p}.v1", os.urandom(32), ACTIVE) for d in ("health", "chain") for p in ("enc", "idx")]
    )
    store = HealthStore(db, FieldCipher(keyring), audit_log(keyring, "health"))
    path = _export(tmp_path / "export.xml", 10)
    first = await backfill(store, path, actor="owner", batch=100)
    assert (first.received, first.stored, first.batches) == (260, 260, 3)
    again = await backfill(store, path, actor="owner", batch=100)
    assert again.stored == 0
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(HealthSampleRow)) == 260
        audited = await s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action == "health.backfill"))
    assert audited == 6
    totals = await store.daily_totals("step_count", dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    assert totals == {dt.date(2026, 1, 1): sum(100 + h for h in range(24))}
