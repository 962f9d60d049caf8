"""The engine with explicit times: downtime and misfires, coalescing, restarts, one run at a time,
skips with reasons, retries with backoff, alerts, and the console's controls."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from agent.jobs.engine import BUSY, INTERRUPTED, JobBusy, JobContext, RetryPolicy
from agent.jobs.ports import JobError
from agent.jobs.schedule import Schedule
from storage.db import Database
from storage.models.jobs import JobRunRow
from tests.agent.jobs.conftest import T0, Rig, due_slots, only_run, rig_with

pytestmark = pytest.mark.anyio


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


async def test_the_first_start_schedules_the_next_slot_after_now(rig: Rig) -> None:
    nexts, retries = await rig.engine().prepare()
    assert retries == []
    assert nexts["sync_emails"] == at(12, 30) and nexts["sync_calendar"] == at(12, 15)
    assert nexts["daily_briefing"] == at(11, day=3)  # 06:00 EST
    assert nexts["weekly_digest"] == at(0, day=9)  # Sunday 8 March, 20:00 EDT (clocks moved that morning)
    assert await rig.engine().next_run_times() == nexts  # persisted, not recomputed


async def test_a_slot_missed_during_downtime_runs_once_within_the_grace(rig: Rig) -> None:
    await rig.engine().prepare()
    rig.clock.now = at(12, 40)  # Aegis was down at 12:30; back 10 minutes later (grace 15m)
    engine = rig.engine()
    nexts, _ = await engine.prepare()
    assert nexts["sync_emails"] == at(12, 30)  # the persisted slot, in the past: due at once
    await engine.fire("sync_emails", due_slots(engine, "sync_emails", nexts["sync_emails"], rig.clock.now))
    run = await only_run(engine, "sync_emails")
    assert (run.outcome, run.scheduled_for, run.attempts) == ("ok", at(12, 30), 1)
    assert rig.calls == [("sync_emails", at(12, 30), 1)]
    assert (await engine.next_run_times())["sync_emails"] == at(13)


async def test_slots_beyond_the_grace_are_recorded_as_missed_once_not_run(rig: Rig) -> None:
    await rig.engine().prepare()
    rig.clock.now = at(15, 20)  # down from 12:30 to 15:20: six slots, the latest 20 minutes old
    engine = rig.engine()
    nexts, _ = await engine.prepare()
    slots = due_slots(engine, "sync_emails", nexts["sync_emails"], rig.clock.now)
    assert len(slots) == 6
    await engine.fire("sync_emails", slots)
    run = await only_run(engine, "sync_emails")
    assert run.outcome == "missed" and run.scheduled_for == at(15)
    assert run.error is not None and "missed 6 slot(s)" in run.error and "misfire grace (15m)" in run.error
    assert run.summary == {"missed_slots": 6}
    assert rig.calls == []
    assert (await engine.next_run_times())["sync_emails"] == at(15, 30)


async def test_coalescing_runs_many_due_slots_once(rig: Rig) -> None:
    engine = rig.engine()
    await engine.prepare()
    rig.clock.now = at(15, 5)
    slots = due_slots(engine, "sync_emails", at(12, 30), rig.clock.now)
    await engine.fire("sync_emails", slots)
    run = await only_run(engine, "sync_emails")
    assert run.outcome == "ok" and run.scheduled_for == at(15)
    assert run.summary == {"coalesced_slots": 5, "first_slot": at(12, 30).isoformat(), "n": 1}
    assert len(rig.calls) == 1


async def test_without_coalescing_each_slot_is_its_own_record(db: Database) -> None:
    rig = rig_with(db, sync_emails={"every": "30m", "coalesce": False, "misfire_grace": "45m"})
    engine = rig.engine()
    rig.clock.now = at(13, 40)
    await engine.fire("sync_emails", [at(12, 30), at(13), at(13, 30)])
    page = await engine.runs(job_id="sync_emails")
    by_slot = {r.scheduled_for: r for r in page.items}
    assert by_slot[at(12, 30)].outcome == "missed" and "beyond the misfire grace (45m)" in str(
        by_slot[at(12, 30)].error
    )
    assert by_slot[at(13)].outcome == "ok" and by_slot[at(13, 30)].outcome == "ok"
    assert [c[1] for c in rig.calls] == [at(13), at(13, 30)]


async def test_a_slot_is_never_run_twice(rig: Rig, db: Database) -> None:
    engine = rig.engine()
    rig.clock.now = at(12, 31)
    assert len(await engine.fire("sync_emails", [at(12, 30)])) == 1
    assert await engine.fire("sync_emails", [at(12, 30)]) == []
    assert await rig.engine().fire("sync_emails", [at(12, 30)]) == []  # nor after a restart
    async with db.transaction() as s:
        rows = await s.scalar(select(func.count()).select_from(JobRunRow).where(JobRunRow.job_id == "sync_emails"))
    assert rows == 1 and len(rig.calls) == 1


async def test_a_restart_in_the_middle_of_a_run_retries_it_on_the_same_record(rig: Rig, db: Database) -> None:
    entered, hold = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext) -> dict[str, object]:
        entered.set()
        await hold.wait()
        return {}

    rig.behave["sync_emails"] = slow
    first = rig.engine()
    await first.prepare()
    rig.clock.now = at(12, 30)
    task = asyncio.create_task(first.fire("sync_emails", [at(12, 30)]))
    await entered.wait()
    assert (await only_run(first, "sync_emails")).outcome == "running"
    task.cancel()  # the process dies mid-run
    with pytest.raises(asyncio.CancelledError):
        await task

    del rig.behave["sync_emails"]
    rig.clock.now = at(12, 33)
    second = rig.engine()
    nexts, retries = await second.prepare()
    run = await only_run(second, "sync_emails")
    assert (run.outcome, run.error, run.attempts) == ("retrying", INTERRUPTED, 1)
    assert retries == [(run.id, at(12, 33))] and rig.retries == [(run.id, at(12, 33))]
    assert nexts["sync_emails"] == at(13)  # the slot was claimed before the crash: not due again
    assert await second.fire("sync_emails", [at(12, 30)]) == []  # and never duplicated
    assert await second.execute(run.id) == "ok"
    run = await only_run(second, "sync_emails")
    assert (run.outcome, run.attempts, run.scheduled_for) == ("ok", 2, at(12, 30))
    assert [c[2] for c in rig.calls] == [1, 2]


async def test_one_run_of_a_job_at_a_time(rig: Rig) -> None:
    entered, hold = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext) -> dict[str, object]:
        entered.set()
        await hold.wait()
        return {}

    rig.behave["sync_emails"] = slow
    engine = rig.engine()
    rig.clock.now = at(12, 30)
    first = asyncio.create_task(engine.fire("sync_emails", [at(12, 30)]))
    await entered.wait()
    assert engine.running("sync_emails")
    rig.clock.now = at(13)
    await engine.fire("sync_emails", [at(13)])
    with pytest.raises(JobBusy):
        await engine.run_now("sync_emails")
    await engine.fire("sync_emails", [at(13, 30)], overlapping=True)  # APScheduler's max_instances refusal
    hold.set()
    await first
    runs = {r.scheduled_for: r for r in (await engine.runs(job_id="sync_emails")).items}
    assert runs[at(12, 30)].outcome == "ok"
    assert (runs[at(13)].outcome, runs[at(13)].error) == ("skipped", BUSY)
    assert (runs[at(13, 30)].outcome, runs[at(13, 30)].error) == ("skipped", BUSY)
    assert len(rig.calls) == 1
    assert (await engine.next_run_times())["sync_emails"] == at(14)


async def test_a_job_whose_integration_is_not_connected_is_skipped_with_the_reason(rig: Rig) -> None:
    rig.integrations.connected = {"mail", "finance"}
    engine = rig.engine()
    for job, name in [("sync_calendar", "calendar"), ("sync_social", "social"), ("health_sync", "health")]:
        run_id = await engine.run_now(job)
        assert await engine.execute(run_id) == "skipped"
        run = await engine.run(run_id)
        assert run is not None and (run.outcome, run.error) == ("skipped", f"integration not connected: {name}")
    assert rig.calls == []
    assert await engine.execute(await engine.run_now("sync_emails")) == "ok"


async def test_a_failed_run_retries_with_backoff_then_alerts_the_owner(rig: Rig) -> None:
    async def broken(ctx: JobContext) -> dict[str, object]:
        raise RuntimeError("upstream said: token=sk-live-SECRET123 is invalid")

    rig.behave["sync_finances"] = broken
    engine = rig.engine()
    rig.clock.now = at(17)
    await engine.fire("sync_finances", [at(17)])
    run = await only_run(engine, "sync_finances")
    assert (run.outcome, run.attempts, run.next_attempt_at) == ("retrying", 1, at(17, 1))
    assert run.error == "unexpected RuntimeError (details withheld from the history)"
    delays = []
    while run.outcome == "retrying":
        assert run.next_attempt_at is not None and rig.retries[-1] == (run.id, run.next_attempt_at)
        delays.append(run.next_attempt_at - rig.clock.now)
        rig.clock.now = run.next_attempt_at
        await engine.execute(run.id)
        run = await only_run(engine, "sync_finances")
    assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15)]
    assert (run.outcome, run.attempts, run.alerted) == ("failed", 4, True)
    assert run.summary == {"alert": "sent"}
    [alert] = rig.notifier.sent
    assert alert.kind == "job_failed" and alert.ref == run.id and "after 4 attempt(s)" in alert.body
    assert "12:00" in alert.body  # the slot in the owner's time (17:00Z = 12:00 EST)
    assert "SECRET" not in alert.body and "SECRET" not in str(run)
    assert await engine.execute(run.id) is None  # a finished run is not run again


async def test_retry_delays_are_injectable_and_a_retry_can_succeed(rig: Rig) -> None:
    rig.retry = RetryPolicy(delays=(timedelta(seconds=5),))
    outcomes = iter([JobError("the bank API answered 503"), None])

    async def flaky(ctx: JobContext) -> dict[str, object]:
        err = next(outcomes)
        if err:
            raise err
        return {"transactions": 3}

    rig.behave["sync_finances"] = flaky
    engine = rig.engine()
    rig.clock.now = at(17)
    await engine.fire("sync_finances", [at(17)])
    run = await only_run(engine, "sync_finances")
    assert (run.error, run.next_attempt_at) == ("the bank API answered 503", at(17) + timedelta(seconds=5))
    rig.clock.advance(seconds=5)
    assert await engine.execute(run.id) == "ok"
    run = await only_run(engine, "sync_finances")
    assert (run.outcome, run.attempts, run.summary, run.error) == ("ok", 2, {"transactions": 3}, None)
    assert rig.notifier.sent == []


async def test_a_new_slot_waits_for_a_pending_retry(rig: Rig) -> None:
    async def broken(ctx: JobContext) -> dict[str, object]:
        raise JobError("calendar provider down")

    rig.behave["sync_calendar"] = broken
    engine = rig.engine()
    rig.clock.now = at(12, 15)
    await engine.fire("sync_calendar", [at(12, 15)])
    rig.clock.now = at(12, 30)
    await engine.fire("sync_calendar", [at(12, 30)])
    runs = {r.scheduled_for: r for r in (await engine.runs(job_id="sync_calendar")).items}
    assert runs[at(12, 15)].outcome == "retrying"
    assert runs[at(12, 30)].outcome == "skipped"
    assert runs[at(12, 30)].error == "a retry of the run for 2026-03-02T12:15Z is pending"


async def test_pause_and_resume_persist_and_skip_the_paused_slots(rig: Rig) -> None:
    engine = rig.engine()
    await engine.prepare()
    await engine.pause("sync_emails")
    assert (await engine.next_run_times())["sync_emails"] is None
    rig.clock.now = at(12, 30)
    assert await engine.fire("sync_emails", [at(12, 30)]) == []  # a paused job's slot is ignored
    nexts, _ = await rig.engine().prepare()  # still paused after a restart
    assert nexts["sync_emails"] is None
    rig.clock.now = at(14, 10)
    assert await engine.resume("sync_emails") == at(14, 30)  # the slots while paused are not made up
    assert (await rig.engine().next_run_times())["sync_emails"] == at(14, 30)
    assert rig.calls == [] and (await engine.runs(job_id="sync_emails")).items == []
    with pytest.raises(KeyError, match="unknown job"):
        await engine.pause("sync_tiktok")


async def test_a_changed_schedule_recomputes_the_next_slot(rig: Rig, db: Database) -> None:
    await rig.engine().prepare()
    changed = rig_with(db, sync_emails={"every": "2h"})
    changed.clock.now = rig.clock.now
    nexts, _ = await changed.engine().prepare()
    assert nexts["sync_emails"] == at(13)  # 2h slots anchored at local midnight: 08:00 EST
    assert nexts["sync_calendar"] == at(12, 15)  # unchanged jobs keep their slot


async def test_disabled_jobs_are_not_scheduled(db: Database) -> None:
    rig = rig_with(db, sync_social={"every": "2h", "enabled": False})
    engine = rig.engine()
    nexts, _ = await engine.prepare()
    assert "sync_social" not in nexts
    assert (await engine.next_run_times())["sync_social"] is None


async def test_run_history_lists_newest_first_filtered_and_paginated(rig: Rig) -> None:
    engine = rig.engine()
    for i in range(5):
        rig.clock.now = at(12, 30) + timedelta(minutes=30 * i)
        await engine.fire("sync_emails", [rig.clock.now])
        await engine.fire("health_sync", [rig.clock.now.replace(minute=0)])
    page1 = await engine.runs(job_id="sync_emails", limit=2)
    assert [r.scheduled_for for r in page1.items] == [at(14, 30), at(14)]
    page2 = await engine.runs(job_id="sync_emails", limit=2, cursor=page1.next_cursor)
    page3 = await engine.runs(job_id="sync_emails", limit=2, cursor=page2.next_cursor)
    assert [r.scheduled_for for r in page2.items + page3.items] == [at(13, 30), at(13), at(12, 30)]
    assert page3.next_cursor is None
    everything = await engine.runs(limit=200)
    assert {r.job_id for r in everything.items} == {"sync_emails", "health_sync"}
    with pytest.raises(ValueError, match="bad cursor"):
        await engine.runs(cursor="yesterday")


async def test_run_now_is_recorded_as_manual(rig: Rig) -> None:
    engine = rig.engine()
    rig.clock.now = T0 + timedelta(seconds=42)
    run_id = await engine.run_now("sync_emails")
    assert await engine.execute(run_id) == "ok"
    run = await engine.run(run_id)
    assert run is not None and (run.trigger, run.outcome, run.scheduled_for) == ("manual", "ok", rig.clock.now)
    with pytest.raises(KeyError):
        await engine.run_now("sync_tiktok")


async def test_a_run_for_a_job_removed_from_the_schedule_is_closed(rig: Rig, db: Database) -> None:
    rig.clock.now = at(12, 30)
    run_id = await rig.engine().run_now("sync_emails")
    jobs = {k: v for k, v in rig.schedule.jobs.items() if k != "sync_emails"}
    smaller = Rig(db, rig.clock, Schedule(rig.schedule.timezone, jobs, rig.schedule.idle_after))
    engine = smaller.engine()
    assert await engine.execute(run_id) == "skipped"
    run = await engine.run(run_id)
    assert run is not None and run.error == "the job is no longer in the schedule"
    assert rig.calls == smaller.calls == []
