"""Device usage from ActivityWatch: daily summaries (time per app and category, focus time), and the
views the agent and the digest ask for (a date range, the trend across weeks).

Only time while the owner was at the device counts (the window watcher cut to "not-afk"). Focus time
is study work in unbroken stretches: consecutive Study events with gaps of at most ``FOCUS_GAP``
that together last at least ``FOCUS_MIN``. Window titles are used to categorise and then dropped:
only app names and totals are stored.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import delete, select

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.activitywatch.models import ENCRYPTED, DeviceUsageDayRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.activitywatch.client import ACTIVE_WINDOW_QUERY, ActivityWatchClient, Event

log = structlog.get_logger("aegis.mcp_servers.activitywatch")

ACTOR: Final = "mcp:activitywatch"
FIRST_SYNC_DAYS: Final = 35
FOCUS_GAP: Final = timedelta(minutes=2)
FOCUS_MIN: Final = timedelta(minutes=25)
STUDY: Final = "Study"
CATEGORIES: Final[list[tuple[str, re.Pattern[str]]]] = [
    (
        STUDY,
        re.compile(r"canvas|pearson|mastering|blackboard|code|pycharm|intellij|terminal|overleaf|zotero|docs", re.I),
    ),
    ("Communication", re.compile(r"slack|discord|mail|outlook|whatsapp|teams|zoom|messages", re.I)),
    ("Entertainment", re.compile(r"youtube|netflix|spotify|reddit|twitch|steam|instagram|tiktok", re.I)),
]


def category_of(event: Event) -> str:
    text = f"{event.app} {event.title}"
    return next((name for name, rule in CATEGORIES if rule.search(text)), "Other")


@dataclass
class DaySummary:
    active: float = 0.0
    focus: float = 0.0
    apps: dict[str, float] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        return {"active": self.active, "focus": self.focus, "apps": self.apps, "categories": self.categories}


def summarize(events: Iterable[Event]) -> DaySummary:
    ordered = sorted(events, key=lambda e: e.timestamp)
    out = DaySummary()
    apps: dict[str, float] = defaultdict(float)
    cats: dict[str, float] = defaultdict(float)
    run_start: datetime | None = None
    run_end: datetime | None = None
    for e in ordered:
        seconds = max(0.0, e.duration)
        out.active += seconds
        apps[e.app] += seconds
        cat = category_of(e)
        cats[cat] += seconds
        end = e.timestamp + timedelta(seconds=seconds)
        if cat == STUDY and run_end is not None and e.timestamp - run_end <= FOCUS_GAP:
            run_end = max(run_end, end)
            continue
        out.focus += _focus(run_start, run_end)
        run_start, run_end = (e.timestamp, end) if cat == STUDY else (None, None)
    out.focus += _focus(run_start, run_end)
    out.apps, out.categories = dict(apps), dict(cats)
    return out


def _focus(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None or end - start < FOCUS_MIN:
        return 0.0
    return (end - start).total_seconds()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class StoredDay:
    day: date
    summary: DaySummary


class UsageService:
    def __init__(
        self,
        client: ActivityWatchClient,
        db: Database,
        cipher: FieldCipher,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="device_usage_days")
        self._audit = audit
        self._clock = clock
        self._lock = asyncio.Lock()

    def today(self) -> date:
        return self._clock().date()

    async def sync(self, details: dict[str, Any]) -> int:
        """Summarise the days not yet stored (the last ``FIRST_SYNC_DAYS`` at first; then from the last
        stored day, which may have grown, to today). Returns how many days were written."""
        async with self._lock:
            today = self.today()
            async with self._db.transaction() as s:
                last = await s.scalar(select(DeviceUsageDayRow.id).order_by(DeviceUsageDayRow.id.desc()).limit(1))
            first = today - timedelta(days=FIRST_SYNC_DAYS - 1) if last is None else date.fromisoformat(last)
            days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
            periods = [(_day_start(d), _day_start(d + timedelta(days=1))) for d in days]
            found = await self.client.query(periods, ACTIVE_WINDOW_QUERY)
            now = utcnow()
            rows = [
                {
                    "id": d.isoformat(),
                    "data": self._seal.seal_json("data", d.isoformat(), summarize(ev).doc()),
                    "synced_at": now,
                }
                for d, ev in zip(days, found, strict=True)
            ]
            event = AuditEvent(ACTOR, "usage.sync", "ok", resource=ACTOR, details={**details, "days": len(rows)})
            async with self._db.transaction() as s:
                await upsert(s, table_of(DeviceUsageDayRow), rows, "id")
                await self._audit.append(s, event)
            log.info("activitywatch.sync", days=len(rows))
            return len(rows)

    async def days(self, start: date, end: date) -> list[StoredDay]:
        q = select(DeviceUsageDayRow).where(
            DeviceUsageDayRow.id >= start.isoformat(), DeviceUsageDayRow.id <= end.isoformat()
        )
        async with self._db.transaction() as s:
            rows = (await s.scalars(q.order_by(DeviceUsageDayRow.id))).all()
        out = []
        for r in rows:
            d = self._seal.open_json("data", r.id, r.data)
            summary = DaySummary(d["active"], d["focus"], dict(d["apps"]), dict(d["categories"]))
            out.append(StoredDay(date.fromisoformat(r.id), summary))
        return out

    async def forget(self, details: dict[str, Any]) -> None:
        async with self._db.transaction() as s:
            await s.execute(delete(DeviceUsageDayRow))
            await self._audit.append(s, AuditEvent(ACTOR, "usage.unlink", "ok", resource=ACTOR, details=details))


def total(days: Iterable[StoredDay]) -> DaySummary:
    out = DaySummary()
    apps: dict[str, float] = defaultdict(float)
    cats: dict[str, float] = defaultdict(float)
    for d in days:
        out.active += d.summary.active
        out.focus += d.summary.focus
        for k, v in d.summary.apps.items():
            apps[k] += v
        for k, v in d.summary.categories.items():
            cats[k] += v
    out.apps, out.categories = dict(apps), dict(cats)
    return out
