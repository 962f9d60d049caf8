"""The keyed chain and its signed checkpoints: what the database's owner can no longer hide."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.audit import AuditLog, ChainKey, ChainReport, Checkpoint, row_hash, verify_chain
from storage.audit_checkpoint import (
    Checkpointer,
    CheckpointError,
    CheckpointFile,
    CheckpointPublicKey,
    public_key_path,
    signing_key,
)
from storage.crypto.errors import KeyUnavailable
from storage.crypto.keyring import ACTIVE, DataKey, Keyring
from storage.db import Database
from storage.models import AuditRow
from tests.storage.test_audit import _append, _as_superuser, _rows, hasher

pytestmark = pytest.mark.anyio

KEY = ChainKey(os.urandom(32))


async def _keyed(db: Database, n: int) -> None:
    await _append(db, AuditLog(hasher, key=KEY), n)


async def _verify(db: Database, cp: Checkpoint | None = None, key: ChainKey | None = KEY) -> ChainReport:
    async with db.transaction() as s:
        return await verify_chain(s, key=key, checkpoint=cp)


async def _rehash_from(db: Database, seq: int, actor: str = "mallory") -> None:
    """What the table's owner can do: edit a row and recompute every later link (unkeyed), and the head."""
    rows = await _rows(db)
    prev = rows[seq - 2].row_hash if seq > 1 else "0" * 64
    statements = []
    for row in rows[seq - 1 :]:
        if row.seq == seq:
            row.actor = actor
        row.prev_hash = prev
        row.row_hash = row_hash(prev, row)
        prev = row.row_hash
        statements.append(
            f"UPDATE audit_log SET actor = '{row.actor}', prev_hash = '{row.prev_hash}', "
            f"row_hash = '{row.row_hash}' WHERE seq = {row.seq}"
        )
    statements.append(f"UPDATE audit_head SET hash = '{prev}' WHERE id = 1")
    await _as_superuser(db, *statements)


async def _truncate_to(db: Database, seq: int) -> None:
    rows = await _rows(db)
    await _as_superuser(
        db,
        f"DELETE FROM audit_log WHERE seq > {seq}",
        f"UPDATE audit_head SET seq = {seq}, hash = '{rows[seq - 1].row_hash}' WHERE id = 1",
    )


def test_the_chain_key_comes_only_from_the_chain_domain() -> None:
    ring = Keyring([DataKey("chain.idx.v1", b"k" * 32, ACTIVE)])
    assert ChainKey.of(ring).checkpoint_key == ChainKey.of(ring).checkpoint_key
    assert "k" not in repr(ChainKey.of(ring))
    with pytest.raises(KeyUnavailable):
        ChainKey.of(Keyring([DataKey("audit.idx.v1", b"k" * 32, ACTIVE)]))
    with pytest.raises(ValueError, match="32 bytes"):
        ChainKey(b"short")


async def test_keyed_rows_verify_only_with_the_key(db: Database) -> None:
    await _keyed(db, 4)
    report = await _verify(db)
    assert (report.ok, report.rows, report.keyed_rows, report.keyed_from) == (True, 4, 4, 1)
    assert (await _rows(db))[0].row_hash != row_hash("0" * 64, (await _rows(db))[0])
    assert not (await _verify(db, key=ChainKey(os.urandom(32)))).ok
    without = await _verify(db, key=None)
    assert not without.ok and "no chain key" in (without.problem or "")


async def test_an_edit_with_every_later_hash_recomputed_is_caught(db: Database) -> None:
    """Before the chain was keyed this rewrite verified as intact."""
    await _keyed(db, 5)
    await _rehash_from(db, 3)
    report = await _verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "history rewritten" in (report.problem or "")


async def test_rewriting_the_whole_history_unkeyed_is_caught_by_the_checkpoint(db: Database, tmp_path: Path) -> None:
    await _keyed(db, 5)
    cp = await Checkpointer(db, KEY, CheckpointFile(tmp_path / "cp.jsonl", KEY)).checkpoint()
    assert cp is not None and cp.seq == 5
    await _rehash_from(db, 1)
    assert (await _verify(db)).ok  # an all-unkeyed chain looks like a legacy one ...
    report = await _verify(db, cp)  # ... but not to the checkpoint
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert "history rewritten" in (report.problem or "")


async def test_a_truncated_tail_with_the_head_moved_back_is_caught_by_the_checkpoint(
    db: Database, tmp_path: Path
) -> None:
    await _keyed(db, 6)
    file = CheckpointFile(tmp_path / "cp.jsonl", KEY)
    await Checkpointer(db, KEY, file).checkpoint()
    await _truncate_to(db, 4)
    assert (await _verify(db)).ok  # the rows alone cannot tell
    report = await _verify(db, file.latest())
    assert not report.ok
    assert "truncated" in (report.problem or "") and "6 rows" in (report.problem or "")


async def test_an_unkeyed_chain_from_before_keeps_verifying_and_is_anchored(db: Database, tmp_path: Path) -> None:
    await _append(db, AuditLog(hasher), 3)  # written by an older version
    await _keyed(db, 2)
    file = CheckpointFile(tmp_path / "cp.jsonl", KEY)
    cp = await Checkpointer(db, KEY, file).checkpoint()
    assert cp is not None and (cp.seq, cp.keyed_from) == (5, 4)
    report = await _verify(db, file.latest())
    assert (report.ok, report.rows, report.keyed_rows, report.checkpoint_seq) == (True, 5, 2, 5)
    await _rehash_from(db, 5)  # the keyed part cannot be downgraded
    assert "history rewritten" in ((await _verify(db, file.latest())).problem or "")


async def test_the_checkpointer_refuses_to_sign_a_tampered_chain(db: Database, tmp_path: Path) -> None:
    file = CheckpointFile(tmp_path / "cp.jsonl", KEY)
    checkpointer = Checkpointer(db, KEY, file)
    await _keyed(db, 3)
    first = await checkpointer.checkpoint()
    assert first is not None and await checkpointer.checkpoint() == first  # nothing new: no second line
    assert len(file.path.read_text().splitlines()) == 1
    await _keyed(db, 2)
    await _rehash_from(db, 4)
    assert await checkpointer.checkpoint() is None
    assert file.latest() == first
    assert (file.path.stat().st_mode & 0o777) == 0o600


def test_a_forged_or_malformed_checkpoint_line_is_refused(tmp_path: Path) -> None:
    file = CheckpointFile(tmp_path / "cp.jsonl", KEY)
    assert file.latest() is None
    file.append(Checkpoint(3, "a" * 64, 1, "2026-01-01T00:00:00.000000Z"))
    file.append(Checkpoint(9, "b" * 64, 1, "2026-01-01T00:01:00.000000Z"))
    latest = file.latest()
    assert latest is not None and latest.seq == 9
    with pytest.raises(CheckpointError, match="not the public key"):  # the key beside the file is another's
        CheckpointFile(file.path, ChainKey(os.urandom(32))).latest()
    public_key_path(file.path).unlink()
    with pytest.raises(CheckpointError, match="signature"):
        CheckpointFile(file.path, ChainKey(os.urandom(32))).latest()
    lines = file.path.read_text().splitlines()
    forged = json.loads(lines[1]) | {"seq": 4}  # an owner moving the checkpoint back to match a truncation
    file.path.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    with pytest.raises(CheckpointError, match="line 2: the signature"):
        file.latest()
    file.path.write_text("{not json\n")
    with pytest.raises(CheckpointError, match="malformed"):
        file.latest()


async def test_verify_resumes_from_a_checkpoint(db: Database, tmp_path: Path) -> None:
    await _keyed(db, 4)
    cp = await Checkpointer(db, KEY, CheckpointFile(tmp_path / "cp.jsonl", KEY)).checkpoint()
    assert cp is not None
    await _keyed(db, 2)
    async with db.transaction() as s:
        report = await verify_chain(s, key=KEY, checkpoint=cp, resume=True)
        assert (report.ok, report.rows, report.keyed_rows) == (True, 6, 2)
        last = await s.scalar(select(AuditRow.row_hash).where(AuditRow.seq == 6))
    assert report.head_hash == last


def test_checkpoints_are_signed_with_ed25519_and_verify_with_the_public_half_alone(tmp_path: Path) -> None:
    file = CheckpointFile(tmp_path / "audit-checkpoints.jsonl", KEY)
    file.append(Checkpoint(7, "c" * 64, 1, "2026-01-01T00:00:00.000000Z"))
    line = json.loads(file.path.read_text())
    assert line["v"] == 2 and line["kid"] == file.public.kid
    # The public key sits beside the file; it is all an offline verifier needs, and holds no secret.
    pub_text = public_key_path(file.path).read_text()
    assert (tmp_path / "audit-checkpoints.pub").exists()
    public = CheckpointPublicKey.parse(pub_text)
    offline = CheckpointFile(file.path, public).latest()
    assert offline is not None and (offline.seq, offline.hash) == (7, "c" * 64)
    with pytest.raises(CheckpointError, match="cannot sign"):
        CheckpointFile(file.path, public).append(Checkpoint(8, "d" * 64, 1, "2026-01-01T00:01:00.000000Z"))
    # The symmetric checkpoint key no longer signs anything: knowing it forges nothing.
    forged = line | {"seq": 99, "sig": hmac.new(KEY.checkpoint_key, b"x", hashlib.sha256).hexdigest()}
    file.path.write_text(json.dumps(forged) + "\n")
    with pytest.raises(CheckpointError, match="signature"):
        CheckpointFile(file.path, public).latest()
    # A signature by another Ed25519 key does not verify either.
    other = signing_key(ChainKey(os.urandom(32)))
    payload = json.dumps([2, 99, "c" * 64, 1, line["ts"]], separators=(",", ":")).encode()
    sig = base64.urlsafe_b64encode(other.sign(payload)).decode().rstrip("=")
    file.path.write_text(json.dumps(line | {"seq": 99, "sig": sig}) + "\n")
    with pytest.raises(CheckpointError, match="signature"):
        CheckpointFile(file.path, public).latest()


def test_a_replaced_public_key_file_is_refused(tmp_path: Path) -> None:
    file = CheckpointFile(tmp_path / "audit-checkpoints.jsonl", KEY)
    file.append(Checkpoint(1, "a" * 64, 1, "2026-01-01T00:00:00.000000Z"))
    other = CheckpointPublicKey.of(ChainKey(os.urandom(32)))
    public_key_path(file.path).write_text(other.text + "\n")
    with pytest.raises(CheckpointError, match="not the public key"):
        file.latest()
    with pytest.raises(CheckpointError, match="not the public key"):
        file.append(Checkpoint(2, "b" * 64, 1, "2026-01-01T00:01:00.000000Z"))
    with pytest.raises(CheckpointError, match="malformed"):
        CheckpointPublicKey.parse("aegis-audit-checkpoint-ed25519:!!")


def test_checkpoints_of_the_symmetric_version_still_verify_with_the_chain_key(tmp_path: Path) -> None:
    path = tmp_path / "audit-checkpoints.jsonl"
    old = Checkpoint(4, "e" * 64, 1, "2026-01-01T00:00:00.000000Z")
    payload = json.dumps([1, old.seq, old.hash, old.keyed_from, old.ts], separators=(",", ":")).encode()
    sig = hmac.new(KEY.checkpoint_key, payload, hashlib.sha256).hexdigest()
    path.write_text(json.dumps({"v": 1, "seq": 4, "hash": old.hash, "keyed_from": 1, "ts": old.ts, "sig": sig}) + "\n")
    assert CheckpointFile(path, KEY).latest() == old
    offline = CheckpointFile(path, CheckpointPublicKey.of(KEY))
    assert offline.latest() is None and offline.skipped_legacy == 1  # a public key cannot check an HMAC
