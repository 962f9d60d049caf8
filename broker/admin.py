"""Admin key operations: signing-key rotation, master-key rotation, data-key rotation, seal."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select, update

from broker.errors import BadRequest, Conflict, NotFound
from broker.guard import ADMIN, RequestInfo, record
from broker.signing import MAX_PUBLISHED, PUBLISHED_STATES, load_rows
from broker.state import BrokerState
from broker.unseal import add_signing_key, pending_path, unseal
from storage.crypto.keyring import DOMAINS
from storage.crypto.keystore import rewrap_all
from storage.crypto.master import KeyEncryptionKey, generate_master_key_file, load_master_key
from storage.crypto.rotation import count_rows, run_rotation, start_rotation, sweep_late_writes
from storage.models import IssuedTokenRow, KeyRotationRow, SigningKeyRow, encrypted_columns

log = structlog.get_logger("aegis.broker.admin")


async def rotate_signing_key(state: BrokerState, info: RequestInfo) -> dict[str, Any]:
    """A new active key. The old one stays published until every token it signed has expired.

    Bounded and atomic: refused while ``MAX_PUBLISHED`` keys are published, and the new in-memory set
    is built inside the transaction, so a set the broker could not load is never committed.
    """
    now = state.now_dt()
    async with state.db.transaction() as s:
        rows = list((await s.scalars(select(SigningKeyRow).where(SigningKeyRow.state.in_(PUBLISHED_STATES)))).all())
        live = [r for r in rows if r.state == "active" or (r.unpublish_after is not None and r.unpublish_after > now)]
        if len(live) >= MAX_PUBLISHED:
            soonest = min(r.unpublish_after for r in live if r.unpublish_after is not None)
            wait = max(1, int((soonest - now).total_seconds()) + 1)
            raise Conflict(
                "too_many_signing_keys",
                f"{len(live)} signing keys are published; the next one retires in {wait} s",
                retry_after=wait,
            )
        old = [r for r in rows if r.state == "active"]
        for row in old:
            row.state = "retiring"
            row.retired_at = now
            row.unpublish_after = now + state.retire_window()
        key, new_row = add_signing_key(state, s)
        prepared = load_rows(state.keys().cipher, [*rows, new_row], now)
        await record(
            state,
            info,
            actor=ADMIN,
            action="signing_key.rotate",
            result="allow",
            session=s,
            details={"new_kid": key.kid, "retiring": [r.kid for r in old]},
        )
    state.signing_set = prepared
    return {"active_kid": key.kid, "retiring": [r.kid for r in old]}


async def revoke_signing_key(state: BrokerState, info: RequestInfo, kid: str, reason: str) -> dict[str, Any]:
    """Emergency revocation: the key leaves the JWKS and the verifier at once, and every live token
    issued while it was active is recorded as revoked (online verifiers refuse it at their next check).
    Revoking the active key makes a new one active in the same transaction."""
    now = state.now_dt()
    async with state.db.transaction() as s:
        row = await s.get(SigningKeyRow, kid, with_for_update=True)
        if row is None or row.state not in PUBLISHED_STATES:
            raise NotFound("unknown_kid", "no published signing key with that kid")
        was_active = row.state == "active"
        row.state, row.retired_at, row.unpublish_after = "revoked", row.retired_at or now, now
        rows = list((await s.scalars(select(SigningKeyRow).where(SigningKeyRow.state.in_(PUBLISHED_STATES)))).all())
        new_kid = None
        if was_active:
            key, new_row = add_signing_key(state, s)
            rows.append(new_row)
            new_kid = key.kid
        prepared = load_rows(state.keys().cipher, rows, now)
        signed_until = now if was_active else row.retired_at
        result = await s.execute(
            update(IssuedTokenRow)
            .where(
                IssuedTokenRow.revoked_at.is_(None),
                IssuedTokenRow.expires_at > now,
                IssuedTokenRow.issued_at >= row.created_at,
                IssuedTokenRow.issued_at <= signed_until,
            )
            .values(revoked_at=now, revoke_reason=f"signing_key_revoked:{reason}"[:128])
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        await record(
            state,
            info,
            actor=ADMIN,
            action="signing_key.revoke",
            result="allow",
            reason=reason,
            session=s,
            details={"kid": kid, "new_kid": new_kid, "tokens_revoked": count},
        )
    state.signing_set = prepared
    return {"revoked": kid, "active_kid": prepared.active_kid, "tokens_revoked": count}


async def refresh_signing_keys(state: BrokerState, every: float) -> None:
    """The schedule: reload the key set (retired keys marked, other changes picked up) every ``every`` s."""
    while True:
        await asyncio.sleep(every)
        if state.sealed:
            continue
        try:
            await state.load_signing_keys()
        except Exception:
            log.exception("signing key reload failed; keeping the current set")


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
        return
    # A server whose sync began before the rotation may still seal a value under the old version.
    await asyncio.sleep(state.config.late_write_sweep_seconds)
    await sweep_late(state)


async def sweep_late(state: BrokerState) -> int:
    """Re-seal under the active version what writers with a stale keyring sealed under a retired
    one, in the domains rotated within the last day."""
    kek = KeyEncryptionKey(load_master_key(state.config.master_key_path))
    try:
        changed = await sweep_late_writes(
            state.db, kek, encrypted_columns(), now=state.now_dt(), within=timedelta(days=1)
        )
    except Exception:
        log.exception("late-write sweep failed; it runs again at the next start")
        return 0
    if changed:
        log.warning("values sealed under a retired data key were re-encrypted", count=changed)
    return changed


async def resume_rotations(state: BrokerState) -> None:
    await sweep_late(state)
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
