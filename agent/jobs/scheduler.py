"""APScheduler 3 (``AsyncIOScheduler``) inside Aegis, driving the :class:`JobEngine`.

APScheduler is used for what it is good at: computing fire times from triggers in the owner's time
zone and waking up on time. Its jobs live in the default in-memory store, rebuilt at every start from
the schedule configuration and our ``job_state`` table; nothing is pickled into the database.

Two deliberate settings:

- Jobs are added with ``coalesce=False`` and ``misfire_grace_time=None`` so that every due slot reaches
  our executor; the engine applies the configured grace and coalescing *and records* the missed or
  folded slots in the run history (APScheduler's own handling drops them silently).
- ``max_instances=1``: APScheduler refuses a slot while the job's previous run is still going; the
  refusal (``EVENT_JOB_MAX_INSTANCES``) is recorded as a skipped run.

Retries are one-off ``DateTrigger`` jobs (``retry:<run id>``); their due times are persisted in the run
rows, so they are re-armed after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES  # type: ignore[import-untyped]
from apscheduler.executors.base import BaseExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]

from agent.jobs.engine import JobEngine
from agent.jobs.history import RunPage, RunView

log = structlog.get_logger("aegis.jobs")
RETRY_PREFIX = "retry:"


class _EngineExecutor(BaseExecutor):  # type: ignore[misc]
    """Passes the due run times to the job's coroutine (the stock executors keep them to themselves)."""

    def __init__(self) -> None:
        super().__init__()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _do_submit_job(self, job: Any, run_times: Sequence[datetime]) -> None:
        task = asyncio.get_running_loop().create_task(job.func(*job.args, run_times=list(run_times)))
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            exc = None if t.cancelled() else t.exception()
            if exc is None:
                self._run_job_success(job.id, [])
            else:
                self._run_job_error(job.id, exc, exc.__traceback__)

        task.add_done_callback(done)

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Cancel the runs in flight. A run cut short stays "running" in the history and is retried
        as interrupted at the next start."""
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        return tasks

    def shutdown(self, wait: bool = True) -> None:
        self.cancel_all()


class JobScheduler:
    """The recurring-work service: start/stop with Aegis, and the console's controls."""

    def __init__(self, engine: JobEngine) -> None:
        self.engine = engine
        self._executor = _EngineExecutor()
        self._aps = AsyncIOScheduler(
            timezone=engine.schedule.timezone,
            executors={"default": self._executor},
            job_defaults={"coalesce": False, "misfire_grace_time": None, "max_instances": 1},
        )
        self._aps.add_listener(self._refused, EVENT_JOB_MAX_INSTANCES)
        self._background: set[asyncio.Task[Any]] = set()
        engine.on_retry = self._arm_retry

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    @property
    def apscheduler(self) -> Any:
        """The underlying ``AsyncIOScheduler`` (diagnostics and tests; change jobs through this class)."""
        return self._aps

    async def start(self) -> None:
        nexts, retries = await self.engine.prepare()
        for job_id, nxt in nexts.items():
            spec = self.engine.schedule.spec(job_id)
            self._aps.add_job(
                self._fire,
                trigger=spec.trigger,
                args=[job_id],
                id=job_id,
                name=job_id,
                next_run_time=nxt,
                replace_existing=True,
            )
        self._aps.start()
        for run_id, at in retries:
            self._arm_retry(run_id, at)
        log.info("job scheduler started", jobs=len(nexts), retries=len(retries), tz=str(self.engine.schedule.timezone))

    async def stop(self) -> None:
        """Stop firing and cancel the runs in flight (they are retried as interrupted at the next start)."""
        tasks = self._executor.cancel_all() + list(self._background)
        for t in tasks:
            t.cancel()
        if self._aps.running:
            self._aps.shutdown(wait=False)
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown itself runs on the next loop iteration

    # ``run_times`` is filled in by the executor; the default only satisfies APScheduler's signature check.
    async def _fire(self, job_id: str, *, run_times: Sequence[datetime] = ()) -> None:
        await self.engine.fire(job_id, run_times)

    async def _retry(self, run_id: str, *, run_times: Sequence[datetime] = ()) -> None:
        await self.engine.execute(run_id)

    def _arm_retry(self, run_id: str, at: datetime) -> None:
        self._aps.add_job(
            self._retry,
            trigger=DateTrigger(run_date=at, timezone=self.engine.schedule.timezone),
            args=[run_id],
            id=RETRY_PREFIX + run_id,
            name=RETRY_PREFIX + run_id,
            replace_existing=True,
        )

    def _refused(self, event: Any) -> None:
        """EVENT_JOB_MAX_INSTANCES: the slot came while the job was still running."""
        if str(event.job_id).startswith(RETRY_PREFIX):
            return
        self._spawn(self.engine.fire(str(event.job_id), list(event.scheduled_run_times), overlapping=True))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # --- the console's controls --------------------------------------------------------------

    async def run_now(self, job_id: str) -> str:
        """Start a manual run in the background; returns its run id (see :meth:`run`)."""
        run_id = await self.engine.run_now(job_id)
        self._spawn(self.engine.execute(run_id))
        return run_id

    async def run_and_wait(self, job_id: str) -> RunView | None:
        """A manual run, awaited (the console's "Sync now"): recorded in the run history like any other."""
        run_id = await self.engine.run_now(job_id)
        await self.engine.execute(run_id)
        return await self.engine.run(run_id)

    async def pause(self, job_id: str) -> None:
        await self.engine.pause(job_id)
        self._modify(job_id, None)

    async def resume(self, job_id: str) -> datetime | None:
        nxt = await self.engine.resume(job_id)
        self._modify(job_id, nxt)
        return nxt

    def _modify(self, job_id: str, next_run_time: datetime | None) -> None:
        # Not found: disabled in the schedule. The state is persisted either way.
        with contextlib.suppress(JobLookupError):
            self._aps.modify_job(job_id, next_run_time=next_run_time)

    async def next_run_times(self) -> dict[str, datetime | None]:
        return await self.engine.next_run_times()

    async def runs(self, *, job_id: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage:
        return await self.engine.runs(job_id=job_id, limit=limit, cursor=cursor)

    async def run(self, run_id: str) -> RunView | None:
        return await self.engine.run(run_id)
