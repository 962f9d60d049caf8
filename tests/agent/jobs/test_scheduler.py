"""The real AsyncIOScheduler driving the engine. Nothing sleeps: slots are made due by the persisted
state or by moving a job's next run time to now, and the tests wait on events the engine sets."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.jobs.engine import BUSY, INTERRUPTED, JobContext, JobEngine
from agent.jobs.history import RunStore
from agent.jobs.ports import JobError
from agent.jobs.scheduler import RETRY_PREFIX, JobScheduler
from storage.db import Database
from tests.agent.jobs.conftest import ManualClock, Rig, make_schedule

pytestmark = pytest.mark.anyio
WAIT = 10  # seconds; only reached if something is broken


def real_rig(db: Database) -> Rig:
    """The engine's clock is the real time of the test's start: APScheduler reads the wall clock."""
    return Rig(db, ManualClock(datetime.now(UTC)), make_schedule(sync_emails={"every": "30m", "misfire_grace": "1h"}))


class Signals:
    """Events set when the engine finishes a call (wraps the engine the scheduler uses)."""

    def __init__(self, engine: JobEngine) -> None:
        self.fired, self.refused, self.executed = asyncio.Event(), asyncio.Event(), asyncio.Event()
        fire, execute = engine.fire, engine.execute

        async def fire_and_tell(job_id: str, run_times: Sequence[datetime], *, overlapping: bool = False) -> list[str]:
            try:
                return await fire(job_id, run_times, overlapping=overlapping)
            finally:
                (self.refused if overlapping else self.fired).set()

        async def execute_and_tell(run_id: str) -> str | None:
            try:
                return await execute(run_id)
            finally:
                self.executed.set()

        engine.fire = fire_and_tell  # type: ignore[method-assign]
        engine.execute = execute_and_tell  # type: ignore[method-assign]


async def make_due(rig: Rig, job_id: str) -> datetime:
    """Pretend Aegis was down over the job's last slot: persist that slot as the next run time."""
    nexts, _ = await rig.engine().prepare()
    nxt = nexts[job_id]
    assert nxt is not None
    slot = nxt - timedelta(minutes=30)
    await RunStore(rig.db).save_state(job_id, next_run_at=slot)
    return slot


async def test_a_slot_due_at_start_fires_through_apscheduler(db: Database) -> None:
    rig = real_rig(db)
    slot = await make_due(rig, "sync_emails")
    engine = rig.engine()
    signals = Signals(engine)
    scheduler = JobScheduler(engine)
    await scheduler.start()
    try:
        await asyncio.wait_for(signals.fired.wait(), WAIT)
        [run] = (await scheduler.runs(job_id="sync_emails")).items
        assert (run.outcome, run.scheduled_for, run.trigger) == ("ok", slot, "schedule")
        assert rig.calls == [("sync_emails", slot, 1)]
        nxt = (await scheduler.next_run_times())["sync_emails"]
        assert nxt == slot + timedelta(minutes=30)
        assert scheduler.apscheduler.get_job("sync_emails").next_run_time == nxt
        assert str(scheduler.apscheduler.timezone) == "America/New_York"
    finally:
        await scheduler.stop()
    assert not scheduler.running


async def test_a_slot_that_comes_while_the_job_runs_is_refused_and_recorded(db: Database) -> None:
    rig = real_rig(db)
    await make_due(rig, "sync_emails")
    entered, hold = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext) -> dict[str, object]:
        entered.set()
        await hold.wait()
        return {}

    rig.behave["sync_emails"] = slow
    engine = rig.engine()
    signals = Signals(engine)
    scheduler = JobScheduler(engine)
    await scheduler.start()
    try:
        await asyncio.wait_for(entered.wait(), WAIT)
        refused_slot = datetime.now(UTC)
        scheduler.apscheduler.modify_job("sync_emails", next_run_time=refused_slot)  # due again right now
        await asyncio.wait_for(signals.refused.wait(), WAIT)  # EVENT_JOB_MAX_INSTANCES
        hold.set()
        await asyncio.wait_for(signals.fired.wait(), WAIT)
        runs = {r.outcome: r for r in (await scheduler.runs(job_id="sync_emails")).items}
        assert set(runs) == {"ok", "skipped"}
        assert runs["skipped"].error == BUSY and runs["skipped"].scheduled_for == refused_slot
        assert len(rig.calls) == 1
    finally:
        hold.set()
        await scheduler.stop()


async def test_a_run_cut_short_by_a_stop_is_retried_at_the_next_start(db: Database) -> None:
    rig = real_rig(db)
    slot = await make_due(rig, "sync_emails")
    entered = asyncio.Event()

    async def hangs(ctx: JobContext) -> dict[str, object]:
        entered.set()
        await asyncio.Event().wait()
        return {}

    rig.behave["sync_emails"] = hangs
    first = JobScheduler(rig.engine())
    await first.start()
    await asyncio.wait_for(entered.wait(), WAIT)
    await first.stop()  # Aegis stops mid-run
    [run] = (await rig.engine().runs(job_id="sync_emails")).items
    assert run.outcome == "running"

    del rig.behave["sync_emails"]
    engine = rig.engine()
    signals = Signals(engine)
    second = JobScheduler(engine)
    await second.start()
    try:
        await asyncio.wait_for(signals.executed.wait(), WAIT)  # the retry armed at start fired
        [run] = (await second.runs(job_id="sync_emails")).items
        assert (run.outcome, run.attempts, run.scheduled_for) == ("ok", 2, slot)
        assert [c[2] for c in rig.calls] == [1, 2]
        assert not signals.fired.is_set()  # the slot itself was not fired a second time
    finally:
        await second.stop()
    assert INTERRUPTED.startswith("interrupted")


async def test_controls_pause_resume_run_now_and_arm_retries(db: Database) -> None:
    rig = real_rig(db)

    async def broken(ctx: JobContext) -> dict[str, object]:
        raise JobError("bank API unavailable")

    rig.behave["sync_finances"] = broken
    engine = rig.engine()
    signals = Signals(engine)
    scheduler = JobScheduler(engine)
    await scheduler.start()
    aps: Any = scheduler.apscheduler
    try:
        await scheduler.pause("sync_emails")
        assert aps.get_job("sync_emails").next_run_time is None
        assert (await scheduler.next_run_times())["sync_emails"] is None
        nxt = await scheduler.resume("sync_emails")
        assert nxt is not None and aps.get_job("sync_emails").next_run_time == nxt

        run_id = await scheduler.run_now("sync_finances")
        await asyncio.wait_for(signals.executed.wait(), WAIT)
        run = await scheduler.run(run_id)
        assert run is not None and (run.trigger, run.outcome, run.error) == (
            "manual",
            "retrying",
            "bank API unavailable",
        )
        retry = aps.get_job(RETRY_PREFIX + run_id)
        assert retry is not None and retry.next_run_time == run.next_attempt_at
        assert run.next_attempt_at == rig.clock.now + timedelta(minutes=1)
    finally:
        await scheduler.stop()
