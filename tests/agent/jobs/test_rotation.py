"""The rotation reminder job: silent until day 80 after the last master key rotation, then daily."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.jobs.engine import JobContext
from agent.jobs.ports import JobSkipped, MemoryNotifier
from agent.jobs.rotation import AuditRotationSource, rotation_reminder_handler
from agent.jobs.schedule import load_schedule
from storage.audit import AuditEvent, AuditLog
from storage.db import Database

pytestmark = pytest.mark.anyio
SETUP = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _ctx(now: datetime) -> JobContext:
    spec = load_schedule("UTC").jobs["rotation_reminder"]
    return JobContext("rotation_reminder", "run-1", now, 1, now, spec.trigger.timezone, spec, None)


async def _audit(db: Database, action: str, at: datetime) -> None:
    async with db.transaction() as s:
        await AuditLog(lambda v: v, clock=lambda: at).append(s, AuditEvent("admin", action, "allow"))


def test_the_job_is_on_the_default_schedule_daily() -> None:
    spec = load_schedule("UTC").jobs["rotation_reminder"]
    assert spec.enabled and spec.when.startswith("every 1d")


async def test_silent_before_day_80_then_a_daily_warning(db: Database) -> None:
    await _audit(db, "broker.start", SETUP)  # the day Aegis was set up: nothing rotated yet
    notes = MemoryNotifier()
    job = rotation_reminder_handler(AuditRotationSource(db), notes)

    assert await job(_ctx(SETUP + timedelta(days=79, hours=23))) == {"days_since_rotation": 79, "warned": False}
    assert notes.sent == []

    out = await job(_ctx(SETUP + timedelta(days=80)))
    assert out == {"days_since_rotation": 80, "warned": True}
    assert len(notes.sent) == 1 and "80 days ago (due in 10 days)" in notes.sent[0].title
    assert "rotate-secrets.sh" in notes.sent[0].title

    await job(_ctx(SETUP + timedelta(days=95)))
    assert "overdue by 5 days" in notes.sent[-1].title


async def test_a_rotation_resets_the_count(db: Database) -> None:
    await _audit(db, "broker.start", SETUP)
    await _audit(db, "master_key.rotate", SETUP + timedelta(days=85))
    notes = MemoryNotifier()
    job = rotation_reminder_handler(AuditRotationSource(db), notes)
    assert await job(_ctx(SETUP + timedelta(days=100))) == {"days_since_rotation": 15, "warned": False}
    assert notes.sent == []


async def test_skipped_without_any_record(db: Database) -> None:
    job = rotation_reminder_handler(AuditRotationSource(db), MemoryNotifier())
    with pytest.raises(JobSkipped):
        await job(_ctx(SETUP))
