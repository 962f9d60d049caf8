"""Refusals while the broker is sealed, kept until it unseals and then written as keyed rows.

Sealed, the broker has no chain key (it comes from the master key), and an unkeyed row after keyed
ones is exactly what ``aegis audit verify`` reports as a rewritten history. So a sealed broker does
not write to the chain: each refusal waits here, in a file beside the checkpoints (one JSON line,
identifiers that need the keyring withheld, no secret) so that a restart while still sealed loses
nothing. When the broker unseals, the refusals are appended, oldest first, as keyed rows in one
transaction, each with ``details.sealed_at`` (when it happened) and ``details.while_sealed``; the
file is then removed. Floods are aggregated before they get here (storage.flood_trace); beyond
``limit`` refusals only a count is kept, written as one ``audit.sealed_dropped`` row.

What this file cannot show: whoever can write the data folder while the broker is sealed can edit
or delete refusals that are not yet in the chain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from storage.audit import AuditError, AuditEvent, AuditLog, Sensitive
from storage.db import Database

log = structlog.get_logger("aegis.broker.sealed_audit")

FILE_NAME = "audit-pending.jsonl"
WITHHELD = "withheld-while-sealed"


def _withheld(v: Any) -> Any:
    if isinstance(v, Sensitive):
        return WITHHELD
    if isinstance(v, Mapping):
        return {str(k): _withheld(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_withheld(x) for x in v]
    return v


class PendingAudit:
    """The queue of sealed-mode refusals: in ``path`` when the broker has a data folder, else in memory."""

    def __init__(self, path: Path | None, *, limit: int = 10_000, clock: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self.limit = limit
        self._clock = clock or (lambda: datetime.now(UTC))
        self._memory: list[dict[str, Any]] = []
        self._dropped = 0

    def add(self, event: AuditEvent) -> None:
        entry = asdict(event) | {"sealed_at": self._clock().astimezone(UTC).isoformat()}
        entry = _withheld(entry)
        if self.path is None:
            if len(self._memory) >= self.limit:
                self._dropped += 1
                return
            self._memory.append(entry)
            return
        if len(self._load()) >= self.limit:
            self._dropped += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(entry, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii"))
        finally:
            os.close(fd)

    def _load(self) -> list[dict[str, Any]]:
        if self.path is None:
            return list(self._memory)
        try:
            lines = self.path.read_text(encoding="ascii").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line (a crash mid-write): the others still count
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def __len__(self) -> int:
        return len(self._load())

    def events(self) -> list[AuditEvent]:
        out = []
        for entry in self._load():
            try:
                details = dict(entry.get("details") or {})
                details |= {"sealed_at": str(entry["sealed_at"]), "while_sealed": True}
                out.append(
                    AuditEvent(
                        actor=str(entry["actor"]),
                        action=str(entry["action"]),
                        result=str(entry["result"]),
                        resource=entry.get("resource"),
                        reason=entry.get("reason"),
                        source_ip=entry.get("source_ip"),
                        user_agent=entry.get("user_agent"),
                        trace_id=entry.get("trace_id"),
                        details=details,
                    )
                )
            except (KeyError, TypeError):
                self._dropped += 1
        if self._dropped:
            out.append(
                AuditEvent(
                    actor="broker",
                    action="audit.sealed_dropped",
                    result="deny",
                    reason="pending_limit",
                    details={"count": self._dropped, "while_sealed": True},
                )
            )
        return out

    async def flush(self, db: Database, audit: AuditLog) -> int:
        """Append every pending refusal as keyed rows; keeps them if the write fails. Returns the count."""
        events = self.events()
        if not events:
            return 0
        try:
            async with db.transaction() as s:
                await audit.append_many(s, events)
        except AuditError as exc:
            log.error("could not write the refusals made while sealed; kept for the next unseal", cause=str(exc))
            return 0
        self._memory.clear()
        self._dropped = 0
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        log.info("audit rows written for refusals made while sealed", count=len(events))
        return len(events)
