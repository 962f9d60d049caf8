"""Unsealing: load the master key, check it against the stored data keys, load signing keys.

A missing, unsafe or wrong master key leaves the broker sealed (health reports it; data endpoints 503).
A master-key rotation interrupted after its database commit is completed here: if the key file no
longer matches but ``<key>.new`` does, the new file is moved into place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.state import BrokerState, Unsealed
from broker.tokens import SigningKey
from storage.audit import AuditLog, ChainKey
from storage.crypto.errors import CryptoError
from storage.crypto.field import FieldCipher
from storage.crypto.keystore import ensure_keys, load_keyring
from storage.crypto.master import KeyEncryptionKey, load_master_key
from storage.models import DataKeyRow, SigningKeyRow
from storage.models.broker import ENCRYPTED

log = structlog.get_logger("aegis.broker")


def pending_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


async def _stored_kek_ids(state: BrokerState) -> set[str]:
    async with state.db.transaction() as s:
        return set((await s.scalars(select(DataKeyRow.kek_id).distinct())).all())


async def _choose_kek(state: BrokerState) -> KeyEncryptionKey:
    path = state.config.master_key_path
    kek = KeyEncryptionKey(load_master_key(path))
    stored = await _stored_kek_ids(state)
    if not stored or stored == {kek.kek_id}:
        return kek
    new_path = pending_path(path)
    if new_path.exists():
        new = KeyEncryptionKey(load_master_key(new_path))
        if stored == {new.kek_id}:
            os.replace(new_path, path)
            log.warning("completed an interrupted master-key rotation", path=str(path))
            return new
    raise CryptoError("the master key does not match the stored data keys (wrong key file?)")


async def unseal(state: BrokerState) -> bool:
    """Try to unseal. Returns False (and stays sealed, with a reason) on any key problem."""
    try:
        kek = await _choose_kek(state)
        async with state.db.transaction() as s:
            await ensure_keys(s, kek)
            keyring = await load_keyring(s, kek)
    except (CryptoError, OSError) as exc:
        state.seal(str(exc))
        log.error("broker sealed", reason=str(exc))
        return False
    state.unsealed = Unsealed(
        keyring=keyring,
        cipher=FieldCipher(keyring),
        audit=AuditLog(lambda v: keyring.blind_index("audit", v), key=ChainKey.of(keyring)),
        pepper=keyring.index_key("broker"),
        kek_id=kek.kek_id,
    )
    await state.pending_audit.flush(state.db, state.unsealed.audit)  # the refusals made while sealed
    await ensure_signing_key(state)
    await state.load_signing_keys()
    log.info("broker unsealed", kek_id=kek.kek_id)
    return True


async def ensure_signing_key(state: BrokerState) -> None:
    async with state.db.transaction() as s:
        active = await s.scalar(select(SigningKeyRow).where(SigningKeyRow.state == "active"))
        if active is None:
            add_signing_key(state, s)


def add_signing_key(state: BrokerState, session: AsyncSession) -> tuple[SigningKey, SigningKeyRow]:
    unsealed = state.keys()
    key = SigningKey.generate(state.now())
    spec = ENCRYPTED[0]
    row = SigningKeyRow(
        kid=key.kid,
        private_key=unsealed.cipher.encrypt(spec.domain, spec.context({"kid": key.kid}), key.private_pem()),
        public_jwk=json.dumps(key.public_jwk(), sort_keys=True),
        state="active",
        created_at=state.now_dt(),
    )
    session.add(row)
    return key, row
