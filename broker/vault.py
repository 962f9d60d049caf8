"""The secrets vault: each version encrypted under its own data key, which the vault domain key wraps.

The value's associated data binds secret id, version id, owner, name, resource, type and version, so a
value moved to another secret, version or binding does not decrypt. Rotation adds a version
atomically; deletion is soft; a purge destroys every version's data key.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker import secret_types
from broker.errors import BadRequest, BrokerError, Conflict, Forbidden, NotFound
from broker.guard import ADMIN, RequestInfo, deny, record, require_token
from broker.scopes import ScopeError, validate_resource
from broker.state import BrokerState
from storage.crypto.errors import CryptoError, DecryptionFailed
from storage.crypto.field import open_sealed, seal
from storage.models import SecretRow, SecretVersionRow
from storage.models.broker import ENCRYPTED

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")  # fullmatch: "$" would accept a final newline
_DEK_COLUMN = ENCRYPTED[1]
_VALUE_KID = "secret-dek"
READ_SCOPE = "secrets.read"
log = structlog.get_logger("aegis.broker.vault")


def _aad(secret: SecretRow, version_id: str, version: int) -> bytes:
    parts = (
        "aegis-secret",
        "1",
        secret.id,
        version_id,
        secret.owner,
        secret.name,
        secret.resource or "",
        secret.type,
        str(version),
    )
    return "\x1f".join(parts).encode("utf-8")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadRequest("invalid_name", "secret names are 1-128 of A-Z a-z 0-9 . _ : @ -")
    return name


def meta_view(s: SecretRow) -> dict[str, Any]:
    return {
        "name": s.name,
        "type": s.type,
        "resource": s.resource,
        "version": s.current_version,
        "metadata": json.loads(s.meta) if s.meta else {},
        "created_at": s.created_at.isoformat(),
        "updated_at": s.updated_at.isoformat(),
        "deleted": s.deleted_at is not None,
        "purged": s.purged_at is not None,
    }


def _encrypt_version(state: BrokerState, secret: SecretRow, version: int, value: str) -> SecretVersionRow:
    dek = os.urandom(32)
    vid = str(uuid.uuid4())
    cipher = state.keys().cipher
    return SecretVersionRow(
        id=vid,
        secret_id=secret.id,
        version=version,
        wrapped_dek=cipher.encrypt(_DEK_COLUMN.domain, _DEK_COLUMN.context({"id": vid}), dek),
        value=seal(AESGCM(dek), _VALUE_KID, _aad(secret, vid, version), value.encode("utf-8")),
        created_at=state.now_dt(),
    )


def _decrypt_version(state: BrokerState, secret: SecretRow, row: SecretVersionRow) -> str:
    if row.wrapped_dek is None or row.value is None:
        raise NotFound("purged", "that secret was purged")
    dek = state.keys().cipher.decrypt(_DEK_COLUMN.domain, _DEK_COLUMN.context({"id": row.id}), row.wrapped_dek)
    return open_sealed(AESGCM(dek), _VALUE_KID, _aad(secret, row.id, row.version), row.value).decode("utf-8")


async def _find(s: AsyncSession, name: str, *, owner: str = ADMIN, lock: bool = False) -> SecretRow:
    q = select(SecretRow).where(SecretRow.owner == owner, SecretRow.name == name)
    row = await s.scalar(q.with_for_update() if lock else q)
    if row is None or row.deleted_at is not None:
        raise NotFound("unknown_secret", "no such secret")
    return row


WRITE_SCOPE = "secrets.write"
LIST_SCOPE = "secrets.list"


@dataclass(frozen=True)
class Writer:
    """Who writes: the admin (any secret), or a principal's token, limited to its own resource."""

    actor: str = ADMIN
    bound: str | None = None  # a token's resource: only secrets bound to it may be written

    def check(self, resource: str | None) -> None:
        if self.bound is not None and resource != self.bound:
            raise Forbidden("secret_not_writable", "the token is not bound to this secret's resource")


ADMIN_WRITER = Writer()


async def add(
    state: BrokerState,
    info: RequestInfo,
    *,
    name: str,
    value: str,
    kind: str,
    resource: str | None,
    writer: Writer = ADMIN_WRITER,
) -> dict[str, Any]:
    _check_name(name)
    writer.check(resource)
    meta = secret_types.validate(kind, value)
    if resource is None:
        try:
            validate_resource(f"secret:{name}")
        except ScopeError:
            raise BadRequest(
                "invalid_resource", "this name cannot stand as its own resource; bind it with a resource"
            ) from None
    if resource is not None:
        try:
            resource = validate_resource(resource)
        except ScopeError as exc:
            raise BadRequest("invalid_resource", str(exc)) from None
    async with state.db.transaction() as s:
        existing = await s.scalar(select(SecretRow).where(SecretRow.owner == ADMIN, SecretRow.name == name))
        if existing is not None:
            raise Conflict("secret_exists", "a secret with that name exists (rotate it, or purge the deleted one)")
        secret = SecretRow(
            id=str(uuid.uuid4()),
            owner=ADMIN,
            name=name,
            type=kind,
            resource=resource,
            current_version=1,
            meta=json.dumps(meta) if meta else None,
            created_at=state.now_dt(),
            updated_at=state.now_dt(),
        )
        s.add(secret)
        await s.flush()
        s.add(_encrypt_version(state, secret, 1, value))
        await record(
            state,
            info,
            actor=writer.actor,
            action="secret.create",
            result="allow",
            resource=f"secret:{name}",
            session=s,
            details={"type": kind, "bound_to": resource, "version": 1},
        )
        return meta_view(secret)


async def rotate(
    state: BrokerState, info: RequestInfo, *, name: str, value: str, writer: Writer = ADMIN_WRITER
) -> dict[str, Any]:
    async with state.db.transaction() as s:
        try:
            secret = await _find(s, name, lock=True)
        except NotFound:
            if writer.bound is not None:  # no probing: the same answer as a foreign secret
                raise Forbidden("secret_not_writable", "the token is not bound to this secret's resource") from None
            raise
        writer.check(secret.resource)
        meta = secret_types.validate(secret.type, value)
        secret.current_version += 1
        secret.updated_at = state.now_dt()
        if meta:
            secret.meta = json.dumps(meta)
        s.add(_encrypt_version(state, secret, secret.current_version, value))
        await record(
            state,
            info,
            actor=writer.actor,
            action="secret.rotate",
            result="allow",
            resource=f"secret:{name}",
            session=s,
            details={"version": secret.current_version},
        )
        return meta_view(secret)


async def delete(
    state: BrokerState, info: RequestInfo, *, name: str, purge: bool, writer: Writer = ADMIN_WRITER
) -> dict[str, Any]:
    async with state.db.transaction() as s:
        q = select(SecretRow).where(SecretRow.owner == ADMIN, SecretRow.name == name).with_for_update()
        secret = await s.scalar(q)
        writer.check(None if secret is None else secret.resource)
        if secret is None or (secret.deleted_at is not None and not purge):
            raise NotFound("unknown_secret", "no such secret")
        secret.deleted_at = secret.deleted_at or state.now_dt()
        if purge:
            versions = (await s.scalars(select(SecretVersionRow).where(SecretVersionRow.secret_id == secret.id))).all()
            for v in versions:
                v.wrapped_dek, v.value = None, None
            secret.purged_at = state.now_dt()
            secret.name = f"{secret.name[:80]}~purged~{secret.id}"  # fits the 128-character column
        await record(
            state,
            info,
            actor=writer.actor,
            action="secret.purge" if purge else "secret.delete",
            result="allow",
            resource=f"secret:{name}",
            session=s,
        )
        return meta_view(secret)


async def list_meta(
    state: BrokerState,
    info: RequestInfo,
    *,
    include_deleted: bool,
    actor: str = ADMIN,
    within: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Metadata only. ``within``: a principal sees only secrets bound to resources in its ceiling."""
    async with state.db.transaction() as s:
        q = select(SecretRow).where(SecretRow.owner == ADMIN).order_by(SecretRow.name)
        if not include_deleted:
            q = q.where(SecretRow.deleted_at.is_(None))
        if within is not None:
            q = q.where(SecretRow.resource.in_(within))
        rows = (await s.scalars(q)).all()
        await record(state, info, actor=actor, action="secret.list", result="allow", session=s)
        return [meta_view(r) for r in rows]


async def versions(state: BrokerState, info: RequestInfo, *, name: str) -> list[dict[str, Any]]:
    async with state.db.transaction() as s:
        secret = await _find(s, name)
        rows = (
            await s.scalars(
                select(SecretVersionRow)
                .where(SecretVersionRow.secret_id == secret.id)
                .order_by(SecretVersionRow.version)
            )
        ).all()
        await record(
            state,
            info,
            actor=ADMIN,
            action="secret.versions",
            result="allow",
            resource=f"secret:{name}",
            session=s,
        )
        return [
            {
                "version": r.version,
                "created_at": r.created_at.isoformat(),
                "current": r.version == secret.current_version,
            }
            for r in rows
        ]


async def read(state: BrokerState, info: RequestInfo, authorization: str | None, name: str) -> dict[str, Any]:
    """A token-gated read: scope ``secrets.read`` and a resource that matches the secret's binding."""
    claims = await require_token(
        state, info, authorization, scopes=[READ_SCOPE], action="secret.read", resource=f"secret:{name}"
    )
    actor = f"principal:{claims['sub']}"
    details = {"jti": claims["jti"]}
    # One answer for "no such secret" and "not bound to your token", so names cannot be probed;
    # the audit row keeps the real reason.
    why = "resource_mismatch"
    failed: BrokerError | None = None
    async with state.db.transaction() as s:
        secret: SecretRow | None
        try:
            secret = await _find(s, name)
        except NotFound:
            secret, why = None, "unknown_secret"
        if secret is not None and claims.get("resource") != (secret.resource or f"secret:{secret.name}"):
            secret = None
        if secret is not None:
            # The newest version, not the pointer's: versions only grow, so a pointer moved back in
            # the database (to serve an old value) no longer matches and the read is refused.
            row = await s.scalar(
                select(SecretVersionRow)
                .where(SecretVersionRow.secret_id == secret.id)
                .order_by(SecretVersionRow.version.desc())
                .limit(1)
            )
            try:
                if row is None:
                    raise DecryptionFailed("the current version row is missing")
                if row.version != secret.current_version:
                    raise DecryptionFailed("the version pointer is not the newest version (rolled back?)")
                value = _decrypt_version(state, secret, row)
            except CryptoError as exc:
                # Tampered, swapped or unreadable ciphertext: refuse (audited), never crash or leak.
                log.error(
                    "secret failed its integrity check", secret=name, version=secret.current_version, cause=str(exc)
                )
                failed = BrokerError("integrity_failure", "the stored secret failed its integrity check")
            else:
                # Write-ahead: the read is recorded (and committed) before the value is released.
                await record(
                    state,
                    info,
                    actor=actor,
                    action="secret.read",
                    result="allow",
                    resource=f"secret:{name}",
                    session=s,
                    details={**details, "version": secret.current_version},
                )
                return {**meta_view(secret), "value": value}
    if failed is not None:  # refused after the read transaction ended (SQLite allows one writer)
        await deny(state, info, failed, actor=actor, action="secret.read", resource=f"secret:{name}", details=details)
    refusal = Forbidden("secret_not_readable", "no such secret, or the token is not bound to it")
    await deny(
        state,
        info,
        refusal,
        actor=actor,
        action="secret.read",
        resource=f"secret:{name}",
        details={**details, "why": why},
    )
