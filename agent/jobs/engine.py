"""The job engine: what happens when slots come due. It owns misfire grace, coalescing, one run of
a job at a time, skips with reasons, retries with backoff, alerts and the cost gate.

It never reads the wall clock except through ``clock``, and APScheduler only tells it *which* slots
are due (:mod:`agent.jobs.scheduler`), so tests drive it with explicit times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from agent.jobs.history import Advance, JobState, Planned, RunPage, RunStore, RunView
from agent.jobs.ports import (
    IntegrationStatus,
    JobError,
    JobSkipped,
    Notification,
    Notifier,
    OwnerActivity,
    not_connected,
)
from agent.jobs.schedule import JobSpec, Schedule, next_slot
from agent.limits import Budget, DailyLedger, LimitReached, Prices, TurnLimits
from agent.model import ModelError

log = structlog.get_logger("aegis.jobs")

INTERRUPTED = "interrupted: Aegis stopped during the run"
BUSY = "previous run still in progress (one instance at a time)"


class JobBusy(Exception):
    """``run now`` while the job is already running."""


@dataclass(frozen=True)
class RetryPolicy:
    """A failed run is retried after each delay in turn, then the owner is alerted."""

    delays: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays)


@dataclass(frozen=True)
class CostGuard:
    """Model spend for jobs: the shared daily ledger, prices, and the base limits whose per-turn
    caps each job's own budget replaces."""

    ledger: DailyLedger
    prices: Prices = field(default_factory=Prices)
    base: TurnLimits = field(default_factory=TurnLimits)


@dataclass
class JobContext:
    job_id: str
    run_id: str
    scheduled_for: datetime
    attempt: int
    now: datetime
    timezone: ZoneInfo
    spec: JobSpec
    budget: Budget | None  # None: no model for this run
    model_note: str | None = None  # why not, when budget is None for a model job

    @property
    def local_date(self) -> str:
        return self.scheduled_for.astimezone(self.timezone).date().isoformat()


Handler = Callable[[JobContext], Awaitable[dict[str, object]]]
RetryHook = Callable[[str, datetime], None]


def safe_error(exc: BaseException) -> str:
    """What the run history may say about a failure: curated messages only, never arbitrary text
    (an exception from a library can quote a URL, a header or a token)."""
    if isinstance(exc, (JobError, LimitReached)):
        return str(exc)[:200] or type(exc).__name__
    if isinstance(exc, ModelError):
        return "the model call failed"
    return f"unexpected {type(exc).__name__} (details withheld from the history)"


class JobEngine:
    def __init__(
        self,
        schedule: Schedule,
        store: RunStore,
        handlers: Mapping[str, Handler],
        *,
        integrations: IntegrationStatus,
        activity: OwnerActivity,
        notifier: Notifier,
        cost: CostGuard | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        missing = sorted(set(schedule.jobs) - set(handlers))
        if missing:
            raise ValueError(f"no handler for job(s): {', '.join(missing)}")
        self.schedule, self.store = schedule, store
        self._handlers = dict(handlers)
        self._integrations, self._activity, self._notifier = integrations, activity, notifier
        self._cost, self.retry = cost, retry or RetryPolicy()
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self.on_retry: RetryHook | None = None  # the scheduler arms a timer for each retry

    def now(self) -> datetime:
        t = self._clock()
        if t.tzinfo is None:
            raise ValueError("the job clock must return aware datetimes")
        return t.astimezone(UTC)

    def running(self, job_id: str) -> bool:
        return self._lock(job_id).locked()

    def _lock(self, job_id: str) -> asyncio.Lock:
        return self._locks.setdefault(job_id, asyncio.Lock())

    # --- start-up ---------------------------------------------------------------------------

    async def prepare(self) -> tuple[dict[str, datetime | None], list[tuple[str, datetime]]]:
        """Before the scheduler starts: each enabled job's next slot (``None``: paused), and the
        retries to arm. A persisted slot in the past is due at once (downtime: misfire handling);
        a run left ``running`` by a crash is marked interrupted and retried."""
        now, states = self.now(), await self.store.states()
        out: dict[str, datetime | None] = {}
        for spec in self.schedule.jobs.values():
            if spec.enabled:
                out[spec.job_id] = await self._next(spec, states.get(spec.job_id), now)
        return out, await self._recover(now)

    async def _next(self, spec: JobSpec, state: JobState | None, now: datetime) -> datetime | None:
        if state is not None and state.paused:
            return None
        if state is not None and state.next_run_at is not None and state.trigger_key == spec.key:
            return state.next_run_at
        nxt = next_slot(spec.trigger, None, now)  # first start, or the owner changed the schedule
        await self.store.save_state(spec.job_id, next_run_at=nxt, trigger_key=spec.key)
        return nxt

    async def _recover(self, now: datetime) -> list[tuple[str, datetime]]:
        retries: list[tuple[str, datetime]] = []
        for run in await self.store.unfinished():
            if run.outcome == "running":
                at = await self._failed(run.id, run.job_id, run.scheduled_for, run.attempts, INTERRUPTED, now, now)
                if at is not None:
                    retries.append((run.id, at))
            else:  # claimed but never started, or waiting for its retry
                retries.append((run.id, run.next_attempt_at or now))
        return retries

    # --- due slots ---------------------------------------------------------------------------

    def plan(self, spec: JobSpec, run_times: Sequence[datetime], now: datetime) -> list[Planned]:
        """Misfire grace and coalescing. A slot later than the grace is ``missed``; with coalescing,
        many due slots become one run (or one ``missed`` record), never one per slot."""
        slots = sorted(set(run_times))
        on_time = [t for t in slots if now - t <= spec.misfire_grace]
        late = [t for t in slots if now - t > spec.misfire_grace]
        grace = _span(spec.misfire_grace)
        if spec.coalesce:
            if on_time:
                folded = len(slots) - 1
                info = {"coalesced_slots": folded, "first_slot": slots[0].isoformat()} if folded else None
                return [Planned(on_time[-1], "pending", summary=info)]
            why = (
                f"missed {len(late)} slot(s) from {_iso(late[0])} to {_iso(late[-1])}: "
                f"later than the misfire grace ({grace})"
            )
            return [Planned(late[-1], "missed", why, {"missed_slots": len(late)})]
        missed = [
            Planned(t, "missed", f"started {_span(now - t)} late, beyond the misfire grace ({grace})") for t in late
        ]
        return missed + [Planned(t, "pending") for t in on_time]

    async def fire(self, job_id: str, run_times: Sequence[datetime], *, overlapping: bool = False) -> list[str]:
        """Slots APScheduler found due. Claims them (a slot claimed before is ignored), then runs the
        pending ones in order. ``overlapping``: APScheduler refused them because a run is in progress."""
        spec, now = self.schedule.spec(job_id), self.now()
        run_times = [t.astimezone(UTC) for t in run_times]  # APScheduler hands them in the owner's zone
        if not run_times:
            return []
        planned = self.plan(spec, run_times, now)
        if overlapping:
            planned = [replace(p, outcome="skipped", error=BUSY) if p.outcome == "pending" else p for p in planned]
        last = max(run_times)
        advance = Advance(next_slot(spec.trigger, last, last), last, spec.key)
        claimed = await self.store.claim(job_id, planned, trigger="schedule", now=now, advance=advance)
        if claimed is None:
            log.info("job slot ignored: paused", job=job_id)
            return []
        ids = [rid for rid, _ in claimed]
        for rid, p in claimed:
            if p.outcome == "pending":
                await self._execute(rid, spec, p.scheduled_for, fresh=True)
        return ids

    async def run_now(self, job_id: str) -> str:
        """Claim a manual run (the owner pressed "run now") and return its id; ``execute`` runs it."""
        self.schedule.spec(job_id)
        if self.running(job_id):
            raise JobBusy(f"{job_id} is already running")
        now = self.now()
        claimed = await self.store.claim(job_id, [Planned(now, "pending")], trigger="manual", now=now, advance=None)
        if not claimed:
            raise JobBusy(f"{job_id} was just started")
        return claimed[0][0]

    async def execute(self, run_id: str) -> str | None:
        """Run (or retry) a claimed run. Returns its outcome, or ``None`` if it had nothing left to do."""
        run = await self.store.get(run_id)
        if run is None or run.outcome not in ("pending", "retrying"):
            return None
        spec = self.schedule.jobs.get(run.job_id)
        if spec is None:
            await self.store.finish(run_id, "skipped", self.now(), error="the job is no longer in the schedule")
            return "skipped"
        if run.outcome == "retrying" and self.running(run.job_id):
            self._arm(run_id, self.now() + timedelta(minutes=1))  # wait for the current run to end
            return "retrying"
        return await self._execute(
            run_id, spec, run.scheduled_for, fresh=run.attempts == 0 and run.trigger == "schedule"
        )

    async def _execute(self, run_id: str, spec: JobSpec, slot: datetime, *, fresh: bool) -> str:
        lock = self._lock(spec.job_id)
        if lock.locked():
            await self.store.finish(run_id, "skipped", self.now(), error=BUSY)
            return "skipped"
        async with lock:
            if fresh:
                earlier = await self.store.open_retry(spec.job_id, other_than=run_id)
                if earlier is not None:
                    why = f"a retry of the run for {_iso(earlier.scheduled_for)} is pending"
                    await self.store.finish(run_id, "skipped", self.now(), error=why)
                    return "skipped"
            attempt = await self.store.start(run_id, self.now())
            try:
                summary = await self._attempt(spec, run_id, slot, attempt)
            except JobSkipped as skip:
                await self.store.finish(run_id, "skipped", self.now(), error=str(skip) or "skipped")
                return "skipped"
            except Exception as exc:  # noqa: BLE001 - every failure is recorded, retried, then alerted
                log.warning("job run failed", job=spec.job_id, run=run_id, attempt=attempt, error=type(exc).__name__)
                now = self.now()
                at = await self._failed(run_id, spec.job_id, slot, attempt, safe_error(exc), now, None)
                return "failed" if at is None else "retrying"
            await self.store.finish(run_id, "ok", self.now(), summary=dict(summary))
            return "ok"

    async def _attempt(self, spec: JobSpec, run_id: str, slot: datetime, attempt: int) -> dict[str, object]:
        if spec.info.integrations:
            checks = [(n, await self._integrations.check(n)) for n in spec.info.integrations]
            if not any(c.connected for _, c in checks):
                raise JobSkipped("; ".join(not_connected(n, c.reason) for n, c in checks))
        now = self.now()
        budget, note = await self._model_budget(spec, now)
        if spec.info.model == "required" and budget is None:
            raise JobSkipped(f"model not used: {note}")
        ctx = JobContext(spec.job_id, run_id, slot, attempt, now, self.schedule.timezone, spec, budget, note)
        return await self._handlers[spec.job_id](ctx)

    async def _model_budget(self, spec: JobSpec, now: datetime) -> tuple[Budget | None, str | None]:
        """The cost gate. Proactive model work needs a budget and an owner who has been around."""
        if spec.info.model == "none":
            return None, None
        if self._cost is None or spec.budget.tokens <= 0 or spec.budget.cost_usd <= 0:
            return None, "this job has no model budget"
        seen = await self._activity.last_seen()
        if seen is None:
            return None, "the owner has not used Aegis yet"
        if now - seen > self.schedule.idle_after:
            return None, f"the owner has been away since {seen.date().isoformat()}"
        limits = replace(
            self._cost.base,
            max_steps=2,
            max_tokens_per_turn=spec.budget.tokens,
            max_cost_per_turn=spec.budget.cost_usd,
        )
        return Budget(limits, self._cost.prices, self._cost.ledger, clock=self._clock), None

    # --- failure, retry, alert ---------------------------------------------------------------

    async def _failed(
        self, run_id: str, job_id: str, slot: datetime, attempt: int, error: str, now: datetime, at: datetime | None
    ) -> datetime | None:
        """Retry after the next backoff delay (or at ``at``); after the last attempt, alert the owner.
        Returns when the retry is due, or ``None`` if the run has failed for good."""
        if attempt < self.retry.max_attempts:
            due = at or now + self.retry.delays[max(attempt, 1) - 1]
            await self.store.finish(run_id, "retrying", now, error=error, next_attempt_at=due)
            self._arm(run_id, due)
            return due
        local = slot.astimezone(self.schedule.timezone).strftime("%Y-%m-%d %H:%M")
        note = Notification(
            "job_failed",
            f"{job_id} failed",
            f"The {job_id} run for {local} failed after {attempt} attempt(s): {error}",
            ref=run_id,
        )
        try:
            await self._notifier.notify(note)
            alerted, summary = True, {"alert": "sent"}
        except Exception as exc:  # noqa: BLE001 - the failure is recorded even if the alert is not
            log.warning("job alert not delivered", job=job_id, error=type(exc).__name__)
            alerted, summary = False, {"alert": "not delivered"}
        await self.store.finish(run_id, "failed", now, error=error, alerted=alerted, summary=summary)
        return None

    def _arm(self, run_id: str, at: datetime) -> None:
        if self.on_retry is not None:
            self.on_retry(run_id, at)

    # --- the console's controls --------------------------------------------------------------

    async def pause(self, job_id: str) -> None:
        self.schedule.spec(job_id)
        await self.store.save_state(job_id, paused=True, next_run_at=None)

    async def resume(self, job_id: str) -> datetime | None:
        """Slots that fell while paused are not made up; the next one is the first after now."""
        spec = self.schedule.spec(job_id)
        nxt = next_slot(spec.trigger, None, self.now()) if spec.enabled else None
        await self.store.save_state(job_id, paused=False, next_run_at=nxt, trigger_key=spec.key)
        return nxt

    async def next_run_times(self) -> dict[str, datetime | None]:
        """Per job, the next slot (``None``: paused or disabled)."""
        states, now = await self.store.states(), self.now()
        out: dict[str, datetime | None] = {}
        for spec in self.schedule.jobs.values():
            st = states.get(spec.job_id)
            if not spec.enabled or (st is not None and st.paused):
                out[spec.job_id] = None
            elif st is not None and st.next_run_at is not None and st.trigger_key == spec.key:
                out[spec.job_id] = st.next_run_at
            else:
                out[spec.job_id] = next_slot(spec.trigger, None, now)
        return out

    async def runs(self, *, job_id: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage:
        return await self.store.list_runs(job_id=job_id, limit=limit, cursor=cursor)

    async def run(self, run_id: str) -> RunView | None:
        return await self.store.get(run_id)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _span(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
