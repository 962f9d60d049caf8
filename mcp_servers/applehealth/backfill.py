"""Backfill from ``export.xml``: streamed batches, each stored idempotently and audited like a push.

An interrupted backfill is simply run again: batches already stored are skipped sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mcp_servers.applehealth.store import HealthStore
from storage.audit import AuditEvent
from tools.applehealth.export_xml import BATCH, Progress, stream_export


@dataclass(frozen=True)
class BackfillCounts:
    batches: int
    received: int
    stored: int


async def backfill(
    store: HealthStore, path: Path, *, actor: str, batch: int = BATCH, progress: Progress | None = None
) -> BackfillCounts:
    batches = received = stored = 0
    for samples in stream_export(path, batch=batch, progress=progress):
        event = AuditEvent(actor, "health.backfill", "ok", resource="mcp:applehealth", details={"file": path.name})
        counts = await store.ingest(samples, event)
        batches, received, stored = batches + 1, received + counts.received, stored + counts.stored
    return BackfillCounts(batches, received, stored)
