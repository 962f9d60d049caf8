"""The encrypted Garmin store: days and activities upserted by their Garmin key, so a repeated or
overlapping sync stores nothing twice, and the sync status (what needs the owner's attention)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from mcp_servers._store import Sealer, table_of, upsert
from mcp_servers.garmin.models import ENCRYPTED, GarminActivityRow, GarminDayRow, GarminStatusRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.garmin.models import GarminActivity, GarminDay

STATUS_ID = "status"


class GarminStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._days = Sealer(cipher, ENCRYPTED, table="garmin_days")
        self._acts = Sealer(cipher, ENCRYPTED, table="garmin_activities")
        self._status = Sealer(cipher, ENCRYPTED, table="garmin_status")
        self._audit = audit

    async def record(self, event: AuditEvent) -> None:
        async with self._db.transaction() as s:
            await self._audit.append(s, event)

    async def save(self, days: Sequence[GarminDay], activities: Sequence[GarminActivity], event: AuditEvent) -> int:
        """Upsert a sync's days and activities and audit it, in one transaction; the rows written."""
        now = utcnow()
        day_rows = []
        for d in days:
            figures = {k: v for k, v in dataclasses.asdict(d).items() if k != "date" and v is not None}
            key = d.date.isoformat()
            day_rows.append({"id": key, "data": self._days.seal_json("data", key, figures), "synced_at": now})
        act_rows = []
        for a in activities:
            doc = dataclasses.asdict(a) | {"start": a.start.isoformat()}
            act_rows.append(
                {
                    "id": a.activity_id,
                    "day": a.start.date(),
                    "data": self._acts.seal_json("data", a.activity_id, doc),
                    "synced_at": now,
                }
            )
        async with self._db.transaction() as s:
            await upsert(s, table_of(GarminDayRow), day_rows, "id")
            await upsert(s, table_of(GarminActivityRow), act_rows, "id")
            await self._audit.append(s, event)
        return len(day_rows) + len(act_rows)

    async def days(self, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(
                    select(GarminDayRow)
                    .where(GarminDayRow.id.between(first.isoformat(), last.isoformat()))
                    .order_by(GarminDayRow.id)
                )
            ).all()
        return [{"date": r.id, **self._days.open_json("data", r.id, r.data)} for r in rows]

    async def activities(self, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
        async with self._db.transaction() as s:
            rows = (await s.scalars(select(GarminActivityRow).where(GarminActivityRow.day.between(first, last)))).all()
        found = [dict(self._acts.open_json("data", r.id, r.data)) for r in rows]
        return sorted(found, key=lambda a: str(a.get("start")))

    async def status(self) -> dict[str, Any]:
        async with self._db.transaction() as s:
            row = await s.get(GarminStatusRow, STATUS_ID)
        return dict(self._status.open_json("data", STATUS_ID, row.data)) if row else {}

    async def set_status(self, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the stored status (``attention``: the open entry or None; ``synced_at``)."""
        current = await self.status() | changes
        row = {"id": STATUS_ID, "data": self._status.seal_json("data", STATUS_ID, current)}
        async with self._db.transaction() as s:
            await upsert(s, table_of(GarminStatusRow), [row], "id")
        return current

    async def forget(self, event: AuditEvent) -> int:
        async with self._db.transaction() as s:
            n = 0
            for model in (GarminDayRow, GarminActivityRow, GarminStatusRow):
                result = await s.execute(delete(model))
                n += int(getattr(result, "rowcount", 0) or 0)
            await self._audit.append(s, event)
        return n
