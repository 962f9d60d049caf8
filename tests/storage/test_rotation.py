"""Domain-key rotation: a rewrap killed halfway and resumed leaves every row readable."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.crypto.errors import KeyUnavailable
from storage.crypto.field import FieldCipher, kid_of
from storage.crypto.keystore import ensure_keys, load_keyring
from storage.crypto.master import KeyEncryptionKey, generate_master_key_file, load_master_key
from storage.crypto.rotation import count_rows, pending_rotations, run_rotation, start_rotation, sweep_late_writes
from storage.db import Database
from storage.models import DataKeyRow, SecretRow, SecretVersionRow, encrypted_columns
from storage.models.base import utcnow
from storage.models.broker import ENCRYPTED

pytestmark = pytest.mark.anyio
DEK = ENCRYPTED[1]


class Crash(Exception):
    pass


@pytest.fixture
def kek(tmp_path: Path) -> KeyEncryptionKey:
    path = tmp_path / "master.key"
    generate_master_key_file(path)
    return KeyEncryptionKey(load_master_key(path))


async def _seed(db: Database, kek: KeyEncryptionKey, n: int) -> dict[str, bytes]:
    """n secret versions whose wrapped data keys are vault-domain ciphertexts; returns id -> plaintext."""
    expected: dict[str, bytes] = {}
    async with db.transaction() as s:
        await ensure_keys(s, kek)
        cipher = FieldCipher(await load_keyring(s, kek))
        secret = SecretRow(
            id=str(uuid.uuid4()),
            owner="admin",
            name="s",
            type="password",
            current_version=n,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        s.add(secret)
        await s.flush()
        for i in range(n):
            vid = f"{i:08d}-{uuid.uuid4().hex[:27]}"  # sortable, 36 chars like a uuid
            dek = os.urandom(32)
            expected[vid] = dek
            s.add(
                SecretVersionRow(
                    id=vid,
                    secret_id=secret.id,
                    version=i + 1,
                    created_at=utcnow(),
                    wrapped_dek=cipher.encrypt("vault", DEK.context({"id": vid}), dek),
                )
            )
    return expected


async def _read_all(db: Database, kek: KeyEncryptionKey) -> tuple[dict[str, bytes], dict[str, int]]:
    async with db.transaction() as s:
        cipher = FieldCipher(await load_keyring(s, kek))
        rows = (await s.scalars(select(SecretVersionRow))).all()
    kids: dict[str, int] = {}
    out: dict[str, bytes] = {}
    for r in rows:
        assert r.wrapped_dek is not None
        kids[kid_of(r.wrapped_dek)] = kids.get(kid_of(r.wrapped_dek), 0) + 1
        out[r.id] = cipher.decrypt("vault", DEK.context({"id": r.id}), r.wrapped_dek)
    return out, kids


async def test_rotation_killed_halfway_then_resumed_leaves_every_row_readable(
    db: Database, kek: KeyEncryptionKey
) -> None:
    expected = await _seed(db, kek, 230)
    rid = await start_rotation(db, kek, "vault")
    batches = 0

    def crash_after_two(_n: int) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise Crash

    with pytest.raises(Crash):
        await run_rotation(db, kek, rid, encrypted_columns(), batch_size=50, progress=crash_after_two)

    values, kids = await _read_all(db, kek)
    assert values == expected  # halfway: every row still reads
    assert kids == {"vault.enc.v2": 100, "vault.enc.v1": 130}
    assert await pending_rotations(db) == [rid]

    seen: list[int] = []
    changed = await run_rotation(db, kek, rid, encrypted_columns(), batch_size=50, progress=seen.append)
    assert changed == 130
    assert sum(seen) == 130  # the progress bar resumes from the cursor, not from zero
    values, kids = await _read_all(db, kek)
    assert values == expected
    assert kids == {"vault.enc.v2": 230}
    assert await pending_rotations(db) == []
    async with db.transaction() as s:
        states = {r.kid: r.state for r in (await s.scalars(select(DataKeyRow).where(DataKeyRow.domain == "vault")))}
    assert states == {"vault.enc.v1": "retired", "vault.enc.v2": "active", "vault.idx.v1": "active"}


async def test_rows_written_with_the_old_key_after_the_cursor_passed_are_caught_by_the_final_pass(
    db: Database, kek: KeyEncryptionKey
) -> None:
    await _seed(db, kek, 10)
    async with db.transaction() as s:
        stale = FieldCipher(await load_keyring(s, kek))  # loaded before the rotation: writes v1
        secret_id = (await s.scalars(select(SecretRow.id))).one()
    rid = await start_rotation(db, kek, "vault")

    # The batch walk finishes, then the process dies before the final pass.
    def stop_at_end(_n: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        await run_rotation(db, kek, rid, encrypted_columns(), batch_size=100, progress=stop_at_end)
    vid = "0000-early-id"  # sorts before every cursor position: the batch walk has passed it
    dek = os.urandom(32)
    async with db.transaction() as s:
        s.add(
            SecretVersionRow(
                id=vid,
                secret_id=secret_id,
                version=500,
                created_at=utcnow(),
                wrapped_dek=stale.encrypt("vault", DEK.context({"id": vid}), dek),
            )
        )
    await run_rotation(db, kek, rid, encrypted_columns())
    values, kids = await _read_all(db, kek)
    assert values[vid] == dek
    assert kids == {"vault.enc.v2": 11}


async def test_retired_versions_refuse_to_decrypt_after_rotation(db: Database, kek: KeyEncryptionKey) -> None:
    await _seed(db, kek, 3)
    async with db.transaction() as s:
        row = (await s.scalars(select(SecretVersionRow).limit(1))).one()
        old_blob = row.wrapped_dek
    assert old_blob is not None
    rid = await start_rotation(db, kek, "vault")
    await run_rotation(db, kek, rid, encrypted_columns())
    async with db.transaction() as s:
        cipher = FieldCipher(await load_keyring(s, kek))
    with pytest.raises(KeyUnavailable, match="retired"):
        cipher.decrypt("vault", DEK.context({"id": row.id}), old_blob)


async def test_starting_twice_returns_the_running_rotation_and_counts_rows(db: Database, kek: KeyEncryptionKey) -> None:
    await _seed(db, kek, 7)
    first = await start_rotation(db, kek, "vault")
    assert await start_rotation(db, kek, "vault") == first
    assert await count_rows(db, [DEK]) == 7


async def test_a_value_sealed_after_retirement_by_a_stale_writer_is_swept_back_under_the_active_key(
    db: Database, kek: KeyEncryptionKey
) -> None:
    expected = await _seed(db, kek, 4)
    async with db.transaction() as s:
        stale = FieldCipher(await load_keyring(s, kek))  # a server's keyring, loaded before the rotation
    rid = await start_rotation(db, kek, "vault")
    await run_rotation(db, kek, rid, encrypted_columns())
    nothing_yet = await sweep_late_writes(db, kek, encrypted_columns(), now=utcnow(), within=timedelta(days=1))
    assert nothing_yet == 0
    # That server, mid-sync, writes one value more under the version that is now retired.
    async with db.transaction() as s:
        row = (await s.scalars(select(SecretVersionRow).limit(1))).one()
        row.wrapped_dek = stale.encrypt("vault", DEK.context({"id": row.id}), b"late write")
        late_id = row.id
    with pytest.raises(KeyUnavailable, match="retired"):
        await _read_all(db, kek)

    # A rotation finished long ago is not swept (the scan is bounded to recent rotations).
    later = utcnow() + timedelta(days=2)
    assert await sweep_late_writes(db, kek, encrypted_columns(), now=later, within=timedelta(days=1)) == 0
    assert await sweep_late_writes(db, kek, encrypted_columns(), now=utcnow(), within=timedelta(days=1)) == 1
    values, kids = await _read_all(db, kek)
    assert values[late_id] == b"late write"
    assert {k: v for k, v in values.items() if k != late_id} == {k: v for k, v in expected.items() if k != late_id}
    assert kids == {"vault.enc.v2": 4}


def test_a_resumed_cursor_comes_back_as_its_key_columns_type() -> None:
    """A table keyed by a date (a daily snapshot) or a number resumes past its last rewrapped key."""
    from datetime import UTC, date, datetime

    from sqlalchemy import Date, DateTime, Integer, String

    from storage.crypto.rotation import cursor_value

    day, at = date(2026, 12, 1), datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert cursor_value(Date().python_type, str(day)) == day
    assert cursor_value(DateTime(timezone=True).python_type, str(at)) == at
    assert cursor_value(Integer().python_type, "41") == 41
    assert cursor_value(String().python_type, "00000007-ab") == "00000007-ab"
