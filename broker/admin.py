"""Admin key operations: signing-key rotation, master-key rotation, data-key rotation, seal."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select

from broker.errors import BadRequest, Conflict, NotFound
from broker.guard import ADMIN, RequestInfo, record
from broker.state import BrokerState
from broker.unseal import add_signing_key, pending_path, unseal
from storage.crypto.keyring import DOMAINS
from storage.crypto.keystore import rewrap_all
from storage.crypto.master import KeyEncryptionKey, generate_master_key_file, load_master_key
from storage.crypto.rotation import count_rows, run_rotation, start_rotation
from storage.models import KeyRotationRow, SigningKeyRow, encrypted_columns

log = structlog.get_logger("aegis.broker.admin")


async def rotate_signing_key(state: BrokerState, info: RequestInfo) -> dict[str, Any]:
    """A new active key. The old one stays published until every token it signed has expired."""
    async with state.db.transaction() as s:
        old = (await s.scalars(select(SigningKeyRow).where(SigningKeyRow.state == "active"))).all()
        for row in old:
            row.state = "retiring"
            row.retired_at = state.now_dt()
            row.unpublish_after = state.now_dt() + state.retire_window()
        key = add_signing_key(state, s)
        await record(
            state,
            info,
            actor=ADMIN,
            action="signing_key.rotate",
            result="allow",
            session=s,
            details={"new_kid": key.kid, "retiring": [r.kid for r in old]},
        )
    await state.load_signing_keys()
    return {"active_kid": key.kid, "retiring": [r.kid for r in old]}


async def rotate_master_key(state: BrokerState, info: RequestInfo) -> dict[str, Any]:
    """Re-wrap every data key under a new master key, then move the new key file into place.

    Crash-safe order: the new key is written to ``<key>.new`` first; the re-wrap commits; then the
    file is renamed. A crash between commit and rename is finished at the next unseal.
    """
    path = state.config.master_key_path
    new_path = pending_path(path)
    if new_path.exists():
        raise Conflict("rotation_pending", f"{new_path} exists; restart the broker to finish that rotation")
    old = KeyEncryptionKey(load_master_key(path))
    generate_master_key_file(new_path)
    new = KeyEncryptionKey(load_master_key(new_path))
    try:
        async with state.db.transaction() as s:
            count = await rewrap_all(s, old, new)
            await record(
                state,
                info,
                actor=ADMIN,
                action="master_key.rotate",
                result="allow",
                session=s,
                details={"old_kek": old.kek_id, "new_kek": new.kek_id, "data_keys": count},
            )
    except BaseException:
        new_path.unlink(missing_ok=True)
        raise
    backup = _backup_name(path)
    os.replace(path, backup)
    os.replace(new_path, path)
    await unseal(state)
    log.warning("master key rotated; back up the new key file", path=str(path), previous=str(backup))
    return {"kek_id": new.kek_id, "data_keys_rewrapped": count, "previous_key_file": str(backup)}


def _backup_name(path: Path) -> Path:
    n = 1
    while (candidate := path.with_name(f"{path.name}.old{n}")).exists():
        n += 1
    return candidate


async def start_data_key_rotation(state: BrokerState, info: RequestInfo, domain: str) -> dict[str, Any]:
    if domain not in DOMAINS:
        raise BadRequest("invalid_domain", f"domain must be one of {', '.join(sorted(DOMAINS))}")
    kek = KeyEncryptionKey(load_master_key(state.config.master_key_path))
    rid = await start_rotation(state.db, kek, domain)
    await record(
        state,
        info,
        actor=ADMIN,
        action="data_key.rotate",
        result="allow",
        resource=f"domain:{domain}",
        details={"rotation": rid},
    )
    await unseal(state)  # the new version becomes the active encryption key here too
    _spawn(state, rid)
    return {"rotation": rid, "domain": domain}


def _spawn(state: BrokerState, rid: int) -> None:
    task = asyncio.create_task(_rewrap(state, rid))
    state.background.add(task)
    task.add_done_callback(state.background.discard)


async def _rewrap(state: BrokerState, rid: int) -> None:
    kek = KeyEncryptionKey(load_master_key(state.config.master_key_path))
    try:
        await run_rotation(state.db, kek, rid, encrypted_columns())
        await unseal(state)  # drop retired versions from memory
    except Exception:
        log.exception("data-key rewrap stopped; it resumes at the next start", rotation=rid)


async def resume_rotations(state: BrokerState) -> None:
    async with state.db.transaction() as s:
        ids = (await s.scalars(select(KeyRotationRow.id).where(KeyRotationRow.state == "running"))).all()
    for rid in ids:
        _spawn(state, rid)


async def rotation_status(state: BrokerState, rid: int) -> dict[str, Any]:
    async with state.db.transaction() as s:
        row = await s.get(KeyRotationRow, rid)
    if row is None:
        raise NotFound("unknown_rotation", "no such rotation")
    total = await count_rows(state.db, [c for c in encrypted_columns() if c.domain == row.domain])
    return {
        "rotation": row.id,
        "domain": row.domain,
        "target": row.target_kid,
        "state": row.state,
        "rows_done": row.rows_done,
        "rows_total": total,
    }
