"""The encrypted grocery store: plans (one per first day) and the owner's settings.

A plan is written once per run in one transaction with its audit row; a re-run for the same days
replaces a plan still waiting for approval and never touches an approved one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from mcp_servers._store import OwnerSettings, Sealer, table_of, upsert
from mcp_servers.groceries.models import ENCRYPTED, GroceryPlanRow, GrocerySettingsRow
from mcp_servers.groceries.settings import Settings
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow

WAITING, APPROVED, SUPERSEDED = "waiting", "approved", "superseded"


class PlanLocked(Exception):
    """The plan for these days is approved already; it is not replaced."""


@dataclass(frozen=True)
class StoredPlan:
    id: str
    start_date: dt.date
    status: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    body: dict[str, Any]


def plan_id(start: dt.date) -> str:
    return f"plan-{start.isoformat()}"


class GroceryStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._plans = Sealer(cipher, ENCRYPTED, table="grocery_plans")
        self._settings = OwnerSettings(
            db, audit, Sealer(cipher, ENCRYPTED, table="grocery_settings"), GrocerySettingsRow, Settings
        )
        self._audit = audit

    async def settings(self) -> Settings:
        return await self._settings.get()

    async def save_settings(self, settings: Settings, event: AuditEvent) -> None:
        await self._settings.save(settings, event)

    def _open(self, row: GroceryPlanRow) -> StoredPlan:
        body = dict(self._plans.open_json("body", row.id, row.body))
        return StoredPlan(row.id, row.start_date, row.status, row.created_at, row.approved_at, body)

    async def put_plan(self, start: dt.date, body: dict[str, Any], event: AuditEvent) -> StoredPlan:
        """Store the plan for the days from ``start`` as waiting; older waiting plans are superseded."""
        pid, now = plan_id(start), utcnow()
        async with self._db.transaction() as s:
            found = await s.get(GroceryPlanRow, pid)
            if found is not None and found.status == APPROVED:
                raise PlanLocked(f"the plan for {start.isoformat()} is approved already")
            for old in (await s.scalars(select(GroceryPlanRow).where(GroceryPlanRow.status == WAITING))).all():
                if old.id != pid:
                    old.status = SUPERSEDED
            sealed = self._plans.seal_json("body", pid, body)
            row = {"id": pid, "start_date": start, "status": WAITING, "body": sealed, "created_at": now}
            await upsert(s, table_of(GroceryPlanRow), [{**row, "approved_at": None}], "id")
            await self._audit.append(s, event)
        return StoredPlan(pid, start, WAITING, now, None, body)

    async def get(self, pid: str) -> StoredPlan | None:
        async with self._db.transaction() as s:
            row = await s.get(GroceryPlanRow, pid)
        return None if row is None else self._open(row)

    async def latest(self, *statuses: str) -> StoredPlan | None:
        query = select(GroceryPlanRow).order_by(GroceryPlanRow.start_date.desc()).limit(1)
        if statuses:
            query = query.where(GroceryPlanRow.status.in_(statuses))
        async with self._db.transaction() as s:
            row = (await s.scalars(query)).first()
        return None if row is None else self._open(row)

    async def approve(self, pid: str, event: AuditEvent) -> StoredPlan:
        """Mark a waiting plan approved (once); an approved one stays as it is."""
        async with self._db.transaction() as s:
            row = await s.get(GroceryPlanRow, pid)
            if row is None:
                raise KeyError(pid)
            if row.status == SUPERSEDED:
                raise PlanLocked("a newer plan replaced this one; approve the newer plan")
            if row.status == WAITING:
                row.status, row.approved_at = APPROVED, utcnow()
                await self._audit.append(s, event)
            return self._open(row)

    async def forget(self, event: AuditEvent) -> int:
        async with self._db.transaction() as s:
            plans = await s.execute(delete(GroceryPlanRow))
            await s.execute(delete(GrocerySettingsRow))
            await self._audit.append(s, event)
        return int(getattr(plans, "rowcount", 0) or 0)
