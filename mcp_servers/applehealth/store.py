"""The encrypted health store: samples keyed by (metric, start, source), written once.

A batch is inserted with ``ON CONFLICT DO NOTHING`` on that key, in the same transaction as its
audit row: a repeated or overlapping window stores nothing twice, and a batch is either stored and
audited or neither.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from mcp_servers._store import Sealer, table_of
from mcp_servers.applehealth.models import ENCRYPTED, HealthSampleRow
from storage.audit import AuditEvent, AuditLog
from storage.crypto.field import FieldCipher
from storage.db import Database
from storage.models.base import utcnow
from tools.applehealth.models import Sample

CHUNK = 500


@dataclass(frozen=True)
class IngestCounts:
    batch_id: str
    received: int
    stored: int

    @property
    def repeated(self) -> int:
        return self.received - self.stored


@dataclass(frozen=True)
class StoredSample:
    metric: str
    start: dt.datetime
    day: dt.date
    units: str
    source: str
    values: dict[str, Any]


@dataclass(frozen=True)
class MetricSummary:
    metric: str
    samples: int
    first_day: dt.date
    last_day: dt.date


def sample_id(sample: Sample) -> str:
    return hashlib.sha256(sample.key.encode("utf-8")).hexdigest()


class HealthStore:
    def __init__(self, db: Database, cipher: FieldCipher, audit: AuditLog) -> None:
        self._db = db
        self._seal = Sealer(cipher, ENCRYPTED, table="health_samples")
        self._audit = audit

    async def record(self, event: AuditEvent) -> None:
        """Audit something that stored nothing (a refused batch)."""
        async with self._db.transaction() as s:
            await self._audit.append(s, event)

    def _row(self, sample: Sample, batch_id: str, now: dt.datetime) -> dict[str, Any]:
        sid = sample_id(sample)
        return {
            "id": sid,
            "metric": sample.metric,
            "start": sample.start.astimezone(dt.UTC),
            "day": sample.start.date(),  # the day on the phone's clock
            "units": sample.units,
            "source": self._seal.seal("source", sid, sample.source),
            "value": self._seal.seal_json("value", sid, sample.values),
            "batch_id": batch_id,
            "received_at": now,
        }

    async def ingest(self, samples: Sequence[Sample], event: AuditEvent) -> IngestCounts:
        """Store the samples not stored yet, and audit the batch with its counts, in one transaction."""
        batch_id, now = str(uuid.uuid4()), utcnow()
        unique = {sample_id(s): s for s in samples}
        stored = 0
        async with self._db.transaction() as s:
            dialect = s.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            ids = list(unique)
            for i in range(0, len(ids), CHUNK):
                chunk = ids[i : i + CHUNK]
                known = set((await s.scalars(select(HealthSampleRow.id).where(HealthSampleRow.id.in_(chunk)))).all())
                rows = [self._row(unique[k], batch_id, now) for k in chunk if k not in known]
                if rows:
                    stmt = insert(table_of(HealthSampleRow)).on_conflict_do_nothing(index_elements=["id"])
                    await s.execute(stmt, rows)
                    stored += len(rows)
            details = {**event.details, "batch_id": batch_id, "received": len(samples), "stored": stored}
            await self._audit.append(
                s,
                AuditEvent(event.actor, event.action, event.result, resource=event.resource, details=details),
            )
        return IngestCounts(batch_id, len(samples), stored)

    async def samples(self, metric: str, first: dt.date, last: dt.date) -> list[StoredSample]:
        async with self._db.transaction() as s:
            rows = (
                await s.scalars(
                    select(HealthSampleRow)
                    .where(HealthSampleRow.metric == metric, HealthSampleRow.day.between(first, last))
                    .order_by(HealthSampleRow.start)
                )
            ).all()
        return [
            StoredSample(
                r.metric,
                r.start,
                r.day,
                r.units,
                self._seal.open("source", r.id, r.source),
                dict(self._seal.open_json("value", r.id, r.value)),
            )
            for r in rows
        ]

    async def daily_totals(self, metric: str, first: dt.date, last: dt.date) -> dict[dt.date, float]:
        """Per day, the larger of the sources' sums: a phone and a watch counting the same steps are
        not added together."""
        per: dict[dt.date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for sample in await self.samples(metric, first, last):
            qty = sample.values.get("qty")
            if isinstance(qty, int | float):
                per[sample.day][sample.source] += float(qty)
        return {day: max(sources.values()) for day, sources in per.items()}

    async def metrics(self) -> list[MetricSummary]:
        async with self._db.transaction() as s:
            rows = (
                await s.execute(
                    select(
                        HealthSampleRow.metric,
                        func.count(),
                        func.min(HealthSampleRow.day),
                        func.max(HealthSampleRow.day),
                    )
                    .group_by(HealthSampleRow.metric)
                    .order_by(HealthSampleRow.metric)
                )
            ).all()
        return [MetricSummary(m, int(n), first, last) for m, n, first, last in rows]

    async def forget(self, event: AuditEvent) -> int:
        async with self._db.transaction() as s:
            result = await s.execute(delete(HealthSampleRow))
            await self._audit.append(s, event)
        return int(getattr(result, "rowcount", 0) or 0)
