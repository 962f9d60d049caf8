"""The owner's net worth, recorded once a day (:mod:`integrations.money` says what is summed).

:class:`NetWorthBook` keeps one encrypted snapshot per day. The ``net_worth_snapshot`` job records
the day (replacing an earlier snapshot of the same day, unless the new one is missing more) and
fills in the past from each integration's own history; the console and the briefing call
:meth:`NetWorthBook.ensure`, which records the day only when it has no snapshot yet. So the page,
the briefing and the digest read the same stored figures, and running anything twice writes one row
per day.

A past day is written once it is known: a day a source could not be read for is asked again at the
next recording; a day a source has no history for stays without that part (and without a total).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent.jobs.engine import Handler, JobContext
from agent.jobs.ports import JobSkipped
from integrations.money import WINDOW_DAYS, Call, Snapshot, Source, collect
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from storage.models.money import ENCRYPTED, NetWorthSnapshotRow

DOMAIN = "conversation"
_CONTENT = ENCRYPTED[0]


class NetWorthStore:
    """The snapshots, encrypted per row (the day is the row's context)."""

    def __init__(self, db: Database, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _open(self, row: NetWorthSnapshotRow) -> Snapshot:
        return Snapshot.from_json(self._cipher.decrypt_text(DOMAIN, _CONTENT.context({"day": row.day}), row.content))

    async def between(self, start: date, end: date) -> list[Snapshot]:
        q = select(NetWorthSnapshotRow).where(
            NetWorthSnapshotRow.day >= start.isoformat(), NetWorthSnapshotRow.day <= end.isoformat()
        )
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(NetWorthSnapshotRow.day))).all()
        return [self._open(r) for r in rows]

    async def put(self, snapshots: Iterable[Snapshot], now: datetime | None = None) -> int:
        """Write each snapshot as its day's one row (a day written again is replaced)."""
        todo = list(snapshots)
        for attempt in (1, 2):
            try:
                await self._put(todo, now or utcnow())
                break
            except IntegrityError:  # another writer inserted the same day first: now it is an update
                if attempt == 2:
                    raise
        return len(todo)

    async def _put(self, snapshots: Sequence[Snapshot], now: datetime) -> None:
        async with self._db.transaction() as s:
            for snap in snapshots:
                day = snap.day.isoformat()
                blob = self._cipher.encrypt_text(DOMAIN, _CONTENT.context({"day": day}), snap.to_json())
                row = await s.get(NetWorthSnapshotRow, day)
                if row is None:
                    s.add(NetWorthSnapshotRow(day=day, content=blob, recorded_at=now))
                else:
                    row.content, row.recorded_at = blob, now


@dataclass(frozen=True)
class Recorded:
    today: Snapshot | None
    written: int


@dataclass
class NetWorthBook:
    """The snapshots and the sources they are summed from. Every method takes the caller's ``call``
    (the console's reads, or a job's, through the gateway), so each read is audited as its caller's."""

    store: NetWorthStore
    sources: Sequence[Source]
    window: int = WINDOW_DAYS

    def start(self, today: date) -> date:
        return today - timedelta(days=self.window - 1)

    async def ensure(self, today: date, call: Call) -> list[Snapshot]:
        """The window's snapshots, oldest first; ``today`` recorded first when it has none yet."""
        have = await self.store.between(self.start(today), today)
        if self.sources and all(s.day != today for s in have):
            await self._record(today, call, {s.day: s for s in have})
            have = await self.store.between(self.start(today), today)
        return have

    async def record(self, today: date, call: Call) -> Recorded:
        """Record ``today`` again and fill in the window's past days that are not known yet."""
        have = {s.day: s for s in await self.store.between(self.start(today), today)}
        return await self._record(today, call, have)

    async def _record(self, today: date, call: Call, have: dict[date, Snapshot]) -> Recorded:
        days = [self.start(today) + timedelta(days=n) for n in range(self.window)]
        needed = [d for d in days if d == today or d not in have or have[d].failures]
        found = await collect(self.sources, call, min(needed), today)
        writes = []
        for day in needed:
            new, old = found.get(day), have.get(day)
            if new is None or (day != today and new.failures):
                continue  # nothing known, or a source to ask again next time
            if old is not None and new.failures > old.failures:
                continue  # keep the earlier, more complete figures of the day
            writes.append(new)
        written = await self.store.put(writes)
        return Recorded(next((w for w in writes if w.day == today), have.get(today)), written)


def net_worth_handler(book: NetWorthBook | None, call: Call | None) -> Handler:
    """``net_worth_snapshot``: today's snapshot and the past days' from each source's history. The
    run history gets counts only, never an amount."""

    async def run(ctx: JobContext) -> dict[str, object]:
        if book is None or call is None or not book.sources:
            raise JobSkipped("no installed integration reports a part of the owner's net worth")
        day = ctx.scheduled_for.astimezone(ctx.timezone).date()
        done = await book.record(day, call)
        today = done.today
        return {
            "day": day.isoformat(),
            "written": done.written,
            "parts": 0 if today is None else len(today.parts),
            "missing": 0 if today is None else len(today.missing),
        }

    return run
