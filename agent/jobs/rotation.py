"""The rotation reminder: the owner rotates every secret every 90 days (deploy/rotate-secrets.sh);
from day 80 this job tells them, once a day, until they do.

When secrets were last rotated is read from the audit log, not from a file anyone could touch: the
newest ``master_key.rotate`` row (the script rotates the master key with everything else), or, if
there was never one, the first row of the log (the day Aegis was set up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select

from agent.jobs.engine import Handler, JobContext
from agent.jobs.ports import JobSkipped, Notification, Notifier
from storage.db import Database
from storage.models.audit import AuditRow

ROTATE_EVERY_DAYS = 90
WARN_FROM_DAY = 80
ROTATION_ACTION = "master_key.rotate"


class RotationSource(Protocol):
    async def last_rotation(self) -> datetime | None: ...


@dataclass
class AuditRotationSource:
    db: Database

    async def last_rotation(self) -> datetime | None:
        async with self.db.transaction() as s:
            last = await s.scalar(select(func.max(AuditRow.ts)).where(AuditRow.action == ROTATION_ACTION))
            if last is None:
                last = await s.scalar(select(func.min(AuditRow.ts)))
        return last


def rotation_reminder_handler(source: RotationSource | None, notifier: Notifier) -> Handler:
    async def run(ctx: JobContext) -> dict[str, object]:
        if source is None:
            raise JobSkipped("no rotation record source configured")
        last = await source.last_rotation()
        if last is None:
            raise JobSkipped("nothing recorded yet")
        days = (ctx.now - last).days
        due = days >= WARN_FROM_DAY
        if due:
            left = ROTATE_EVERY_DAYS - days
            when = f"due in {left} days" if left > 0 else f"overdue by {-left} days"
            await notifier.notify(
                Notification(
                    "rotation_due",
                    f"Secrets last rotated {days} days ago ({when}): run deploy/rotate-secrets.sh",
                    "Rotate every 90 days: deploy/rotate-secrets.sh rotates what Aegis can rotate itself and "
                    "lists the vendor credentials to rotate by hand.",
                )
            )
        return {"days_since_rotation": days, "warned": due}

    return run
