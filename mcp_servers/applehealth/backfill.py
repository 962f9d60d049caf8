"""Backfill from ``export.xml`` (a file, or an upload in chunks from the console): streamed batches,
each stored idempotently and audited like a push.

An interrupted backfill is simply run again: batches already stored are skipped sample by sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mcp_servers.applehealth.store import HealthStore
from storage.audit import AuditEvent
from tools.applehealth.export_xml import BATCH, CHUNK, ExportFeed, Progress, stream_export
from tools.applehealth.models import PayloadError, Sample


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


@dataclass
class _Open:
    feed: ExportFeed
    received: int = 0
    samples: int = 0
    stored: int = 0
    touched: float = 0.0


@dataclass(frozen=True)
class ChunkCounts:
    received_bytes: int
    samples: int
    stored: int
    done: bool


class UploadError(Exception):
    """A chunk out of order, an unknown upload, or too many at once: the message says what to send."""


class Uploads:
    """``export.xml`` uploaded from the console in chunks, parsed as the bytes arrive (never written
    to disk). Chunks come in order; a repeated or skipped offset is refused with the expected one.
    Each batch is stored idempotently and audited like a push, so an interrupted upload is simply
    started again."""

    def __init__(self, store: HealthStore, *, limit: int = 2, idle: float = 3600.0, clock: Callable[[], float]) -> None:
        self._store, self._limit, self._idle, self._clock = store, limit, idle, clock
        self._open: dict[str, _Open] = {}

    async def _ingest(self, state: _Open, samples: list[Sample], event: AuditEvent) -> None:
        for i in range(0, len(samples), BATCH):
            counts = await self._store.ingest(samples[i : i + BATCH], event)
            state.samples += counts.received
            state.stored += counts.stored

    async def chunk(self, upload: str, offset: int, data: bytes, last: bool, event: AuditEvent) -> ChunkCounts:
        now = self._clock()
        for key in [k for k, s in self._open.items() if now - s.touched > self._idle]:
            del self._open[key]
        state = self._open.get(upload)
        if state is None:
            if offset != 0:
                raise UploadError("unknown upload: start again from offset 0")
            if len(self._open) >= self._limit:
                raise UploadError(f"at most {self._limit} uploads at once; wait for one to finish")
            state = self._open[upload] = _Open(ExportFeed())
        if offset != state.received:
            raise UploadError(f"expected offset {state.received}")
        state.touched = now
        try:
            for i in range(0, len(data), CHUNK):
                await self._ingest(state, state.feed.feed(data[i : i + CHUNK]), event)
            state.received += len(data)
            if last:
                await self._ingest(state, state.feed.close(), event)
        except PayloadError:
            del self._open[upload]
            raise
        if last:
            del self._open[upload]
        return ChunkCounts(state.received, state.samples, state.stored, last)
