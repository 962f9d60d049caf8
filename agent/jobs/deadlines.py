"""Deadline reminders: a notification a set time before each deadline (default 24 hours), once.

The deadlines come from every integration that declares a ``deadlines`` tool (merged by the core,
:mod:`integrations.merged`); nothing here names a source. Work already submitted or graded is not
reminded. "Once" is kept in the notifications table itself: each reminder's ``ref`` is a digest of
the source, the item and its due time, so a restart (or a second run in the same window) finds it
and stays quiet, and a deadline that moves (an extension) is reminded again for its new time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from agent.jobs.engine import Handler, JobContext
from agent.jobs.ports import JobSkipped, Notification, Notifier

KIND = "deadline"
DEFAULT_LEAD_HOURS = 24.0
DONE = frozenset({"submitted", "graded", "pending review"})


class DeadlineSource(Protocol):
    async def deadlines(self, start: date, end: date) -> list[Mapping[str, Any]] | None:
        """Every source's deadlines from ``start`` to ``end`` (None: no source is installed)."""
        ...


@runtime_checkable
class ReminderLedger(Protocol):
    async def sent(self, kind: str, ref: str) -> bool:
        """Whether a notification of ``kind`` with ``ref`` was ever stored."""
        ...


def reminder_ref(item: Mapping[str, Any]) -> str:
    key = "\0".join(str(item.get(k) or "") for k in ("integration", "source", "id", "due_at"))
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def _due(item: Mapping[str, Any]) -> datetime | None:
    raw = item.get("due_at")
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _hours(delta: timedelta) -> str:
    hours = max(0, round(delta.total_seconds() / 3600))
    return "less than an hour" if hours == 0 else f"{hours} hour{'s' if hours != 1 else ''}"


def deadline_reminder_handler(
    source: DeadlineSource | None, notifier: Notifier, ledger: ReminderLedger | None, *, lead_hours: float
) -> Handler:
    lead = timedelta(hours=lead_hours)

    async def run(ctx: JobContext) -> dict[str, object]:
        if source is None or ledger is None:
            raise JobSkipped("no coursework source or notification store is configured")
        now = ctx.now
        found = await source.deadlines(now.date(), (now + lead).date() + timedelta(days=1))
        if found is None:
            raise JobSkipped("no installed integration declares deadlines")
        soon = sent = 0
        for item in found:
            due = _due(item)
            if due is None or not (now <= due <= now + lead) or str(item.get("status")) in DONE:
                continue
            soon += 1
            ref = reminder_ref(item)
            if await ledger.sent(KIND, ref):
                continue
            name, course = str(item.get("name") or "An assignment"), str(item.get("course") or "")
            where = " · ".join(p for p in (course, str(item.get("source") or "")) if p)
            await notifier.notify(
                Notification(
                    KIND,
                    f"Due in {_hours(due - now)}: {name}"[:200],
                    f"{where}. Due {item.get('due') or due.isoformat()}; not submitted yet.",
                    ref=ref,
                )
            )
            sent += 1
        return {"due_soon": soon, "notified": sent, "lead_hours": lead_hours}

    return run
