"""Signed checkpoints of the audit chain's head, kept outside the database.

The broker writes one at a regular interval and when it stops, after checking the rows since the
previous one with the chain key. Each is a line of JSON in an append-only file in the data folder,
signed with Ed25519. The private half is derived from the chain key (which the database never
holds) and lives only in the broker's memory; the public half is written beside the file
(``audit-checkpoints.pub``) for the owner to keep a copy of, and verifies the checkpoints offline
(``aegis audit verify --public-key``) with no secret at hand. Whoever can rewrite the database but
not this file cannot truncate the log or rewrite its history up to the latest checkpoint without
``aegis audit verify`` saying so.

Lines of version 1 (before the checkpoints were signed asymmetrically) carry an HMAC under a key
derived from the chain key: they verify with the chain key only, and a public key alone skips them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from storage.audit import ChainKey, ChainReport, Checkpoint, verify_chain
from storage.db import Database

log = structlog.get_logger("aegis.audit.checkpoint")

FILE_NAME = "audit-checkpoints.jsonl"
PUBLIC_KEY_SUFFIX = ".pub"
_HMAC_VERSION = 1
_VERSION = 2
_PUBLIC_PREFIX = "aegis-audit-checkpoint-ed25519:"


class CheckpointError(Exception):
    """The checkpoint file is malformed or a signature does not verify (the operator must look)."""


def _payload(cp: Checkpoint, version: int = _VERSION) -> bytes:
    body = [version, cp.seq, cp.hash, cp.keyed_from, cp.ts]
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def _hmac_sign(key: ChainKey, cp: Checkpoint) -> str:
    return hmac.new(key.checkpoint_key, _payload(cp, _HMAC_VERSION), hashlib.sha256).hexdigest()


def signing_key(key: ChainKey) -> Ed25519PrivateKey:
    """The checkpoints' private key, derived from the chain key (never stored anywhere)."""
    seed = hmac.new(key.checkpoint_key, b"aegis/audit-checkpoint/ed25519/v1", hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


class CheckpointPublicKey:
    """The public half: all it takes to check the checkpoints, offline, with no secret."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self.key = key
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.text = _PUBLIC_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        self.kid = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def of(cls, key: ChainKey) -> CheckpointPublicKey:
        return cls(signing_key(key).public_key())

    @classmethod
    def parse(cls, text: str) -> CheckpointPublicKey:
        text = text.strip()
        if not text.startswith(_PUBLIC_PREFIX):
            raise CheckpointError("not an audit checkpoint public key")
        try:
            raw = base64.urlsafe_b64decode(text.removeprefix(_PUBLIC_PREFIX) + "=" * (-len(text) % 4))
            return cls(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, binascii.Error):
            raise CheckpointError("the audit checkpoint public key is malformed") from None

    @classmethod
    def read(cls, path: Path) -> CheckpointPublicKey:
        try:
            return cls.parse(path.read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read the public key {path}: {type(exc).__name__}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CheckpointPublicKey) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def public_key_path(checkpoints: Path) -> Path:
    return checkpoints.with_name(checkpoints.name.removesuffix(".jsonl") + PUBLIC_KEY_SUFFIX)


class CheckpointFile:
    """One checkpoint per line; the newest (highest ``seq``) is the one that counts.

    With the chain key it signs and verifies (and checks the public key file beside it is its own);
    with a :class:`CheckpointPublicKey` only it verifies, offline."""

    def __init__(self, path: Path, key: ChainKey | CheckpointPublicKey) -> None:
        self.path = path
        self._chain = key if isinstance(key, ChainKey) else None
        self._signer = signing_key(key) if isinstance(key, ChainKey) else None
        self.public = CheckpointPublicKey.of(key) if isinstance(key, ChainKey) else key
        self.skipped_legacy = 0

    def _check_public_file(self, *, create: bool) -> None:
        """The public key beside the file must be this key: a replaced one means a replaced signer."""
        pub = public_key_path(self.path)
        if pub.exists():
            if CheckpointPublicKey.read(pub) != self.public:
                raise CheckpointError(f"{pub} is not the public key of this audit chain's checkpoints")
        elif create:
            pub.write_text(self.public.text + "\n", encoding="ascii")
            pub.chmod(0o644)

    def append(self, cp: Checkpoint) -> None:
        if self._signer is None:
            raise CheckpointError("a public key cannot sign checkpoints")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check_public_file(create=True)
        line: dict[str, object] = {"v": _VERSION, "seq": cp.seq, "hash": cp.hash, "keyed_from": cp.keyed_from}
        line |= {"ts": cp.ts, "kid": self.public.kid}
        line["sig"] = base64.urlsafe_b64encode(self._signer.sign(_payload(cp))).decode("ascii").rstrip("=")
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode("ascii")
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
        self._check_public_file(create=False)
        best: Checkpoint | None = None
        self.skipped_legacy = 0
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            cp = self._parse(raw, n)
            if cp is not None and (best is None or cp.seq >= best.seq):
                best = cp
        return best

    def _parse(self, raw: str, n: int) -> Checkpoint | None:
        try:
            d = json.loads(raw)
            cp = Checkpoint(int(d["seq"]), str(d["hash"]), d["keyed_from"], str(d["ts"]))
            sig = str(d["sig"])
            if d["v"] not in (_HMAC_VERSION, _VERSION) or not (cp.keyed_from is None or isinstance(cp.keyed_from, int)):
                raise ValueError("unsupported")
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{self.path} line {n} is malformed") from None
        if d["v"] == _HMAC_VERSION:
            if self._chain is None:  # only the chain key checks these: not trusted, not counted
                self.skipped_legacy += 1
                return None
            ok = hmac.compare_digest(sig, _hmac_sign(self._chain, cp))
        else:
            ok = self._verify(sig, cp)
        if not ok:
            raise CheckpointError(f"{self.path} line {n}: the signature does not verify (forged or wrong key)")
        return cp

    def _verify(self, sig: str, cp: Checkpoint) -> bool:
        try:
            self.public.key.verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), _payload(cp))
        except (InvalidSignature, ValueError, binascii.Error):
            return False
        return True


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
