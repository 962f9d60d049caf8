"""A job engine on a real database, with a clock the test moves by hand and handlers that record."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from agent.jobs.engine import CostGuard, Handler, JobContext, JobEngine, RetryPolicy
from agent.jobs.history import RunStore, RunView
from agent.jobs.ports import FixedActivity, MemoryNotifier, StaticIntegrations
from agent.jobs.schedule import DEFAULTS_FILE, Schedule, catalogue, merge, next_slot, parse_schedule
from agent.limits import MemoryLedger
from storage.crypto.field import FieldCipher
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from tests.agent.jobs.seed import SEED_JOBS
from tests.broker.conftest import broker, clock  # noqa: F401 - the real broker fixture, for JobTokens

NY = "America/New_York"
T0 = datetime(2026, 3, 2, 12, 7, tzinfo=UTC)  # a Monday, 07:07 in New York


_ALL_INTEGRATIONS: set[str] = {n for j in SEED_JOBS.values() for n in j.integrations}


@dataclass
class ManualClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


Behaviour = Callable[[JobContext], Awaitable[dict[str, object]]]


@dataclass
class Rig:
    db: Database
    clock: ManualClock
    schedule: Schedule
    calls: list[tuple[str, datetime, int]] = field(default_factory=list)
    behave: dict[str, Behaviour] = field(default_factory=dict)
    notifier: MemoryNotifier = field(default_factory=MemoryNotifier)
    integrations: StaticIntegrations = field(default_factory=lambda: StaticIntegrations(set(_ALL_INTEGRATIONS)))
    activity: FixedActivity = field(default_factory=lambda: FixedActivity(T0))
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    retries: list[tuple[str, datetime]] = field(default_factory=list)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    handlers: dict[str, Handler] = field(default_factory=dict)  # replaces the recording handlers

    def handler(self, job_id: str) -> Handler:
        async def run(ctx: JobContext) -> dict[str, object]:
            self.calls.append((ctx.job_id, ctx.scheduled_for, ctx.attempt))
            behaviour = self.behave.get(job_id)
            return {"n": 1} if behaviour is None else await behaviour(ctx)

        return run

    def engine(self, handlers: Mapping[str, Handler] | None = None) -> JobEngine:
        """A fresh engine on the same database: calling this twice is a restart."""
        engine = JobEngine(
            self.schedule,
            RunStore(self.db),
            handlers or self.handlers or {job: self.handler(job) for job in self.schedule.jobs},
            integrations=self.integrations,
            activity=self.activity,
            notifier=self.notifier,
            cost=CostGuard(self.ledger),
            retry=self.retry,
            clock=self.clock,
        )
        engine.on_retry = lambda run_id, at: self.retries.append((run_id, at))
        return engine


def make_schedule(tz: str = NY, /, **jobs: dict[str, Any]) -> Schedule:
    base = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    base["jobs"] = {**{k: dict(v.default) for k, v in SEED_JOBS.items()}, **base["jobs"]}
    return parse_schedule(merge(base, {"jobs": jobs}) if jobs else base, tz, known=catalogue(SEED_JOBS))


@pytest.fixture
def rig(db: Database) -> Rig:
    return Rig(db, ManualClock(), make_schedule())


def rig_with(db: Database, *, tz: str = NY, **jobs: dict[str, Any]) -> Rig:
    return Rig(db, ManualClock(), make_schedule(tz, **jobs))


def due_slots(engine: JobEngine, job_id: str, first: datetime | None, now: datetime) -> list[datetime]:
    """What APScheduler hands the executor: every slot from the job's next run time up to now."""
    spec = engine.schedule.spec(job_id)
    out: list[datetime] = []
    t = first
    while t is not None and t <= now:
        out.append(t)
        t = next_slot(spec.trigger, t, t)
    return out


async def only_run(engine: JobEngine, job_id: str) -> RunView:
    page = await engine.runs(job_id=job_id)
    assert len(page.items) == 1, page.items
    return page.items[0]


def make_cipher() -> FieldCipher:
    return FieldCipher(Keyring([DataKey("conversation.enc.v1", os.urandom(32), ACTIVE)]))
