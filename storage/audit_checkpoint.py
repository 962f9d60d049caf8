"""Signed checkpoints of the audit chain's head, kept outside the database.

The broker writes one at a regular interval and when it stops, after checking the rows since the
previous one with the chain key. Each is a line of JSON in an append-only file in the data folder,
signed with a key derived from the chain key (which the database never holds). Whoever can rewrite
the database but not this file cannot truncate the log or rewrite its history up to the latest
checkpoint without ``aegis audit verify`` saying so.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from storage.audit import ChainKey, ChainReport, Checkpoint, verify_chain
from storage.db import Database

log = structlog.get_logger("aegis.audit.checkpoint")

FILE_NAME = "audit-checkpoints.jsonl"
_VERSION = 1


class CheckpointError(Exception):
    """The checkpoint file is malformed or a signature does not verify (the operator must look)."""


def _payload(cp: Checkpoint) -> bytes:
    body = [_VERSION, cp.seq, cp.hash, cp.keyed_from, cp.ts]
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def sign(key: ChainKey, cp: Checkpoint) -> str:
    return hmac.new(key.checkpoint_key, _payload(cp), hashlib.sha256).hexdigest()


class CheckpointFile:
    """One checkpoint per line; the newest (highest ``seq``) is the one that counts."""

    def __init__(self, path: Path, key: ChainKey) -> None:
        self.path = path
        self._key = key

    def append(self, cp: Checkpoint) -> None:
        line = {"v": _VERSION, "seq": cp.seq, "hash": cp.hash, "keyed_from": cp.keyed_from, "ts": cp.ts}
        line["sig"] = sign(self._key, cp)
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode("ascii")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint, or None if there is no file yet. Raises CheckpointError."""
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read {self.path}: {type(exc).__name__}") from None
        best: Checkpoint | None = None
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            cp = self._parse(raw, n)
            if best is None or cp.seq >= best.seq:
                best = cp
        return best

    def _parse(self, raw: str, n: int) -> Checkpoint:
        try:
            d = json.loads(raw)
            cp = Checkpoint(int(d["seq"]), str(d["hash"]), d["keyed_from"], str(d["ts"]))
            sig = str(d["sig"])
            if d["v"] != _VERSION or not (cp.keyed_from is None or isinstance(cp.keyed_from, int)):
                raise ValueError("unsupported")
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{self.path} line {n} is malformed") from None
        if not hmac.compare_digest(sig, sign(self._key, cp)):
            raise CheckpointError(f"{self.path} line {n}: the signature does not verify (forged or wrong key)")
        return cp


class Checkpointer:
    """Checks the rows since the last checkpoint with the chain key, then signs the head."""

    def __init__(
        self, db: Database, key: ChainKey, file: CheckpointFile, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._db = db
        self._key = key
        self.file = file
        self._clock = clock or (lambda: datetime.now(UTC))
        self._last: Checkpoint | None = None
        self._loaded = False

    async def checkpoint(self) -> Checkpoint | None:
        """Write a checkpoint of the current head; None (and an error in the log) if the chain
        does not verify from the last checkpoint on, or the file cannot be trusted."""
        try:
            if not self._loaded:  # read the file once; later runs go on from what they wrote
                self._last, self._loaded = self.file.latest(), True
        except CheckpointError as exc:
            log.error("audit.checkpoint_refused", problem=str(exc))
            return None
        latest = self._last
        async with self._db.transaction() as session:
            report: ChainReport = await verify_chain(session, key=self._key, checkpoint=latest, resume=True)
        if not report.ok:
            log.error("audit.checkpoint_refused", problem=report.problem, seq=report.first_bad_seq)
            return None
        if latest is not None and latest.seq == report.rows:
            return latest
        ts = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        cp = Checkpoint(report.rows, report.head_hash, report.keyed_from, ts)
        self.file.append(cp)
        self._last = cp
        return cp

    async def try_checkpoint(self) -> Checkpoint | None:
        """:meth:`checkpoint`, logging instead of raising (the database may be down)."""
        try:
            return await self.checkpoint()
        except Exception as exc:  # noqa: BLE001 - keep checkpointing; the next run retries
            log.error("audit.checkpoint_failed", error=type(exc).__name__)
            return None

    async def run(self, interval: float) -> None:
        """Checkpoint every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            await self.try_checkpoint()
