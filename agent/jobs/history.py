"""The run history and each job's persisted state, in our own tables (see ``storage.models.jobs``).

A slot is *claimed* by inserting its run row, in the same transaction that moves the job's
``next_run_at`` past it. ``(job_id, scheduled_for)`` is unique, so a slot claimed once is never
claimed again, by a restart or by a second scheduler.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models.base import utcnow
from storage.models.jobs import JobRunRow, JobStateRow

OUTCOMES = ("pending", "running", "ok", "failed", "skipped", "missed", "retrying")
UNFINISHED = ("pending", "running", "retrying")
_KEEP = object()


@dataclass(frozen=True)
class RunView:
    id: str
    job_id: str
    scheduled_for: datetime
    trigger: str
    outcome: str
    attempts: int
    next_attempt_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    summary: dict[str, Any]
    alerted: bool


@dataclass(frozen=True)
class RunPage:
    items: list[RunView]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page


@dataclass(frozen=True)
class JobState:
    job_id: str
    paused: bool
    next_run_at: datetime | None
    last_slot: datetime | None
    trigger_key: str | None


@dataclass(frozen=True)
class Planned:
    """A slot to claim: ``pending`` runs next; ``missed``/``skipped`` are recorded as finished."""

    scheduled_for: datetime
    outcome: str
    error: str | None = None
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class Advance:
    next_run_at: datetime | None
    last_slot: datetime
    trigger_key: str


def _view(r: JobRunRow) -> RunView:
    return RunView(
        r.id,
        r.job_id,
        r.scheduled_for,
        r.trigger,
        r.outcome,
        r.attempts,
        r.next_attempt_at,
        r.started_at,
        r.finished_at,
        r.error,
        json.loads(r.summary) if r.summary else {},
        r.alerted,
    )


def _state(r: JobStateRow) -> JobState:
    return JobState(r.job_id, r.paused, r.next_run_at, r.last_slot, r.trigger_key)


def _clip(text: str | None, n: int = 256) -> str | None:
    if text is None:
        return None
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= n else one_line[: n - 1] + "…"


def _summary(summary: dict[str, Any] | None) -> str | None:
    if not summary:
        return None
    text = json.dumps(summary, sort_keys=True, separators=(",", ":"), default=str)
    if len(text) > 4000:
        raise ValueError("a run summary must stay small (counts, ids), not content")
    return text


class RunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- job state --------------------------------------------------------------------------

    async def states(self) -> dict[str, JobState]:
        async with self._db.transaction() as s:
            return {r.job_id: _state(r) for r in (await s.scalars(select(JobStateRow))).all()}

    async def save_state(
        self,
        job_id: str,
        *,
        paused: bool | object = _KEEP,
        next_run_at: datetime | object | None = _KEEP,
        trigger_key: str | object | None = _KEEP,
    ) -> JobState:
        async with self._db.transaction() as s:
            row = await s.get(JobStateRow, job_id, with_for_update=True)
            if row is None:
                row = JobStateRow(job_id=job_id, paused=False)
                s.add(row)
            if paused is not _KEEP:
                row.paused = bool(paused)
            if next_run_at is not _KEEP:
                row.next_run_at = next_run_at if isinstance(next_run_at, datetime) else None
            if trigger_key is not _KEEP:
                row.trigger_key = trigger_key if isinstance(trigger_key, str) else None
            row.updated_at = utcnow()
            await s.flush()
            return _state(row)

    # --- claiming slots ---------------------------------------------------------------------

    async def claim(
        self, job_id: str, planned: Sequence[Planned], *, trigger: str, now: datetime, advance: Advance | None
    ) -> list[tuple[str, Planned]] | None:
        """Insert a row per planned slot not claimed before, and move the job's state on, atomically.
        Returns the rows inserted, or ``None`` if the job is paused (scheduled slots only)."""
        slots = [p.scheduled_for for p in planned]
        try:
            async with self._db.transaction() as s:
                state = await s.get(JobStateRow, job_id, with_for_update=True)
                if state is None:
                    state = JobStateRow(job_id=job_id, paused=False, updated_at=now)
                    s.add(state)
                elif state.paused and trigger == "schedule":
                    return None
                seen = set(
                    (
                        await s.scalars(
                            select(JobRunRow.scheduled_for).where(
                                JobRunRow.job_id == job_id, JobRunRow.scheduled_for.in_(slots)
                            )
                        )
                    ).all()
                )
                out: list[tuple[str, Planned]] = []
                for p in planned:
                    if p.scheduled_for in seen:
                        continue
                    rid = str(uuid.uuid4())
                    done = p.outcome != "pending"
                    s.add(
                        JobRunRow(
                            id=rid,
                            job_id=job_id,
                            scheduled_for=p.scheduled_for,
                            trigger=trigger,
                            outcome=p.outcome,
                            attempts=0,
                            error=_clip(p.error),
                            summary=_summary(p.summary),
                            finished_at=now if done else None,
                            alerted=False,
                            created_at=now,
                        )
                    )
                    out.append((rid, p))
                if advance is not None:
                    state.next_run_at = advance.next_run_at
                    state.last_slot = advance.last_slot
                    state.trigger_key = advance.trigger_key
                    state.updated_at = now
                return out
        except IntegrityError:
            return []  # another claimer won the race for these slots: nothing to run here

    # --- one run's life ---------------------------------------------------------------------

    async def get(self, run_id: str) -> RunView | None:
        async with self._db.transaction() as s:
            row = await s.get(JobRunRow, run_id)
            return None if row is None else _view(row)

    async def start(self, run_id: str, now: datetime) -> int:
        """Mark the run running (committed before the work starts, so a crash shows). Returns the attempt."""
        async with self._db.transaction() as s:
            row = await s.get(JobRunRow, run_id, with_for_update=True)
            if row is None:
                raise KeyError(run_id)
            row.outcome, row.attempts, row.started_at = "running", row.attempts + 1, now
            row.finished_at, row.next_attempt_at = None, None
            return row.attempts

    async def finish(
        self,
        run_id: str,
        outcome: str,
        now: datetime,
        *,
        error: str | None = None,
        summary: dict[str, Any] | None = None,
        next_attempt_at: datetime | None = None,
        alerted: bool = False,
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        async with self._db.transaction() as s:
            row = await s.get(JobRunRow, run_id, with_for_update=True)
            if row is None:
                raise KeyError(run_id)
            row.outcome, row.error = outcome, _clip(error)
            row.finished_at = None if outcome in UNFINISHED else now
            row.next_attempt_at = next_attempt_at
            row.alerted = row.alerted or alerted
            if summary is not None:
                row.summary = _summary({**(json.loads(row.summary) if row.summary else {}), **summary})

    async def unfinished(self) -> list[RunView]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(
                    select(JobRunRow).where(JobRunRow.outcome.in_(UNFINISHED)).order_by(JobRunRow.scheduled_for)
                )
            ).all()
            return [_view(r) for r in rows]

    async def open_retry(self, job_id: str, *, other_than: str) -> RunView | None:
        """An earlier run of this job still waiting for a retry (it blocks new slots)."""
        async with self._db.transaction() as s:
            row = await s.scalar(
                select(JobRunRow)
                .where(
                    JobRunRow.job_id == job_id,
                    JobRunRow.outcome == "retrying",
                    JobRunRow.id != other_than,
                )
                .limit(1)
            )
            return None if row is None else _view(row)

    # --- listing ----------------------------------------------------------------------------

    async def list_runs(self, *, job_id: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage:
        """Newest slot first, ``limit`` (1-200) per page; ``cursor`` continues from the previous page."""
        limit = min(max(limit, 1), 200)
        q = select(JobRunRow).order_by(JobRunRow.scheduled_for.desc(), JobRunRow.id.desc()).limit(limit + 1)
        if job_id is not None:
            q = q.where(JobRunRow.job_id == job_id)
        if cursor:
            ts, rid = _parse_cursor(cursor)
            q = q.where(or_(JobRunRow.scheduled_for < ts, and_(JobRunRow.scheduled_for == ts, JobRunRow.id < rid)))
        async with self._db.transaction() as s:
            rows = (await s.scalars(q)).all()
        items = [_view(r) for r in rows[:limit]]
        more = len(rows) > limit
        return RunPage(items, f"{items[-1].scheduled_for.isoformat()}|{items[-1].id}" if more else None)


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        ts_text, rid = cursor.split("|", 1)
        ts = datetime.fromisoformat(ts_text)
    except ValueError:
        raise ValueError("bad cursor") from None
    if ts.tzinfo is None or len(rid) > 36:
        raise ValueError("bad cursor")
    return ts, rid
