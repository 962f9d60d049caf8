"""Calendar helpers every calendar server shares: ISO 8601 windows, time zones, busy blocks and free
slots, and the service base (clock, synced window, audited changes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field
from sqlalchemy import delete, select
from typing_extensions import TypedDict

from storage.audit import AuditEvent, AuditLog
from storage.db import Database
from tools.errors import InvalidRequest


class Interval(TypedDict):
    start: str
    end: str


class BusyResult(TypedDict):
    busy: list[Interval]


class SlotsResult(TypedDict):
    slots: list[Interval]
    time_zone: str


class BusyBlock(TypedDict):
    """A busy block from elsewhere (another calendar's ``free_busy``), ISO 8601 with offsets."""

    start: Annotated[str, Field(min_length=10, max_length=40)]
    end: Annotated[str, Field(min_length=10, max_length=40)]


BusyElsewhere = Annotated[
    list[BusyBlock],
    Field(
        max_length=500,
        description="busy blocks of the owner's other calendars, to be kept free too",
    ),
]


def interval(start: datetime, end: datetime) -> Interval:
    return {"start": start.isoformat(), "end": end.isoformat()}


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


def parse_when(value: str, integration: str) -> datetime:
    """A date (midnight UTC) or an offset-aware date-time, as UTC."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"not an ISO 8601 date or date-time: {value[:40]!r}", integration=integration) from None
    if parsed.tzinfo is None:
        raise InvalidRequest("a date-time needs its UTC offset (e.g. +00:00)", integration=integration)
    return parsed.astimezone(UTC)


def zone_of(name: str, integration: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown time zone {name[:64]!r}", integration=integration) from None


def window(start: str, end: str, integration: str) -> tuple[datetime, datetime]:
    low, high = parse_when(start, integration), parse_when(end, integration)
    if high <= low:
        raise InvalidRequest("end must be after start", integration=integration)
    if (high - low).days > 366:
        raise InvalidRequest("a window is at most a year", integration=integration)
    return low, high


def merge(busy: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(busy):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def free_slots(
    busy: Sequence[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    minutes: int,
    day_hours: tuple[int, int],
    limit: int,
    zone: tzinfo = UTC,
) -> list[Slot]:
    """Gaps of at least ``minutes`` between busy blocks, inside [start, end) and each day's
    working hours ``day_hours`` on the clock of ``zone`` (daylight saving included), earliest first."""
    need = timedelta(minutes=minutes)
    blocks = merge(busy)
    out: list[Slot] = []
    day = start.astimezone(zone).date()
    while len(out) < limit:
        opens = datetime.combine(day, time(day_hours[0]), tzinfo=zone)
        if opens >= end:
            break
        if day_hours[1] == 24:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        else:
            closes = datetime.combine(day, time(day_hours[1]), tzinfo=zone)
        low, high = max(start, opens), min(end, closes)
        cursor = low
        for b_start, b_end in blocks:
            if b_end <= cursor or b_start >= high:
                continue
            if b_start - cursor >= need:
                out.append(Slot(cursor, b_start))
            cursor = max(cursor, b_end)
        if high - cursor >= need:
            out.append(Slot(cursor, high))
        day += timedelta(days=1)
    return out[:limit]


def blocks_in(
    blocks: Sequence[BusyBlock], start: datetime, end: datetime, integration: str
) -> list[tuple[datetime, datetime]]:
    """Busy blocks given as ISO 8601, clipped to [start, end); those outside it are dropped."""
    out: list[tuple[datetime, datetime]] = []
    for b in blocks:
        low, high = parse_when(b["start"], integration), parse_when(b["end"], integration)
        if high <= low:
            raise InvalidRequest("a busy block must end after it starts", integration=integration)
        if high > start and low < end:
            out.append((max(low, start), min(high, end)))
    return out


def find_slots(
    busy: Sequence[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    *,
    minutes: int,
    hours: tuple[int, int],
    limit: int,
    zone: ZoneInfo,
    integration: str,
) -> SlotsResult:
    """The ``find_free_slot`` answer every calendar gives: free slots on ``zone``'s clock."""
    if hours[1] <= hours[0]:
        raise InvalidRequest("day_end_hour must be after day_start_hour", integration=integration)
    slots = free_slots(busy, start, end, minutes, hours, limit, zone)
    return {
        "slots": [interval(s.start.astimezone(zone), s.end.astimezone(zone)) for s in slots],
        "time_zone": str(zone),
    }


# ---- what every calendar service keeps the same way ----------------------------------------------

ClientT = TypeVar("ClientT")
StoreT = TypeVar("StoreT")
T = TypeVar("T")


class CalendarBase(Generic[ClientT, StoreT]):
    """A calendar service's clock and synced window [today - ``past_days``, today + ``future_days``),
    one sync at a time, and the audit rows around each change (the intent before the vendor call)."""

    actor: ClassVar[str]

    def __init__(
        self,
        client: ClientT,
        store: StoreT,
        db: Database,
        audit: AuditLog,
        *,
        past_days: int = 30,
        future_days: int = 180,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.store = store
        self._db = db
        self._audit = audit
        self._past = past_days
        self._future = future_days
        self._now = now
        self._sync_lock = asyncio.Lock()

    def calendar_window(self) -> tuple[datetime, datetime]:
        today = self._now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=self._past), today + timedelta(days=self._future)

    async def _record(self, action: str, result: str, details: dict[str, Any]) -> None:
        async with self._db.transaction() as s:
            await self._audit.append(s, AuditEvent(self.actor, action, result, resource=self.actor, details=details))

    async def _audited(
        self,
        action: str,
        details: dict[str, Any],
        run: Callable[[], Awaitable[T]],
        done: Callable[[T], dict[str, Any]] = lambda _: {},
    ) -> T:
        """``run`` between an ``attempt`` and an ``ok`` audit row: if the intent cannot be audited,
        nothing reaches the vendor."""
        await self._record(action, "attempt", details)
        out = await run()
        await self._record(action, "ok", {**details, **done(out)})
        return out


# ---- stored events: the reads every calendar store does the same way ----------------------------


async def rows_in_window(db: Database, model: type[Any], start: datetime, end: datetime, limit: int) -> list[Any]:
    """Rows of an event table (``id``, ``start_at``, ``end_at``) overlapping [start, end), by start."""
    query = select(model).where(model.start_at < end, model.end_at > start).order_by(model.start_at, model.id)
    async with db.transaction() as s:
        return list((await s.scalars(query.limit(limit))).all())


async def rows_by_id(db: Database, model: type[Any], ids: Sequence[str]) -> list[Any]:
    """Rows with these ids, in the order given (missing ids are skipped)."""
    async with db.transaction() as s:
        rows = {r.id: r for r in (await s.scalars(select(model).where(model.id.in_(list(ids))))).all()}
    return [rows[i] for i in ids if i in rows]


async def remove_row(db: Database, model: type[Any], row_id: str) -> None:
    async with db.transaction() as s:
        await s.execute(delete(model).where(model.id == row_id))
