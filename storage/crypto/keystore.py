"""Data keys in the database, wrapped by the key-encryption key."""

from __future__ import annotations

import os

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto.errors import KeyUnavailable
from storage.crypto.keyring import (
    ACTIVE,
    DECRYPT_ONLY,
    DOMAINS,
    PURPOSES,
    RETIRED,
    DataKey,
    Keyring,
    make_kid,
)
from storage.crypto.master import KeyEncryptionKey
from storage.models import DataKeyRow
from storage.models.base import utcnow


async def ensure_keys(session: AsyncSession, kek: KeyEncryptionKey, domains: frozenset[str] = DOMAINS) -> int:
    """Create version 1 of every missing domain key. Returns how many were created."""
    existing = {(row.domain, row.purpose) for row in (await session.scalars(select(DataKeyRow))).all()}
    created = 0
    for domain in sorted(domains):
        for purpose in sorted(PURPOSES):
            if (domain, purpose) not in existing:
                _add_key(session, kek, domain, purpose, 1)
                created += 1
    await session.flush()
    return created


def _add_key(session: AsyncSession, kek: KeyEncryptionKey, domain: str, purpose: str, version: int) -> str:
    kid = make_kid(domain, purpose, version)
    session.add(
        DataKeyRow(
            kid=kid,
            domain=domain,
            purpose=purpose,
            version=version,
            state=ACTIVE,
            kek_id=kek.kek_id,
            wrapped=kek.wrap(kid, os.urandom(32)),
        )
    )
    return kid


async def load_keyring(session: AsyncSession, kek: KeyEncryptionKey, *, open_retired: bool = False) -> Keyring:
    """Every data key. Retired versions do not decrypt, except with ``open_retired`` (only the
    rotation's sweep of late writes uses it, to re-encrypt them under the active version)."""
    rows = (await session.scalars(select(DataKeyRow))).all()
    keys: list[DataKey] = []
    for row in rows:
        if row.state == RETIRED and open_retired and row.wrapped is not None and row.kek_id == kek.kek_id:
            keys.append(DataKey(row.kid, kek.unwrap(row.kid, row.wrapped), DECRYPT_ONLY))
            continue
        if row.state == RETIRED or row.wrapped is None:
            keys.append(DataKey(row.kid, b"", RETIRED))
            continue
        if row.kek_id != kek.kek_id:
            raise KeyUnavailable(f"data key {row.kid} is wrapped by {row.kek_id}, not the loaded master key")
        keys.append(DataKey(row.kid, kek.unwrap(row.kid, row.wrapped), row.state))
    return Keyring(keys)


async def add_version(session: AsyncSession, kek: KeyEncryptionKey, domain: str, purpose: str = "enc") -> str:
    """Make a new active key version; the previous active one becomes decrypt-only."""
    rows = (
        await session.scalars(
            select(DataKeyRow).where(DataKeyRow.domain == domain, DataKeyRow.purpose == purpose).with_for_update()
        )
    ).all()
    version = max((r.version for r in rows), default=0) + 1
    for r in rows:
        if r.state == ACTIVE:
            r.state = DECRYPT_ONLY
    kid = _add_key(session, kek, domain, purpose, version)
    await session.flush()
    return kid


async def retire_older(session: AsyncSession, domain: str, keep_kid: str, purpose: str = "enc") -> list[str]:
    """Retire every decrypt-only version of a domain. Retired keys no longer decrypt."""
    rows = (
        await session.scalars(
            select(DataKeyRow).where(
                DataKeyRow.domain == domain,
                DataKeyRow.purpose == purpose,
                DataKeyRow.state == DECRYPT_ONLY,
                DataKeyRow.kid != keep_kid,
            )
        )
    ).all()
    for r in rows:
        r.state = RETIRED
        r.retired_at = utcnow()
    await session.flush()
    return [r.kid for r in rows]


async def rewrap_all(session: AsyncSession, old: KeyEncryptionKey, new: KeyEncryptionKey) -> int:
    """Re-wrap every data key under a new master key (master-key rotation). Values are untouched."""
    rows = (await session.scalars(select(DataKeyRow).with_for_update())).all()
    for row in rows:
        if row.wrapped is None:
            continue
        material = old.unwrap(row.kid, row.wrapped) if row.kek_id == old.kek_id else None
        if material is None:
            material = new.unwrap(row.kid, row.wrapped)
        row.wrapped = new.wrap(row.kid, material)
        row.kek_id = new.kek_id
    await session.flush()
    return len(rows)
